/**
 * The review loop's record: queries, source verification, locks, signatures
 * and subject status are entries of an append-only log, one chain per
 * subject (and one per study for the study-wide freeze), sealed like the
 * revisions (store/review-log.ts). Nothing here is a mutable flag: every
 * current state (a query's, a lock's, a signature's validity) is a fold of
 * these entries together with the form instances' revisions.
 */

/**
 * What an entry is about, from the widest to the narrowest: the subject (no
 * event), a visit (`event`, and `instance` for a repeated unscheduled
 * visit's instance when `form` is absent), one form instance (`event`, `form`,
 * `instance`), or one field of it (`field` too). An entry of the study chain
 * has no subject and an empty target (the whole study).
 */
export interface ReviewTarget {
  event?: string;
  form?: string;
  instance?: number;
  field?: string;
}

export type ReviewScope = "study" | "subject" | "visit" | "form" | "field";

export function scopeOf(target: ReviewTarget, subject: string | undefined): ReviewScope {
  if (subject === undefined) return "study";
  if (target.field !== undefined) return "field";
  if (target.form !== undefined) return "form";
  if (target.event !== undefined) return "visit";
  return "subject";
}

/** Whether `inner` lies within `outer` (a field within its form, a form within its visit, …). */
export function within(inner: ReviewTarget, outer: ReviewTarget): boolean {
  if (outer.event !== undefined && inner.event !== outer.event) return false;
  if (outer.form !== undefined && inner.form !== outer.form) return false;
  if (outer.instance !== undefined && inner.instance !== outer.instance) return false;
  if (outer.field !== undefined && inner.field !== outer.field) return false;
  return true;
}

/** A form instance's revision an entry saw: verification and signatures are bound to exactly these. */
export interface CoveredRevision {
  event: string;
  form: string;
  instance: number;
  rev: number;
  /** The revision's chain hash (absent for revisions saved before chaining). */
  hash?: string;
  /** For a field-level verification, the fields it vouches for. */
  fields?: string[];
  /**
   * A verification's hash of each vouched-for field's value at `rev`
   * (engine/sdv.ts `valueHash`): the current state alone then tells whether
   * the mark still holds, without reading the revision it was made on.
   */
  valueHashes?: Record<string, string>;
}

export type QueryState = "open" | "answered" | "closed";

/** Who should act on a query: a role, a person, or both. */
export interface Assignee {
  role?: string;
  person?: string;
}

export const SUBJECT_STATUSES = [
  "screened",
  "screen-failure",
  "enrolled",
  "withdrawn",
  "lost-to-follow-up",
  "completed",
] as const;
export type SubjectStatus = (typeof SUBJECT_STATUSES)[number];

/** Statuses after which no visit is due any more (the schedule stops counting overdue visits). */
export const CLOSED_SUBJECT_STATUSES: ReadonlySet<SubjectStatus> = new Set([
  "screen-failure",
  "withdrawn",
  "lost-to-follow-up",
  "completed",
]);

/**
 * Every kind of entry and what it carries. `query` is the query's id (the
 * seq-independent name its later messages refer to).
 */
export type ReviewAction =
  | {
      action: "query-open";
      query: string;
      text: string;
      assignee?: Assignee;
      /** Opened by a soft check the person confirmed: the rule's id (or `x-soft-minimum`…). */
      rule?: string;
    }
  | {
      action: "query-answer";
      query: string;
      text: string;
      /** The revision saved with the answer, when the answer corrected the data. */
      correction?: CoveredRevision;
    }
  | { action: "query-close"; query: string; text?: string }
  | { action: "query-reopen"; query: string; text: string }
  | { action: "verify"; covers: CoveredRevision[] }
  | { action: "lock"; reason?: string }
  | { action: "unlock"; reason: string }
  | {
      action: "sign";
      /** The printed name of the signer (§11.50). */
      name: string;
      /** What the signature means, as shown to the signer. */
      meaning: string;
      /** When the signer last authenticated (OIDC `auth_time`), ISO. */
      authenticatedAt: string;
      covers: CoveredRevision[];
    }
  | { action: "subject-status"; status: SubjectStatus; date?: string; reason?: string };

export type ReviewActionName = ReviewAction["action"];

/** What an entry says; all of it is hashed. */
export type ReviewContent = ReviewAction & {
  study: string;
  /** Absent on the study chain. */
  subject?: string;
  /** The subject's site (absent on the study chain): readers are shown only their own sites' entries. */
  site?: string;
  seq: number;
  /** Server time; a caller cannot choose it. */
  at: string;
  /** The actor's label (a person's email, an API key's user), as in revisions' `committedBy`. */
  by: string;
  /** The person's id when a person acted. */
  person?: string;
  target: ReviewTarget;
};

/** A stored entry: its content and its place in the chain. */
export type ReviewEntry = ReviewContent & { previousHash: string; hash: string; mac: string };
