import { RE2JS } from "re2js";
import { patternProblemWith } from "./pattern-problem.ts";

/**
 * Regular expressions written by a protocol's builder (a field's `pattern`,
 * the study's `subjectIdPattern`) run on RE2 (re2js, pure JavaScript): time
 * linear in the input whatever the pattern, so `^(a+)+$` cannot freeze the
 * server or a browser. A pattern must be valid ECMA-262 (JSON Schema says
 * patterns are) and within RE2's syntax (no backreferences, no lookaround);
 * forms:check refuses anything else (`patternProblem`). JavaScript spellings
 * RE2 writes differently (`\u00e9`, `\cJ`, `[^]`) are translated by re2js.
 * This module is bundled into the browser script too.
 */

export interface LinearPattern {
  /** Unanchored, like `RegExp.prototype.test` and JSON Schema's `pattern`. */
  test(value: string): boolean;
  /** The source between slashes: ajv keys its compiled patterns by it. */
  toString(): string;
}

// Protocols are few and patterns small: compiled patterns are kept, bounded so a stream of new ones cannot grow it.
const compiled = new Map<string, LinearPattern>();
const MAX_CACHED = 1000;

/** The compiled pattern; throws when it is not within RE2's syntax (forms:check refuses those first). */
function linearPattern(source: string): LinearPattern {
  const cached = compiled.get(source);
  if (cached) return cached;
  const re = RE2JS.compile(RE2JS.translateRegExp(source));
  const pattern: LinearPattern = {
    test: (value) => re.test(value),
    toString: () => `/${source}/`,
  };
  if (compiled.size >= MAX_CACHED) compiled.clear();
  compiled.set(source, pattern);
  return pattern;
}

export function matchesPattern(source: string, value: string): boolean {
  return linearPattern(source).test(value);
}

/**
 * ajv's `code.regExp` option: every `pattern` keyword of an instrument is
 * compiled here instead of by `new RegExp`. `code` only matters for ajv's
 * standalone code generation, which the engine does not use.
 */
export const linearRegExp = Object.assign((source: string, _flags: string) => linearPattern(source), {
  code: "linearPattern",
});

/** Why a builder pattern cannot be used, or undefined when it can. */
export function patternProblem(source: string): string | undefined {
  return patternProblemWith(source, (s) => RE2JS.compile(RE2JS.translateRegExp(s)));
}
