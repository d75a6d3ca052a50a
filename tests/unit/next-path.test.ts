import { describe, expect, it } from "vitest";
import { hasControlOrBackslash, sameOriginPath } from "../../functions/web/next-path.ts";

const ORIGIN = "https://edc.example";

/** Where a browser goes when it follows `Location: <location>` from our origin. */
const followed = (location: string) => new URL(location, ORIGIN);

describe("sameOriginPath (where sign-in may send the user next)", () => {
  it.each([
    ["/studies/s1/enrol", "/studies/s1/enrol"],
    ["/studies/s1/subjects/01-001?saved=2#event-m3", "/studies/s1/subjects/01-001?saved=2#event-m3"],
    ["/studies/s1/%2F%2Fevil.example", "/studies/s1/%2F%2Fevil.example"],
    ["/%2F%2Fevil.example", "/%2F%2Fevil.example"],
    ["/%5Cevil.example", "/%5Cevil.example"],
    ["/%09/evil.example", "/%09/evil.example"],
    ["/a/../b", "/b"],
  ])("keeps the same-origin path %j as %j", (next, kept) => {
    expect(sameOriginPath(next, ORIGIN)).toBe(kept);
    expect(followed(kept).origin).toBe(ORIGIN);
  });

  it.each([
    "/\\evil.example",
    "/\t/evil.example",
    "/\\/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "/\r\nSet-Cookie: x=1",
    "//evil.example",
    "///evil.example",
    "https://evil.example",
    "http://edc.example/other-scheme",
    "https:evil.example",
    "javascript:alert(1)",
    "/..//evil.example",
    "/%2e%2e//evil.example",
    "/.//evil.example",
    "\\\\evil.example",
    "/\u0000/evil.example",
    "/\u007f",
    " /studies",
    "studies/s1",
    "",
    `/${"a".repeat(5000)}`,
    undefined,
    ["/studies"],
  ])("refuses %j", (next) => {
    expect(sameOriginPath(next, ORIGIN)).toBeUndefined();
  });

  it("never returns something a browser would follow off-site, for any mix of slashes, dots, tabs and escapes", () => {
    const parts = ["/", "\\", "\t", "\n", ".", "..", "%2e", "%2F", "%5C", "evil.example", "@", ":", "?", "#"];
    const all: string[] = [];
    const walk = (prefix: string, depth: number) => {
      all.push(prefix);
      if (depth === 0) return;
      for (const p of parts) walk(prefix + p, depth - 1);
    };
    walk("/", 4);
    for (const next of all) {
      const kept = sameOriginPath(next, ORIGIN);
      if (kept === undefined) continue;
      expect(kept, JSON.stringify(next)).toMatch(/^\/(?![/\\])/);
      expect(followed(kept).origin, JSON.stringify(next)).toBe(ORIGIN);
      expect(hasControlOrBackslash(kept), JSON.stringify(next)).toBe(false);
    }
  });
});
