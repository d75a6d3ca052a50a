/**
 * One text per JSON value, so that a hash or a MAC over it does not depend on
 * who wrote the value, in which key order, or with which spacing. The model is
 * RFC 8785 (JSON Canonicalization Scheme, JCS):
 *
 * - object members sorted by their names' UTF-16 code units (what `Array.sort`
 *   does without a comparator), no whitespace;
 * - strings as `JSON.stringify` writes them (only `"`, `\` and controls below
 *   U+0020 escaped, with the short forms `\n` `\t`… and lower-case `\u00xx`);
 * - numbers as ECMAScript writes them (`Number.prototype.toString`: `4.5`,
 *   `1e+30`, `-0` → `0`); NaN and ±Infinity are not JSON and are refused;
 * - arrays keep their order.
 *
 * Two choices go beyond JCS, both so that a value read back from the table
 * hashes as it was written: an object member whose value is `undefined` is
 * left out (the table does not store it either), and a lone surrogate in a
 * string (JCS refuses it) is written escaped, as `JSON.stringify` does. Anything
 * that is not plain JSON data — `undefined` in an array, a Date, a Map, a
 * bigint, a function — is refused with a TypeError naming where it was found,
 * rather than silently becoming something else.
 */
export function canonicalJson(value: unknown): string {
  return encode(value, []);
}

/** `at` is the path to `value`, kept as parts so that it costs nothing until an error names it. */
function encode(value: unknown, at: (string | number)[]): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "boolean":
      return value ? "true" : "false";
    case "string":
      return JSON.stringify(value);
    case "number":
      if (!Number.isFinite(value)) throw notJson(at, `${value} is not a JSON number`);
      return JSON.stringify(value);
    case "object":
      if (Array.isArray(value)) return encodeArray(value, at);
      if (isPlainObject(value)) return encodeObject(value, at);
      throw notJson(at, `a ${value.constructor?.name ?? "non-plain object"} is not JSON data`);
    default:
      throw notJson(at, `a ${typeof value} is not JSON data`);
  }
}

function encodeArray(items: unknown[], at: (string | number)[]): string {
  let text = "[";
  for (let i = 0; i < items.length; i++) {
    at.push(i);
    // JSON.stringify would write null here; a hash must not paper over a hole.
    if (items[i] === undefined) throw notJson(at, "undefined is not JSON data");
    text += (i > 0 ? "," : "") + encode(items[i], at);
    at.pop();
  }
  return `${text}]`;
}

function encodeObject(object: Record<string, unknown>, at: (string | number)[]): string {
  let text = "{";
  for (const name of Object.keys(object).sort()) {
    const member = object[name];
    if (member === undefined) continue;
    at.push(name);
    text += `${text.length > 1 ? "," : ""}${JSON.stringify(name)}:${encode(member, at)}`;
    at.pop();
  }
  return `${text}}`;
}

function isPlainObject(value: object): value is Record<string, unknown> {
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function notJson(at: (string | number)[], problem: string): TypeError {
  const path = at.map((part) => (typeof part === "number" ? `[${part}]` : `.${part}`)).join("");
  return new TypeError(`$${path}: ${problem}`);
}
