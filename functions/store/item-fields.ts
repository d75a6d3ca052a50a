/**
 * Reading attributes of a stored item without trusting its shape: each item
 * kind has one decoder (`toSubject`, `toApiKey`, `toTokenInfo` lenient;
 * `toRevision`, `toFeedEntry`, the definition and salt decoders strict) built
 * on these.
 */
export type Item = Record<string, unknown>;

export function text(item: Item, key: string): string {
  const v = item[key];
  return typeof v === "string" ? v : String(v ?? "");
}

/** The attribute if it is a non-empty string. */
export function optionalText(item: Item, key: string): string | undefined {
  const v = item[key];
  return typeof v === "string" && v !== "" ? v : undefined;
}

export function texts(item: Item, key: string): string[] {
  const v = item[key];
  return Array.isArray(v) ? v.map(String) : [];
}

/**
 * A stored item that is not what its kind promises. Thrown at the read, naming
 * the item's key and the field, so the item can be found and fixed, rather
 * than a TypeError far from the table.
 */
export class MalformedItemError extends Error {
  readonly key: string;
  readonly field: string;
  constructor(item: Item, field: string, expected: string) {
    const key = `${String(item.PK ?? "?")} ${String(item.SK ?? "?")}`;
    super(`stored item ${key}: field "${field}" is missing or not ${expected}`);
    this.name = "MalformedItemError";
    this.key = key;
    this.field = field;
  }
}

/* The strict readers below refuse rather than coerce: a stored item of a strict kind was written by us. */

export function requiredString(item: Item, field: string): string {
  const v = item[field];
  if (typeof v !== "string") throw new MalformedItemError(item, field, "a string");
  return v;
}

export function requiredNumber(item: Item, field: string): number {
  const v = item[field];
  if (typeof v !== "number" || !Number.isFinite(v)) throw new MalformedItemError(item, field, "a number");
  return v;
}

/** The attribute as stored (an empty string included), undefined when absent. */
export function maybeString(item: Item, field: string): string | undefined {
  const v = item[field];
  if (v === undefined) return undefined;
  if (typeof v !== "string") throw new MalformedItemError(item, field, "a string");
  return v;
}

export function maybeBoolean(item: Item, field: string): boolean | undefined {
  const v = item[field];
  if (v === undefined) return undefined;
  if (typeof v !== "boolean") throw new MalformedItemError(item, field, "a boolean");
  return v;
}

export function oneOf<T extends string>(item: Item, field: string, values: readonly T[]): T {
  const v = item[field];
  const found = values.find((x) => x === v);
  if (found === undefined) throw new MalformedItemError(item, field, `one of ${values.join(", ")}`);
  return found;
}

/** A map attribute (a JSON object, not a list). */
export function requiredMap(item: Item, field: string): Record<string, unknown> {
  const v = item[field];
  if (!isMap(v)) throw new MalformedItemError(item, field, "a map");
  return v;
}

export function maybeMap(item: Item, field: string): Record<string, unknown> | undefined {
  return item[field] === undefined ? undefined : requiredMap(item, field);
}

export function requiredList(item: Item, field: string): unknown[] {
  const v = item[field];
  if (!Array.isArray(v)) throw new MalformedItemError(item, field, "a list");
  return v;
}

export function isMap(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
