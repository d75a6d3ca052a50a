import {
  type Assignee,
  type CoveredRevision,
  type QueryState,
  type ReviewEntry,
  type ReviewScope,
  type ReviewTarget,
  scopeOf,
} from "./review.ts";

/**
 * Queries (discrepancy notes) as a fold of the review log's query entries.
 * A query is never stored as a row with a state: its state, messages and
 * times are what its entries say, in chain order.
 */

export type QueryEntry = Extract<
  ReviewEntry,
  { action: "query-open" | "query-answer" | "query-close" | "query-reopen" }
>;
export type QueryTransition = "answer" | "close" | "reopen";

export interface QueryMessage {
  action: QueryEntry["action"];
  by: string;
  person?: string;
  at: string;
  text?: string;
  /** The revision an answer saved with it. */
  correction?: CoveredRevision;
}

export interface Query {
  id: string;
  study: string;
  subject: string;
  site?: string;
  target: ReviewTarget;
  scope: ReviewScope;
  state: QueryState;
  assignee?: Assignee;
  /** The soft check that opened it, when it was opened automatically. */
  rule?: string;
  openedAt: string;
  openedBy: string;
  /** When it was last closed; absent while it is open or answered. */
  closedAt?: string;
  /** Its last entry's time. */
  updatedAt: string;
  messages: QueryMessage[];
}

export function isQueryEntry(entry: ReviewEntry): entry is QueryEntry {
  return entry.action.startsWith("query-") && "query" in entry;
}

const STATE_AFTER: Record<QueryEntry["action"], QueryState> = {
  "query-open": "open",
  "query-answer": "answered",
  "query-close": "closed",
  "query-reopen": "open",
};

/**
 * Folds entries (of one subject, or a site's, in any interleaving of queries
 * but chain order within each) into queries, in order of opening. An entry of
 * a query whose opening is not among them is left out: it cannot be placed.
 * The record is applied as written; transitions are checked before appending
 * (`refusal`), not while reading.
 */
export function foldQueries(entries: readonly ReviewEntry[]): Query[] {
  const byId = new Map<string, Query>();
  for (const entry of entries) {
    if (!isQueryEntry(entry) || entry.subject === undefined) continue;
    const message: QueryMessage = {
      action: entry.action,
      by: entry.by,
      at: entry.at,
      ...(entry.person !== undefined ? { person: entry.person } : {}),
      ...(entry.text !== undefined ? { text: entry.text } : {}),
      ...(entry.action === "query-answer" && entry.correction ? { correction: entry.correction } : {}),
    };
    if (entry.action === "query-open") {
      if (byId.has(entry.query)) continue;
      byId.set(entry.query, {
        id: entry.query,
        study: entry.study,
        subject: entry.subject,
        ...(entry.site !== undefined ? { site: entry.site } : {}),
        target: entry.target,
        scope: scopeOf(entry.target, entry.subject),
        state: "open",
        ...(entry.assignee ? { assignee: entry.assignee } : {}),
        ...(entry.rule !== undefined ? { rule: entry.rule } : {}),
        openedAt: entry.at,
        openedBy: entry.by,
        updatedAt: entry.at,
        messages: [message],
      });
      continue;
    }
    const query = byId.get(entry.query);
    if (!query) continue;
    query.state = STATE_AFTER[entry.action];
    query.updatedAt = entry.at;
    if (entry.action === "query-close") query.closedAt = entry.at;
    else delete query.closedAt;
    query.messages.push(message);
  }
  return [...byId.values()].sort((a, b) => a.openedAt.localeCompare(b.openedAt) || a.id.localeCompare(b.id));
}

/** Why a transition is refused, as a code and a sentence. */
export interface QueryRefusal {
  code: "already-answered" | "already-closed" | "already-open" | "closed";
  message: string;
}

/**
 * The state machine: open → answered → closed; the monitor may reopen a
 * closed query, or send an answered one back (answered → open) when the
 * answer does not resolve it. A site answers an open query once; to add to
 * its answer it waits for the query to be reopened.
 */
export function refusal(state: QueryState, transition: QueryTransition): QueryRefusal | undefined {
  switch (transition) {
    case "answer":
      if (state === "closed")
        return { code: "closed", message: "This query is closed: it cannot be answered." };
      if (state === "answered")
        return {
          code: "already-answered",
          message: "This query is already answered: it can be closed, or reopened to ask again.",
        };
      return undefined;
    case "close":
      return state === "closed"
        ? { code: "already-closed", message: "This query is already closed." }
        : undefined;
    case "reopen":
      return state === "open" ? { code: "already-open", message: "This query is already open." } : undefined;
  }
}

const DAY_MS = 86_400_000;

/** Days since the query was first opened. */
export function ageDays(query: Query, now: Date): number {
  return Math.max(0, (now.getTime() - Date.parse(query.openedAt)) / DAY_MS);
}

export interface QueryFilter {
  state?: QueryState;
  form?: string;
  /** A role or a person id: matches either side of the assignee. */
  assignee?: string;
  /** Only queries at least this old (days since opening). */
  minAgeDays?: number;
}

export function filterQueries(queries: readonly Query[], filter: QueryFilter, now: Date): Query[] {
  return queries.filter(
    (q) =>
      (filter.state === undefined || q.state === filter.state) &&
      (filter.form === undefined || q.target.form === filter.form) &&
      (filter.assignee === undefined ||
        q.assignee?.role === filter.assignee ||
        q.assignee?.person === filter.assignee) &&
      (filter.minAgeDays === undefined || ageDays(q, now) >= filter.minAgeDays),
  );
}

export interface QueryStats {
  open: number;
  answered: number;
  closed: number;
  /** Of the queries not closed (open or answered), in days to one decimal; null when there are none. */
  medianAgeDays: number | null;
  p90AgeDays: number | null;
}

/**
 * Counts by state, and the age of what still awaits someone (open and
 * answered). Percentiles interpolate between ranks (Excel's PERCENTILE.INC),
 * so the median of an even count is the mean of the middle two.
 */
export function queryStats(queries: readonly Query[], now: Date): QueryStats {
  const count = (state: QueryState) => queries.filter((q) => q.state === state).length;
  const ages = queries
    .filter((q) => q.state !== "closed")
    .map((q) => ageDays(q, now))
    .sort((a, b) => a - b);
  return {
    open: count("open"),
    answered: count("answered"),
    closed: count("closed"),
    medianAgeDays: percentile(ages, 0.5),
    p90AgeDays: percentile(ages, 0.9),
  };
}

export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = p * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.min(low + 1, sorted.length - 1);
  const value = (sorted[low] as number) + ((sorted[high] as number) - (sorted[low] as number)) * (rank - low);
  return Math.round(value * 10) / 10;
}

/** Whether a query is about this form instance (or one of its fields). */
export function isAboutInstance(query: Query, event: string, form: string, instance: number): boolean {
  return (
    query.target.event === event && query.target.form === form && (query.target.instance ?? 1) === instance
  );
}
