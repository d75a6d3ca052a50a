/**
 * Minimal XML writing for the exports: escaping and element strings. Pure.
 * Characters XML 1.0 cannot carry at all (C0 controls other than tab, line
 * feed and carriage return; lone surrogates; U+FFFE, U+FFFF) become U+FFFD.
 */

const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/** Character data: `&`, `<` and `>` (the last so that `]]>` cannot appear). */
function escapeText(value: string): string {
  return value
    .replace(NOT_XML_CHAR, "\uFFFD")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;");
}

/**
 * A double-quoted attribute value. Tab, line feed and carriage return are
 * written as character references, which attribute-value normalisation keeps.
 */
function escapeAttr(value: string): string {
  return escapeText(value)
    .replace(/"/g, "&quot;")
    .replace(/\t/g, "&#9;")
    .replace(/\n/g, "&#10;")
    .replace(/\r/g, "&#13;");
}

export type Attrs = Record<string, string | number | undefined | null>;

/** ` name="value"` for each attribute that has a value, in the given order. */
export function attrs(a: Attrs): string {
  let out = "";
  for (const [name, value] of Object.entries(a)) {
    if (value === undefined || value === null) continue;
    out += ` ${name}="${escapeAttr(String(value))}"`;
  }
  return out;
}

/** An element: empty (`<x/>`) without children, else with the children (already XML) inside. */
export function el(name: string, a: Attrs = {}, children = ""): string {
  return children === "" ? `<${name}${attrs(a)}/>` : `<${name}${attrs(a)}>${children}</${name}>`;
}

/** An element whose only content is text. */
export function textEl(name: string, text: string, a: Attrs = {}): string {
  return `<${name}${attrs(a)}>${escapeText(text)}</${name}>`;
}
