/** Longer than any page path of ours; a longer `next` is not one of them. */
const MAX_NEXT_LENGTH = 2048;

/**
 * Where sign-in may send the user next: a path on this site, or nothing.
 *
 * `next` comes from a query string anyone can write. A prefix test is not
 * enough: browsers read `/\evil.example` and `/<TAB>/evil.example` as
 * `//evil.example` (another host), and CR/LF would break the Location header.
 * So the answer is the URL parser's own: resolve against our origin, keep it
 * only if the origin is unchanged, and send back the normalised path, which
 * must not start with `//` either (`/..//evil` normalises to that).
 */
export function sameOriginPath(next: unknown, origin: string): string | undefined {
  if (typeof next !== "string" || !next.startsWith("/") || next.length > MAX_NEXT_LENGTH) return undefined;
  if (hasControlOrBackslash(next)) return undefined;
  let url: URL;
  try {
    url = new URL(next, origin);
  } catch {
    return undefined;
  }
  if (url.origin !== new URL(origin).origin) return undefined;
  const path = `${url.pathname}${url.search}${url.hash}`;
  return path.startsWith("//") ? undefined : path;
}

/** Control characters and backslashes never occur in our paths; URL parsers drop or reinterpret them. */
export function hasControlOrBackslash(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f || code === 0x5c) return true;
  }
  return false;
}
