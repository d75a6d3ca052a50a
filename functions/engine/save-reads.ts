import type { StudyDefinition } from "./definition.ts";

/**
 * Which of a subject's current states a save of one form needs: the ones its
 * logic reads through `$events` and `$latest`, and day one's when the form
 * has a visit date (its window, for deviations).
 * Every other state cannot change what the save computes, so it is not read,
 * and a save's reads stay the same size late in a study as on day one.
 */
export type SaveReads =
  /** Every current state of the subject (`$latest` walks them all, or a reference could not be read statically). */
  | { all: true }
  /** Only the instances at these keys; `instance` absent means every instance of the form at the event. */
  | { all: false; slots: SlotPrefix[] };

export interface SlotPrefix {
  event: string;
  form: string;
  instance?: number;
}

/** `$latest.` or `$events.` wherever it appears, with what follows it up to the next non-name character. */
const CONTEXT_REFERENCE = /\$(latest|events)((?:\.[^.\s"'{}[\]]*)*)/g;

function strings(node: unknown, out: string[]): string[] {
  if (typeof node === "string") out.push(node);
  else if (Array.isArray(node)) for (const n of node) strings(n, out);
  else if (node !== null && typeof node === "object")
    for (const [key, value] of Object.entries(node)) {
      out.push(key);
      strings(value, out);
    }
  return out;
}

/**
 * Derived from the instrument as published, so it can be cached per
 * definition version. Every string of the instrument is searched, not only
 * JSON Logic `var`s: a reference found in a label costs a read, one missed
 * would compute from a casebook without it. `$latest.<form>` reads every
 * state (the form's instances anywhere, whatever the schedule once was).
 */
export function saveReads(definition: StudyDefinition, form: string): SaveReads {
  const instrument = definition.instruments[form];
  if (!instrument) return { all: true };
  const slots = new Map<string, SlotPrefix>();
  const add = (slot: SlotPrefix) => slots.set(`${slot.event}#${slot.form}#${slot.instance ?? "*"}`, slot);
  for (const text of strings(instrument, [])) {
    for (const match of text.matchAll(CONTEXT_REFERENCE)) {
      const [, kind, path = ""] = match;
      if (kind === "latest") return { all: true };
      const [, event, other] = path.split(".");
      // `$events` alone, or `$events.<event>` whole: the reference is not to one form, read it all.
      if (!event || !other) return { all: true };
      add({ event, form: other });
    }
  }
  // Day 1 places visit dates in their windows (deviations): a form without one has no use for it.
  const dayOne = definition.study.dayOne;
  const datesVisits = Object.values(instrument.properties).some((field) => field["x-visit-date"]);
  if (dayOne && datesVisits) add({ event: dayOne.event, form: dayOne.form, instance: 1 });
  // An instance of a form read whole at its event is read already: reading it twice would count it twice.
  const whole = (slot: SlotPrefix) => slots.has(`${slot.event}#${slot.form}#*`);
  return {
    all: false,
    slots: [...slots.values()].filter((slot) => slot.instance === undefined || !whole(slot)),
  };
}

/** `saveReads` once per definition version and form: definitions never change once published. */
export function cachedSaveReads(): (definition: StudyDefinition, form: string) => SaveReads {
  const cache = new WeakMap<StudyDefinition, Map<string, SaveReads>>();
  return (definition, form) => {
    let perForm = cache.get(definition);
    if (!perForm) {
      perForm = new Map();
      cache.set(definition, perForm);
    }
    let reads = perForm.get(form);
    if (!reads) {
      reads = saveReads(definition, form);
      perForm.set(form, reads);
    }
    return reads;
  };
}
