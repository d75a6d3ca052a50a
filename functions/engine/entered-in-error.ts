import { LOGS_EVENT, type StudyDefinition } from "./definition.ts";
import type { InstanceState } from "./revision.ts";

/**
 * "Entered in error": a log instance or an unscheduled visit created by
 * mistake is marked, never deleted. The mark is a flag on the instance's
 * state, separate from its status, so a restore brings back exactly the data
 * and status it had; marking and restoring are revisions like any change.
 */

export type ErrorMarkAction = "entered-in-error" | "restore";

/** `current` comes back as given, so a caller's richer state type (a stored revision) survives the decision. */
export type ErrorMarkDecision<S extends InstanceState = InstanceState> =
  | { kind: "stale"; current: S | undefined }
  | { kind: "not-saved" }
  | { kind: "reason-required" }
  /** Marking a marked instance, or restoring one that is not marked. */
  | { kind: "already"; current: S }
  | { kind: "commit"; rev: number; current: S };

/**
 * Only instances that exist because someone chose to add them can be entered
 * in error: log instances, repeatable (unscheduled) visits and a form
 * repeating at its visit (repeatingForms). A scheduled visit's one-off form is
 * part of the protocol; a wrong value there is corrected.
 */
export function isMarkableEvent(definition: StudyDefinition, event: string, form?: string): boolean {
  if (event === LOGS_EVENT) return true;
  return definition.study.events.some(
    (e) =>
      e.id === event &&
      (e.repeatable === true || (form !== undefined && e.repeatingForms?.includes(form) === true)),
  );
}

/** Why a save of a marked instance is refused (API and web say the same). */
export function savesRefusedMessage(form: string, instance: number): string {
  return `${form} #${instance} is marked as entered in error: restore it (with a reason) before changing its data.`;
}

export function decideErrorMark<S extends InstanceState>(args: {
  current: S | undefined;
  baseRev: number;
  action: ErrorMarkAction;
  reason: string | undefined;
}): ErrorMarkDecision<S> {
  const { current, baseRev, action, reason } = args;
  if (baseRev !== (current?.rev ?? 0)) return { kind: "stale", current };
  if (!current) return { kind: "not-saved" };
  if ((current.enteredInError === true) === (action === "entered-in-error"))
    return { kind: "already", current };
  if (!reason?.trim()) return { kind: "reason-required" };
  return { kind: "commit", rev: current.rev + 1, current };
}
