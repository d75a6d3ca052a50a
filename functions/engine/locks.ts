import type { ReviewEntry, ReviewTarget } from "./review.ts";
import { within } from "./review.ts";

/**
 * Locks and the study freeze, folded from the review logs. A lock holds on
 * exactly the target it names (a form instance, a visit, the subject's
 * casebook) until an unlock of that same target; it covers everything within
 * its target, saved or not yet saved. The study chain's lock and unlock
 * entries (no subject, empty target) are the freeze and the unfreeze.
 */

/** A lock in force: what it names, and who set it when. */
export interface ActiveLock {
  target: ReviewTarget;
  by: string;
  person?: string;
  at: string;
  reason?: string;
  /** The entry that set it. */
  seq: number;
}

export interface LockState {
  /** The subject's locks in force, in the order they were set. */
  locks: ActiveLock[];
  /** The freeze in force, when the study is frozen. */
  frozen?: ActiveLock;
}

/** Two targets name the same thing (a visit lock is not a lock of one of its forms). */
export function sameTarget(a: ReviewTarget, b: ReviewTarget): boolean {
  return a.event === b.event && a.form === b.form && a.instance === b.instance && a.field === b.field;
}

/** Locks in force after the entries, in order; entries of other kinds are ignored. */
export function activeLocks(entries: readonly ReviewEntry[]): ActiveLock[] {
  let locks: ActiveLock[] = [];
  for (const entry of entries) {
    if (entry.action === "lock") {
      locks = locks.filter((l) => !sameTarget(l.target, entry.target));
      locks.push({
        target: entry.target,
        by: entry.by,
        at: entry.at,
        seq: entry.seq,
        ...(entry.person !== undefined ? { person: entry.person } : {}),
        ...(entry.reason !== undefined ? { reason: entry.reason } : {}),
      });
    } else if (entry.action === "unlock") {
      locks = locks.filter((l) => !sameTarget(l.target, entry.target));
    }
  }
  return locks;
}

/** The subject's log and the study's log folded together. */
export function lockState(subjectLog: readonly ReviewEntry[], studyLog: readonly ReviewEntry[]): LockState {
  const frozen = activeLocks(studyLog).at(-1);
  return { locks: activeLocks(subjectLog), ...(frozen ? { frozen } : {}) };
}

/**
 * Why a target cannot change: the study's freeze first, then the widest lock
 * that covers it (a subject lock before a visit lock before a form lock).
 * Undefined when nothing holds it.
 */
export function lockOn(
  state: LockState,
  target: ReviewTarget,
): { scope: "study" | "subject" | "visit" | "form"; lock: ActiveLock } | undefined {
  if (state.frozen) return { scope: "study", lock: state.frozen };
  const covering = state.locks.filter((l) => within(target, l.target));
  const order = (t: ReviewTarget) => (t.event === undefined ? 0 : t.form === undefined ? 1 : 2);
  const widest = covering.sort((a, b) => order(a.target) - order(b.target))[0];
  if (!widest) return undefined;
  const scope = (["subject", "visit", "form"] as const)[order(widest.target)] ?? "form";
  return { scope, lock: widest };
}

/** What a lock or unlock request names, checked before it is appended. */
export type LockDecision =
  | { kind: "append" }
  | { kind: "already-locked"; lock: ActiveLock }
  | { kind: "not-locked" }
  | { kind: "reason-required" };

/** Whether a lock (or unlock) of exactly this target can be appended now. */
export function decideLock(
  locks: readonly ActiveLock[],
  target: ReviewTarget,
  action: "lock" | "unlock",
  reason?: string,
): LockDecision {
  const current = locks.find((l) => sameTarget(l.target, target));
  if (action === "lock") return current ? { kind: "already-locked", lock: current } : { kind: "append" };
  if (!reason?.trim()) return { kind: "reason-required" };
  return current ? { kind: "append" } : { kind: "not-locked" };
}

/** The words a refusal and a read-only page use for a lock. */
export function lockMessage(held: { scope: string; lock: ActiveLock }): string {
  const what = held.scope === "study" ? "The study is frozen" : `This ${held.scope} is locked`;
  return `${what} (by ${held.lock.by}, ${held.lock.at}): unlock it, with a reason, before changing anything.`;
}
