import type { ChoiceCode, Logic } from "../definition.ts";
import type { LogicFields } from "./fields.ts";
import { type ArithOp, type CompareOp, FLIP, isNumeric, type Node, parseRedcap } from "./syntax.ts";

/**
 * REDCap logic → JSON Logic, with REDCap's semantics kept exactly: an empty
 * field compares as "" (so `[x] < 5` is true while x is empty), two values
 * compare as numbers only when both look like numbers, `[cb(code)]` is '1' or
 * '0', arithmetic with an empty operand is empty, min/max/sum/mean ignore
 * empty values, datediff is unsigned unless asked otherwise. Anything without
 * an exact JSON Logic equivalent is an error, never an approximation.
 */

export interface ToJsonLogicOptions {
  /** The instrument the expression belongs to: fields of other instruments are read as `$latest.<form>.<field>`. */
  form?: string;
  /** "condition" (branching logic, the default) or "value" (a calculation). */
  as?: "condition" | "value";
  /** REDCap unique event name → the engine's event id, for `[event][field]` (default: the same name). */
  events?: Readonly<Record<string, string>>;
  /**
   * The expression is the arguments of an @CALCDATE written as `calcdate(date, offset, unit)`: the
   * one place that function exists, since REDCap has it as an action tag only.
   */
  calcDate?: boolean;
}

/** REDCap smart variables → the context variable holding the same (validate-form.ts LogicContext). */
const SMART_VARIABLES: Record<string, { name: string; cls: "num" | "str" }> = {
  "event-name": { name: "$event", cls: "str" },
  "current-instance": { name: "$instance", cls: "num" },
  "previous-event-name": { name: "$previousEvent", cls: "str" },
  "next-event-name": { name: "$nextEvent", cls: "str" },
  "first-event-name": { name: "$firstEvent", cls: "str" },
  "last-event-name": { name: "$lastEvent", cls: "str" },
};

/** @CALCDATE's units: years and months as REDCap counts them (365.2425 and 30.44 days), days, hours, minutes, seconds. */
const CALCDATE_UNITS = ["y", "M", "d", "h", "m", "s"];

export type ToJsonLogicResult = { logic: Logic; warnings: string[] } | { error: string };

class Untranslatable extends Error {
  override name = "Untranslatable";
}

type Cls =
  /** number or empty */
  | "num"
  /** true / false or empty */
  | "bool"
  /** a string that may look like a number, or empty */
  | "text"
  /** a string that never looks like a number, or empty */
  | "str"
  /** one of `codes`, or empty */
  | "choice"
  /** a checkbox option: true (checked, '1') or false ('0'), never empty */
  | "cb"
  /** the truth of a condition */
  | "cond"
  /** a literal; `lit` holds its REDCap text */
  | "lit";

interface Val {
  logic: Logic;
  cls: Cls;
  lit?: string;
  codes?: readonly ChoiceCode[];
  /** Unguarded arithmetic: the result is empty when one of these fields is empty or one of these conditions holds. */
  pendingVars?: string[];
  pendingConds?: Logic[];
}

const isempty = (x: Logic): Logic => ({ isempty: x });
const filled = (x: Logic): Logic => ({ "!": { isempty: x } });
const numTest = (x: Logic): Logic => ({ "==": [x, { "+": [x] }] });

function all(op: "and" | "or", items: Logic[]): Logic {
  const unit = op === "and";
  const kept = items.filter((i) => i !== unit);
  if (kept.some((i) => i === !unit)) return !unit;
  if (kept.length === 0) return unit;
  return kept.length === 1 ? kept[0] : { [op]: kept };
}

/** REDCap's comparison of two values as REDCap holds them (strings; "" for empty). */
export function redcapCompare(a: string, b: string, op: CompareOp): boolean {
  const numeric = isNumeric(a) && isNumeric(b);
  const c = numeric ? Math.sign(Number(a) - Number(b)) : a < b ? -1 : a > b ? 1 : 0;
  switch (op) {
    case "=":
      return c === 0;
    case "<>":
      return c !== 0;
    case "<":
      return c < 0;
    case "<=":
      return c <= 0;
    case ">":
      return c > 0;
    case ">=":
      return c >= 0;
  }
}

const JS_OP: Record<CompareOp, string> = {
  "=": "==",
  "<>": "!=",
  "<": "<",
  "<=": "<=",
  ">": ">",
  ">=": ">=",
};

const numericCodes = (codes: readonly ChoiceCode[] = []) => codes.every((c) => typeof c === "number");

function literalValue(text: string): Logic {
  if (text === "") return null;
  return isNumeric(text) ? Number(text) : text;
}

/** The JSON Logic for "true exactly for these values (and for empty when `empty`)" over a finite domain. */
function valueSet(
  x: Logic,
  domain: readonly ChoiceCode[] | readonly boolean[],
  hit: unknown[],
  empty: boolean,
): Logic {
  const values = [...domain] as unknown[];
  if (hit.length === 0) return empty ? isempty(x) : false;
  if (hit.length === values.length) return empty ? true : filled(x);
  if (!empty) return hit.length === 1 ? { "==": [x, hit[0]] } : { in: [x, hit] };
  const miss = values.filter((v) => !hit.includes(v));
  return miss.length === 1 ? { "!=": [x, miss[0]] } : { "!": { in: [x, miss] } };
}

function emptyOnly(op: CompareOp, x: Logic): Logic {
  switch (op) {
    case "=":
    case "<=":
      return isempty(x);
    case "<>":
    case ">":
      return filled(x);
    case "<":
      return false;
    case ">=":
      return true;
  }
}

/** A comparison where the empty case is settled first: true/false for "" op s, then `core` for a filled value. */
function withEmpty(op: CompareOp, x: Logic, s: string, core: Logic): Logic {
  return redcapCompare("", s, op) ? all("or", [isempty(x), core]) : all("and", [filled(x), core]);
}

const CHECKED_MODIFIERS = ["checked", "unchecked"];

class Translator {
  readonly warnings: string[] = [];
  constructor(
    private readonly fields: LogicFields,
    private readonly form: string | undefined,
    private readonly events?: Readonly<Record<string, string>>,
    private readonly calcDate = false,
  ) {}

  // -------------------------------------------------------------------------
  // Values

  value(node: Node): Val {
    switch (node.t) {
      case "num":
        return { cls: "lit", lit: node.text, logic: Number(node.text) };
      case "str":
        return { cls: "lit", lit: node.value, logic: literalValue(node.value) };
      case "bool":
        return { cls: "cond", logic: node.value };
      case "smart": {
        const smart = SMART_VARIABLES[node.name];
        if (smart) return { cls: smart.cls, logic: { var: smart.name } };
        throw new Untranslatable(
          `smart variable [${node.name}] has no equivalent (only ${Object.keys(SMART_VARIABLES)
            .map((n) => `[${n}]`)
            .join(", ")} do)`,
        );
      }
      case "field":
        return this.field(node);
      case "cmp":
        return { cls: "cond", logic: this.compare(node.op, this.value(node.l), this.value(node.r)) };
      case "and":
      case "or":
        return {
          cls: "cond",
          logic: all(
            node.t,
            node.items.map((i) => this.cond(this.value(i))),
          ),
        };
      case "arith":
        return this.arith(node.op, this.value(node.l), this.value(node.r));
      case "neg": {
        const e = this.number(this.value(node.e));
        return { cls: "num", logic: { "-": [e.logic] }, pendingVars: e.vars, pendingConds: e.conds };
      }
      case "call":
        return this.call(node.fn, node.args);
    }
  }

  private field(node: Node & { t: "field" }): Val {
    if (node.instance !== undefined)
      throw new Untranslatable(`[${node.name}][${node.instance}] reads one instance: not supported`);
    const field = this.fields[node.name];
    if (!field) throw new Untranslatable(`"${node.name}" is not a field of this dictionary`);
    if (node.modifier !== undefined && !CHECKED_MODIFIERS.includes(node.modifier))
      throw new Untranslatable(`[${node.name}:${node.modifier}] is not supported`);
    if (node.modifier !== undefined && (field.kind !== "checkbox" || node.code !== undefined))
      throw new Untranslatable(`[${node.name}:${node.modifier}] needs a checkbox field, without an option`);
    let name = field.name ?? node.name;
    if (node.event !== undefined) {
      if (field.form === undefined)
        throw new Untranslatable(
          `[${node.event}][${node.name}]: the instrument of "${node.name}" is not known`,
        );
      name = `$events.${this.events?.[node.event] ?? node.event}.${field.form}.${name}`;
    } else if (field.form !== undefined && this.form !== undefined && field.form !== this.form) {
      name = `$latest.${field.form}.${name}`;
      this.warnings.push(
        `[${node.name}] is on instrument "${field.form}": read as the latest value in the casebook (${name})`,
      );
    }
    const v = { var: name };
    if (node.modifier !== undefined) {
      // the titles of the ticked (or unticked) options, as REDCap pipes them
      const choices = (field.codes ?? []).map((c, i) => [c, field.titles?.[i] ?? String(c)]);
      const ticked = node.modifier === "checked" ? [] : [false];
      return { cls: "text", logic: { checked: [v, choices, ...ticked] } };
    }
    if (node.code !== undefined) {
      if (field.kind !== "checkbox")
        throw new Untranslatable(`[${node.name}(${node.code})]: "${node.name}" is not a checkbox field`);
      const code = (field.codes ?? []).find((c) => String(c) === node.code);
      if (code === undefined)
        throw new Untranslatable(`"${node.code}" is not an option of checkbox "${node.name}"`);
      return { cls: "cb", logic: { in: [code, v] } };
    }
    switch (field.kind) {
      case "number":
        return { cls: "num", logic: v };
      case "boolean":
        return { cls: "bool", logic: v };
      case "text":
        return { cls: "text", logic: v };
      case "date":
        return { cls: "str", logic: v };
      case "choice":
        return { cls: "choice", logic: v, codes: field.codes ?? [] };
      case "checkbox":
        throw new Untranslatable(
          `checkbox "${node.name}" must be read one option at a time: [${node.name}(code)]`,
        );
      case "none":
        throw new Untranslatable(`"${node.name}" is display-only and holds no value`);
    }
  }

  /** A value as a finished JSON Logic value: pending arithmetic guarded, literals typed. */
  finish(v: Val): Val {
    const vars = [...new Set(v.pendingVars ?? [])];
    const conds = v.pendingConds ?? [];
    if (vars.length === 0 && conds.length === 0) return v;
    const guards: Logic[] = [...(vars.length > 0 ? [{ missing: vars }] : []), ...conds];
    const guard = guards.length === 1 ? guards[0] : { or: guards };
    return { cls: v.cls, logic: { if: [guard, null, v.logic] } };
  }

  /** A value where the expression's result is a value (calculation, if() branch, function argument). */
  output(v: Val): Logic {
    const f = this.finish(v);
    if (f.cls === "cb") return { if: [f.logic, 1, 0] };
    return f.logic;
  }

  /** A function argument read as text: a quoted literal stays the text it is ('-01' is not -1). */
  textArg(n: Node): Logic {
    return n.t === "str" ? n.value : this.output(this.value(n));
  }

  /** REDCap's truthiness of a value used as a condition ("" and "0" are false). */
  cond(v: Val): Logic {
    const f = this.finish(v);
    switch (f.cls) {
      case "cond":
      case "cb":
      case "num":
      case "bool":
        return f.logic;
      case "lit":
        return f.lit !== "" && f.lit !== "0";
      case "choice":
        if (numericCodes(f.codes)) return f.logic;
        return all("and", [filled(f.logic), { "!=": [f.logic, "0"] }]);
      default:
        return all("and", [filled(f.logic), { "!=": [f.logic, "0"] }]);
    }
  }

  // -------------------------------------------------------------------------
  // Comparisons

  compare(op: CompareOp, a: Val, b: Val): Logic {
    if (a.cls === "lit" && b.cls !== "lit") return this.compare(FLIP[op], b, a);
    if (a.cls === "lit" && b.cls === "lit") return redcapCompare(a.lit ?? "", b.lit ?? "", op);
    const x = this.finish(a);
    if (b.cls === "lit") return this.compareLiteral(op, x, b.lit ?? "");
    return this.compareValues(op, x, this.finish(b));
  }

  private compareLiteral(op: CompareOp, a: Val, s: string): Logic {
    const x = a.logic;
    switch (a.cls) {
      case "cb": {
        const checked = redcapCompare("1", s, op);
        const unchecked = redcapCompare("0", s, op);
        if (checked === unchecked) return checked;
        return checked ? x : { "!": x };
      }
      case "cond":
        return this.compareLiteral(op, { cls: "num", logic: { if: [x, 1, 0] } }, s);
      case "bool": {
        const hit = [true, false].filter((v) => redcapCompare(v ? "1" : "0", s, op));
        return valueSet(x, [true, false], hit, redcapCompare("", s, op));
      }
      case "choice": {
        const codes = a.codes ?? [];
        if (op !== "=" && op !== "<>" && numericCodes(codes))
          return this.compareLiteral(op, { cls: "num", logic: x }, s);
        const hit = codes.filter((c) => redcapCompare(String(c), s, op));
        if (hit.length === 0 && (op === "=" || op === "<>")) {
          // not a code: never equal; kept as written so it reads back the same
          this.warnings.push(`'${s}' is not a code of this field: "${op}" is always ${op === "<>"}`);
          const typed = numericCodes(codes) && isNumeric(s) ? Number(s) : s;
          return { [JS_OP[op]]: [x, typed] };
        }
        return valueSet(x, codes, hit, redcapCompare("", s, op));
      }
      case "num":
        if (s === "") return emptyOnly(op, x);
        if (isNumeric(s)) {
          const n = Number(s);
          if (op === "=" || op === "<>") return { [JS_OP[op]]: [x, n] };
          return withEmpty(op, x, s, { [op]: [x, n] });
        }
        return withEmpty(op, x, s, { [op]: [{ cat: [x] }, s] });
      case "str":
        if (s === "") return emptyOnly(op, x);
        if (op === "=" || op === "<>") return { [JS_OP[op]]: [x, s] };
        return withEmpty(op, x, s, { [op]: [x, s] });
      default: {
        // free text: numbers compare as numbers, anything else as strings
        if (s === "") return emptyOnly(op, x);
        if (!isNumeric(s)) {
          if (op === "=" || op === "<>") return { [JS_OP[op]]: [x, s] };
          return withEmpty(op, x, s, { [op]: [x, s] });
        }
        const n = Number(s);
        if (op === "=" || op === "<>") return { [JS_OP[op]]: [x, n] };
        return { if: [isempty(x), redcapCompare("", s, op), numTest(x), { [op]: [x, n] }, { [op]: [x, s] }] };
      }
    }
  }

  private compareValues(op: CompareOp, a: Val, b: Val): Logic {
    const numeric = (v: Val) =>
      v.cls === "num" || v.cls === "bool" || (v.cls === "choice" && numericCodes(v.codes));
    const toNumber = (v: Val): Val =>
      v.cls === "cb" || v.cls === "cond" ? { cls: "num", logic: { if: [v.logic, 1, 0] } } : v;
    const l = toNumber(a);
    const r = toNumber(b);
    const x = l.logic;
    const y = r.logic;
    const bothNumeric = numeric(l) && numeric(r);
    const bothStr = l.cls === "str" && r.cls === "str";
    if ((bothNumeric || bothStr) && (op === "=" || op === "<>")) return { [JS_OP[op]]: [x, y] };
    let core: Logic;
    if (bothNumeric || bothStr) core = { [JS_OP[op]]: [x, y] };
    else {
      const asString = (v: Val) => (numeric(v) ? { cat: [v.logic] } : v.logic);
      const asNumber = (v: Val) => (numeric(v) ? v.logic : { "+": [v.logic] });
      const looksNumeric = (v: Val): Logic =>
        numeric(v) ? true : v.cls === "str" ? false : numTest(v.logic);
      core = {
        if: [
          all("and", [looksNumeric(l), looksNumeric(r)]),
          { [JS_OP[op]]: [asNumber(l), asNumber(r)] },
          { [JS_OP[op]]: [asString(l), asString(r)] },
        ],
      };
    }
    // "" sorts before every filled value; two empties are equal
    const bothEmpty = redcapCompare("", "", op);
    const leftEmpty = redcapCompare("", "x", op);
    const rightEmpty = redcapCompare("x", "", op);
    const whenLeftEmpty = bothEmpty === leftEmpty ? bothEmpty : { if: [isempty(y), bothEmpty, leftEmpty] };
    return { if: [isempty(x), whenLeftEmpty, isempty(y), rightEmpty, core] };
  }

  // -------------------------------------------------------------------------
  // Arithmetic

  /** An operand of arithmetic: its number, and what makes the result empty. */
  number(v: Val): { logic: Logic; vars: string[]; conds: Logic[] } {
    const vars = [...(v.pendingVars ?? [])];
    const conds = [...(v.pendingConds ?? [])];
    const plainVar = (x: Logic) =>
      x !== null && typeof x === "object" && "var" in x && typeof (x as { var: unknown }).var === "string"
        ? ((x as { var: string }).var as string)
        : undefined;
    const emptyIf = (x: Logic) => {
      const name = plainVar(x);
      if (name !== undefined) vars.push(name);
      else conds.push(isempty(x));
    };
    switch (v.cls) {
      case "lit":
        if (!isNumeric(v.lit ?? ""))
          throw new Untranslatable(`'${v.lit}' is not a number: arithmetic with it is always empty`);
        return { logic: Number(v.lit), vars, conds };
      case "num":
        if (v.pendingVars === undefined && v.pendingConds === undefined) emptyIf(v.logic);
        return { logic: v.logic, vars, conds };
      case "bool":
        emptyIf(v.logic);
        return { logic: { if: [v.logic, 1, 0] }, vars, conds };
      case "choice":
        if (numericCodes(v.codes)) emptyIf(v.logic);
        else {
          const numeric = (v.codes ?? []).filter((c) => isNumeric(String(c)));
          conds.push({ "!": { in: [v.logic, numeric] } });
        }
        return { logic: v.logic, vars, conds };
      case "cb":
      case "cond":
        return { logic: { if: [v.logic, 1, 0] }, vars, conds };
      case "text":
        conds.push({ "!": numTest(v.logic) });
        return { logic: v.logic, vars, conds };
      case "str":
        throw new Untranslatable("arithmetic on a date or text value is not supported");
    }
  }

  private arith(op: ArithOp, a: Val, b: Val): Val {
    const l = this.number(a);
    if (op === "^") {
      if (b.cls !== "lit" || !/^\d+$/.test(b.lit ?? "") || Number(b.lit) > 12) {
        throw new Untranslatable("^ is only supported with a whole-number exponent up to 12");
      }
      let logic: Logic = 1;
      for (let k = 0; k < Number(b.lit); k++) logic = k === 0 ? l.logic : { "*": [logic, l.logic] };
      return { cls: "num", logic, pendingVars: l.vars, pendingConds: l.conds };
    }
    const r = this.number(b);
    return {
      cls: "num",
      logic: { [op]: [l.logic, r.logic] },
      pendingVars: [...l.vars, ...r.vars],
      pendingConds: [...l.conds, ...r.conds],
    };
  }

  // -------------------------------------------------------------------------
  // Functions

  private call(fn: string, args: Node[]): Val {
    const arity = (min: number, max = min) => {
      if (args.length < min || args.length > max) {
        throw new Untranslatable(
          `${fn}() takes ${min === max ? min : `${min} to ${max}`} arguments, not ${args.length}`,
        );
      }
    };
    switch (fn) {
      case "if": {
        arity(3);
        const [c, a, b] = args.map((n) => this.value(n)) as [Val, Val, Val];
        const branches = [a, b];
        const isNum = (v: Val) =>
          v.cls === "num" ||
          v.cls === "bool" ||
          v.cls === "cb" ||
          v.cls === "cond" ||
          (v.cls === "lit" && (v.lit === "" || isNumeric(v.lit ?? "")));
        const cls: Cls = branches.every(isNum) ? "num" : "text";
        return { cls, logic: { if: [this.cond(c), this.output(a), this.output(b)] } };
      }
      case "datediff":
        return this.datediff(args);
      case "calcdate":
        if (!this.calcDate) break;
        return this.calcdate(args);
      case "round":
      case "roundup":
      case "rounddown": {
        arity(1, 2);
        const x = this.output(this.value(args[0] as Node));
        const d = args[1] === undefined ? undefined : this.digits(args[1]);
        if (fn === "round") return { cls: "num", logic: { round: d === undefined ? [x] : [x, d] } };
        return { cls: "num", logic: fn === "rounddown" ? floorLogic(x, d ?? 0) : ceilLogic(x, d ?? 0) };
      }
      case "abs":
        arity(1);
        return { cls: "num", logic: absLogic(this.output(this.value(args[0] as Node))) };
      case "mod":
        arity(2);
        return this.arithMod(this.value(args[0] as Node), this.value(args[1] as Node));
      case "min":
      case "max":
      case "sum":
      case "mean": {
        if (args.length === 0) throw new Untranslatable(`${fn}() needs at least one value`);
        const values = args.map((n) => this.output(this.value(n)));
        return { cls: "num", logic: aggregateLogic(fn, values) };
      }
      case "sqrt":
      case "year":
      case "month":
      case "day":
      case "length":
        arity(1);
        return { cls: "num", logic: { [fn]: [this.output(this.value(args[0] as Node))] } };
      case "find":
        arity(2);
        return { cls: "num", logic: { find: args.map((n) => this.textArg(n)) } };
      case "left":
      case "right":
      case "mid":
      case "upper":
      case "lower":
      case "trim":
        arity(TEXT_ARITY[fn] as number);
        return {
          cls: "text",
          logic: { [fn]: args.map((n, i) => (i === 0 ? this.textArg(n) : this.output(this.value(n)))) },
        };
      case "concat":
        if (args.length === 0) throw new Untranslatable("concat() needs at least one value");
        return { cls: "text", logic: { concat: args.map((n) => this.textArg(n)) } };
      case "contains":
      case "starts_with":
      case "ends_with":
        arity(2);
        return { cls: "cond", logic: { [fn]: args.map((n) => this.textArg(n)) } };
      case "isblankormissingcode":
        arity(1);
        return { cls: "cond", logic: isempty(this.output(this.value(args[0] as Node))) };
    }
    throw new Untranslatable(`function ${fn}() has no JSON Logic equivalent`);
  }

  /** @CALCDATE(date, offset, unit): the date `offset` units after `date` (engine `date_add`). */
  private calcdate(args: Node[]): Val {
    if (args.length !== 3) throw new Untranslatable("@CALCDATE takes a date, an offset and a unit");
    const [dateNode, offsetNode, unitNode] = args as [Node, Node, Node];
    if (unitNode.t !== "str" || !CALCDATE_UNITS.includes(unitNode.value))
      throw new Untranslatable(
        `@CALCDATE's unit must be one of ${CALCDATE_UNITS.map((u) => `'${u}'`).join(", ")}`,
      );
    const date = this.value(dateNode);
    if (date.cls !== "str" && date.cls !== "text") throw new Untranslatable("@CALCDATE starts from a date");
    const offset = this.value(offsetNode);
    if (offset.cls !== "num" && !(offset.cls === "lit" && isNumeric(offset.lit ?? "")))
      throw new Untranslatable("@CALCDATE's offset is a number");
    return { cls: "str", logic: { date_add: [this.output(date), this.output(offset), unitNode.value] } };
  }

  private arithMod(a: Val, b: Val): Val {
    const v = this.arith("+", a, b);
    const [l, r] = (v.logic as { "+": [Logic, Logic] })["+"];
    return { ...v, logic: { "%": [l, r] } };
  }

  private digits(node: Node): number {
    const v = this.value(node);
    if (v.cls !== "lit" || !/^\d+$/.test(v.lit ?? ""))
      throw new Untranslatable("the number of decimal places must be a whole number");
    return Number(v.lit);
  }

  private datediff(args: Node[]): Val {
    if (args.length < 3 || args.length > 5) throw new Untranslatable("datediff() takes 3 to 5 arguments");
    const unitNode = args[2];
    if (unitNode?.t !== "str" || !/^[yMdhms]$/.test(unitNode.value)) {
      throw new Untranslatable(`datediff() unit must be one of "y", "M", "d", "h", "m", "s"`);
    }
    let format = "ymd";
    let signed = false;
    for (const extra of args.slice(3)) {
      if (extra.t === "str" && /^(ymd|mdy|dmy)$/.test(extra.value)) format = extra.value;
      else if (extra.t === "bool") signed = extra.value;
      else if (extra.t === "str" && /^(true|false)$/i.test(extra.value))
        signed = extra.value.toLowerCase() === "true";
      else throw new Untranslatable("datediff(): the 4th and 5th arguments are a date format and true/false");
    }
    const date = (node: Node): Logic => {
      if (node.t === "str") {
        // the evaluation's clock: the save's own time on the server (architecture.md "today")
        if (/^(today|now)$/i.test(node.value)) return { [node.value.toLowerCase()]: [] };
        return isoDate(node.value, format);
      }
      const v = this.value(node);
      if (v.cls !== "str" && v.cls !== "text") throw new Untranslatable("datediff() compares two dates");
      return v.logic;
    };
    const unit = unitNode.value;
    const scale: Record<string, number> = { h: 24, m: 1440, s: 86400 };
    const days: Logic = {
      datediff: [date(args[0] as Node), date(args[1] as Node), scale[unit] ? "d" : unit],
    };
    const d = signed ? days : absLogic(days);
    const k = scale[unit];
    if (k === undefined) return { cls: "num", logic: d };
    return { cls: "num", logic: { "*": [d, k] }, pendingConds: [isempty(d)] };
  }
}

const TEXT_ARITY: Record<string, number> = { left: 2, right: 2, mid: 3, upper: 1, lower: 1, trim: 1 };

function isoDate(text: string, format: string): string {
  const parts = text.trim().split(/[-/ ]/);
  if (parts.length < 3) throw new Untranslatable(`"${text}" is not a date`);
  const [a, b, c] = parts as [string, string, string];
  const [y, m, d] = format === "mdy" ? [c, a, b] : format === "dmy" ? [c, b, a] : [a, b, c];
  const iso = `${y.padStart(4, "0")}-${m.padStart(2, "0")}-${d.padStart(2, "0")}`;
  if (!/^\d{4}-\d{2}-\d{2}$/.test(iso)) throw new Untranslatable(`"${text}" is not a date`);
  return iso;
}

/** |x|, empty when x is empty. */
function absLogic(x: Logic): Logic {
  return { if: [{ "<": [x, 0] }, { "-": [0, x] }, x] };
}

/** floor(x · 10^d) / 10^d, empty when x is empty (REDCap rounddown). */
function floorLogic(x: Logic, d: number): Logic {
  const f = 10 ** d;
  const y = d === 0 ? x : { "*": [x, f] };
  const floor = { "-": [y, { "%": [{ "+": [{ "%": [y, 1] }, 1] }, 1] }] };
  return { if: [{ isempty: x }, null, d === 0 ? floor : { "/": [floor, f] }] };
}

/** ceil(x · 10^d) / 10^d, empty when x is empty (REDCap roundup). */
function ceilLogic(x: Logic, d: number): Logic {
  const f = 10 ** d;
  const y = { "-": [0, d === 0 ? x : { "*": [x, f] }] };
  const ceil = { "-": [0, { "-": [y, { "%": [{ "+": [{ "%": [y, 1] }, 1] }, 1] }] }] };
  return { if: [{ isempty: x }, null, d === 0 ? ceil : { "/": [ceil, f] }] };
}

const ACC = { var: "accumulator" };
const CUR = { var: "current" };

/** min/max/sum/mean over the filled values only; empty when every value is empty (like REDCap). */
function aggregateLogic(fn: string, values: Logic[]): Logic {
  const filledValues = { filter: [values, { "!": { isempty: { var: "" } } }] };
  const step: Record<string, Logic> = {
    min: { if: [{ isempty: ACC }, CUR, { "<": [CUR, ACC] }, CUR, ACC] },
    max: { if: [{ isempty: ACC }, CUR, { ">": [CUR, ACC] }, CUR, ACC] },
    sum: { if: [{ isempty: ACC }, CUR, { "+": [ACC, CUR] }] },
  };
  if (fn !== "mean") return { reduce: [filledValues, step[fn], null] };
  const sum = { reduce: [filledValues, step.sum, null] };
  const count = { reduce: [filledValues, { "+": [ACC, 1] }, 0] };
  return { if: [{ isempty: sum }, null, { "/": [sum, count] }] };
}

export function toJsonLogic(
  expr: string,
  fields: LogicFields,
  options: ToJsonLogicOptions = {},
): ToJsonLogicResult {
  const parsed = parseRedcap(expr);
  if ("error" in parsed) return { error: `cannot read the expression: ${parsed.error}` };
  const t = new Translator(fields, options.form, options.events, options.calcDate);
  try {
    const v = t.value(parsed.ast);
    const logic = options.as === "value" ? t.output(v) : t.cond(v);
    return { logic, warnings: [...new Set(t.warnings)] };
  } catch (e) {
    if (e instanceof Untranslatable) return { error: e.message };
    throw e;
  }
}
