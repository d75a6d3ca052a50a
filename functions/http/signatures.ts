import type { Context } from "hono";
import { LOGS_EVENT, type StudyDefinition } from "../engine/definition.ts";
import type { ReviewTarget } from "../engine/review.ts";
import { type SignatureState, signatureStates } from "../engine/signatures.ts";
import type { Subject } from "../store/subjects.ts";
import type { AppEnv } from "./context.ts";
import { problems } from "./problems.ts";
import { loadSlot } from "./resolve.ts";

/** Every signature of a subject with its validity now (all revisions are read: an invalidation names the first breaking one). */
export async function subjectSignatures(c: Context<AppEnv>, subject: Subject): Promise<SignatureState[]> {
  const [entries, casebook] = await Promise.all([
    c.var.store.readReviewLog(subject.study, subject.id),
    c.var.store.readCasebook(subject.study, subject.id),
  ]);
  return signatureStates(entries, casebook.revisions);
}

/** A signature as the API answers it. */
export function signatureJson(state: SignatureState) {
  const { entry } = state;
  return {
    seq: entry.seq,
    target: entry.target,
    name: entry.name,
    meaning: entry.meaning,
    signedAt: entry.at,
    signedBy: entry.by,
    ...(entry.person ? { person: entry.person } : {}),
    authenticatedAt: entry.authenticatedAt,
    covers: entry.covers,
    valid: state.valid,
    ...(state.invalidatedBy ? { invalidatedBy: state.invalidatedBy } : {}),
  };
}

/**
 * What a signature is asked for, from the page's query (`event`, `form`,
 * `instance`): the whole casebook, a visit, or one form instance. Anything
 * the subject's schedule does not have is a 404, like a page that does not
 * exist.
 */
export function readSignTarget(
  definition: StudyDefinition,
  subject: Subject,
  query: { event?: string; form?: string; instance?: string },
): ReviewTarget {
  const { event, form, instance } = query;
  if (!event) {
    if (form || instance)
      throw problems.badRequest("A form or instance is signed within its visit: give `event`.");
    return {};
  }
  if (form)
    return { event, form, instance: loadSlot(definition, subject, event, form, instance ?? "1").instance };
  const known =
    event === LOGS_EVENT ||
    definition.study.events.some((e) => e.id === event && (!e.arms || e.arms.includes(subject.arm)));
  if (!known) throw problems.notFound(`Event ${event}`);
  if (instance === undefined) return { event };
  if (!/^[1-9][0-9]{0,5}$/.test(instance)) throw problems.notFound(`Instance ${instance} of ${event}`);
  return { event, instance: Number(instance) };
}

/** The words for what a signature is on: "this casebook", "Baseline", "EDSS at Baseline #2". */
export function describeTarget(definition: StudyDefinition, target: ReviewTarget): string {
  if (target.event === undefined) return "the whole casebook";
  const event =
    target.event === LOGS_EVENT
      ? "the logs"
      : (definition.study.events.find((e) => e.id === target.event)?.label ?? target.event);
  if (target.form === undefined)
    return `the visit ${event}${target.instance !== undefined ? ` #${target.instance}` : ""}`;
  const form = definition.instruments[target.form]?.title ?? target.form;
  return `${form} at ${event}${target.instance !== undefined && target.instance > 1 ? ` #${target.instance}` : ""}`;
}
