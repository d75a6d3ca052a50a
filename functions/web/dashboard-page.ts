import type { StudyDefinition } from "../engine/definition.ts";
import { isClosedStatus } from "../engine/subject-status.ts";
import { openCursor, sealCursor } from "../exports/sealed-cursor.ts";
import { problems } from "../http/problems.ts";
import type { Revision } from "../store/form-instances.ts";
import { keys } from "../store/keys.ts";
import type { Store } from "../store/store.ts";
import type { SubjectSummary, SummaryRange } from "../store/subject-summaries.ts";
import { casebookView } from "./casebook-view.ts";
import {
  type DashboardQuery,
  type DashboardRow,
  type DashboardSelection,
  filterScope,
  matchesDashboardFilters,
  overdueOf,
  PAGE_SIZE,
} from "./dashboard-query.ts";

/**
 * One page of the dashboard from the subjects' summaries: at most two
 * Queries of the summary partition whatever the study's size (a second only
 * when filters left the first short of a page), plus the study's cursor key
 * once per process. The cursor is sealed like the exports' (it names a
 * subject) and bound to the filters it was made under.
 */

/** Reads of the summary partition a page may take: a page's worth, and one more to fill it after filtering. */
export const MAX_PAGE_READS = 2;

/** Per store, per study: the export salt is made once and never changes, so a process keeps it. */
const salts = new WeakMap<object, Map<string, Promise<string>>>();

function cursorKey(store: Store, study: string): Promise<string> {
  const perStore = salts.get(store) ?? new Map<string, Promise<string>>();
  salts.set(store, perStore);
  let salt = perStore.get(study);
  if (!salt) {
    salt = store.exportSalt(study);
    perStore.set(study, salt);
    salt.catch(() => perStore.delete(study));
  }
  return salt;
}

/** Where a page starts, as its cursor says. */
interface Position {
  /** The summary sort key the page continues from (exclusive). */
  key: string;
  /** Forward: the page follows the key. Back: the page is the rows just before it. */
  back: boolean;
  /** Matching rows before the key (forward: shown on earlier pages; back: before the page it came from). */
  shown: number;
}

const badCursor = () =>
  problems.badRequest("This page link is not one of this dashboard's (or its filters changed).", [
    { pointer: "/after", code: "cursor", message: "after must be a cursor this dashboard handed out" },
  ]);

/** Which part of the summary partition the caller's scope covers. */
function rangeOf(definition: StudyDefinition, query: DashboardQuery, visible: string[]): SummaryRange {
  const all = definition.study.sites.every((s) => visible.includes(s.id));
  const sites = query.site ? [query.site] : visible;
  return {
    ...(sites.length === 1 ? { site: sites[0] } : all ? {} : { sites }),
    ...(query.q ? { idPrefix: query.q } : {}),
    ...(query.arm ? { arm: query.arm } : {}),
  };
}

/** The revisions `casebookView` reads, rebuilt from a summary (status, rev, mark and dates are all it uses). */
function instancesOf(summary: SubjectSummary): Revision[] {
  const { subject } = summary;
  return summary.instances.map((i) => ({
    study: subject.study,
    subject: subject.id,
    site: subject.site,
    event: i.event,
    form: i.form,
    instance: i.instance,
    rev: i.rev,
    status: i.status,
    statusFrom: null,
    data: i.data,
    changes: [],
    definitionVersion: 0,
    committedAt: "",
    committedBy: "",
    ...(i.enteredInError ? { enteredInError: true } : {}),
  }));
}

export function rowOf(definition: StudyDefinition, summary: SubjectSummary, today: string): DashboardRow {
  const closed = isClosedStatus(summary.status);
  return {
    subject: summary.subject,
    view: casebookView(definition, summary.subject.arm, instancesOf(summary), today, { closed }),
    ...(summary.status ? { status: summary.status } : {}),
  };
}

/** A sealed cursor: bound to the filters, naming a key, its direction and the rows before it. */
type CursorBody = [scope: string, key: string, shown: number, direction?: "back"];

function openPosition(key: string, scope: string, after: string): Position {
  const opened = openCursor(key, after);
  const parsed = opened === undefined ? undefined : (JSON.parse(opened) as CursorBody); // ours: JSON
  if (!parsed || parsed[0] !== scope) throw badCursor();
  return { key: parsed[1], shown: parsed[2], back: parsed[3] === "back" };
}

/**
 * One direction's rows: Queries from the position (at most MAX_PAGE_READS),
 * each row drawn and filtered, until a page is full or the range ends.
 * `more`: rows may lie beyond the last one kept, and the key to go on from.
 */
async function readRows(
  store: Store,
  definition: StudyDefinition,
  query: DashboardQuery,
  range: SummaryRange,
  from: Position | undefined,
  today: string,
): Promise<{ rows: DashboardRow[]; more?: string }> {
  const study = definition.study.id;
  const rows: DashboardRow[] = [];
  let key = from?.key;
  for (let reads = 0; reads < MAX_PAGE_READS; reads++) {
    const page = await store.readSummaries(study, range, {
      ...(key === undefined ? {} : from?.back ? { before: key } : { after: key }),
      limit: PAGE_SIZE,
    });
    for (const [i, summary] of page.summaries.entries()) {
      const row = rowOf(definition, summary, today);
      if (!matchesDashboardFilters(row, query)) continue;
      rows.push(row);
      if (rows.length === PAGE_SIZE) {
        const atEnd = i === page.summaries.length - 1 && page.last === undefined;
        return atEnd ? { rows } : { rows, more: keys.summary(summary.subject.site, summary.subject.id) };
      }
    }
    if (page.last === undefined) return { rows };
    key = page.last;
  }
  return { rows, ...(key === undefined ? {} : { more: key }) };
}

const sortKeyOf = (row: DashboardRow) => keys.summary(row.subject.site, row.subject.id);
/** The least key after this one: a page back from it starts with the row at this key. */
const justAfter = (key: string) => `${key}\u0000`;

export async function dashboardPage(
  store: Store,
  definition: StudyDefinition,
  query: DashboardQuery,
  visible: string[],
  today: string,
): Promise<DashboardSelection> {
  const study = definition.study.id;
  const scope = filterScope(query);
  const position = query.after ? openPosition(await cursorKey(store, study), scope, query.after) : undefined;
  const range = rangeOf(definition, query, visible);
  const read = await readRows(store, definition, query, range, position, today);
  const back = position?.back === true;
  // A page back was read last row first; its rows before are the ones not read, none once at the start.
  const rows = back ? read.rows.reverse() : read.rows;
  const before = back
    ? read.more === undefined
      ? 0
      : Math.max(0, (position?.shown ?? 0) - rows.length)
    : (position?.shown ?? 0);
  const seal = async (body: CursorBody) => sealCursor(await cursorKey(store, study), JSON.stringify(body));
  const firstRow = rows[0];
  const lastRow = rows.at(-1);
  // Forward, more lies after the last row read. Back, the page came from just after its last row; a page
  // back with no row (the filters matched none it read) came from just after the last key it read.
  const next = back ? (lastRow ? sortKeyOf(lastRow) : read.more) : read.more;
  // Back, a Query that stops at its limit cannot tell it reached the start: the count of rows before can.
  // The previous page ends just before this one's first row; an empty page's, at the key it started after.
  const previous = firstRow ? sortKeyOf(firstRow) : back ? read.more : position && justAfter(position.key);
  const hasPrevious = back ? before > 0 : position !== undefined;
  return {
    rows,
    first: before + 1,
    ...(next !== undefined ? { next: await seal([scope, next, before + rows.length]) } : {}),
    ...(hasPrevious && previous !== undefined
      ? { previous: await seal([scope, previous, before, "back"]) }
      : {}),
    overdue: overdueOf(rows),
  };
}
