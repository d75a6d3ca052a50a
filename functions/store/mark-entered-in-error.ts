import type { StudyDefinition } from "../engine/definition.ts";
import { decideErrorMark, type ErrorMarkAction, isMarkableEvent } from "../engine/entered-in-error.ts";
import type { Db } from "./dynamo.ts";
import { commitAndProject, type Revision, readLatestRevision } from "./form-instances.ts";
import type { MacKey } from "./mac-key.ts";
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
  | { kind: "already"; state: Revision }
  | { kind: "stale"; current: Revision | undefined };

/**
 * Marks an instance as entered in error, or restores it: one more revision
 * on the append-only log, with the same commit and projection as a save.
 * Data, status and the definition version it was validated against are
 * carried over unchanged; only the flag, the action and the reason differ.
 */
export async function markEnteredInError(
  db: Db,
  macKey: MacKey,
  req: ErrorMarkRequest,
): Promise<ErrorMarkResult> {
  if (!isMarkableEvent(req.definition, req.event)) return { kind: "not-markable" };
  const address = {
    study: req.subject.study,
    subject: req.subject.id,
    event: req.event,
    form: req.form,
    instance: req.instance,
  };
  const current = await readLatestRevision(db, address);
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
      const revision: Revision = {
        ...kept,
        site: req.subject.site,
        rev: decision.rev,
        statusFrom: base.status,
        changes: [],
        committedAt: (req.now ?? new Date()).toISOString(),
        committedBy: req.actor,
        reason: (req.reason ?? "").trim(),
        action: req.action,
        ...(req.action === "entered-in-error" ? { enteredInError: true } : {}),
      };
      const outcome = await commitAndProject(db, macKey, revision, base);
      return outcome.kind === "stale" ? outcome : { kind: "marked", state: outcome.revision };
    }
  }
}
