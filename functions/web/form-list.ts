/** A form or query value that may come once, many times or not at all, as its non-empty strings. */
export function formList(value: unknown): string[] {
  return ([] as unknown[]).concat(value ?? []).filter((x): x is string => typeof x === "string" && x !== "");
}
