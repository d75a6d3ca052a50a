import type { FieldSchema, Instrument } from "../definition.ts";
import { hasPiping, type PipeRef, parsePiping, refKey } from "../piping.ts";
import type { Column } from "./columns.ts";
import type { LogicFields } from "./fields.ts";

/**
 * REDCap piping ↔ the engine's. `[field]`, `[field:label]` → `{{field}}` (or
 * `{{form.field}}` on another form), `[field:value]` → `{{field:value}}`,
 * `[event][field]` → `{{event.form.field}}`, `[record-name]` → `{{subject.id}}`,
 * `[event-label]` → `{{event.label}}`, `[current-instance]` → `{{instance}}`.
 * Anything else in brackets (other smart variables, checkbox options) stays as
 * written and is reported.
 */

const TOKEN = /(?:\[([a-z][a-z0-9_]*)\])?\[([a-z][a-z0-9_-]*)(?::([a-z-]+))?(\([^)\]]*\))?\]/g;

const SMART: Record<string, string> = {
  "record-name": "subject.id",
  "event-label": "event.label",
  "current-instance": "instance",
};

export function pipingFromRedcap(
  text: string,
  fields: LogicFields,
  form: string,
  problem: (message: string) => void,
): string {
  if (!text.includes("[")) return text;
  return text.replace(
    TOKEN,
    (whole, event: string | undefined, name: string, modifier?: string, args?: string) => {
      const smart = SMART[name];
      if (smart && event === undefined && modifier === undefined && args === undefined) return `{{${smart}}}`;
      const field = Object.hasOwn(fields, name) ? fields[name] : undefined;
      // `[a][b]` where a is a field: two pipes side by side, the first one on its own.
      if (event !== undefined && Object.hasOwn(fields, event)) {
        const first = pipingFromRedcap(`[${event}]`, fields, form, problem);
        return first + pipingFromRedcap(whole.slice(event.length + 2), fields, form, problem);
      }
      if (
        !field ||
        field.kind === "none" ||
        args !== undefined ||
        (modifier !== undefined && modifier !== "label" && modifier !== "value")
      ) {
        problem(`${whole} is not piped by the engine: it is shown as written`);
        return whole;
      }
      const engineName = field.name ?? name;
      const target =
        field.form === undefined || (field.form === form && event === undefined)
          ? engineName
          : `${field.form}.${engineName}`;
      const raw = modifier === "value" ? ":value" : "";
      return `{{${event === undefined ? "" : `${event}.`}${target}${raw}}}`;
    },
  );
}

/** A field's REDCap variable name: names are unique across a project, so the exporter may rename. */
export type RedcapNameOf = (form: string | undefined, field: string) => string;

/** The engine's piping written back as REDCap's (the protocol's text, never rendered values). */
export function pipingToRedcap(text: string, nameOf: RedcapNameOf = (_, field) => field): string {
  if (!hasPiping(text)) return text;
  return parsePiping(text)
    .map((s) => (typeof s === "string" ? s : refToRedcap(s.ref, nameOf)))
    .join("");
}

function refToRedcap(ref: PipeRef, nameOf: RedcapNameOf): string {
  if (ref.kind === "subject") return "[record-name]";
  if (ref.kind === "event-label") return "[event-label]";
  if (ref.kind === "instance") return "[current-instance]";
  const name = nameOf(ref.kind === "field" ? undefined : ref.form, ref.field);
  const field = `[${name}${ref.raw ? ":value" : ""}]`;
  return ref.kind === "event" ? `[${ref.event}]${field}` : field;
}

/** Each piped text of a schema with its REDCap column, for translating in place. */
export function translateSchemaTexts(
  schema: FieldSchema,
  translate: (text: string, column: Column) => string,
): void {
  if (schema.title !== undefined) schema.title = translate(schema.title, "Field Label");
  if (schema.description !== undefined) schema.description = translate(schema.description, "Field Note");
  if (schema["x-section"] !== undefined)
    schema["x-section"] = translate(schema["x-section"], "Section Header");
  for (const c of [...(schema.oneOf ?? []), ...(schema.items?.oneOf ?? [])])
    c.title = translate(c.title, "Choices, Calculations, OR Slider Labels");
}

/** REDCap's unique event names in `{{event.form.field}}` → the study's event ids (the project importer knows both). */
export function renamePipedEvents(instrument: Instrument, eventIds: ReadonlyMap<string, string>): void {
  const rename = (text: string) =>
    hasPiping(text)
      ? parsePiping(text)
          .map((s) => {
            if (typeof s === "string" || s.ref.kind !== "event") return typeof s === "string" ? s : s.source;
            const id = eventIds.get(s.ref.event);
            if (id === undefined) return s.source;
            return `{{${refKey({ ...s.ref, event: id })}}}`;
          })
          .join("")
      : text;
  for (const schema of Object.values(instrument.properties)) translateSchemaTexts(schema, rename);
}
