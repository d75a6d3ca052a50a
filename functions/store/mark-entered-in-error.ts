import type { StudyDefinition } from "../engine/definition.ts";
import { decideErrorMark, type ErrorMarkAction, isMarkableEvent } from "../engine/entered-in-error.ts";
import { scheduleDateFields } from "../engine/schedule.ts";
import { takeStamp } from "./commit-window.ts";
import type { Db } from "./dynamo.ts";
import { commitAndProject, type Revision, readLatestRevision } from "./form-instances.ts";
import type { MacKey } from "./mac-key.ts";
import { readReviewLog } from "./review-log.ts";
import { type LockHeld, lockHolding } from "./save-form-instance.ts";
import type { Subject } from "./subjects.ts";

export interface ErrorMarkRequest {
  definition: StudyDefinition;
  subject: Subject;
  event: string;
  form: string;
  instance: number;
  action: ErrorMarkAction;
  /** The revision the user saw (the mark is refused on a stale one, like a save). */
  rev: number;
  reason?: string;
  actor: string;
  now?: Date;
}

export type ErrorMarkResult =
  | { kind: "marked"; state: Revision }
  | { kind: "not-markable" }
  | { kind: "not-saved" }
  | { kind: "reason-required" }
  | ({ kind: "locked" } & LockHeld)
  | { kind: "already"; state: Revision }
  | { kind: "stale"; current: Revision | undefined };

/**
 * Marks an instance as entered in error, or restores it: one more revision
 * on the append-only log, with the same commit and projection as a save, and
 * refused like a save where a lock or the freeze holds the instance.
 * Data, status and the definition version it was validated against are
 * carried over unchanged; only the flag, the action and the reason differ.
 */
export async function markEnteredInError(
  db: Db,
  macKey: MacKey,
  req: ErrorMarkRequest,
): Promise<ErrorMarkResult> {
  if (!isMarkableEvent(req.definition, req.event, req.form)) return { kind: "not-markable" };
  const address = {
    study: req.subject.study,
    subject: req.subject.id,
    event: req.event,
    form: req.form,
    instance: req.instance,
  };
  // The locks are read with the revision, not after it: no extra round trip.
  const [current, subjectLog, studyLog] = await Promise.all([
    readLatestRevision(db, address),
    readReviewLog(db, address.study, address.subject),
    readReviewLog(db, address.study),
  ]);
  const held = lockHolding({ subject: subjectLog, study: studyLog }, address);
  if (held) return { kind: "locked", ...held };
  const decision = decideErrorMark({ current, baseRev: req.rev, action: req.action, reason: req.reason });
  switch (decision.kind) {
    case "stale":
      return { kind: "stale", current };
    case "not-saved":
    case "reason-required":
      return decision;
    case "already":
      return { kind: "already", state: decision.current };
    case "commit": {
      const base = decision.current;
      // Confirmed warnings belong to the save that confirmed them (their queries are named after it).
      const {
        enteredInError: _flag,
        action: _action,
        reason: _reason,
        confirmedWarnings: _confirmed,
        ...kept
      } = base;
      const stamp = takeStamp(req.now);
      const revision: Revision = {
        ...kept,
        site: req.subject.site,
        rev: decision.rev,
        statusFrom: base.status,
        changes: [],
        committedAt: stamp.at,
        committedBy: req.actor,
        reason: (req.reason ?? "").trim(),
        action: req.action,
        ...(req.action === "entered-in-error" ? { enteredInError: true } : {}),
      };
      const outcome = await commitAndProject(
        db,
        macKey,
        stamp,
        revision,
        base,
        scheduleDateFields(req.definition),
      );
      return outcome.kind === "stale" ? outcome : { kind: "marked", state: outcome.revision };
    }
  }
}
