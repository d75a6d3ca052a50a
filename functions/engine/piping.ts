import { type CommittedInstance, latestValues } from "./casebook.ts";
import type { FieldSchema, Instrument } from "./definition.ts";

/**
 * Piping: a label, help text, section header or choice title that shows other
 * values of the subject. `{{field}}` reads this form, `{{form.field}}` another
 * form (its latest value), `{{event.form.field}}` another form at one event;
 * `{{subject.id}}`, `{{event.label}}` and `{{instance}}` say where the form is.
 * A choice is shown as its label unless written `{{field:value}}`.
 * Rendering gives plain text: the page escapes it (JSX) or sets it as text
 * (browser), so a piped `<script>` is never markup.
 */

export type PipeRef =
  | { kind: "field"; field: string; raw: boolean }
  | { kind: "form"; form: string; field: string; raw: boolean }
  | { kind: "event"; event: string; form: string; field: string; raw: boolean }
  | { kind: "subject" }
  | { kind: "event-label" }
  | { kind: "instance" };

export type PipeSegment = string | { ref: PipeRef; source: string };

/** REDCap shows an empty piped value as a line to fill, so the sentence still reads. */
export const PIPE_BLANK = "______";

const NAME = "[a-z][a-z0-9_]*";
const REFERENCE = new RegExp(`^(${NAME})(?:\\.(${NAME}))?(?:\\.(${NAME}))?(:value)?$`);
const TAG = /\{\{\s*([^{}]*?)\s*\}\}/g;

/** Whether a text pipes anything: texts without `{{` render as they are. */
export const hasPiping = (text: string | undefined): text is string => text?.includes("{{") === true;

/** One `{{…}}` body → its reference; undefined when it is not one (the text stays literal). */
export function parseReference(body: string): PipeRef | undefined {
  if (body === "subject.id") return { kind: "subject" };
  if (body === "event.label") return { kind: "event-label" };
  if (body === "instance") return { kind: "instance" };
  const m = REFERENCE.exec(body);
  if (!m) return undefined;
  const [, a = "", b, c, value] = m;
  const raw = value !== undefined;
  if (c !== undefined && b !== undefined) return { kind: "event", event: a, form: b, field: c, raw };
  if (b !== undefined) return { kind: "form", form: a, field: b, raw };
  return { kind: "field", field: a, raw };
}

const parsed = new Map<string, PipeSegment[]>();

/** The text cut into literal parts and references; parsed once per distinct text. */
export function parsePiping(text: string): PipeSegment[] {
  const cached = parsed.get(text);
  if (cached) return cached;
  const out: PipeSegment[] = [];
  let last = 0;
  for (const m of text.matchAll(TAG)) {
    const ref = parseReference(m[1] ?? "");
    if (!ref) continue;
    if (m.index > last) out.push(text.slice(last, m.index));
    out.push({ ref, source: m[0] });
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push(text.slice(last));
  // Labels are few and fixed by the protocol; the bound only guards a page fed odd texts.
  if (parsed.size > 5000) parsed.clear();
  parsed.set(text, out);
  return out;
}

/** The references a text makes, in order. */
export function pipingRefs(text: string): PipeRef[] {
  return parsePiping(text).flatMap((s) => (typeof s === "string" ? [] : [s.ref]));
}

/** The key a reference is known by where its value is computed ahead (the server for the browser). */
export function refKey(ref: PipeRef): string {
  switch (ref.kind) {
    case "field":
      return `${ref.field}${ref.raw ? ":value" : ""}`;
    case "form":
      return `${ref.form}.${ref.field}${ref.raw ? ":value" : ""}`;
    case "event":
      return `${ref.event}.${ref.form}.${ref.field}${ref.raw ? ":value" : ""}`;
    case "subject":
      return "subject.id";
    case "event-label":
      return "event.label";
    case "instance":
      return "instance";
  }
}

/** A value as piped: a choice as its label (unless raw), yes/no in words, empty as the blank. */
export function pipedValue(schema: FieldSchema | undefined, value: unknown, raw = false): string {
  if (value === undefined || value === null || value === "") return PIPE_BLANK;
  if (Array.isArray(value) && value.length === 0) return PIPE_BLANK;
  const label = (code: unknown) => {
    if (raw) return String(code);
    const choice = (schema?.oneOf ?? schema?.items?.oneOf)?.find((c) => String(c.const) === String(code));
    return choice ? choice.title : String(code);
  };
  if (Array.isArray(value)) return value.map(label).join(", ");
  if (typeof value === "boolean") return raw ? (value ? "1" : "0") : value ? "Yes" : "No";
  return label(value);
}

/** The text with every reference replaced; a reference `resolve` does not know shows the blank. */
export function renderPiped(text: string, resolve: (ref: PipeRef) => string | undefined): string {
  if (!hasPiping(text)) return text;
  return parsePiping(text)
    .map((s) => (typeof s === "string" ? s : (resolve(s.ref) ?? PIPE_BLANK)))
    .join("");
}

/** Where a field's texts may pipe, as JSON Pointer suffixes with the text. */
export function fieldTexts(schema: FieldSchema): [string, string][] {
  const out: [string, string][] = [];
  for (const key of ["title", "description", "x-section"] as const) {
    const text = schema[key];
    if (typeof text === "string") out.push([`/${key}`, text]);
  }
  (schema.oneOf ?? []).forEach((c, i) => {
    out.push([`/oneOf/${i}/title`, c.title]);
  });
  (schema.items?.oneOf ?? []).forEach((c, i) => {
    out.push([`/items/oneOf/${i}/title`, c.title]);
  });
  return out;
}

/** Every reference an instrument's texts make that the form itself cannot answer. */
export function outsideRefs(instrument: Instrument): PipeRef[] {
  const seen = new Map<string, PipeRef>();
  for (const schema of Object.values(instrument.properties)) {
    for (const [, text] of fieldTexts(schema)) {
      if (!hasPiping(text)) continue;
      for (const ref of pipingRefs(text)) if (ref.kind !== "field") seen.set(refKey(ref), ref);
    }
  }
  return [...seen.values()];
}

/**
 * A resolver: this form's fields from its live data, everything else from
 * values computed ahead (`outside`, keyed by `refKey`). The same function runs
 * on the server and in the browser.
 */
export function pipeResolver(
  instrument: Instrument,
  data: Record<string, unknown>,
  outside: Readonly<Record<string, string>>,
): (ref: PipeRef) => string | undefined {
  return (ref) => {
    if (ref.kind !== "field") return Object.hasOwn(outside, refKey(ref)) ? outside[refKey(ref)] : undefined;
    const schema = Object.hasOwn(instrument.properties, ref.field)
      ? instrument.properties[ref.field]
      : undefined;
    if (!schema) return undefined;
    return pipedValue(schema, Object.hasOwn(data, ref.field) ? data[ref.field] : undefined, ref.raw);
  };
}

export interface PipeSources {
  instruments: Readonly<Record<string, Instrument | undefined>>;
  /** The subject's committed instances other than the one shown (`$latest`'s input). */
  instances: Iterable<CommittedInstance>;
  subject: string;
  eventLabel: string;
  instance: number;
}

/** The values of `refs` outside the form, keyed by `refKey`: computed once on the server, shipped to the page. */
export function outsideValues(refs: readonly PipeRef[], sources: PipeSources): Record<string, string> {
  const instances = [...sources.instances];
  const latest = latestValues(instances);
  const byEvent = new Map<string, ReturnType<typeof latestValues>>();
  const out: Record<string, string> = Object.create(null);
  for (const ref of refs) {
    let value: string;
    if (ref.kind === "subject") value = sources.subject;
    else if (ref.kind === "event-label") value = sources.eventLabel;
    else if (ref.kind === "instance") value = String(sources.instance);
    else if (ref.kind === "field") continue;
    else {
      let values = latest;
      if (ref.kind === "event") {
        values = byEvent.get(ref.event) ?? latestValues(instances.filter((i) => i.event === ref.event));
        byEvent.set(ref.event, values);
      }
      const form = values[ref.form];
      const schema = sources.instruments[ref.form]?.properties[ref.field];
      value = pipedValue(
        schema,
        form && Object.hasOwn(form, ref.field) ? form[ref.field] : undefined,
        ref.raw,
      );
    }
    out[refKey(ref)] = value;
  }
  return out;
}

/** The `{{…}}` in a text that are not references (shown as written): a typo the definition check reports. */
export function unreadTags(text: string): string[] {
  return [...text.matchAll(TAG)].filter((m) => !parseReference(m[1] ?? "")).map((m) => m[0]);
}
