import jsonLogic from "json-logic-js";
import type { Logic } from "./definition.ts";

/**
 * JSON Logic with the few operations a protocol needs that json-logic-js lacks.
 * This module is bundled into the browser script too, so branching and
 * calculations give the same answer on both sides.
 *
 * Logic comes from the protocol's builder, so it is bounded: forms:check
 * refuses expressions nested deeper than `LOGIC_LIMITS.depth` or larger than
 * `LOGIC_LIMITS.nodes` (see `logicSize`), and the evaluator counts steps and
 * refuses arrays and strings past a size, throwing `LogicBudgetError`. The
 * budget counts steps, not time, so the browser and the server agree on
 * where it runs out.
 */

export const LOGIC_LIMITS = {
  /** Nesting of arrays and objects in one expression (a REDCap sum of 100 fields is about 200). */
  depth: 256,
  /** Arrays, objects and values in one expression. */
  nodes: 10_000,
  /** Evaluation steps (operations and values visited) for one expression, or one form's logic together. */
  steps: 250_000,
  /** Elements of an array an expression builds. */
  items: 10_000,
  /** Characters of a string an expression builds. */
  chars: 100_000,
} as const;

/** The protocol's logic ran past a bound of `LOGIC_LIMITS` while being evaluated. */
export class LogicBudgetError extends Error {
  override name = "LogicBudgetError";
}

/** Steps left; share one between expressions to bound them together (one form's logic). */
export interface LogicBudget {
  steps: number;
}

export function logicBudget(steps: number = LOGIC_LIMITS.steps): LogicBudget {
  return { steps };
}

const DAY_MS = 86_400_000;

function toDate(value: unknown): Date | undefined {
  if (typeof value !== "string" || value === "") return undefined;
  // A local date-time (no zone) is read as wall-clock time in UTC, never in the runtime's zone, so the
  // browser and the server agree; differences between two of them are then clock differences.
  const local = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?$/.test(value);
  const d = new Date(
    /^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : local ? `${value.replace(" ", "T")}Z` : value,
  );
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
  /** json-logic-js's merge, refusing to build an array past the limit before building it. */
  merge: (...args: unknown[]) => {
    const size = args.reduce<number>((n, a) => n + (Array.isArray(a) ? a.length : 1), 0);
    if (size > LOGIC_LIMITS.items) overrun(`an array of more than ${LOGIC_LIMITS.items} items`);
    return args.flat(1);
  },
  /** json-logic-js's cat, refusing to build a string past the limit before building it. */
  cat: (...args: unknown[]) => {
    const parts = args.map((a) => (a === null || a === undefined ? "" : String(a)));
    const size = parts.reduce((n, p) => n + p.length, 0);
    if (size > LOGIC_LIMITS.chars) overrun(`a string of more than ${LOGIC_LIMITS.chars} characters`);
    return parts.join("");
  },
  /**
   * json-logic-js's var, reading own properties only: a protocol's logic never
   * reaches `constructor`, `__proto__` or any other member every object has.
   */
  var: function (this: unknown, path: unknown, fallback: unknown) {
    const notFound = fallback === undefined ? null : fallback;
    if (path === undefined || path === null || path === "") return this;
    let data: unknown = this;
    for (const key of String(path).split(".")) {
      if (data === null || data === undefined || !Object.hasOwn(Object(data), key)) return notFound;
      data = (data as Record<string, unknown>)[key];
      if (data === undefined) return notFound;
    }
    return data;
  },
};

for (const [name, fn] of Object.entries(operations))
  jsonLogic.add_operation(name, fn as (...a: unknown[]) => unknown);

/** json-logic-js's own operations (the version in package-lock.json). */
const JSON_LOGIC_OPERATORS = [
  "==",
  "===",
  "!=",
  "!==",
  ">",
  ">=",
  "<",
  "<=",
  "!!",
  "!",
  "%",
  "log",
  "in",
  "cat",
  "substr",
  "+",
  "*",
  "-",
  "/",
  "min",
  "max",
  "merge",
  "var",
  "missing",
  "missing_some",
  "if",
  "?:",
  "and",
  "or",
  "filter",
  "map",
  "reduce",
  "all",
  "none",
  "some",
];

/** Every operator a protocol's logic may use: json-logic-js's plus the ones added above. */
export const LOGIC_OPERATORS: ReadonlySet<string> = new Set([
  ...JSON_LOGIC_OPERATORS,
  ...Object.keys(operations),
]);

/** Operations whose second argument is evaluated against each array element, not the form. */
export const SCOPED_OPERATORS: ReadonlySet<string> = new Set([
  "filter",
  "map",
  "reduce",
  "all",
  "none",
  "some",
]);

export function isEmpty(value: unknown): boolean {
  return (
    value === undefined || value === null || value === "" || (Array.isArray(value) && value.length === 0)
  );
}

function overrun(what: string): never {
  throw new LogicBudgetError(`the logic builds ${what}`);
}

const CHARS_PER_STEP = 64;

/** The budget of the evaluation under way (evaluation is synchronous, so one at a time). */
let active: { budget: LogicBudget; depth: number } | undefined;

// json-logic-js recurses through `jsonLogic.apply`, so wrapping it sees every step of an evaluation.
const applyUnbounded = jsonLogic.apply.bind(jsonLogic);
jsonLogic.apply = (logic, data) => {
  if (!active) return applyUnbounded(logic, data);
  if (--active.budget.steps < 0) throw new LogicBudgetError("the logic takes too many evaluation steps");
  if (++active.depth > LOGIC_LIMITS.depth) {
    throw new LogicBudgetError(`the logic is nested more than ${LOGIC_LIMITS.depth} levels deep`);
  }
  try {
    const value: unknown = applyUnbounded(logic, data);
    // Values cost steps by their size, so the budget also bounds the memory an evaluation allocates.
    if (Array.isArray(value)) {
      if (value.length > LOGIC_LIMITS.items) overrun(`an array of more than ${LOGIC_LIMITS.items} items`);
      active.budget.steps -= value.length;
    } else if (typeof value === "string") {
      if (value.length > LOGIC_LIMITS.chars)
        overrun(`a string of more than ${LOGIC_LIMITS.chars} characters`);
      active.budget.steps -= Math.floor(value.length / CHARS_PER_STEP);
    }
    return value as ReturnType<typeof applyUnbounded>;
  } finally {
    active.depth--;
  }
};

/**
 * Evaluates one expression within `budget` (a fresh one unless given).
 * Throws LogicBudgetError when the logic runs past a bound.
 */
export function evaluate(logic: Logic, data: object, budget: LogicBudget = logicBudget()): unknown {
  const outer = active;
  active = { budget, depth: 0 };
  try {
    return jsonLogic.apply(logic as jsonLogic.RulesLogic, data);
  } finally {
    active = outer;
  }
}

/** How deep an expression nests and how many nodes it has, walked without recursion (it may be 5,000 deep). */
export function logicSize(logic: Logic): { depth: number; nodes: number } {
  let depth = 0;
  let nodes = 0;
  const stack: [unknown, number][] = [[logic, 1]];
  while (stack.length > 0) {
    const [node, level] = stack.pop() as [unknown, number];
    nodes++;
    if (node === null || typeof node !== "object") continue;
    depth = Math.max(depth, level);
    for (const child of Object.values(node)) stack.push([child, level + 1]);
  }
  return { depth, nodes };
}

/** Every variable name an expression reads (first path segment of each `var`). */
export function logicVariables(logic: Logic): string[] {
  const out = new Set<string>();
  // A stack, not recursion: a definition published before the depth limit may nest thousands deep.
  const stack: unknown[] = [logic];
  while (stack.length > 0) {
    const node = stack.pop();
    if (Array.isArray(node)) {
      for (let i = node.length - 1; i >= 0; i--) stack.push(node[i]);
      continue;
    }
    if (node === null || typeof node !== "object") continue;
    for (const [op, args] of Object.entries(node)) {
      if (op === "var") {
        const name = Array.isArray(args) ? args[0] : args;
        if (typeof name === "string" && name !== "") out.add(name);
        else if (typeof name === "number") out.add(String(name));
      }
      stack.push(args);
    }
  }
  return [...out];
}
