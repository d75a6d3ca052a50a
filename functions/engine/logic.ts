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
  // Only ISO dates are dates: a runtime's Date would read "0" or "1/1/2020" too, and REDCap gives blank.
  if (!/^\d{4}-\d{2}-\d{2}/.test(value)) return undefined;
  const d = new Date(
    /^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : local ? `${value.replace(" ", "T")}Z` : value,
  );
  return Number.isNaN(d.getTime()) ? undefined : d;
}

const UNIT_DAYS: Record<string, number> = { d: 1, w: 7, M: 30.44, y: 365.2425 };

/** date_add's units in days: REDCap's @CALCDATE units (a month 30.44 days, a year 365.2425) plus weeks. */
const ADD_UNIT_DAYS: Record<string, number> = { ...UNIT_DAYS, h: 1 / 24, m: 1 / 1440, s: 1 / 86400 };

/** A moment written back in the shape it came in: a date, a local date-time, or an instant in UTC. */
function sameShape(shape: string, at: Date): string {
  const iso = at.toISOString();
  if (/^\d{4}-\d{2}-\d{2}$/.test(shape)) return iso.slice(0, 10);
  if (/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}$/.test(shape)) return iso.slice(0, 16);
  if (/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}$/.test(shape)) return iso.slice(0, 19);
  return `${iso.slice(0, 19)}Z`;
}

/** A finite number from a number or a numeric string; undefined for empty or anything else (REDCap: blank). */
function toNumber(value: unknown): number | undefined {
  const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  return typeof n === "number" && Number.isFinite(n) ? n : undefined;
}

/** A value as text, REDCap-style: empty for undefined and null. */
function toText(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "boolean") return value ? "1" : "0";
  return String(value);
}

/** A whole count of characters, or undefined: string positions take integers only. */
function toCount(value: unknown): number | undefined {
  const n = toNumber(value);
  return n === undefined ? undefined : Math.trunc(n);
}

/**
 * The evaluation's clock: `$now` from the context (the save's server time, or
 * the time the form page was rendered), else the machine's clock. Taking it
 * from the context is what makes a save reproducible: the stored calculation
 * used the `$now` recorded with that save (see architecture.md "today").
 */
function clock(data: unknown): string {
  const given = data !== null && typeof data === "object" ? (data as { $now?: unknown }).$now : undefined;
  return typeof given === "string" && /^\d{4}-\d{2}-\d{2}/.test(given) ? given : new Date().toISOString();
}

/** The part of a date or date-time at `[start, end)` as a number (year, month, day), null when not a date. */
function datePart(value: unknown, start: number, end: number): number | null {
  const s = toText(value);
  return /^\d{4}-\d{2}-\d{2}/.test(s) ? Number(s.slice(start, end)) : null;
}

/** Empty stays empty: a string operation of an empty value is empty, like REDCap's blank. */
function textOp(fn: (s: string) => unknown) {
  return (value: unknown) => {
    const s = toText(value);
    return s === "" ? null : fn(s);
  };
}

/** Needle and haystack compared ignoring case, as REDCap's text tests do. */
function search(fn: (haystack: string, needle: string) => unknown) {
  return (haystack: unknown, needle: unknown) =>
    fn(toText(haystack).toLowerCase(), toText(needle).toLowerCase());
}

function buildString(parts: unknown[]): string {
  const texts = parts.map(toText);
  const size = texts.reduce((n, p) => n + p.length, 0);
  if (size > LOGIC_LIMITS.chars) overrun(`a string of more than ${LOGIC_LIMITS.chars} characters`);
  return texts.join("");
}

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
  /**
   * date_add(date, offset, unit): the date `offset` units later (earlier when negative), in the shape
   * the date came in (a date stays a date, cut to its day), like REDCap's @CALCDATE; null when either is empty.
   */
  date_add: (date: unknown, offset: unknown, unit: unknown = "d") => {
    const d = toDate(date);
    const n = toNumber(offset);
    const days = ADD_UNIT_DAYS[String(unit)];
    if (!d || n === undefined || days === undefined) return null;
    const at = new Date(d.getTime() + Math.round(n * days * DAY_MS));
    return Number.isNaN(at.getTime()) ? null : sameShape(String(date), at);
  },
  /**
   * checked(value, choices, ticked): the titles of the `choices` ([code, title] pairs) whose code is in
   * the checkbox `value` (`ticked` true or absent) or not in it (false), joined by ", " in the choices'
   * order: REDCap's `[cb:checked]` / `[cb:unchecked]` (with `:value`, the pairs are [code, code]).
   */
  checked: (value: unknown, choices: unknown, ticked: unknown = true) => {
    if (!Array.isArray(choices)) return null;
    const codes = Array.isArray(value) ? value : [];
    const picked = choices.filter(
      (c): c is [unknown, unknown] => Array.isArray(c) && codes.includes(c[0]) === (ticked !== false),
    );
    return buildString(picked.flatMap((c, i) => (i === 0 ? [c[1]] : [", ", c[1]])));
  },
  /** today(): the evaluation's date, YYYY-MM-DD (see `clock`). */
  today: function (this: unknown) {
    return clock(this).slice(0, 10);
  },
  /** now(): the evaluation's date and time to the minute, YYYY-MM-DDTHH:MM (see `clock`). */
  now: function (this: unknown) {
    const c = clock(this);
    return c.length >= 16 ? `${c.slice(0, 10)}T${c.slice(11, 16)}` : `${c.slice(0, 10)}T00:00`;
  },
  /** sqrt(x): null when x is empty, not a number or negative. */
  sqrt: (value: unknown) => {
    const n = toNumber(value);
    return n === undefined || n < 0 ? null : Math.sqrt(n);
  },
  /** abs(x): null when x is empty or not a number. */
  abs: (value: unknown) => {
    const n = toNumber(value);
    return n === undefined ? null : Math.abs(n);
  },
  /** rounddown(x, digits) / roundup(x, digits): toward −∞ / +∞ at `digits` decimals; null when x is empty. */
  rounddown: (value: unknown, digits: unknown = 0) => {
    const n = toNumber(value);
    if (n === undefined) return null;
    const f = 10 ** Number(digits);
    return Math.floor(n * f) / f;
  },
  roundup: (value: unknown, digits: unknown = 0) => {
    const n = toNumber(value);
    if (n === undefined) return null;
    const f = 10 ** Number(digits);
    return Math.ceil(n * f) / f;
  },
  /** sum(…) / mean(…): over the values that are numbers, skipping empty ones; null when none is. */
  sum: (...values: unknown[]) => {
    const ns = values.map(toNumber).filter((n) => n !== undefined);
    return ns.length === 0 ? null : ns.reduce((a, b) => a + b, 0);
  },
  mean: (...values: unknown[]) => {
    const ns = values.map(toNumber).filter((n) => n !== undefined);
    return ns.length === 0 ? null : ns.reduce((a, b) => a + b, 0) / ns.length;
  },
  /** year(d) / month(d) / day(d) of a date or date-time (YYYY-MM-DD…); null when not one. */
  year: (value: unknown) => datePart(value, 0, 4),
  month: (value: unknown) => datePart(value, 5, 7),
  day: (value: unknown) => datePart(value, 8, 10),
  /** left(text, n) / right(text, n): the first / last n characters. */
  left: (value: unknown, count: unknown) => {
    const n = toCount(count);
    return n === undefined ? null : textOp((s) => s.slice(0, Math.max(0, n)))(value);
  },
  right: (value: unknown, count: unknown) => {
    const n = toCount(count);
    return n === undefined ? null : textOp((s) => (n <= 0 ? "" : s.slice(-n)))(value);
  },
  /** mid(text, start, n): n characters from position `start` (1 is the first), like REDCap. */
  mid: (value: unknown, start: unknown, count: unknown) => {
    const from = toCount(start);
    const n = toCount(count);
    if (from === undefined || n === undefined) return null;
    return textOp((s) => s.slice(Math.max(0, from - 1), Math.max(0, from - 1) + Math.max(0, n)))(value);
  },
  /** length(text): characters; 0 for empty. */
  length: (value: unknown) => toText(value).length,
  /** find(needle, haystack): the 1-based position of needle, ignoring case; 0 when absent. */
  find: (needle: unknown, haystack: unknown) => search((h, n) => h.indexOf(n) + 1)(haystack, needle),
  /** contains / starts_with / ends_with(haystack, needle), ignoring case like REDCap. */
  contains: search((h, n) => h.includes(n)),
  starts_with: search((h, n) => h.startsWith(n)),
  ends_with: search((h, n) => h.endsWith(n)),
  /** concat(…): the values joined, empty ones as "". */
  concat: (...values: unknown[]) => buildString(values),
  upper: textOp((s) => s.toUpperCase()),
  lower: textOp((s) => s.toLowerCase()),
  trim: textOp((s) => s.trim()),
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
