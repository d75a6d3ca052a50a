import type { ErrorMarkAction } from "../engine/entered-in-error.ts";
import type { FieldChange } from "../engine/revision.ts";
import type { Revision } from "../store/form-instances.ts";
import type { Subject } from "../store/subjects.ts";

/** One line of a subject's audit trail: the enrolment, or a revision (save, entered in error, restore) with its old → new values. */
export interface AuditTrailEntry {
  at: string;
  by: string;
  action: "enrol" | "save" | ErrorMarkAction;
  event?: string;
  form?: string;
  instance?: number;
  rev?: number;
  statusFrom?: string | null;
  status?: string;
  reason?: string;
  definitionVersion?: number;
  changes: FieldChange[];
}

/** The subject's audit trail, oldest first; the API route and the web page show this same list. */
export function auditTrail(subject: Subject, revisions: Revision[]): AuditTrailEntry[] {
  const entries: AuditTrailEntry[] = [
    { at: subject.enrolledAt, by: subject.enrolledBy, action: "enrol", changes: [] },
    ...revisions.map((r) => ({
      at: r.committedAt,
      by: r.committedBy,
      action: r.action ?? ("save" as const),
      event: r.event,
      form: r.form,
      instance: r.instance,
      rev: r.rev,
      statusFrom: r.statusFrom,
      status: r.status,
      definitionVersion: r.definitionVersion,
      changes: r.changes,
      ...(r.reason ? { reason: r.reason } : {}),
    })),
  ];
  return entries.sort((a, b) => a.at.localeCompare(b.at));
}
