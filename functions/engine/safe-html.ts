/**
 * The small subset of HTML a label, help text or section header may use
 * (REDCap dictionaries are full of it): b, i, u, em, strong, br, p and span,
 * without attributes. Everything else is text: other tags are dropped (their
 * content kept), attributes are dropped, `<` and `&` that start no tag or
 * entity are escaped, and open tags are closed at the end so a label cannot
 * reach into the page. Pure: the page renders labels with it on the server,
 * and the REDCap importer reports what it would drop.
 */

const ALLOWED = new Set(["b", "i", "u", "em", "strong", "br", "p", "span"]);
const VOID = new Set(["br"]);
const TAG = /<(\/?)([a-zA-Z][a-zA-Z0-9]*)((?:\s+[^<>]*?)?)\s*(\/?)>/g;
const ENTITY = /^&(#\d{1,7}|#x[0-9a-fA-F]{1,6}|[a-zA-Z][a-zA-Z0-9]{1,31});/;

function escapeText(text: string): string {
  let out = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "<") out += "&lt;";
    else if (c === ">") out += "&gt;";
    else if (c === '"') out += "&quot;";
    else if (c === "&") out += ENTITY.test(text.slice(i, i + 40)) ? "&" : "&amp;";
    else out += c;
  }
  return out;
}

export interface SafeHtml {
  html: string;
  /** What was dropped, once each: "<img>", "<span style>" … */
  dropped: string[];
}

export function safeHtml(text: string): SafeHtml {
  const dropped = new Set<string>();
  const open: string[] = [];
  let html = "";
  let at = 0;
  for (const m of text.matchAll(TAG)) {
    html += escapeText(text.slice(at, m.index));
    at = m.index + m[0].length;
    const [, closing, rawName = "", attributes = ""] = m;
    const name = rawName.toLowerCase();
    if (!ALLOWED.has(name)) {
      dropped.add(`<${name}>`);
      continue;
    }
    if (attributes.trim() !== "") {
      const names = [...attributes.matchAll(/([a-zA-Z_:][-a-zA-Z0-9_:.]*)\s*(?:=|\s|$)/g)].map((a) => a[1]);
      dropped.add(`<${name} ${names.join(" ")}>`);
    }
    if (VOID.has(name)) {
      if (!closing) html += `<${name}>`;
    } else if (!closing) {
      open.push(name);
      html += `<${name}>`;
    } else {
      const index = open.lastIndexOf(name);
      if (index === -1) continue;
      // Closing an outer tag closes what is still open inside it.
      for (const inner of open.splice(index).reverse()) html += `</${inner}>`;
    }
  }
  html += escapeText(text.slice(at));
  for (const name of open.reverse()) html += `</${name}>`;
  return { html, dropped: [...dropped] };
}

/** Whether a text holds markup at all (plain labels stay plain text). */
export const hasMarkup = (text: string): boolean => /<[a-zA-Z/][^>]*>/.test(text);
