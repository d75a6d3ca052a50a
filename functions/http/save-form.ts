import type { Context } from "hono";
import type { FormData, FormStatus, StudyDefinition } from "../engine/definition.ts";
import { savesRefusedMessage } from "../engine/entered-in-error.ts";
import { lockMessage } from "../engine/locks.ts";
import type { Revision } from "../store/form-instances.ts";
import type { LockHeld, Reviews, SaveResult } from "../store/save-form-instance.ts";
import type { Subject } from "../store/subjects.ts";
import type { AppEnv } from "./context.ts";
import { checkFileReferences } from "./files.ts";
import { instanceView } from "./instance-view.ts";
import { requirePermission } from "./permissions.ts";
import { type ProblemError, problems } from "./problems.ts";
import { type InstancePath, instanceNumber, loadSlot, loadStudy, loadSubject } from "./resolve.ts";

/** What a person submits for one form instance, from a JSON body or a form post. */
export interface SaveInput {
  data: FormData;
  status: FormStatus;
  /** The revision the editor started from (0 for a new instance). */
  rev: number;
  reason?: string;
  recalculate?: string[];
  /** Fields holding a missing-data code instead of a value, each with a reason. */
  missing?: Record<string, { code?: string; reason?: string }>;
  /** Soft-check warnings confirmed: all of them, or the pointers of their fields. */
  confirmWarnings?: true | string[];
}

/**
 * What a caller already resolved and read for this instance in the same
 * request (the form page does, to draw itself): handed over, the save reads
 * none of it again.
 */
export interface ReadBeforeSave {
  definition: StudyDefinition;
  subject: Subject;
  address: { event: string; form: string; instance: number };
  /** The subject's current states (for `$latest` and day 1). */
  projections: Revision[];
  /** The instance's latest revision. */
  current: Revision | undefined;
  /** The subject's and the study's review logs (locks, the freeze). */
  reviews: Reviews;
}

/** Saves one form instance for the API and the pages alike: resolution, permission, the store's save. */
export async function saveForm(
  c: Context<AppEnv>,
  p: InstancePath,
  input: SaveInput,
  alreadyRead?: ReadBeforeSave,
): Promise<SaveResult> {
  const { definition, subject, address, read } = alreadyRead
    ? {
        ...alreadyRead,
        read: {
          projections: alreadyRead.projections,
          current: alreadyRead.current,
          reviews: alreadyRead.reviews,
        },
      }
    : await resolveAndRead(c, p);
  requirePermission(c.var.principal, "enter-data", { study: subject.study, site: subject.site });
  await checkFileReferences(c, definition, address.form, input.data);
  return c.var.store.saveFormInstance({
    definition,
    subject,
    event: address.event,
    form: address.form,
    instance: address.instance,
    data: input.data,
    status: input.status,
    rev: input.rev,
    reason: input.reason,
    recalculate: input.recalculate,
    missing: input.missing,
    confirmWarnings: input.confirmWarnings,
    actor: c.var.principal.user,
    person: c.var.principal.person,
    read: await read,
  });
}

/**
 * The instance resolved as every route resolves it, and what its save reads
 * (`readBeforeSave`) read at the same time as the subject, from the ids in the
 * path alone: one round trip instead of two. Nothing read is used before the
 * subject is found, seen and the permission checked (the caller does that
 * before it awaits `read`); a path that names no slot reads nothing.
 */
async function resolveAndRead(c: Context<AppEnv>, p: InstancePath) {
  const definition = await loadStudy(c, p.study);
  const instance = instanceNumber(p.instance);
  const slotExists =
    Number.isFinite(instance) &&
    definition.instruments[p.form] !== undefined &&
    definition.study.events.some((e) => e.id === p.event);
  const read = slotExists
    ? c.var.store.readBeforeSave(definition, {
        study: p.study,
        subject: p.subject,
        event: p.event,
        form: p.form,
        instance,
      })
    : undefined;
  // A request refused below never awaits it: its failure must not surface as an unhandled rejection.
  read?.catch(() => {});
  const subject = await loadSubject(c, p.study, p.subject);
  const slot = loadSlot(definition, subject, p.event, p.form, p.instance);
  return { definition, subject, address: { event: p.event, form: p.form, instance: slot.instance }, read };
}

/** A save that stored nothing and changed nothing: the caller answers it with a problem or a page. */
export type RefusedSave = Exclude<SaveResult, { kind: "saved" } | { kind: "unchanged" }>;

/** The problem for a refused save: one wording for API and web. */
export function saveProblem(p: InstancePath, result: RefusedSave, rev: number): ProblemError {
  const address = { event: p.event, form: p.form, instance: Number(p.instance) };
  switch (result.kind) {
    case "invalid":
      return problems.invalid(`${result.errors.length} field(s) of ${p.form} are not valid.`, result.errors);
    case "unconfirmed-warnings":
      return problems.unconfirmedWarnings(
        `${result.warnings.length} value(s) of ${p.form} are outside what is expected: confirm them (confirmWarnings) to save them; a query opens for each.`,
        result.warnings,
      );
    case "reason-required":
      return problems.invalid("This form is complete: say why it changes.", [
        {
          pointer: "/reason",
          code: "reason-required",
          message: "a reason is required to change a completed form",
        },
      ]);
    case "entered-in-error":
      return problems.enteredInError(savesRefusedMessage(p.form, address.instance));
    case "locked":
      return lockedProblem(result);
    case "stale":
      return problems.conflict(
        `Revision ${rev} is not the latest (${result.current?.rev ?? 0}); re-apply your edits to the current state.`,
        { current: instanceView(address, result.current) },
      );
  }
}

/** 423 naming what holds the instance: the freeze, or the lock and who set it when. */
export function lockedProblem(held: LockHeld): ProblemError {
  const { lock } = held;
  return problems.locked(lockMessage(held), {
    lock: { scope: held.scope, target: lock.target, by: lock.by, at: lock.at },
  });
}
