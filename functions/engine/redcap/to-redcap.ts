import type { ChoiceCode, Logic } from "../definition.ts";
import { findField, type LogicFields } from "./fields.ts";
import { type CompareOp, isNumeric, type Node, printRedcap } from "./syntax.ts";
import { toJsonLogic } from "./to-json-logic.ts";

/**
 * JSON Logic → REDCap logic. The result means exactly what the JSON Logic
 * means under json-logic-js (an empty field is null, and null counts as 0 in
 * `<`, `-`, `/`), spelled with REDCap's semantics (an empty field is "" and
 * sorts before everything). Shapes that `toJsonLogic` produces are turned back
 * into the REDCap spelling they came from, each one checked by translating it
 * forward again; anything else gets an exact, if longer, spelling, or an error.
 */

export interface ToRedcapOptions {
  /** The instrument the logic belongs to. */
  form?: string;
  /** "condition" (branching logic, the default) or "value" (a calculation). */
  as?: "condition" | "value";
}

export type ToRedcapResult = { expr: string; warnings: string[] } | { error: string };

class Untranslatable extends Error {
  override name = "Untranslatable";
}

type Kind = "num" | "bool" | "text" | "str" | "choice" | "checkbox" | "cond" | "lit";

interface RV {
  ast: Node;
  kind: Kind;
  /** The JSON Logic value can be null (empty). */
  nullable: boolean;
  codes?: readonly ChoiceCode[];
  /** For literals: the JSON value. */
  value?: unknown;
}

type JsOp = "==" | "===" | "!=" | "!==" | "<" | "<=" | ">" | ">=";
const JS_COMPARE = new Set<string>(["==", "===", "!=", "!==", "<", "<=", ">", ">="]);
const TO_REDCAP: Record<JsOp, CompareOp> = {
  "==": "=",
  "===": "=",
  "!=": "<>",
  "!==": "<>",
  "<": "<",
  "<=": "<=",
  ">": ">",
  ">=": ">=",
};
const FLIP_JS: Record<JsOp, JsOp> = {
  "==": "==",
  "===": "===",
  "!=": "!=",
  "!==": "!==",
  "<": ">",
  "<=": ">=",
  ">": "<",
  ">=": "<=",
};
const NEGATE: Record<CompareOp, CompareOp> = {
  "=": "<>",
  "<>": "=",
  "<": ">=",
  ">=": "<",
  ">": "<=",
  "<=": ">",
};

/** json-logic-js's comparison of two JSON values. */
function jsCompare(a: unknown, op: JsOp, b: unknown): boolean {
  const x = a as number;
  const y = b as number;
  switch (op) {
    case "==":
      // biome-ignore lint/suspicious/noDoubleEquals: json-logic's == is JavaScript's loose equality
      return x == y;
    case "===":
      return x === y;
    case "!=":
      // biome-ignore lint/suspicious/noDoubleEquals: json-logic's != is JavaScript's loose inequality
      return x != y;
    case "!==":
      return x !== y;
    case "<":
      return x < y;
    case "<=":
      return x <= y;
    case ">":
      return x > y;
    case ">=":
      return x >= y;
  }
}

const TRUE: Node = { t: "bool", value: true };
const FALSE: Node = { t: "bool", value: false };
const EMPTY: Node = { t: "str", value: "" };
const str = (value: string): Node => ({ t: "str", value });
const num = (n: number): Node => ({ t: "num", text: String(n) });
const cmp = (op: CompareOp, l: Node, r: Node): Node => ({ t: "cmp", op, l, r });

function join(t: "and" | "or", items: Node[]): Node {
  const unit = t === "and";
  const kept: Node[] = [];
  for (const item of items) {
    if (item.t === "bool") {
      if (item.value !== unit) return item;
      continue;
    }
    if (item.t === t) kept.push(...item.items);
    else kept.push(item);
  }
  if (kept.length === 0) return unit ? TRUE : FALSE;
  return kept.length === 1 ? (kept[0] as Node) : { t, items: kept };
}

function negate(node: Node): Node {
  switch (node.t) {
    case "and":
      return join("or", node.items.map(negate));
    case "or":
      return join("and", node.items.map(negate));
    case "cmp": {
      // a checkbox option is '1' or '0', never empty: not checked reads [cb(code)] = '0'
      const option = node.l.t === "field" && node.l.code !== undefined;
      const bit = node.r.t === "str" ? node.r.value : node.r.t === "num" ? node.r.text : undefined;
      if (option && node.op === "=" && (bit === "1" || bit === "0")) {
        return { ...node, r: str(bit === "1" ? "0" : "1") };
      }
      return { ...node, op: NEGATE[node.op] };
    }
    case "bool":
      return { t: "bool", value: !node.value };
    default:
      throw new Untranslatable(`cannot negate ${printRedcap(node)}`);
  }
}

function operation(logic: Logic): [string, Logic[]] | undefined {
  if (logic === null || typeof logic !== "object" || Array.isArray(logic)) return undefined;
  const keys = Object.keys(logic);
  if (keys.length !== 1) return undefined;
  const op = keys[0] as string;
  const raw = (logic as Record<string, unknown>)[op];
  return [op, Array.isArray(raw) ? raw : [raw]];
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Engine operations that are REDCap functions of the same name, arguments and meaning, by the kind they return. */
const SAME_NAME_FUNCTIONS: Record<string, RV["kind"]> = {
  abs: "num",
  rounddown: "num",
  roundup: "num",
  sum: "num",
  mean: "num",
  sqrt: "num",
  year: "num",
  month: "num",
  day: "num",
  length: "num",
  find: "num",
  left: "text",
  right: "text",
  mid: "text",
  upper: "text",
  lower: "text",
  trim: "text",
  concat: "text",
  contains: "cond",
  starts_with: "cond",
  ends_with: "cond",
};

/** Context variables → REDCap's smart variable of the same meaning (to-json-logic.ts reads them back). */
const SMART_OF: Record<string, { name: string; kind: RV["kind"]; nullable: boolean }> = {
  $event: { name: "event-name", kind: "str", nullable: false },
  $instance: { name: "current-instance", kind: "num", nullable: false },
  $previousEvent: { name: "previous-event-name", kind: "str", nullable: true },
  $nextEvent: { name: "next-event-name", kind: "str", nullable: true },
  $firstEvent: { name: "first-event-name", kind: "str", nullable: true },
  $lastEvent: { name: "last-event-name", kind: "str", nullable: true },
};

class Decompiler {
  readonly warnings: string[] = [];
  /** JSON of values an enclosing guard has ruled out as empty. */
  private readonly filled = new Set<string>();
  constructor(
    private readonly fields: LogicFields,
    private readonly form: string | undefined,
  ) {}

  /** A candidate REDCap spelling, kept only when it translates back to exactly this JSON Logic. */
  private verified(
    candidate: Node | undefined,
    original: Logic,
    as: "condition" | "value",
  ): Node | undefined {
    if (!candidate) return undefined;
    const back = toJsonLogic(printRedcap(candidate), this.fields, { form: this.form, as });
    return "logic" in back && same(back.logic, original) ? candidate : undefined;
  }

  // -------------------------------------------------------------------------
  // Conditions

  condition(logic: Logic): Node {
    if (typeof logic === "boolean") return { t: "bool", value: logic };
    if (logic === null) return FALSE;
    if (typeof logic === "number" || typeof logic === "string") return logic ? TRUE : FALSE;
    const o = operation(logic);
    if (!o) throw new Untranslatable(`cannot read ${JSON.stringify(logic)}`);
    const [op, args] = o;
    const shortcut = this.verified(this.conditionShape(op, args), logic, "condition");
    if (shortcut) return shortcut;
    switch (op) {
      case "and":
      case "or":
        return join(
          op,
          args.map((a) => this.condition(a)),
        );
      case "!":
        return negate(this.condition(args[0] ?? null));
      case "!!":
        return this.condition(args[0] ?? null);
      case "in":
        return this.membership(args[0], args[1]);
      case "isempty":
        return this.isEmpty(this.value(args[0] ?? null));
      case "missing": {
        const names = Array.isArray(args[0]) ? (args[0] as Logic[]) : args;
        return join(
          "or",
          names.map((n) => this.isEmpty(this.value({ var: n }))),
        );
      }
      case "if":
      case "?:":
        return this.ifCondition(args);
      default:
        if (JS_COMPARE.has(op)) {
          if ((op === "<" || op === "<=") && args.length === 3) {
            return join("and", [
              this.compare(op as JsOp, args[0], args[1]),
              this.compare(op as JsOp, args[1], args[2]),
            ]);
          }
          return this.compare(op as JsOp, args[0], args[1]);
        }
        return this.truthy(this.value(logic));
    }
  }

  /** Shapes toJsonLogic writes for one REDCap comparison. */
  private conditionShape(op: string, args: Logic[]): Node | undefined {
    const rel = (c: Logic): [CompareOp, Logic, Logic] | undefined => {
      const inner = operation(c);
      if (!inner || !["<", "<=", ">", ">=", "==", "!="].includes(inner[0])) return undefined;
      return [TO_REDCAP[inner[0] as JsOp], inner[1][0], inner[1][1]];
    };
    const emptyTest = (c: Logic, negated: boolean): Logic | undefined => {
      let inner = operation(c);
      if (negated) {
        if (inner?.[0] !== "!") return undefined;
        inner = operation(inner[1][0] ?? null);
      }
      return inner && inner[0] === "isempty" ? inner[1][0] : undefined;
    };
    const simple = (x: Logic, r: Logic, cop: CompareOp): Node | undefined => {
      try {
        return cmp(cop, this.value(x).ast, this.literal(r).ast);
      } catch {
        return undefined;
      }
    };
    if ((op === "or" || op === "and") && args.length === 2) {
      const x = emptyTest(args[0] ?? null, op === "and");
      const r = rel(args[1] ?? null);
      if (x !== undefined && r && same(r[1], x)) return simple(x, r[2], r[0]);
    }
    if (op === "if" && args.length === 5) {
      const x = emptyTest(args[0] ?? null, false);
      // free text: if(isempty(x), c, numeric(x), x op n, x op s)
      const numeric = rel(args[3] ?? null);
      if (x !== undefined && numeric && same(numeric[1], x)) return simple(x, numeric[2], numeric[0]);
      // two values: if(isempty(x), …, isempty(y), …, core)
      const y = emptyTest(args[2] ?? null, false);
      const core = rel(args[4] ?? null);
      const coreIf = operation(args[4] ?? null);
      const op2 = core?.[0] ?? (coreIf?.[0] === "if" ? rel(coreIf[1][1] ?? null)?.[0] : undefined);
      if (x !== undefined && y !== undefined && op2) {
        try {
          return cmp(op2, this.value(x).ast, this.value(y).ast);
        } catch {
          return undefined;
        }
      }
    }
    return undefined;
  }

  private ifCondition(args: Logic[]): Node {
    if (args.length === 0) return FALSE;
    if (args.length === 1) return this.condition(args[0] ?? null);
    if (args.length === 2)
      return join("and", [this.condition(args[0] ?? null), this.condition(args[1] ?? null)]);
    const c = this.condition(args[0] ?? null);
    return join("or", [
      join("and", [c, this.condition(args[1] ?? null)]),
      join("and", [negate(c), this.ifCondition(args.slice(2))]),
    ]);
  }

  /** REDCap for "this value is empty". */
  private isEmpty(v: RV): Node {
    if (v.kind === "checkbox")
      return join(
        "and",
        this.options(v).map((o) => cmp("=", o, str("0"))),
      );
    if (v.kind === "lit") return v.value === null || v.value === "" ? TRUE : FALSE;
    if (!v.nullable) return FALSE;
    return cmp("=", v.ast, EMPTY);
  }

  private options(v: RV): Node[] {
    if (v.ast.t !== "field") throw new Untranslatable("not a checkbox field");
    const { name, event } = v.ast;
    return (v.codes ?? []).map(
      (c) => ({ t: "field", name, code: String(c), ...(event === undefined ? {} : { event }) }) as Node,
    );
  }

  /** JavaScript truthiness of a value, in REDCap. */
  private truthy(v: RV): Node {
    switch (v.kind) {
      case "cond":
        return v.ast;
      case "lit":
        return v.value ? TRUE : FALSE;
      case "bool":
        return cmp("=", v.ast, str("1"));
      case "checkbox":
        return join(
          "or",
          this.options(v).map((o) => cmp("=", o, str("1"))),
        );
      case "num":
        return join("and", [...(v.nullable ? [cmp("<>", v.ast, EMPTY)] : []), cmp("<>", v.ast, num(0))]);
      case "choice":
        if ((v.codes ?? []).some((c) => c === 0))
          return join("and", [cmp("<>", v.ast, EMPTY), cmp("<>", v.ast, num(0))]);
        return cmp("<>", v.ast, EMPTY);
      default:
        return cmp("<>", v.ast, EMPTY);
    }
  }

  /** `[cb:checked]` / `[cb:unchecked]`, where the choices listed are the field's own, as importing it gives. */
  private checkedTitles(args: Logic[], logic: Logic): RV {
    const v = this.value(args[0] ?? null);
    if (v.kind !== "checkbox" || v.ast.t !== "field")
      throw new Untranslatable("checked reads a checkbox field");
    const modifier = args[2] === false ? "unchecked" : "checked";
    const ast = this.verified({ ...v.ast, modifier }, logic, "value");
    if (!ast)
      throw new Untranslatable(`checked with choices other than the field's has no REDCap equivalent`);
    return { ast, kind: "text", nullable: true };
  }

  /** `[cb(code)]` for `{"in": [code, {"var": cb}]}`; undefined when the code is not an option (never checked). */
  private checkboxOption(needle: Logic, haystack: Logic): Node | undefined {
    const h = this.value(haystack ?? null);
    if (h.kind !== "checkbox" || h.ast.t !== "field") throw new Untranslatable("not a checkbox field");
    const n = this.literal(needle ?? null);
    const code = (h.codes ?? []).find((c) => c === n.value);
    if (code === undefined) return undefined;
    const { name, event } = h.ast;
    return { t: "field", name, code: String(code), ...(event === undefined ? {} : { event }) };
  }

  private membership(needle: Logic, haystack: Logic): Node {
    if (Array.isArray(haystack)) {
      return join(
        "or",
        haystack.map((item) => this.compare("===", needle, item)),
      );
    }
    const h = this.value(haystack ?? null);
    if (h.kind === "checkbox") {
      const option = this.checkboxOption(needle, haystack);
      return option ? cmp("=", option, str("1")) : FALSE;
    }
    throw new Untranslatable(`"in" on a text value (a substring test) has no REDCap equivalent`);
  }

  // -------------------------------------------------------------------------
  // Comparisons

  private compare(op: JsOp, a: Logic, b: Logic): Node {
    const l = this.value(a ?? null);
    const r = this.value(b ?? null);
    if (l.kind === "lit" && r.kind !== "lit") return this.compareLiteral(FLIP_JS[op], r, l);
    if (r.kind === "lit" && l.kind !== "lit") return this.compareLiteral(op, l, r);
    if (l.kind === "lit" && r.kind === "lit") return jsCompare(l.value, op, r.value) ? TRUE : FALSE;
    return this.compareValues(op, l, r);
  }

  private compareLiteral(op: JsOp, v: RV, lit: RV): Node {
    const value = lit.value;
    const x = v.ast;
    const redcapLiteral = (): Node => (typeof value === "number" ? num(value) : str(String(value ?? "")));
    if (v.kind === "bool" || v.kind === "choice") {
      const domain: unknown[] = v.kind === "bool" ? [true, false] : [...(v.codes ?? [])];
      const text = (d: unknown) => (d === true ? "1" : d === false ? "0" : String(d));
      const hit = domain.filter((d) => jsCompare(d, op, value));
      const empty = jsCompare(null, op, value);
      if (v.kind === "choice" && hit.length === 0 && !empty && (op === "==" || op === "===")) {
        return cmp("=", x, redcapLiteral());
      }
      if (v.kind === "choice" && hit.length === domain.length && empty && (op === "!=" || op === "!==")) {
        return cmp("<>", x, redcapLiteral());
      }
      if (hit.length === 0) return empty ? cmp("=", x, EMPTY) : FALSE;
      if (hit.length === domain.length) return empty ? TRUE : cmp("<>", x, EMPTY);
      if (!empty)
        return join(
          "or",
          hit.map((d) => cmp("=", x, str(text(d)))),
        );
      return join(
        "and",
        domain.filter((d) => !hit.includes(d)).map((d) => cmp("<>", x, str(text(d)))),
      );
    }
    if (v.kind === "checkbox") throw new Untranslatable("a checkbox field is compared one option at a time");
    if (v.kind === "cond") {
      if (op === "==" || op === "===" || op === "!=" || op === "!==") {
        const positive = jsCompare(true, op, value);
        const negative = jsCompare(false, op, value);
        if (positive === negative) return positive ? TRUE : FALSE;
        return positive ? x : negate(x);
      }
      throw new Untranslatable("cannot order the result of a condition");
    }
    if (value === null) {
      if (op === "==" || op === "===") return this.isEmpty(v);
      if (op === "!=" || op === "!==") return negate(this.isEmpty(v));
      throw new Untranslatable("cannot order a value against null");
    }
    const equality = op === "==" || op === "===" || op === "!=" || op === "!==";
    const positive = op === "==" || op === "===";
    const rop = TO_REDCAP[op];
    if (v.kind === "num") {
      if (typeof value === "string" && op === "===") return FALSE;
      if (typeof value === "string" && op === "!==") return TRUE;
      let n: number;
      if (typeof value === "number") n = value;
      else if (typeof value === "boolean") {
        if (op === "===") return FALSE;
        if (op === "!==") return TRUE;
        n = value ? 1 : 0;
      } else if (typeof value === "string" && (value === "" || isNumeric(value))) n = Number(value);
      else if (equality) return positive ? FALSE : TRUE;
      else throw new Untranslatable(`cannot order a number against "${String(value)}"`);
      if (equality) return cmp(rop, x, num(n));
      return this.guardEmpty(v, cmp(rop, x, num(n)), jsCompare(null, op, n), rop);
    }
    // strings
    if (typeof value !== "string") {
      if (equality && typeof value === "number" && v.kind === "text") return cmp(rop, x, num(value));
      throw new Untranslatable(`cannot compare a text value with ${JSON.stringify(value)}`);
    }
    if (value === "") return equality ? (positive ? FALSE : TRUE) : this.orderEmptyString(op, v);
    if (v.kind === "text" && isNumeric(value)) {
      this.warnings.push(
        `${printRedcap(x)} compared with "${value}": REDCap compares numbers as numbers ("5.0" = "5"), JSON Logic as text`,
      );
    }
    if (equality) return cmp(rop, x, redcapLiteral());
    if (v.kind === "text") {
      this.warnings.push(`${printRedcap(x)} ordered against "${value}": REDCap orders numbers as numbers`);
    }
    return this.guardEmpty(v, cmp(rop, x, redcapLiteral()), jsCompare(null, op, value), rop);
  }

  /** `x op ""` in JavaScript, for a string or number x. */
  private orderEmptyString(op: JsOp, v: RV): Node {
    const whenFilled = op === ">" || op === ">=" || op === "!=";
    const whenEmpty = jsCompare(null, op, "");
    if (whenFilled === whenEmpty) return whenFilled ? TRUE : FALSE;
    return whenFilled ? cmp("<>", v.ast, EMPTY) : cmp("=", v.ast, EMPTY);
  }

  /** `core` for a filled value, JavaScript's answer (null as 0) for an empty one. */
  private guardEmpty(v: RV, core: Node, whenEmpty: boolean, rop: CompareOp): Node {
    if (!v.nullable) return core;
    const redcapEmpty = rop === "<" || rop === "<=" || rop === "<>";
    if (whenEmpty === redcapEmpty) return core;
    return whenEmpty
      ? join("or", [cmp("=", v.ast, EMPTY), core])
      : join("and", [cmp("<>", v.ast, EMPTY), core]);
  }

  private compareValues(op: JsOp, l: RV, r: RV): Node {
    const numeric = (v: RV) =>
      v.kind === "num" ||
      v.kind === "bool" ||
      (v.kind === "choice" && (v.codes ?? []).every((c) => typeof c === "number"));
    const rop = TO_REDCAP[op];
    const equality = op === "==" || op === "===" || op === "!=" || op === "!==";
    const bothNumeric = numeric(l) && numeric(r);
    const bothStr = l.kind === "str" && r.kind === "str";
    if (!bothNumeric && !bothStr) {
      if (!equality) throw new Untranslatable("cannot order values of different kinds");
      this.warnings.push(
        `${printRedcap(l.ast)} ${rop} ${printRedcap(r.ast)}: REDCap compares numbers as numbers, JSON Logic may not`,
      );
      return cmp(rop, l.ast, r.ast);
    }
    if (equality) return cmp(rop, l.ast, r.ast);
    const filled = (v: RV) => (v.nullable ? [cmp("<>", v.ast, EMPTY)] : []);
    const empty = (v: RV) => cmp("=", v.ast, EMPTY);
    const cases: Node[] = [join("and", [...filled(l), ...filled(r), cmp(rop, l.ast, r.ast)])];
    if (bothNumeric) {
      if (l.nullable) cases.push(join("and", [empty(l), ...filled(r), cmp(rop, num(0), r.ast)]));
      if (r.nullable) cases.push(join("and", [...filled(l), empty(r), cmp(rop, l.ast, num(0))]));
      if (l.nullable && r.nullable && jsCompare(0, op, 0)) cases.push(join("and", [empty(l), empty(r)]));
    } else if (l.nullable && r.nullable && jsCompare(null, op, null)) {
      cases.push(join("and", [empty(l), empty(r)]));
    }
    return join("or", cases);
  }

  // -------------------------------------------------------------------------
  // Values

  literal(logic: Logic): RV {
    if (typeof logic === "number") return { ast: num(logic), kind: "lit", nullable: false, value: logic };
    if (typeof logic === "string") return { ast: str(logic), kind: "lit", nullable: false, value: logic };
    if (typeof logic === "boolean")
      return { ast: num(logic ? 1 : 0), kind: "lit", nullable: false, value: logic };
    if (logic === null) return { ast: EMPTY, kind: "lit", nullable: true, value: null };
    throw new Untranslatable(`${JSON.stringify(logic)} is not a literal`);
  }

  value(logic: Logic): RV {
    if (logic === null || typeof logic !== "object") return this.literal(logic);
    if (Array.isArray(logic)) throw new Untranslatable("a list is not a REDCap value");
    const o = operation(logic);
    if (!o) throw new Untranslatable(`cannot read ${JSON.stringify(logic)}`);
    const [op, args] = o;
    if (op === "var") return this.variable(args);
    if (op === "checked") return this.checkedTitles(args, logic);
    const shape = this.valueShape(op, args, logic);
    if (shape) return shape;
    switch (op) {
      case "+":
      case "*":
      case "-":
      case "/":
      case "%":
        return this.arithmetic(op, args);
      case "round": {
        const x = this.value(args[0] ?? null);
        const digits = args.length > 1 ? [this.literal(args[1] ?? null).ast] : [];
        return {
          ast: { t: "call", fn: "round", args: [x.ast, ...digits] },
          kind: "num",
          nullable: x.nullable,
        };
      }
      case "datediff": {
        const unit = String(args[2] ?? "d");
        const from = this.dateValue(args[0] ?? null);
        const to = this.dateValue(args[1] ?? null);
        const dates = [from.ast, to.ast];
        const call: Node = {
          t: "call",
          fn: "datediff",
          args: [...dates, str(unit === "w" ? "d" : unit), str("ymd"), TRUE],
        };
        const ast: Node = unit === "w" ? { t: "arith", op: "/", l: call, r: num(7) } : call;
        return { ast, kind: "num", nullable: from.nullable || to.nullable };
      }
      case "if":
      case "?:":
        return this.ifValue(args);
      case "and":
      case "or":
        return this.logicalValue(op, args);
      case "today":
      case "now":
        throw new Untranslatable(`"${op}" is REDCap's '${op}' only inside datediff()`);
      default: {
        const kind = SAME_NAME_FUNCTIONS[op];
        if (kind === undefined) break;
        const values = args.map((a) => this.output(a));
        return { ast: { t: "call", fn: op, args: values }, kind, nullable: kind !== "cond" };
      }
    }
    switch (op) {
      default:
        if (["!", "!!", "in", "isempty", "missing", ...JS_COMPARE].includes(op)) {
          return { ast: this.condition(logic), kind: "cond", nullable: false };
        }
        throw new Untranslatable(`JSON Logic "${op}" has no REDCap equivalent`);
    }
  }

  /** A datediff() operand: the evaluation's clock is REDCap's 'today' / 'now'. */
  private dateValue(logic: Logic): RV {
    const o = operation(logic);
    if (o && (o[0] === "today" || o[0] === "now") && o[1].length === 0)
      return { ast: str(o[0]), kind: "str", nullable: false };
    return this.value(logic);
  }

  private variable(args: Logic[]): RV {
    const name = args[0];
    if (args.length > 1) throw new Untranslatable("a variable with a default has no REDCap equivalent");
    if (typeof name !== "string") throw new Untranslatable("a variable name must be a string");
    const smart = SMART_OF[name];
    if (smart) return { ast: { t: "smart", name: smart.name }, kind: smart.kind, nullable: smart.nullable };
    const inEvent = /^\$events\.([a-z0-9_]+)\.([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*)$/.exec(name);
    if (inEvent) {
      const hit = findField(this.fields, inEvent[2], inEvent[3] as string);
      if (!hit) throw new Untranslatable(`"${name}" is not a field`);
      // typed like the field itself; the "same event" warning of $latest does not apply
      const warnings = this.warnings.length;
      const rv = this.variable([`$latest.${inEvent[2]}.${inEvent[3]}`]);
      this.warnings.length = warnings;
      const nullable = !this.filled.has(JSON.stringify({ var: name }));
      return { ...rv, nullable, ast: { t: "field", name: hit[0], event: inEvent[1] } };
    }
    const latest = /^\$latest\.([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*)$/.exec(name);
    const found = latest
      ? findField(this.fields, latest[1], latest[2] as string)
      : name.startsWith("$")
        ? undefined
        : findField(this.fields, this.form, name);
    if (latest && found) {
      this.warnings.push(
        `${name} is written [${found[0]}]: REDCap reads it from the same event, not the latest value in the casebook`,
      );
    }
    if (!found && name.startsWith("$")) {
      throw new Untranslatable(`${name.split(".")[0]} has no REDCap equivalent in a data dictionary`);
    }
    if (!found) throw new Untranslatable(`"${name}" is not a field`);
    const [key, field] = found;
    const ast: Node = { t: "field", name: key };
    const nullable = !this.filled.has(JSON.stringify({ var: name }));
    switch (field.kind) {
      case "number":
        return { ast, kind: "num", nullable };
      case "boolean":
        return { ast, kind: "bool", nullable };
      case "text":
        return { ast, kind: "text", nullable };
      case "date":
        return { ast, kind: "str", nullable };
      case "choice":
        return { ast, kind: "choice", nullable, codes: field.codes ?? [] };
      case "checkbox":
        return { ast, kind: "checkbox", nullable, codes: field.codes ?? [] };
      default:
        throw new Untranslatable(`"${name}" is display-only`);
    }
  }

  /** Shapes toJsonLogic writes for REDCap functions and guarded arithmetic, checked by translating them back. */
  private valueShape(op: string, args: Logic[], logic: Logic): RV | undefined {
    const candidates = this.valueCandidates(op, args);
    for (const c of candidates) {
      if (this.verified(c, logic, "value")) return { ast: c, kind: "num", nullable: true };
    }
    return undefined;
  }

  private valueCandidates(op: string, args: Logic[]): Node[] {
    const out: Node[] = [];
    const attempt = (f: () => Node | undefined) => {
      try {
        const n = f();
        if (n) out.push(n);
      } catch {
        // not this shape
      }
    };
    if (op === "if" && args.length === 3) {
      const [test, then, otherwise] = args;
      // guarded arithmetic: if(<empty operands>, null, E)
      if (then === null) attempt(() => this.plainArithmetic(otherwise ?? null));
      // |x|: if(x < 0, 0 - x, x); unsigned datediff
      const lt = operation(test ?? null);
      if (lt && lt[0] === "<" && same(lt[1][1], 0) && same(otherwise, lt[1][0])) {
        const x = otherwise ?? null;
        const dd = operation(x);
        if (dd && dd[0] === "datediff") {
          attempt(() => ({
            t: "call",
            fn: "datediff",
            args: [
              this.dateValue(dd[1][0] ?? null).ast,
              this.dateValue(dd[1][1] ?? null).ast,
              str(String(dd[1][2] ?? "d")),
            ],
          }));
        }
        attempt(() => ({ t: "call", fn: "abs", args: [this.value(x).ast] }));
      }
      // rounddown / roundup: if(isempty(x), null, …)
      const guard = operation(test ?? null);
      if (then === null && guard && guard[0] === "isempty") {
        const x = this.value(guard[1][0] ?? null).ast;
        for (let d = 0; d <= 6; d++) {
          attempt(() => ({ t: "call", fn: "rounddown", args: d === 0 ? [x] : [x, num(d)] }));
          attempt(() => ({ t: "call", fn: "roundup", args: d === 0 ? [x] : [x, num(d)] }));
        }
      }
      // mean
      const sum = operation(guard?.[0] === "isempty" ? (guard[1][0] ?? null) : null);
      if (sum && sum[0] === "reduce") attempt(() => this.aggregate("mean", sum[1]));
    }
    if (op === "reduce") {
      for (const fn of ["min", "max", "sum"]) attempt(() => this.aggregate(fn, args));
    }
    return out;
  }

  private aggregate(fn: string, reduceArgs: Logic[]): Node {
    const filter = operation(reduceArgs[0] ?? null);
    if (filter?.[0] !== "filter" || !Array.isArray(filter[1][0]))
      throw new Untranslatable("not an aggregate");
    return { t: "call", fn, args: (filter[1][0] as Logic[]).map((a) => this.value(a).ast) };
  }

  /** Arithmetic whose empty operands are already guarded: REDCap's own blank propagation does the same. */
  private plainArithmetic(logic: Logic): Node {
    const o = operation(logic);
    if (!o) return this.operand(logic);
    const [op, args] = o;
    if (op === "if" && args.length === 3 && args[1] === 1 && args[2] === 0) {
      const inner = operation(args[0] ?? null);
      if (inner && inner[0] === "in") {
        const option = this.checkboxOption(inner[1][0] ?? null, inner[1][1] ?? null);
        if (option) return option;
      }
      return this.operand(args[0] ?? null);
    }
    if (op === "*" && args.length === 2 && typeof args[1] === "number") {
      const units: Record<number, string> = { 24: "h", 1440: "m", 86400: "s" };
      const unit = units[args[1]];
      const dd = this.value(args[0] ?? null).ast;
      if (unit && dd.t === "call" && dd.fn === "datediff") {
        return { ...dd, args: dd.args.map((a, i) => (i === 2 ? str(unit) : a)) };
      }
    }
    if (["+", "-", "*", "/", "%"].includes(op)) {
      if (op === "-" && args.length === 1) return { t: "neg", e: this.plainArithmetic(args[0] ?? null) };
      const parts = args.map((a) => this.plainArithmetic(a));
      if (op === "%") return { t: "call", fn: "mod", args: parts };
      return parts.slice(1).reduce((l, r) => ({ t: "arith", op: op as "+", l, r }), parts[0] as Node);
    }
    return this.operand(logic);
  }

  private operand(logic: Logic): Node {
    return this.value(logic).ast;
  }

  /** Arithmetic as json-logic-js does it: `+` and `*` give NaN (REDCap: blank) for an empty operand, `-`, `/`, `%` read it as 0. */
  private arithmetic(op: string, args: Logic[]): RV {
    const values = args.map((a) => this.value(a));
    if (values.some((v) => v.kind === "str" || v.kind === "checkbox")) {
      throw new Untranslatable(`arithmetic on a date, text or checkbox value has no REDCap equivalent`);
    }
    if ((op === "+" || op === "*") && values.some((v) => v.kind === "bool")) {
      throw new Untranslatable(`"${op}" on a yes/no value gives NaN in JSON Logic`);
    }
    const zeroIfEmpty = (v: RV): Node =>
      v.nullable ? { t: "call", fn: "if", args: [cmp("=", v.ast, EMPTY), num(0), v.ast] } : v.ast;
    const asNumber = (v: RV): Node =>
      v.kind === "cond" ? { t: "call", fn: "if", args: [v.ast, num(1), num(0)] } : v.ast;
    if (op === "-" && values.length === 1) {
      return { ast: { t: "neg", e: zeroIfEmpty(values[0] as RV) }, kind: "num", nullable: false };
    }
    const parts = values.map((v) =>
      op === "+" || op === "*" ? asNumber(v) : zeroIfEmpty({ ...v, ast: asNumber(v) }),
    );
    const ast =
      op === "%"
        ? ({ t: "call", fn: "mod", args: parts } as Node)
        : parts.slice(1).reduce((l, r) => ({ t: "arith", op: op as "+", l, r }), parts[0] as Node);
    return { ast, kind: "num", nullable: op === "+" || op === "*" };
  }

  /** `and` / `or` as a value: JSON Logic returns an operand (the first falsy / truthy one), not true or false. */
  private logicalValue(op: "and" | "or", args: Logic[]): RV {
    const values = args.map((a) => this.value(a));
    if (values.every((v) => v.kind === "cond")) {
      return {
        ast: join(
          op,
          values.map((v) => v.ast),
        ),
        kind: "cond",
        nullable: false,
      };
    }
    const asValue = (v: RV): Node =>
      v.kind === "cond" ? { t: "call", fn: "if", args: [v.ast, num(1), num(0)] } : v.ast;
    const build = (rest: RV[]): Node => {
      const [head, ...tail] = rest as [RV, ...RV[]];
      if (tail.length === 0) return asValue(head);
      const next = build(tail);
      return op === "or"
        ? { t: "call", fn: "if", args: [this.truthy(head), asValue(head), next] }
        : { t: "call", fn: "if", args: [this.truthy(head), next, asValue(head)] };
    };
    if (values.length === 0) throw new Untranslatable(`empty "${op}"`);
    return { ast: build(values), kind: "num", nullable: true };
  }

  private ifValue(args: Logic[]): RV {
    if (args.length < 3 || args.length % 2 === 0) {
      throw new Untranslatable("if() as a value needs a condition, a value and an else value");
    }
    const branch = (a: Logic) => {
      const v = this.value(a);
      return v.kind === "cond" ? ({ t: "call", fn: "if", args: [v.ast, num(1), num(0)] } as Node) : v.ast;
    };
    const build = (rest: Logic[]): Node => {
      if (rest.length === 1) return branch(rest[0] ?? null);
      const test = rest[0] ?? null;
      const condition = this.condition(test);
      const then = branch(rest[1] ?? null);
      // if(<x is empty>, …, E): in E, x is filled
      const ruledOut = this.emptinessTested(test);
      for (const r of ruledOut) this.filled.add(r);
      try {
        return { t: "call", fn: "if", args: [condition, then, build(rest.slice(2))] };
      } finally {
        for (const r of ruledOut) this.filled.delete(r);
      }
    };
    return { ast: build(args), kind: "num", nullable: true };
  }

  /** The values a test `isempty(x)`, `missing([…])` or an `or` of them is true for when empty. */
  private emptinessTested(test: Logic): string[] {
    const o = operation(test);
    if (!o) return [];
    const [op, args] = o;
    if (op === "isempty") return [JSON.stringify(args[0] ?? null)];
    if (op === "missing") {
      const names = Array.isArray(args[0]) ? (args[0] as Logic[]) : args;
      return names.filter((n) => typeof n === "string").map((n) => JSON.stringify({ var: n }));
    }
    if (op === "or") return args.flatMap((a) => this.emptinessTested(a));
    return [];
  }

  output(logic: Logic): Node {
    const v = this.value(logic);
    if (v.kind === "cond") return { t: "call", fn: "if", args: [v.ast, num(1), num(0)] };
    if (v.kind === "checkbox") throw new Untranslatable("a checkbox field is not a REDCap value");
    return v.ast;
  }
}

export function toRedcap(logic: Logic, fields: LogicFields, options: ToRedcapOptions = {}): ToRedcapResult {
  const d = new Decompiler(fields, options.form);
  try {
    const ast = options.as === "value" ? d.output(logic) : d.condition(logic);
    return { expr: printRedcap(ast), warnings: [...new Set(d.warnings)] };
  } catch (e) {
    if (e instanceof Untranslatable) return { error: e.message };
    throw e;
  }
}
