/**
 * The Field Annotation column: REDCap's action tags (kept verbatim in
 * `x-annotation`), `@CHARLIMIT=n` (our `maxLength`), and two tags of our own
 * that carry, through a REDCap spreadsheet, what REDCap has no column for:
 *
 * - `@X-SCHEMA={…}` on a field: schema keywords the other columns cannot say
 *   (`x-unit`, `x-visit-date`, a pattern, JSON Logic with no REDCap spelling…),
 *   with `null` for "remove", and `"$cols"`: a fingerprint of the columns each
 *   keyword depends on, so an edit made in the spreadsheet wins over the tag.
 * - `@X-INSTRUMENT={…}` on one field of a form: the instrument's title,
 *   description, `x-repeating` and `x-rules`.
 *
 * REDCap shows unknown action tags as plain text and ignores them.
 */

const CHARLIMIT = /@CHARLIMIT\s*=\s*["']?(\d+)["']?/;

export interface Annotation {
  /** The annotation without @X- tags (and without @CHARLIMIT). */
  text: string;
  charLimit?: number;
  schema?: Record<string, unknown>;
  instrument?: Record<string, unknown>;
  problems: string[];
}

/** The end of the JSON object that starts at `start` (balanced braces, strings skipped). */
function jsonEnd(text: string, start: number): number {
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "{") depth++;
    else if (c === "}") {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  return -1;
}

function takeTag(
  text: string,
  tag: string,
  problems: string[],
): [Record<string, unknown> | undefined, string] {
  const marker = `@${tag}=`;
  const at = text.indexOf(marker);
  if (at === -1) return [undefined, text];
  const start = at + marker.length;
  const end = text[start] === "{" ? jsonEnd(text, start) : -1;
  if (end === -1) {
    problems.push(`${marker} must be followed by a JSON object`);
    return [undefined, text];
  }
  const rest = `${text.slice(0, at)} ${text.slice(end)}`;
  try {
    const value = JSON.parse(text.slice(start, end)) as unknown;
    if (value === null || typeof value !== "object" || Array.isArray(value)) throw new Error("not an object");
    return [value as Record<string, unknown>, rest];
  } catch (e) {
    problems.push(`${marker} holds invalid JSON: ${(e as Error).message}`);
    return [undefined, rest];
  }
}

const tidy = (text: string) => text.replace(/[ \t]{2,}/g, " ").trim();

export function readAnnotation(raw: string, { charLimit }: { charLimit: boolean }): Annotation {
  const problems: string[] = [];
  const [schema, afterSchema] = takeTag(raw, "X-SCHEMA", problems);
  const [instrument, afterInstrument] = takeTag(afterSchema, "X-INSTRUMENT", problems);
  let text = afterInstrument;
  const out: Annotation = { text: "", problems };
  const limit = charLimit ? CHARLIMIT.exec(text) : null;
  if (limit) {
    out.charLimit = Number(limit[1]);
    text = text.replace(CHARLIMIT, " ");
  }
  out.text = schema || instrument || limit ? tidy(text) : raw.trim();
  if (schema) out.schema = schema;
  if (instrument) out.instrument = instrument;
  return out;
}

export function writeAnnotation(a: {
  text?: string;
  charLimit?: number;
  schema?: Record<string, unknown>;
  instrument?: Record<string, unknown>;
}): string {
  const parts: string[] = [];
  if (a.text) parts.push(a.text);
  if (a.charLimit !== undefined) parts.push(`@CHARLIMIT=${a.charLimit}`);
  if (a.instrument && Object.keys(a.instrument).length > 0)
    parts.push(`@X-INSTRUMENT=${JSON.stringify(a.instrument)}`);
  if (a.schema && Object.keys(a.schema).length > 0) parts.push(`@X-SCHEMA=${JSON.stringify(a.schema)}`);
  return parts.join(" ");
}

/** A short, stable fingerprint of some column values (FNV-1a, 32 bits). */
export function fingerprint(values: string[]): string {
  let h = 0x811c9dc5;
  for (const ch of values.map((v) => v.replace(/\s+/g, " ").trim()).join("\u0000")) {
    h ^= ch.codePointAt(0) ?? 0;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, "0");
}

/** JSON with object keys sorted: equal values, equal text. */
export function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** One action tag found in an annotation: its name, its argument as written (quotes removed), and where it is. */
export interface FoundTag {
  tag: string;
  /** `='x'`, `="x"` or `=x` (up to a space) argument; undefined for a bare tag. */
  value?: string;
  start: number;
  end: number;
}

/** Action tags with their arguments, in order of appearance (REDCap tags are upper case). */
export function findTags(text: string): FoundTag[] {
  const out: FoundTag[] = [];
  const re = /@([A-Z][A-Z0-9_-]*)(?![A-Za-z0-9_-])/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const start = m.index;
    let end = start + m[0].length;
    let value: string | undefined;
    const eq = /^\s*=\s*/.exec(text.slice(end));
    if (eq) {
      const from = end + eq[0].length;
      const quote = text[from];
      if (quote === "'" || quote === '"') {
        const close = text.indexOf(quote, from + 1);
        if (close !== -1) {
          value = text.slice(from + 1, close);
          end = close + 1;
        }
      } else {
        const word = /^[^\s]+/.exec(text.slice(from));
        if (word) {
          value = word[0];
          end = from + word[0].length;
        }
      }
    }
    out.push({ tag: `@${m[1]}`, ...(value !== undefined ? { value } : {}), start, end });
    re.lastIndex = end;
  }
  return out;
}

/** The annotation without the given tags (their arguments included), spaces tidied. */
export function withoutTags(text: string, tags: readonly FoundTag[]): string {
  if (tags.length === 0) return text;
  let out = text;
  for (const t of [...tags].sort((a, b) => b.start - a.start))
    out = `${out.slice(0, t.start)} ${out.slice(t.end)}`;
  return tidy(out);
}

/** A tag's argument written back the way REDCap reads it (single quotes unless the value holds one). */
export function tagText(tag: string, value?: string): string {
  if (value === undefined) return tag;
  return value.includes("'") ? `${tag}="${value}"` : `${tag}='${value}'`;
}
