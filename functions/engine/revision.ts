import type { FormData, FormStatus } from "./definition.ts";
import { type MissingData, withCodeChanges } from "./missing-codes.ts";
import type { FieldWarning } from "./soft-checks.ts";

/** One field's change in a revision: what it was and what it became (null = empty). */
export interface FieldChange {
  field: string;
  old: unknown;
  new: unknown;
  /** The missing-data code the field had and has (null = none), present only when it changed. */
  oldCode?: string | null;
  newCode?: string | null;
}

/** The committed state of a form instance (the latest revision). */
export interface InstanceState {
  rev: number;
  status: FormStatus;
  data: FormData;
  definitionVersion: number;
  committedAt: string;
  committedBy: string;
  reason?: string;
  /** Marked as entered in error (see entered-in-error.ts): kept, but out of exports and `$latest`. */
  enteredInError?: boolean;
  /** Fields holding a missing-data code instead of a value, each with its reason (missing-codes.ts). */
  missing?: MissingData;
  /** Soft-check warnings the person confirmed with this revision (soft-checks.ts); each opened a query. */
  confirmedWarnings?: FieldWarning[];
}

export type RevisionDecision =
  | { kind: "stale"; current: InstanceState | undefined }
  | { kind: "reason-required" }
  | { kind: "entered-in-error" }
  | { kind: "unchanged"; current: InstanceState }
  | { kind: "commit"; rev: number; changes: FieldChange[]; statusFrom: FormStatus | null };

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

/** Field-level differences in field order of `fields`, then any others. */
export function diffData(before: FormData, after: FormData, fields: string[]): FieldChange[] {
  const names = [...new Set([...fields, ...Object.keys(before), ...Object.keys(after)])];
  // Own values only: an empty field named like an object member (`constructor`) is empty, not a function.
  const value = (data: FormData, f: string) => (Object.hasOwn(data, f) ? data[f] : undefined);
  return names
    .filter((f) => !same(value(before, f), value(after, f)))
    .map((f) => ({ field: f, old: value(before, f) ?? null, new: value(after, f) ?? null }));
}

/**
 * Decides what a save does, given the committed state and the prepared values:
 * refuse a stale revision (never overwrite silently) or a change to an
 * instance entered in error, do nothing for a save
 * that changes nothing, ask for a reason when complete data changes, or commit
 * the next revision.
 */
export function decideRevision(args: {
  current: InstanceState | undefined;
  baseRev: number;
  status: FormStatus;
  data: FormData;
  reason: string | undefined;
  fields: string[];
  missing?: MissingData;
}): RevisionDecision {
  const { current, baseRev, status, data, reason, fields } = args;
  if (baseRev !== (current?.rev ?? 0)) return { kind: "stale", current };
  // Data of an instance entered in error stays as it was marked until someone restores it.
  if (current?.enteredInError) return { kind: "entered-in-error" };
  const changes = withCodeChanges(
    diffData(current?.data ?? {}, data, fields),
    current?.missing,
    args.missing,
    fields,
  );
  if (current && changes.length === 0 && current.status === status) return { kind: "unchanged", current };
  if (current?.status === "complete" && !reason?.trim()) {
    return { kind: "reason-required" };
  }
  return { kind: "commit", rev: baseRev + 1, changes, statusFrom: current?.status ?? null };
}

/**
 * The 409 answer for a person: their edits (their form against the revision
 * they started from) re-applied on top of the latest state, so a stale save
 * loses nothing and overwrites nothing unseen. A field both sides changed keeps
 * the person's value and is reported with the latest value beside it, to
 * decide before saving again; every other field follows the latest state.
 */
export function rebaseEdits(args: {
  /** The revision the person started from. */
  base: FormData;
  /** What the person submitted. */
  mine: FormData;
  /** The latest committed state (empty when nothing is committed). */
  theirs: FormData;
  fields: string[];
}): {
  values: FormData;
  /** What others changed since the base: the notice lists these. */
  theirChanges: FieldChange[];
  /** Fields both changed, with the latest committed value (null = empty). */
  conflicts: Record<string, unknown>;
} {
  const { base, mine, theirs, fields } = args;
  const myChanges = diffData(base, mine, fields);
  const theirChanges = diffData(base, theirs, fields);
  const values: FormData = { ...theirs };
  for (const change of myChanges) {
    if (change.new === null) delete values[change.field];
    else values[change.field] = change.new;
  }
  const touched = new Set(theirChanges.map((t) => t.field));
  const conflicts = Object.fromEntries(
    myChanges.filter((m) => touched.has(m.field)).map((m) => [m.field, theirs[m.field] ?? null]),
  );
  return { values, theirChanges, conflicts };
}
