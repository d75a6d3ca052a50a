import { exclusiveTicks } from "../../engine/action-tags.ts";
import type { ChoiceCode, Instrument } from "../../engine/definition.ts";

/**
 * A "none of the above" box (`x-none-of-the-above`) unticks the field's other
 * boxes, and another box unticks it: the engine's rule, applied as the person
 * ticks, so the server never has to refuse the save for it.
 */
export function untickExclusive(form: HTMLFormElement, instrument: Instrument, box: HTMLInputElement): void {
  if (box.type !== "checkbox") return;
  const schema = Object.hasOwn(instrument.properties, box.name) ? instrument.properties[box.name] : undefined;
  if (!schema?.["x-none-of-the-above"]) return;
  const code = (v: string): ChoiceCode => (schema.items?.type === "integer" ? Number(v) : v);
  const boxes = [...form.querySelectorAll<HTMLInputElement>("input[type=checkbox]")].filter(
    (b) => b.name === box.name,
  );
  const ticked = boxes.filter((b) => b.checked).map((b) => code(b.value));
  const keep = exclusiveTicks(schema, ticked, code(box.value));
  for (const b of boxes) b.checked = keep.includes(code(b.value));
}
