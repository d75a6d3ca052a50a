import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { readFormsDirectory } from "../../functions/definition-files.ts";
import type { Instrument, Logic } from "../../functions/engine/definition.ts";
import { evaluate } from "../../functions/engine/logic.ts";
import { importDictionary, readRows } from "../../functions/engine/redcap/dictionary.ts";
import { redcapNames } from "../../functions/engine/redcap/fields.ts";
import {
  type LogicField,
  type LogicFields,
  logicFieldOf,
  logicFields,
  toJsonLogic,
  toRedcap,
} from "../../functions/engine/redcap/logic.ts";

/**
 * Same visibility, same values: every branching expression and calculation of
 * the fixture dictionaries is evaluated on random records twice — as REDCap
 * logic by the small interpreter below (written for this test, sharing no code
 * with the translator), and as the translated JSON Logic by the engine's
 * `evaluate`. The answers must agree. Then the other way round for the
 * reference study's JSON Logic and its REDCap spelling.
 *
 * REDCap semantics modelled: a record holds strings, empty is ""; a checkbox
 * option [cb(code)] is '1' or '0'; two values compare as numbers when both look
 * like numbers, otherwise as strings; "" and "0" are false; arithmetic with an
 * empty or non-numeric operand is empty; min/max/sum/mean skip empty values;
 * datediff is unsigned unless its last argument is true.
 */

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const FIXTURES = path.join(ROOT, "tests/fixtures/redcap");
const SAMPLES = 300;
/** The evaluation's clock, given to both sides: REDCap's 'today' and 'now', the engine's `$now`. */
const NOW = "2026-06-15T10:30:00.000Z";
const TODAY = NOW.slice(0, 10);

// ---------------------------------------------------------------------------
// An independent REDCap logic interpreter

type V = string | number | boolean;
type RecordValues = Record<string, string>;

const numeric = (s: string) => /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/.test(s);
const asText = (v: V): string =>
  typeof v === "boolean"
    ? v
      ? "1"
      : "0"
    : typeof v === "number"
      ? Number.isFinite(v)
        ? String(v)
        : ""
      : v;
const truthy = (v: V): boolean => {
  if (typeof v === "boolean") return v;
  const s = asText(v);
  return s !== "" && s !== "0";
};
function compare(a: V, op: string, b: V): boolean {
  const x = asText(a);
  const y = asText(b);
  const c = numeric(x) && numeric(y) ? Math.sign(Number(x) - Number(y)) : x < y ? -1 : x > y ? 1 : 0;
  return {
    "=": c === 0,
    "==": c === 0,
    "<>": c !== 0,
    "!=": c !== 0,
    "<": c < 0,
    "<=": c <= 0,
    ">": c > 0,
    ">=": c >= 0,
  }[op] as boolean;
}
/** A number, or undefined for an empty / non-numeric value (arithmetic is then empty). */
function num(v: V): number | undefined {
  if (typeof v === "number") return Number.isFinite(v) ? v : undefined;
  const s = asText(v);
  return numeric(s) ? Number(s) : undefined;
}
function day(s: string, format = "ymd"): number | undefined {
  const m = /^(\d+)[-/](\d+)[-/](\d+)(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(s.trim());
  if (!m) return undefined;
  const [a, b, c] = [m[1], m[2], m[3]].map(Number) as [number, number, number];
  const [y, mo, d] = format === "mdy" ? [c, a, b] : format === "dmy" ? [c, b, a] : [a, b, c];
  return Date.UTC(y, mo - 1, d, Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0)) / 86_400_000;
}
function decimalRound(x: number, d: number, how: "round" | "up" | "down"): number {
  const f = 10 ** d;
  if (how === "up") return Math.ceil(x * f) / f;
  if (how === "down") return Math.floor(x * f) / f;
  return Number(`${Math.round(Number(`${x}e${d}`))}e-${d}`);
}

class Interpreter {
  private i = 0;
  private tokens: string[];
  constructor(
    text: string,
    private readonly record: RecordValues,
  ) {
    this.tokens =
      text.match(/\[[^\]]*\]|'[^']*'|"[^"]*"|\d+\.?\d*|\.\d+|<>|<=|>=|!=|==|[A-Za-z_]\w*|[=<>+\-*/^(),]/g) ??
      [];
  }
  run(): V {
    const v = this.or();
    if (this.i !== this.tokens.length) throw new Error(`trailing ${this.tokens[this.i]}`);
    return v;
  }
  private peek = () => this.tokens[this.i] ?? "";
  private take = () => this.tokens[this.i++] ?? "";
  private or(): V {
    let v = this.and();
    while (this.peek().toLowerCase() === "or") {
      this.take();
      const r = this.and();
      v = truthy(v) || truthy(r);
    }
    return v;
  }
  private and(): V {
    let v = this.cmp();
    while (this.peek().toLowerCase() === "and") {
      this.take();
      const r = this.cmp();
      v = truthy(v) && truthy(r);
    }
    return v;
  }
  private cmp(): V {
    const l = this.sum();
    if (["=", "==", "<>", "!=", "<", "<=", ">", ">="].includes(this.peek())) {
      const op = this.take();
      return compare(l, op, this.sum());
    }
    return l;
  }
  private arith(a: V, op: string, b: V): V {
    const x = num(a);
    const y = num(b);
    if (x === undefined || y === undefined) return "";
    const r = op === "+" ? x + y : op === "-" ? x - y : op === "*" ? x * y : op === "/" ? x / y : x ** y;
    return Number.isFinite(r) ? r : "";
  }
  private sum(): V {
    let v = this.product();
    while (this.peek() === "+" || this.peek() === "-") v = this.arith(v, this.take(), this.product());
    return v;
  }
  private product(): V {
    let v = this.unary();
    while (this.peek() === "*" || this.peek() === "/") v = this.arith(v, this.take(), this.unary());
    return v;
  }
  private unary(): V {
    if (this.peek() === "-") {
      this.take();
      return this.arith(0, "-", this.unary());
    }
    const base = this.atom();
    if (this.peek() === "^") {
      this.take();
      return this.arith(base, "^", this.unary());
    }
    return base;
  }
  private atom(): V {
    const t = this.take();
    if (t === "(") {
      const v = this.or();
      this.take();
      return v;
    }
    if (t.startsWith("'") || t.startsWith('"')) return t.slice(1, -1);
    if (/^[\d.]/.test(t)) return t;
    if (t.startsWith("[")) {
      const ref = t.slice(1, -1);
      if (ref === "event-name") return this.record.$event ?? "";
      const m = /^(\w+)\((\w+)\)$/.exec(ref);
      if (m) return this.record[`${m[1]}___${m[2]}`] ?? "0";
      return this.record[ref] ?? "";
    }
    if (/^(true|false)$/i.test(t)) return t.toLowerCase() === "true";
    // a function call
    this.take();
    const args: V[] = [];
    while (this.peek() !== ")") {
      args.push(this.or());
      if (this.peek() === ",") this.take();
    }
    this.take();
    return this.call(t, args);
  }
  private call(fn: string, args: V[]): V {
    const values = () => args.map(num).filter((n): n is number => n !== undefined);
    switch (fn) {
      case "if":
        return truthy(args[0] ?? "") ? (args[1] ?? "") : (args[2] ?? "");
      case "round":
      case "roundup":
      case "rounddown": {
        const x = num(args[0] ?? "");
        if (x === undefined) return "";
        const how = fn === "round" ? "round" : fn === "roundup" ? "up" : "down";
        return decimalRound(x, num(args[1] ?? 0) ?? 0, how);
      }
      case "abs": {
        const x = num(args[0] ?? "");
        return x === undefined ? "" : Math.abs(x);
      }
      case "mod":
        return this.arith(args[0] ?? "", "%", args[1] ?? "") === ""
          ? ""
          : (num(args[0] ?? "") ?? 0) % (num(args[1] ?? "") ?? 1);
      case "min":
      case "max":
      case "sum":
      case "mean": {
        const v = values();
        if (v.length === 0) return "";
        if (fn === "min") return Math.min(...v);
        if (fn === "max") return Math.max(...v);
        const total = v.reduce((a, b) => a + b, 0);
        return fn === "sum" ? total : total / v.length;
      }
      case "isblankormissingcode":
        return asText(args[0] ?? "") === "";
      case "sqrt": {
        const x = num(args[0] ?? "");
        return x === undefined || x < 0 ? "" : Math.sqrt(x);
      }
      case "year":
      case "month":
      case "day": {
        const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(asText(args[0] ?? ""));
        if (!m) return "";
        return Number(m[fn === "year" ? 1 : fn === "month" ? 2 : 3]);
      }
      case "length":
        return asText(args[0] ?? "").length;
      case "find": {
        const needle = asText(args[0] ?? "").toLowerCase();
        return (
          asText(args[1] ?? "")
            .toLowerCase()
            .indexOf(needle) + 1
        );
      }
      case "contains":
      case "starts_with":
      case "ends_with": {
        const hay = asText(args[0] ?? "").toLowerCase();
        const needle = asText(args[1] ?? "").toLowerCase();
        if (fn === "contains") return hay.includes(needle);
        return fn === "starts_with" ? hay.startsWith(needle) : hay.endsWith(needle);
      }
      case "left":
      case "right":
      case "mid": {
        const text = asText(args[0] ?? "");
        const n = Math.trunc(num(args[fn === "mid" ? 2 : 1] ?? "") ?? Number.NaN);
        if (text === "" || Number.isNaN(n)) return "";
        if (fn === "left") return text.substring(0, Math.max(0, n));
        if (fn === "right") return n <= 0 ? "" : text.substring(Math.max(0, text.length - n));
        const start = Math.max(0, Math.trunc(num(args[1] ?? "") ?? 1) - 1);
        return text.substring(start, start + Math.max(0, n));
      }
      case "upper":
        return asText(args[0] ?? "").toUpperCase();
      case "lower":
        return asText(args[0] ?? "").toLowerCase();
      case "trim":
        return asText(args[0] ?? "").trim();
      case "concat":
        return args.map(asText).join("");
      case "datediff": {
        const extra = args.slice(3).map(asText);
        const format = extra.find((e) => /^(ymd|mdy|dmy)$/.test(e)) ?? "ymd";
        const signed = args.slice(3).some((e) => e === true || asText(e).toLowerCase() === "true");
        const when = (v: V) => {
          const s = asText(v);
          if (s === "today") return day(TODAY);
          if (s === "now") return day(NOW.slice(0, 16).replace("T", " "));
          return day(s, format);
        };
        const a = when(args[0] ?? "");
        const b = when(args[1] ?? "");
        if (a === undefined || b === undefined) return "";
        const per: Record<string, number> = { y: 1 / 365.2425, M: 1 / 30.44, d: 1, h: 24, m: 1440, s: 86400 };
        const diff = (b - a) * (per[asText(args[2] ?? "d")] ?? 1);
        return signed ? diff : Math.abs(diff);
      }
      default:
        throw new Error(`interpreter: no function ${fn}`);
    }
  }
}

function redcap(expr: string, record: RecordValues): V {
  return new Interpreter(expr, record).run();
}

// ---------------------------------------------------------------------------
// Random records, and the same record as the engine's form data

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Literals written in an expression: values near them are the interesting ones. */
function literals(expr: string): { numbers: number[]; strings: string[] } {
  const strings = [...expr.matchAll(/'([^']*)'|"([^"]*)"/g)].map((m) => m[1] ?? m[2] ?? "");
  const numbers = [...expr.replace(/\[[^\]]*\]|'[^']*'|"[^"]*"/g, " ").matchAll(/\d+\.?\d*/g)].map((m) =>
    Number(m[0]),
  );
  for (const s of strings) if (numeric(s)) numbers.push(Number(s));
  return { numbers, strings };
}

const ISO = (n: number) => new Date(Date.UTC(2000, 0, 1) + n * 86_400_000).toISOString().slice(0, 10);

function randomValue(field: LogicField, lit: ReturnType<typeof literals>, r: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  if (r() < 0.15) return "";
  switch (field.kind) {
    case "boolean":
      return pick(["1", "0"]);
    case "choice":
      return String(pick(field.codes ?? []));
    case "number": {
      const near = lit.numbers.length > 0 ? pick(lit.numbers) : 10;
      return String(
        pick([
          near,
          near + 1,
          near - 1,
          near + 0.5,
          near - 0.25,
          Math.round(r() * 400) - 50,
          Math.round(r() * 10000) / 100,
          0,
        ]),
      );
    }
    case "date":
      return pick([
        ...lit.strings.filter((s) => /^\d{4}-\d{2}-\d{2}$/.test(s)),
        ISO(Math.round(r() * 20000) - 15000),
      ]);
    default:
      return pick(["abc", "5", "5.0", "0", "x y", ...lit.strings.filter((s) => s !== "")]);
  }
}

function randomRecord(fields: LogicFields, reads: string[], expr: string, r: () => number): RecordValues {
  const lit = literals(expr);
  const record: RecordValues = {};
  for (const name of reads) {
    const field = fields[name];
    if (!field) continue;
    if (field.kind === "checkbox") {
      for (const code of field.codes ?? []) record[`${name}___${code}`] = r() < 0.4 ? "1" : "0";
    } else record[name] = randomValue(field, lit, r);
  }
  record.$event = [...lit.strings, "screening", "iv_1"][Math.floor(r() * (lit.strings.length + 2))] ?? "";
  return record;
}

/** The record as the engine sees it from instrument `form`: typed values, other forms under $latest. */
function engineData(fields: LogicFields, record: RecordValues, form: string): Record<string, unknown> {
  const data: Record<string, unknown> = { $event: record.$event, $latest: {}, $now: NOW };
  const latest = data.$latest as Record<string, Record<string, unknown>>;
  for (const [key, field] of Object.entries(fields)) {
    let value: unknown;
    if (field.kind === "checkbox") {
      const checked = (field.codes ?? []).filter((c) => record[`${key}___${c}`] === "1");
      value = checked.length > 0 ? checked : undefined;
    } else {
      const raw = record[key];
      if (raw === undefined || raw === "") value = undefined;
      else if (field.kind === "number") value = Number(raw);
      else if (field.kind === "boolean") value = raw === "1";
      else if (field.kind === "choice") value = (field.codes ?? []).find((c) => String(c) === raw);
      else value = raw;
    }
    const name = field.name ?? key;
    if (field.form === form) data[name] = value ?? null;
    else if (field.form !== undefined && value !== undefined) {
      latest[field.form] ??= {};
      (latest[field.form] as Record<string, unknown>)[name] = value;
    }
  }
  return data;
}

/** json-logic-js truthiness: an empty list is false. */
const jsonLogicTruthy = (v: unknown) => (Array.isArray(v) ? v.length > 0 : Boolean(v));

const reads = (expr: string) => [
  ...new Set([...expr.matchAll(/\[([a-z][a-z0-9_]*)(?:\([^)]*\))?\]/g)].map((m) => m[1] as string)),
];

/** A calculation's result compared across the two: empty, or a number. */
function calcValue(v: unknown): number | "" {
  if (typeof v === "boolean") return v ? 1 : 0;
  if (typeof v === "string") return numeric(v) ? Number(v) : "";
  return typeof v === "number" && Number.isFinite(v) ? v : "";
}
const close = (a: number | "", b: number | "") =>
  a === "" || b === "" ? a === b : Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));

interface Case {
  where: string;
  expr: string;
  logic: Logic;
  form: string;
  as: "condition" | "value";
}

function checkCase(c: Case, fields: LogicFields, seed: number): string | undefined {
  const r = rng(seed);
  const names = [...new Set([...reads(c.expr)])];
  for (let n = 0; n < SAMPLES; n++) {
    const record = randomRecord(fields, names, c.expr, r);
    const data = engineData(fields, record, c.form);
    const expected = redcap(c.expr, record);
    const actual = evaluate(c.logic, data);
    const same =
      c.as === "condition"
        ? truthy(expected) === jsonLogicTruthy(actual)
        : close(calcValue(expected), calcValue(actual));
    if (!same) {
      return `${c.where}: ${c.expr}\n  record ${JSON.stringify(record)}\n  REDCap ${JSON.stringify(expected)} / JSON Logic ${JSON.stringify(actual)}\n  ${JSON.stringify(c.logic)}`;
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------

/** The dictionaries that hold any branching logic or calculation (the others have nothing to compare). */
const fixtures = readdirSync(FIXTURES, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name)
  .filter((name) =>
    readRows(readFileSync(path.join(FIXTURES, name, "dictionary.csv"), "utf8")).rows.some(
      (r) =>
        r["Branching Logic (Show field only if...)"].trim() !== "" ||
        (r["Field Type"] === "calc" && r["Choices, Calculations, OR Slider Labels"].trim() !== ""),
    ),
  )
  .sort();

describe("REDCap logic → JSON Logic: same visibility and same calculated values", () => {
  for (const fixture of fixtures) {
    it(`agrees with a REDCap interpreter on every expression of ${fixture}`, () => {
      const text = readFileSync(path.join(FIXTURES, fixture, "dictionary.csv"), "utf8");
      const imported = importDictionary(text);
      const fields: LogicFields = {};
      for (const [form, instrument] of Object.entries(imported.instruments)) {
        for (const [name, schema] of Object.entries(instrument.properties))
          fields[name] = logicFieldOf(schema, form);
      }
      const cases: Case[] = [];
      let untranslated = 0;
      for (const row of readRows(text).rows) {
        const name = row["Variable / Field Name"];
        const field = fields[name];
        if (!field?.form) continue;
        for (const [expr, as] of [
          [row["Branching Logic (Show field only if...)"], "condition"],
          [row["Field Type"] === "calc" ? row["Choices, Calculations, OR Slider Labels"] : "", "value"],
        ] as const) {
          if (expr.trim() === "") continue;
          const t = toJsonLogic(expr, fields, { form: field.form, as });
          if ("error" in t) {
            untranslated++;
            expect(imported.report.some((i) => i.field === name && i.severity === "error")).toBe(true);
            continue;
          }
          cases.push({ where: `${fixture}:${name}`, expr, logic: t.logic, form: field.form, as });
        }
      }
      const failures = cases.map((c, i) => checkCase(c, fields, 1000 + i)).filter((f) => f !== undefined);
      expect(failures, failures.join("\n\n")).toEqual([]);
      expect(untranslated).toBe(0);
      expect(cases.length).toBeGreaterThan(0);
    });
  }
});

describe("REDCap's functions beyond arithmetic: same answers", () => {
  it("agrees with the interpreter on today, sqrt, date parts and the text functions", () => {
    const fields: LogicFields = {
      n: { kind: "number", form: "f" },
      m: { kind: "number", form: "f" },
      dob: { kind: "date", form: "f" },
      t: { kind: "text", form: "f" },
      u: { kind: "text", form: "f" },
    };
    const expressions: [string, "condition" | "value"][] = [
      ["datediff([dob],'today','y')", "value"],
      ["rounddown(datediff([dob], 'today', 'y', true))", "value"],
      ["datediff('today',[dob],'d') > 365", "condition"],
      ["datediff([dob],'now','h',true)", "value"],
      ["sqrt([n])", "value"],
      ["round(sqrt([n] * [m] / 3600), 2)", "value"],
      ["year([dob]) < 1980", "condition"],
      ["month([dob]) = 6 and day([dob]) >= 15", "condition"],
      ["year([dob]) * 100 + month([dob])", "value"],
      ["length([t]) > 2", "condition"],
      ["find('b', [t])", "value"],
      ["contains([t], 'B') or starts_with([u], 'x') or ends_with([u], 'Y')", "condition"],
      ["left([t], 2) = 'ab'", "condition"],
      ["right([t], 1) = 'c'", "condition"],
      ["mid([t], 2, 2) = 'bc'", "condition"],
      ["upper([t]) = 'ABC' or lower([u]) = 'x y'", "condition"],
      ["trim(concat([t], ' ', [u])) = 'abc'", "condition"],
      ["if(contains([t], 'a'), 1, 0)", "value"],
      ["if(length([u]) = 0, sum([n], [m]), mean([n], [m]))", "value"],
    ];
    const failures: string[] = [];
    expressions.forEach(([expr, as], i) => {
      const t = toJsonLogic(expr, fields, { form: "f", as });
      if ("error" in t) {
        failures.push(`${expr}: ${t.error}`);
        return;
      }
      const failure = checkCase(
        { where: `function ${i}`, expr, logic: t.logic, form: "f", as },
        fields,
        7000 + i,
      );
      if (failure) failures.push(failure);
      // and back: the REDCap spelling gives the same answers too
      const back = toRedcap(t.logic, fields, { form: "f", as });
      if ("error" in back) failures.push(`${expr}: back to REDCap: ${back.error}`);
      else {
        const again = checkCase(
          { where: `back ${i}`, expr: back.expr, logic: t.logic, form: "f", as },
          fields,
          7500 + i,
        );
        if (again) failures.push(again);
      }
    });
    expect(failures, failures.join("\n\n")).toEqual([]);
  });
});

describe("the comparison itself", () => {
  it("catches a translation that treats an empty field as 0, as plain JSON Logic would", () => {
    const fields: LogicFields = { x: { kind: "number", form: "f" } };
    const naive: Case = {
      where: "naive",
      expr: "[x] < 0",
      logic: { "<": [{ var: "x" }, 0] },
      form: "f",
      as: "condition",
    };
    expect(checkCase(naive, fields, 1)).toMatch(/REDCap true \/ JSON Logic false/);
    const t = toJsonLogic("[x] < 0", fields, { form: "f" });
    if (!("logic" in t)) throw new Error(t.error);
    expect(checkCase({ ...naive, logic: t.logic }, fields, 1)).toBeUndefined();
  });
});

describe("JSON Logic → REDCap: the reference study's branching and calculations", () => {
  let instruments: Record<string, Instrument>;
  let fields: LogicFields;

  beforeAll(async () => {
    const read = await readFormsDirectory(path.join(ROOT, "forms"));
    if (!read.files) throw new Error("forms/ could not be read");
    instruments = Object.fromEntries(
      read.files.instruments.map((f) => [(f.json as Instrument).$id, f.json as Instrument]),
    );
    fields = logicFields(instruments, redcapNames(instruments, Object.keys(instruments)));
  });

  it("spells every translatable expression so that REDCap gives the same answer, on random records", () => {
    const cases: Case[] = [];
    const refused: string[] = [];
    for (const [form, instrument] of Object.entries(instruments)) {
      for (const [name, schema] of Object.entries(instrument.properties)) {
        for (const [keyword, as] of [
          ["x-visible-if", "condition"],
          ["x-calc", "value"],
        ] as const) {
          const logic = schema[keyword];
          if (logic === undefined) continue;
          const r = toRedcap(logic, fields, { form, as });
          if ("error" in r) refused.push(`${form}.${name}: ${r.error}`);
          else cases.push({ where: `${form}.${name}`, expr: r.expr, logic, form, as });
        }
      }
    }
    const failures = cases.map((c, i) => checkCase(c, fields, 5000 + i)).filter((f) => f !== undefined);
    expect(failures, failures.join("\n\n")).toEqual([]);
    expect(cases.length).toBeGreaterThanOrEqual(25);
    // $arm has no REDCap spelling: that one is carried in @X-SCHEMA (see redcap-forms.test.ts)
    expect(refused).toEqual(["mri.letm: $arm has no REDCap equivalent in a data dictionary"]);
  });

  it("round-trips hand-written JSON Logic shapes through REDCap with the same answers", () => {
    const probe: Record<string, Instrument> = {
      p: {
        $id: "p",
        title: "Probe",
        type: "object",
        properties: {
          n: { type: "number", title: "n" },
          m: { type: "integer", title: "m" },
          b: { type: "boolean", title: "b", "x-widget": "yesno" },
          d: { type: "string", format: "date", title: "d" },
          e: { type: "string", format: "date", title: "e" },
          t: { type: "string", title: "t" },
          c: { type: "integer", title: "c", oneOf: [0, 1, 2, 7].map((k) => ({ const: k, title: `c${k}` })) },
          s: {
            type: "string",
            title: "s",
            oneOf: ["1", "2", "ABC"].map((k) => ({ const: k, title: `s${k}` })),
          },
          cb: {
            type: "array",
            title: "cb",
            uniqueItems: true,
            items: { type: "string", oneOf: ["x", "y", "z"].map((k) => ({ const: k, title: k })) },
          },
        },
      },
    };
    const f = logicFields(probe);
    const v = (name: string) => ({ var: name });
    const shapes: [Logic, "condition" | "value"][] = [
      [{ ">": [v("n"), -1] }, "condition"],
      [{ "<": [v("n"), 3] }, "condition"],
      [{ "<=": [v("n"), v("m")] }, "condition"],
      [{ ">": [v("n"), v("m")] }, "condition"],
      [{ "==": [v("n"), v("m")] }, "condition"],
      [{ "!": v("b") }, "condition"],
      [{ "!!": v("n") }, "condition"],
      [{ "==": [v("c"), "1"] }, "condition"],
      [{ "<": [v("c"), 2] }, "condition"],
      [{ "!=": [v("s"), "ABC"] }, "condition"],
      [{ in: [v("c"), [0, 7]] }, "condition"],
      [{ "!": { in: ["y", v("cb")] } }, "condition"],
      [v("cb"), "condition"],
      [{ isempty: v("t") }, "condition"],
      [{ missing: ["n", "d"] }, "condition"],
      [{ "<": [v("d"), "2001-06-01"] }, "condition"],
      [{ ">=": [v("d"), v("e")] }, "condition"],
      [{ "<=": [v("d"), v("e")] }, "condition"],
      [{ if: [v("b"), { "==": [v("c"), 1] }, { "<": [v("n"), 5] }] }, "condition"],
      [{ "-": [v("n"), v("m")] }, "value"],
      [{ "/": [v("n"), 4] }, "value"],
      [{ "+": [v("n"), v("m")] }, "value"],
      [{ round: [{ "*": [v("n"), 1.5] }, 1] }, "value"],
      [{ datediff: [v("d"), v("e"), "d"] }, "value"],
      [{ datediff: [v("d"), v("e"), "w"] }, "value"],
      [{ if: [{ isempty: v("n") }, null, { "-": [v("n"), { "%": [v("n"), 1] }] }] }, "value"],
      [{ or: [v("n"), v("m")] }, "value"],
      [{ and: [v("n"), v("m")] }, "value"],
      [{ if: [{ ">": [v("n"), 10] }, 1, { "<": [v("n"), 0] }, -1, 0] }, "value"],
    ];
    const failures: string[] = [];
    shapes.forEach(([logic, as], i) => {
      const r = toRedcap(logic, f, { form: "p", as });
      if ("error" in r) {
        failures.push(`${JSON.stringify(logic)}: ${r.error}`);
        return;
      }
      const failure = checkCase({ where: `shape ${i}`, expr: r.expr, logic, form: "p", as }, f, 9000 + i);
      if (failure) failures.push(failure);
    });
    expect(failures, failures.join("\n\n")).toEqual([]);
  });
});
