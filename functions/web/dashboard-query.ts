import type { StudyDefinition } from "../engine/definition.ts";
import type { SubjectStatus } from "../engine/review.ts";
import type { Progress } from "../engine/sdv.ts";
import { type FieldProblem, problems } from "../http/problems.ts";
import type { Subject } from "../store/subjects.ts";
import type { CasebookView, CellStatus } from "./casebook-view.ts";

/**
 * What the dashboard lists: the query string read into filters and a page
 * cursor (refused with 400 when a value is not one the caller could pick),
 * and which summaries of a page match the filters. Pure: the route reads,
 * this decides.
 */

export const PAGE_SIZE = 50;

export const TIMING_FILTERS = ["overdue", "due", "out-of-window"] as const;
export const STATUS_FILTERS: readonly CellStatus[] = ["not_started", "incomplete", "unverified", "complete"];

export interface DashboardQuery {
  site?: string;
  arm?: string;
  /** Subject id prefix. */
  q?: string;
  timing?: (typeof TIMING_FILTERS)[number];
  status?: CellStatus;
  /** Add each row's verification progress (those who verify or lock): two reads per subject of the page, so asked for. */
  sdv?: boolean;
  /** Where the page starts (a sealed cursor the previous page handed out); absent: the first page. */
  after?: string;
}

/** Longest id prefix worth asking for (subject ids are at most 64 characters). */
const MAX_PREFIX = 64;

/**
 * Reads the dashboard's query string. `sites` are the sites the caller can
 * see: another site is refused exactly like one that does not exist.
 */
export function readDashboardQuery(
  params: Record<string, string | undefined>,
  definition: StudyDefinition,
  sites: string[],
): DashboardQuery {
  const errors: FieldProblem[] = [];
  const pick = <T extends string>(name: string, allowed: readonly T[]): T | undefined => {
    const value = params[name];
    if (value === undefined || value === "") return undefined;
    if ((allowed as readonly string[]).includes(value)) return value as T;
    errors.push({
      pointer: `/${name}`,
      code: "unknown",
      message: `${name} must be one of ${allowed.join(", ")}`,
    });
    return undefined;
  };
  const query: DashboardQuery = {
    site: pick("site", sites),
    arm: pick(
      "arm",
      definition.study.arms.map((a) => a.id),
    ),
    timing: pick("timing", TIMING_FILTERS),
    status: pick("status", STATUS_FILTERS),
  };
  const q = params.q?.trim();
  if (q && q.length > MAX_PREFIX)
    errors.push({ pointer: "/q", code: "too-long", message: `q must be at most ${MAX_PREFIX} characters` });
  else if (q) query.q = q;
  // Opened (and refused when not this study's, or another filter's) by the route, which holds the key.
  if (params.after) query.after = params.after;
  if (params.sdv === "1") query.sdv = true;
  if (errors.length > 0)
    throw problems.badRequest(
      `Unknown dashboard filter: ${errors.map((e) => e.message).join("; ")}.`,
      errors,
    );
  return query;
}

export interface DashboardRow {
  subject: Subject;
  view: CasebookView;
  /** The subject's recorded status (absent: none recorded, i.e. enrolled). */
  status?: SubjectStatus;
  /** Source data verification progress, on the dashboards that show it. */
  sdv?: Progress;
}

export interface DashboardSelection {
  rows: DashboardRow[];
  /** The number of the page's first row (rows before it on earlier pages, plus one). */
  first: number;
  /** The next page's cursor; absent on the last page. */
  next?: string;
  /** The previous page's cursor (the rows just before this page's first); absent on the first page. */
  previous?: string;
  /** Overdue visits of the page's subjects, and how many of them have one. */
  overdue: { visits: number; subjects: number };
}

const overdueVisits = (view: CasebookView) => view.events.filter((e) => e.timing === "overdue").length;

/** Whether a row passes the filters that depend on today and the definition (timing, form status). */
export function matchesDashboardFilters(row: DashboardRow, query: DashboardQuery): boolean {
  const { view } = row;
  return (
    (!query.timing || view.events.some((e) => e.timing === query.timing)) &&
    (!query.status || view.events.some((e) => e.forms.some((f) => f.status === query.status)))
  );
}

/** The overdue visits of these rows, and how many rows have one. */
export function overdueOf(rows: DashboardRow[]): DashboardSelection["overdue"] {
  const counts = rows.map((r) => overdueVisits(r.view));
  return { visits: counts.reduce((a, b) => a + b, 0), subjects: counts.filter((n) => n > 0).length };
}

/** What a cursor is bound to: a cursor handed out under other filters is refused, not misread. */
export function filterScope(query: DashboardQuery): string {
  return JSON.stringify([query.site, query.arm, query.q, query.timing, query.status]);
}

/** The dashboard's address with these filters (defaults left out, so links stay short). */
export function dashboardHref(base: string, query: Partial<DashboardQuery>): string {
  const params = new URLSearchParams();
  for (const key of ["site", "arm", "q", "timing", "status"] as const) {
    const value = query[key];
    if (value) params.set(key, value);
  }
  if (query.sdv) params.set("sdv", "1");
  if (query.after) params.set("after", query.after);
  const search = params.toString();
  return search ? `${base}?${search}` : base;
}
