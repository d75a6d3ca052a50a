import type { DefinitionError, Reporter, SourceFile } from "./types.ts";

/** A reporter that files each problem under the given file. */
export function reporterFor(file: SourceFile, errors: DefinitionError[]): Reporter {
  return (pointer, message) => {
    errors.push({ file: file.path, pointer, message });
  };
}

export function fileId(path: string): string {
  const base = path.split(/[\\/]/).pop() ?? path;
  return base.replace(/\.json$/i, "");
}

export function isLogicObject(node: unknown): node is Record<string, unknown> {
  return node !== null && typeof node === "object" && !Array.isArray(node);
}

export function duplicates<T>(
  items: readonly T[],
  key: (item: T) => unknown,
  report: (index: number, value: unknown) => void,
): void {
  const seen = new Set<unknown>();
  items.forEach((item, i) => {
    const k = key(item);
    if (seen.has(k)) report(i, k);
    else seen.add(k);
  });
}

/**
 * Names every JavaScript object already has (Object.prototype's members, and
 * `prototype`). Protocol ids become object keys throughout the engine, the
 * exports and the browser, so such a name could read or overwrite a member
 * instead of the protocol's data: refused for every id, field name and choice code.
 */
export const RESERVED_NAMES: ReadonlySet<string> = new Set([
  "__proto__",
  "__defineGetter__",
  "__defineSetter__",
  "__lookupGetter__",
  "__lookupSetter__",
  "constructor",
  "hasOwnProperty",
  "isPrototypeOf",
  "propertyIsEnumerable",
  "prototype",
  "toLocaleString",
  "toString",
  "valueOf",
]);

export function reservedName(
  name: unknown,
  what: string,
  at: string,
  report: (pointer: string, message: string) => void,
) {
  if (typeof name === "string" && RESERVED_NAMES.has(name)) {
    report(
      at,
      `"${name}" is reserved (every JavaScript object has a member of that name): choose another ${what}`,
    );
  }
}
