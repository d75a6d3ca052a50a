import { LOGS_EVENT, type StudyDefinition } from "../engine/definition.ts";
import type { ReviewTarget } from "../engine/review.ts";
import type { Subject } from "../store/subjects.ts";
import { problems } from "./problems.ts";
import { loadSlot } from "./resolve.ts";

/** A target as a request names it: unchecked. */
export interface TargetInput {
  event?: string;
  form?: string;
  instance?: number;
  field?: string;
}

const invalid = (message: string) =>
  problems.invalid(message, [{ pointer: "/target", code: "invalid-target", message }]);

/**
 * The target a review action names, checked against the subject's schedule:
 * the subject (empty), a visit (`event`, and `instance` for a repeatable
 * visit), a form instance (`event`, `form`, `instance`, 1 when absent) or one
 * of its fields. What does not exist for this subject is a 404, as the paths are.
 */
export function checkTarget(definition: StudyDefinition, subject: Subject, input: TargetInput): ReviewTarget {
  const { event, form, instance, field } = input;
  if (event === undefined) {
    if (form !== undefined || instance !== undefined || field !== undefined)
      throw invalid("a form, instance or field is named within its visit: give `event` too");
    return {};
  }
  if (form === undefined) {
    if (field !== undefined) throw invalid("a field is named within its form: give `form` too");
    if (event === LOGS_EVENT) {
      if (instance !== undefined) throw invalid("the logs have no visit instances");
      return { event };
    }
    const visit = definition.study.events.find((e) => e.id === event);
    if (!visit || (visit.arms && !visit.arms.includes(subject.arm)))
      throw problems.notFound(`Event ${event}`);
    if (instance !== undefined && visit.repeatable !== true)
      throw invalid(`${event} is not a repeatable visit: name it without an instance`);
    return instance === undefined ? { event } : { event, instance };
  }
  const slot = loadSlot(definition, subject, event, form, String(instance ?? 1));
  if (field === undefined) return { event, form, instance: slot.instance };
  if (!Object.hasOwn(slot.instrument.properties, field)) throw problems.notFound(`Field ${field} of ${form}`);
  return { event, form, instance: slot.instance, field };
}

/** A target in words, for messages and pages. */
export function targetWords(target: ReviewTarget): string {
  if (target.event === undefined) return "the subject's casebook";
  if (target.form === undefined)
    return `visit ${target.event}${target.instance !== undefined ? ` #${target.instance}` : ""}`;
  const instance = `${target.form} #${target.instance ?? 1} at ${target.event}`;
  return target.field === undefined ? instance : `${target.field} of ${instance}`;
}
