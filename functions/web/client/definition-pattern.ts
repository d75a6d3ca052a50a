import { patternProblemWith } from "../../engine/pattern-problem.ts";

/**
 * The browser's stand-in for engine/pattern.ts in the builder's editor
 * (bundle.ts swaps it in for check-definition): RE2 is not bundled but taken
 * from the pattern script (client/pattern.ts), which the editor page loads
 * first and form pages with patterns share, so it is cached once for both.
 */
export function patternProblem(source: string): string | undefined {
  const compile = globalThis.edcPattern;
  // Without the RE2 script (blocked) the live check skips RE2's own syntax limits; publishing still checks them.
  return patternProblemWith(source, compile ? (s) => compile(s, "") : () => undefined);
}
