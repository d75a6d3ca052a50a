/**
 * Reading attributes of a stored item without trusting its shape: each item
 * kind has one decoder (`toSubject`, `toPrincipal`, `toTokenInfo`,
 * `toRevision`) built on these.
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
