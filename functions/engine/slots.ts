import { type EventDef, type Instrument, LOGS_EVENT, type StudyDefinition } from "./definition.ts";

/** The forms a subject of `arm` has at `event`: the arm's own list where the protocol gives one. */
export function eventFormsFor(event: EventDef, arm: string): string[] {
  return (Object.hasOwn(event.armForms ?? {}, arm) ? event.armForms?.[arm] : undefined) ?? event.forms;
}

/** Whether `form` holds numbered instances at `event`: the whole event repeats, the form repeats there, or it is x-repeating. */
export function repeatsAt(event: EventDef, form: string, instrument: Instrument | undefined): boolean {
  return (
    event.repeatable === true ||
    event.repeatingForms?.includes(form) === true ||
    instrument?.["x-repeating"] === true
  );
}

/** Where a form instance can live: an event (or the logs) of the schedule, a form collected there, an instance number. */
export type SlotResult =
  | { ok: true; event: EventDef | undefined; instrument: Instrument; repeating: boolean }
  | { ok: false; missing: "event" | "form" | "instance" };

/**
 * Checks that `form` is collected at `event` for a subject of `arm`, and that
 * the instance number fits: 1 for a one-off form, any n ≥ 1 for a repeating
 * instrument (logs) or a form of a repeatable event.
 */
export function resolveSlot(
  definition: StudyDefinition,
  arm: string,
  eventId: string,
  formId: string,
  instance: number,
): SlotResult {
  // Own instruments only: `formId` comes from a URL and may be "constructor" or "__proto__".
  const instrument = Object.hasOwn(definition.instruments, formId)
    ? definition.instruments[formId]
    : undefined;
  if (eventId === LOGS_EVENT) {
    if (!instrument || !definition.study.logs.includes(formId)) return { ok: false, missing: "form" };
    return instance >= 1
      ? { ok: true, event: undefined, instrument, repeating: true }
      : { ok: false, missing: "instance" };
  }
  const event = definition.study.events.find((e) => e.id === eventId);
  if (!event || (event.arms && !event.arms.includes(arm))) return { ok: false, missing: "event" };
  if (!instrument || !eventFormsFor(event, arm).includes(formId)) return { ok: false, missing: "form" };
  const repeating = repeatsAt(event, formId, instrument);
  if (!Number.isInteger(instance) || instance < 1 || (!repeating && instance !== 1))
    return { ok: false, missing: "instance" };
  return { ok: true, event, instrument, repeating };
}
