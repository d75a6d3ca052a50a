import type { FormData, FormStatus } from "./definition.ts";

/** One field's change in a revision: what it was and what it became (null = empty). */
export interface FieldChange {
  field: string;
  old: unknown;
  new: unknown;
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
}): RevisionDecision {
  const { current, baseRev, status, data, reason, fields } = args;
  if (baseRev !== (current?.rev ?? 0)) return { kind: "stale", current };
  // Data of an instance entered in error stays as it was marked until someone restores it.
  if (current?.enteredInError) return { kind: "entered-in-error" };
  const changes = diffData(current?.data ?? {}, data, fields);
  if (current && changes.length === 0 && current.status === status) return { kind: "unchanged", current };
  if (current?.status === "complete" && !reason?.trim()) {
    return { kind: "reason-required" };
  }
  return { kind: "commit", rev: baseRev + 1, changes, statusFrom: current?.status ?? null };
}
