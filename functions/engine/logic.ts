import jsonLogic from "json-logic-js";
import type { Logic } from "./definition.ts";

/**
 * JSON Logic with the few operations a protocol needs that json-logic-js lacks.
 * This module is bundled into the browser script too, so branching and
 * calculations give the same answer on both sides.
 */

const DAY_MS = 86_400_000;

function toDate(value: unknown): Date | undefined {
  if (typeof value !== "string" || value === "") return undefined;
  const d = new Date(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

const UNIT_DAYS: Record<string, number> = { d: 1, w: 7, M: 30.44, y: 365.2425 };

const operations: Record<string, (...args: never[]) => unknown> = {
  /** round(value, digits): null when value is not a finite number, so an incomplete input stays empty. */
  round: (value: unknown, digits: unknown = 0) => {
    const n = typeof value === "string" && value !== "" ? Number(value) : value;
    if (typeof n !== "number" || !Number.isFinite(n)) return null;
    const f = 10 ** Number(digits);
    return Math.round((n + Number.EPSILON) * f) / f;
  },
  /** datediff(a, b, unit): b − a in days (d), weeks (w), months (M) or years (y), like REDCap's datediff. */
  datediff: (a: unknown, b: unknown, unit: unknown = "d") => {
    const da = toDate(a);
    const db = toDate(b);
    if (!da || !db) return null;
    const days = (db.getTime() - da.getTime()) / DAY_MS;
    return days / (UNIT_DAYS[String(unit)] ?? 1);
  },
  /** isempty(x): true for undefined, null, "" and []. */
  isempty: (value: unknown) => isEmpty(value),
};

for (const [name, fn] of Object.entries(operations))
  jsonLogic.add_operation(name, fn as (...a: unknown[]) => unknown);

export function isEmpty(value: unknown): boolean {
  return (
    value === undefined || value === null || value === "" || (Array.isArray(value) && value.length === 0)
  );
}

export function evaluate(logic: Logic, data: object): unknown {
  return jsonLogic.apply(logic as jsonLogic.RulesLogic, data);
}

/** Every variable name an expression reads (first path segment of each `var`). */
export function logicVariables(logic: Logic): string[] {
  const out = new Set<string>();
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const n of node) walk(n);
      return;
    }
    if (node === null || typeof node !== "object") return;
    for (const [op, args] of Object.entries(node)) {
      if (op === "var") {
        const name = Array.isArray(args) ? args[0] : args;
        if (typeof name === "string" && name !== "") out.add(name);
        else if (typeof name === "number") out.add(String(name));
      }
      walk(args);
    }
  };
  walk(logic);
  return [...out];
}
