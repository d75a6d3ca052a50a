/**
 * Why a builder pattern cannot be used, without RE2 itself: the caller hands
 * in RE2's compile (pattern.ts on the server; the builder's editor takes RE2
 * from its own, shared browser asset rather than bundling ~150 KB of it).
 */

/**
 * A backreference (`\1`, `\k<name>`) is valid ECMA-262 that re2js's
 * translation would silently turn into something else: find it before translating.
 */
function backreference(source: string): string | undefined {
  for (let i = 0; i < source.length - 1; i++) {
    if (source[i] !== "\\") continue;
    const next = source[i + 1] ?? "";
    if (/[1-9]/.test(next) || (next === "k" && source[i + 2] === "<")) return `\\${next}`;
    i++; // skip the escaped character, so `\\1` is a backslash then 1
  }
  return undefined;
}

/** `compileLinear` throws when RE2 cannot run the pattern. */
export function patternProblemWith(
  source: string,
  compileLinear: (source: string) => unknown,
): string | undefined {
  try {
    new RegExp(source, "u");
  } catch (e) {
    return `pattern does not compile as ECMA-262 (JavaScript), as JSON Schema requires: ${(e as Error).message}`;
  }
  const backref = backreference(source);
  const unsupported =
    "patterns run on a linear-time engine (RE2), which has no backreferences, lookahead or lookbehind";
  if (backref !== undefined) return `${unsupported}: backreference ${backref}`;
  try {
    compileLinear(source);
    return undefined;
  } catch (e) {
    return `${unsupported}: ${(e as Error).message}`;
  }
}
