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

interface Position {
  /** The summary sort key the page continues after. */
  after: string;
  /** Rows shown before it. */
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

export async function dashboardPage(
  store: Store,
  definition: StudyDefinition,
  query: DashboardQuery,
  visible: string[],
  today: string,
): Promise<DashboardSelection> {
  const study = definition.study.id;
  const scope = filterScope(query);
  let position: Position = { after: "", shown: 0 };
  if (query.after) {
    const opened = openCursor(await cursorKey(store, study), query.after);
    const parsed = opened === undefined ? undefined : (JSON.parse(opened) as [string, string, number]); // ours: JSON
    if (!parsed || parsed[0] !== scope) throw badCursor();
    position = { after: parsed[1], shown: parsed[2] };
  }
  const range = rangeOf(definition, query, visible);
  const rows: DashboardRow[] = [];
  let after: string | undefined = position.after || undefined;
  let next: string | undefined;
  for (let reads = 0; reads < MAX_PAGE_READS; reads++) {
    const page = await store.readSummaries(study, range, {
      ...(after !== undefined ? { after } : {}),
      limit: PAGE_SIZE,
    });
    for (const [i, summary] of page.summaries.entries()) {
      const row = rowOf(definition, summary, today);
      if (!matchesDashboardFilters(row, query)) continue;
      rows.push(row);
      if (rows.length === PAGE_SIZE) {
        const atEnd = i === page.summaries.length - 1 && page.last === undefined;
        next = atEnd ? undefined : keys.summary(summary.subject.site, summary.subject.id);
        break;
      }
    }
    if (rows.length === PAGE_SIZE) break;
    next = page.last;
    if (next === undefined) break;
    after = next;
  }
  return {
    rows,
    first: position.shown + 1,
    ...(next !== undefined
      ? {
          next: sealCursor(
            await cursorKey(store, study),
            JSON.stringify([scope, next, position.shown + rows.length]),
          ),
        }
      : {}),
    overdue: overdueOf(rows),
  };
}
