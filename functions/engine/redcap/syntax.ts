/**
 * REDCap logic syntax (branching logic and calculations) as a tree: a real
 * tokenizer and a recursive-descent parser with REDCap's precedence
 * (or < and < comparison < + - < * / < unary minus < ^), a printer that
 * writes the tree back with only the parentheses it needs, and a normaliser
 * that reduces REDCap's equivalent spellings to one, so two expressions can
 * be compared.
 */

export type CompareOp = "=" | "<>" | "<" | "<=" | ">" | ">=";
export type ArithOp = "+" | "-" | "*" | "/" | "^";

export type Node =
  /** A number as written (e.g. "5", "0.5"). */
  | { t: "num"; text: string }
  | { t: "str"; value: string }
  | { t: "bool"; value: boolean }
  /** `[name]`, `[name(code)]` (a checkbox option), `[event][name]`, `[name][instance]`, `[name:modifier]`. */
  | { t: "field"; name: string; code?: string; event?: string; instance?: string; modifier?: string }
  /** A smart variable such as `[event-name]`. */
  | { t: "smart"; name: string }
  | { t: "call"; fn: string; args: Node[] }
  | { t: "cmp"; op: CompareOp; l: Node; r: Node }
  | { t: "arith"; op: ArithOp; l: Node; r: Node }
  | { t: "neg"; e: Node }
  | { t: "and"; items: Node[] }
  | { t: "or"; items: Node[] };

export type ParseResult = { ast: Node } | { error: string };

type Token =
  | { k: "num"; text: string; at: number }
  | { k: "str"; value: string; at: number }
  | { k: "ref"; text: string; at: number }
  | { k: "ident"; text: string; at: number }
  | { k: "op"; text: string; at: number }
  | { k: "end"; at: number };

const OPERATORS = ["<>", "<=", ">=", "!=", "==", "=", "<", ">", "+", "-", "*", "/", "^", "(", ")", ","];

class LogicSyntaxError extends Error {
  override name = "LogicSyntaxError";
}

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i] ?? "";
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const at = i;
    if (c === "[") {
      const end = src.indexOf("]", i);
      if (end === -1) throw new LogicSyntaxError(`unclosed "[" at ${at + 1}`);
      out.push({ k: "ref", text: src.slice(i + 1, end).trim(), at });
      i = end + 1;
      continue;
    }
    if (c === "'" || c === '"') {
      const end = src.indexOf(c, i + 1);
      if (end === -1) throw new LogicSyntaxError(`unclosed quote at ${at + 1}`);
      out.push({ k: "str", value: src.slice(i + 1, end), at });
      i = end + 1;
      continue;
    }
    const num = /^(\d+(\.\d*)?|\.\d+)/.exec(src.slice(i));
    if (num) {
      out.push({ k: "num", text: num[0], at });
      i += num[0].length;
      continue;
    }
    const ident = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i));
    if (ident) {
      out.push({ k: "ident", text: ident[0], at });
      i += ident[0].length;
      continue;
    }
    const op = OPERATORS.find((o) => src.startsWith(o, i));
    if (!op) throw new LogicSyntaxError(`unexpected "${c}" at ${at + 1}`);
    out.push({ k: "op", text: op, at });
    i += op.length;
  }
  out.push({ k: "end", at: src.length });
  return out;
}

const COMPARE: Record<string, CompareOp> = {
  "=": "=",
  "==": "=",
  "<>": "<>",
  "!=": "<>",
  "<": "<",
  "<=": "<=",
  ">": ">",
  ">=": ">=",
};

const FIELD_REF = /^([a-z][a-z0-9_]*)(?:\(([^()]+)\))?(?::([a-z-]+))?$/;

class Parser {
  private i = 0;
  constructor(private readonly tokens: Token[]) {}

  private peek(): Token {
    return this.tokens[this.i] ?? { k: "end", at: 0 };
  }
  private next(): Token {
    const t = this.peek();
    this.i++;
    return t;
  }
  private isOp(text: string): boolean {
    const t = this.peek();
    return t.k === "op" && t.text === text;
  }
  private isWord(word: string): boolean {
    const t = this.peek();
    return t.k === "ident" && t.text.toLowerCase() === word;
  }
  private expect(text: string): void {
    const t = this.next();
    if (t.k !== "op" || t.text !== text) throw new LogicSyntaxError(`expected "${text}" at ${t.at + 1}`);
  }

  parse(): Node {
    const node = this.or();
    const t = this.peek();
    if (t.k !== "end") throw new LogicSyntaxError(`unexpected ${describe(t)} at ${t.at + 1}`);
    return node;
  }

  private or(): Node {
    const items = [this.and()];
    while (this.isWord("or")) {
      this.next();
      items.push(this.and());
    }
    return items.length === 1 ? (items[0] as Node) : { t: "or", items };
  }

  private and(): Node {
    const items = [this.cmp()];
    while (this.isWord("and")) {
      this.next();
      items.push(this.cmp());
    }
    return items.length === 1 ? (items[0] as Node) : { t: "and", items };
  }

  private cmp(): Node {
    const l = this.add();
    const t = this.peek();
    if (t.k === "op" && COMPARE[t.text]) {
      this.next();
      return { t: "cmp", op: COMPARE[t.text] as CompareOp, l, r: this.add() };
    }
    return l;
  }

  private add(): Node {
    let node = this.mul();
    while (this.isOp("+") || this.isOp("-")) {
      const op = this.next() as { text: ArithOp };
      node = { t: "arith", op: op.text, l: node, r: this.mul() };
    }
    return node;
  }

  private mul(): Node {
    let node = this.unary();
    while (this.isOp("*") || this.isOp("/")) {
      const op = this.next() as { text: ArithOp };
      node = { t: "arith", op: op.text, l: node, r: this.unary() };
    }
    return node;
  }

  private unary(): Node {
    if (this.isOp("-")) {
      this.next();
      return { t: "neg", e: this.unary() };
    }
    if (this.isOp("+")) {
      this.next();
      return this.unary();
    }
    return this.pow();
  }

  private pow(): Node {
    const base = this.primary();
    if (this.isOp("^")) {
      this.next();
      return { t: "arith", op: "^", l: base, r: this.unary() };
    }
    return base;
  }

  private primary(): Node {
    const t = this.next();
    switch (t.k) {
      case "num":
        return { t: "num", text: t.text };
      case "str":
        return { t: "str", value: t.value };
      case "ref":
        return this.reference(t);
      case "ident": {
        const word = t.text.toLowerCase();
        if (word === "true" || word === "false") return { t: "bool", value: word === "true" };
        if (!this.isOp("(")) throw new LogicSyntaxError(`unexpected word "${t.text}" at ${t.at + 1}`);
        this.next();
        const args: Node[] = [];
        if (!this.isOp(")")) {
          args.push(this.or());
          while (this.isOp(",")) {
            this.next();
            args.push(this.or());
          }
        }
        this.expect(")");
        return { t: "call", fn: t.text, args };
      }
      case "op":
        if (t.text === "(") {
          const inner = this.or();
          this.expect(")");
          return inner;
        }
        throw new LogicSyntaxError(`unexpected "${t.text}" at ${t.at + 1}`);
      default:
        throw new LogicSyntaxError("unexpected end of expression");
    }
  }

  /** `[a]`, `[a(code)]`, `[event][a]`, `[a][2]`, `[event-name]` … */
  private reference(first: Token & { k: "ref" }): Node {
    const parts = [first.text];
    while (this.peek().k === "ref") parts.push((this.next() as { text: string }).text);
    if (parts.length === 1 && !FIELD_REF.test(parts[0] ?? "") && parts[0]?.includes("-")) {
      return { t: "smart", name: parts[0] };
    }
    let event: string | undefined;
    let instance: string | undefined;
    if (/^\d+$/.test(parts[parts.length - 1] ?? "") && parts.length > 1) instance = parts.pop();
    if (parts.length === 2) event = parts.shift();
    if (parts.length !== 1) throw new LogicSyntaxError(`cannot read reference [${parts.join("][")}]`);
    const match = FIELD_REF.exec(parts[0] ?? "");
    if (!match) throw new LogicSyntaxError(`"[${parts[0]}]" is not a field name at ${first.at + 1}`);
    const node: Node = { t: "field", name: match[1] as string };
    if (match[2] !== undefined) node.code = match[2].trim();
    if (match[3] !== undefined) node.modifier = match[3];
    if (event !== undefined) node.event = event;
    if (instance !== undefined) node.instance = instance;
    return node;
  }
}

function describe(t: Token): string {
  switch (t.k) {
    case "num":
      return t.text;
    case "str":
      return `'${t.value}'`;
    case "ref":
      return `[${t.text}]`;
    case "ident":
    case "op":
      return `"${t.text}"`;
    default:
      return "end";
  }
}

export function parseRedcap(expr: string): ParseResult {
  try {
    return { ast: new Parser(tokenize(expr)).parse() };
  } catch (e) {
    if (e instanceof LogicSyntaxError) return { error: e.message };
    throw e;
  }
}

// ---------------------------------------------------------------------------
// Printing

const PRECEDENCE: Record<string, number> = { or: 1, and: 2, cmp: 3, "+": 4, "-": 4, "*": 5, "/": 5 };

function precedence(node: Node): number {
  switch (node.t) {
    case "or":
    case "and":
    case "cmp":
      return PRECEDENCE[node.t] ?? 9;
    case "arith":
      return node.op === "^" ? 7 : (PRECEDENCE[node.op] ?? 9);
    case "neg":
      return 6;
    default:
      return 9;
  }
}

function quote(value: string): string {
  return value.includes("'") ? `"${value}"` : `'${value}'`;
}

/** Writes a tree in REDCap syntax with only the parentheses the precedence needs. */
export function printRedcap(node: Node): string {
  const wrap = (child: Node, min: number) => {
    const text = printRedcap(child);
    return precedence(child) < min ? `(${text})` : text;
  };
  switch (node.t) {
    case "num":
      return node.text;
    case "str":
      return quote(node.value);
    case "bool":
      return node.value ? "true" : "false";
    case "smart":
      return `[${node.name}]`;
    case "field": {
      const modifier = node.modifier ? `:${node.modifier}` : "";
      const code = node.code !== undefined ? `(${node.code})` : "";
      const event = node.event !== undefined ? `[${node.event}]` : "";
      const instance = node.instance !== undefined ? `[${node.instance}]` : "";
      return `${event}[${node.name}${code}${modifier}]${instance}`;
    }
    case "call":
      return `${node.fn}(${node.args.map(printRedcap).join(", ")})`;
    case "cmp":
      return `${wrap(node.l, 4)} ${node.op} ${wrap(node.r, 4)}`;
    case "arith":
      if (node.op === "^") return `(${printRedcap(node.l)})^(${printRedcap(node.r)})`;
      return `${wrap(node.l, precedence(node))} ${node.op} ${wrap(node.r, precedence(node) + 1)}`;
    case "neg":
      return `-${wrap(node.e, 7)}`;
    case "and":
      return node.items.map((n) => wrap(n, 3)).join(" and ");
    case "or":
      // an "and" inside an "or" needs no parentheses, but people reading REDCap logic expect them
      return node.items.map((n) => wrap(n, 3)).join(" or ");
  }
}

// ---------------------------------------------------------------------------
// Normalising REDCap's equivalent spellings

/** PHP's is_numeric, near enough: what REDCap compares as a number. */
export function isNumeric(text: string): boolean {
  return /^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$/.test(text);
}

function canonicalNumber(text: string): string {
  return String(Number(text));
}

/** The comparison with its operands swapped (`a < b` is `b > a`). */
export const FLIP: Record<CompareOp, CompareOp> = {
  "=": "=",
  "<>": "<>",
  "<": ">",
  "<=": ">=",
  ">": "<",
  ">=": "<=",
};

const isLiteral = (n: Node) => n.t === "num" || n.t === "str" || n.t === "bool";

const first = (i: number) => i === 0;
const all = () => true;
/** The arguments of REDCap's text functions that are text: there '01' is not the number 1. */
const TEXT_ARGUMENTS: Record<string, (index: number) => boolean> = {
  concat: all,
  left: first,
  right: first,
  mid: first,
  find: all,
  contains: all,
  starts_with: all,
  ends_with: all,
  upper: first,
  lower: first,
  trim: first,
  length: first,
};

/** A numeric literal, quoted or not, becomes one canonical number. */
function literalNumber(node: Node): Node {
  if (node.t === "num") return { t: "num", text: canonicalNumber(node.text) };
  if (node.t === "str" && isNumeric(node.value)) return { t: "num", text: canonicalNumber(node.value) };
  return node;
}

function dropDefaultDatediffArgs(args: Node[]): Node[] {
  const out = [...args];
  const fmt = out[3];
  if (fmt?.t === "str" && /^(ymd|mdy|dmy)$/.test(fmt.value)) {
    const fieldsOnly = out[0]?.t === "field" && out[1]?.t === "field";
    if (fmt.value === "ymd" || fieldsOnly) out.splice(3, 1);
  }
  const signed = out[3];
  const isFalse = (n: Node | undefined) =>
    (n?.t === "bool" && !n.value) || (n?.t === "str" && n.value.toLowerCase() === "false");
  if (isFalse(signed)) out.splice(3, 1);
  if (signed?.t === "str" && signed.value.toLowerCase() === "true") out[3] = { t: "bool", value: true };
  return out;
}

function normalizeNode(node: Node): Node {
  switch (node.t) {
    case "and":
    case "or": {
      const items: Node[] = [];
      for (const item of node.items.map(normalizeNode)) {
        if (item.t === node.t) items.push(...item.items);
        else items.push(item);
      }
      return { t: node.t, items };
    }
    case "cmp": {
      let l = normalizeNode(node.l);
      let r = normalizeNode(node.r);
      let op = node.op;
      if (isLiteral(l) && !isLiteral(r)) {
        [l, r] = [r, l];
        op = FLIP[op];
      }
      return { t: "cmp", op, l: literalNumber(l), r: literalNumber(r) };
    }
    case "arith": {
      const l = literalNumber(normalizeNode(node.l));
      const r = literalNumber(normalizeNode(node.r));
      if (node.op === "^" && r.t === "num" && /^[1-9]\d*$/.test(r.text) && Number(r.text) <= 12) {
        let out: Node = l;
        for (let k = 1; k < Number(r.text); k++) out = { t: "arith", op: "*", l: out, r: l };
        return out;
      }
      return { t: "arith", op: node.op, l, r };
    }
    case "neg": {
      const e = normalizeNode(node.e);
      return e.t === "num" ? { t: "num", text: canonicalNumber(`-${e.text}`) } : { t: "neg", e };
    }
    case "call": {
      let args = node.args.map(normalizeNode);
      if (node.fn === "datediff") args = dropDefaultDatediffArgs(args);
      const text = TEXT_ARGUMENTS[node.fn];
      if (node.fn === "if") args = args.map((a, i) => (i === 0 ? a : literalNumber(a)));
      else if (text) args = args.map((a, i) => (text(i) ? a : literalNumber(a)));
      else if (node.fn !== "datediff") args = args.map(literalNumber);
      if ((node.fn === "round" || node.fn === "roundup" || node.fn === "rounddown") && args.length === 1) {
        args = [...args, { t: "num", text: "0" }];
      }
      return { t: "call", fn: node.fn, args };
    }
    default:
      return node;
  }
}

/**
 * One spelling for equivalent REDCap expressions: whitespace, quotes, `and`/`OR`
 * case, redundant parentheses, `==`/`!=`, quoted numbers, operand order of a
 * comparison with a literal, integer powers, datediff's default arguments.
 * `undefined` when the expression does not parse.
 */
export function normalizeRedcap(expr: string): string | undefined {
  const parsed = parseRedcap(expr);
  return "ast" in parsed ? printRedcap(normalizeNode(parsed.ast)) : undefined;
}
