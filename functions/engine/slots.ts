import { type EventDef, type Instrument, LOGS_EVENT, type StudyDefinition } from "./definition.ts";

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
  if (!instrument || !event.forms.includes(formId)) return { ok: false, missing: "form" };
  const repeating = event.repeatable === true || instrument["x-repeating"] === true;
  if (!Number.isInteger(instance) || instance < 1 || (!repeating && instance !== 1))
    return { ok: false, missing: "instance" };
  return { ok: true, event, instrument, repeating };
}
