import type { StudyDefinition } from "../engine/definition.ts";
import type { SubjectStatus } from "../engine/review.ts";
import type { Progress } from "../engine/sdv.ts";
import { type FieldProblem, problems } from "../http/problems.ts";
import type { Subject } from "../store/subjects.ts";
import type { CasebookView, CellStatus } from "./casebook-view.ts";

/**
 * What the dashboard lists: the query string read into filters, sort and page
 * (refused with 400 when a value is not one the caller could pick), and the
 * selection of one page from the caller's subjects. Pure: the route lists and
 * reads, this decides.
 */

export const PAGE_SIZE = 50;

export const TIMING_FILTERS = ["overdue", "due", "out-of-window"] as const;
export const STATUS_FILTERS: readonly CellStatus[] = ["not_started", "incomplete", "unverified", "complete"];
export const SORTS = ["id", "enrolled", "overdue"] as const;

export interface DashboardQuery {
  site?: string;
  arm?: string;
  /** Subject id prefix. */
  q?: string;
  timing?: (typeof TIMING_FILTERS)[number];
  status?: CellStatus;
  sort: (typeof SORTS)[number];
  page: number;
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
    sort: pick("sort", SORTS) ?? "id",
    page: 1,
  };
  const q = params.q?.trim();
  if (q && q.length > MAX_PREFIX)
    errors.push({ pointer: "/q", code: "too-long", message: `q must be at most ${MAX_PREFIX} characters` });
  else if (q) query.q = q;
  if (params.page !== undefined && params.page !== "") {
    if (/^[1-9]\d{0,5}$/.test(params.page)) query.page = Number(params.page);
    else errors.push({ pointer: "/page", code: "page", message: "page must be a whole number from 1" });
  }
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
  /** Subjects matching every filter. */
  matching: number;
  /** Subjects in scope (site, arm, id prefix), before the timing and status filters. */
  inScope: number;
  page: number;
  pages: number;
  /** Overdue visits of the subjects in scope, and how many subjects have one. */
  overdue: { visits: number; subjects: number };
}

const overdueVisits = (view: CasebookView) => view.events.filter((e) => e.timing === "overdue").length;

/**
 * One page of the subjects in scope. The count of overdue visits covers the
 * whole scope, not the page, so it reads the same on every page and is the
 * number the `timing=overdue` link lists.
 */
export function selectDashboardPage(inScope: DashboardRow[], query: DashboardQuery): DashboardSelection {
  const matching = inScope.filter(
    ({ view }) =>
      (!query.timing || view.events.some((e) => e.timing === query.timing)) &&
      (!query.status || view.events.some((e) => e.forms.some((f) => f.status === query.status))),
  );
  const byId = (a: DashboardRow, b: DashboardRow) =>
    a.subject.id < b.subject.id ? -1 : a.subject.id > b.subject.id ? 1 : 0;
  const order: Record<DashboardQuery["sort"], (a: DashboardRow, b: DashboardRow) => number> = {
    id: byId,
    enrolled: (a, b) => b.subject.enrolledAt.localeCompare(a.subject.enrolledAt) || byId(a, b),
    overdue: (a, b) => overdueVisits(b.view) - overdueVisits(a.view) || byId(a, b),
  };
  matching.sort(order[query.sort]);
  const pages = Math.max(1, Math.ceil(matching.length / PAGE_SIZE));
  if (query.page > pages)
    throw problems.badRequest(
      `There ${pages === 1 ? "is 1 page" : `are ${pages} pages`}; page ${query.page} is past the last page.`,
      [{ pointer: "/page", code: "page", message: `page must be at most ${pages}` }],
    );
  const counts = inScope.map((r) => overdueVisits(r.view));
  return {
    rows: matching.slice((query.page - 1) * PAGE_SIZE, query.page * PAGE_SIZE),
    matching: matching.length,
    inScope: inScope.length,
    page: query.page,
    pages,
    overdue: { visits: counts.reduce((a, b) => a + b, 0), subjects: counts.filter((n) => n > 0).length },
  };
}

/** The dashboard's address with these filters (defaults left out, so links stay short). */
export function dashboardHref(base: string, query: Partial<DashboardQuery>): string {
  const params = new URLSearchParams();
  for (const key of ["site", "arm", "q", "timing", "status"] as const) {
    const value = query[key];
    if (value) params.set(key, value);
  }
  if (query.sort && query.sort !== "id") params.set("sort", query.sort);
  if (query.page && query.page > 1) params.set("page", String(query.page));
  const search = params.toString();
  return search ? `${base}?${search}` : base;
}
