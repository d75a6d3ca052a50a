import { describe, expect, it } from "vitest";
import { isJsonText } from "../../functions/store/json-syntax.ts";

function parses(bytes: Uint8Array): boolean {
  try {
    JSON.parse(Buffer.from(bytes).toString("utf8"));
    return true;
  } catch {
    return false;
  }
}

const texts = [
  JSON.stringify({
    pk: "S#demo#0001",
    v: { a: [1, -2.5, 3e-7, 0, -0, 1.5e300], s: 'é"\\\n\t\u0001 ✓ 😀', n: null, t: true, f: false },
    e: {},
    l: [[], [{}], [[1]]],
  }),
  '  { "a" : [ 1 , 2 ] , "b" : "x" }\r\n',
  '"\\u00e9\\/\\b\\f"',
  "-0.5E+10",
  "[]",
  "null",
];
const broken = [
  "",
  "{",
  '{"a"}',
  '{"a":1,}',
  "[1,]",
  "01",
  "1.",
  "-",
  "1e",
  '"\\x"',
  '"\\u12g4"',
  "tru",
  "[1] 2",
  "\ufeff{}",
  '{"a":1}}',
  "+1",
  ".5",
  "NaN",
  '"\u0001"',
];

describe("isJsonText", () => {
  it("agrees with JSON.parse on JSON texts and broken ones", () => {
    for (const text of [...texts, ...broken]) {
      const bytes = Buffer.from(text, "utf8");
      expect({ text, ok: isJsonText(bytes) }).toEqual({ text, ok: parses(bytes) });
    }
  });

  it("agrees with JSON.parse on every one-byte change and cut of a record", () => {
    const base = Buffer.from(texts[0] ?? "", "utf8");
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed;
    };
    for (let k = 0; k < 1000; k++) {
      const bytes = Buffer.from(base);
      const at = random() % bytes.length;
      if (k % 10 === 0) {
        const cut = bytes.subarray(0, at);
        expect(isJsonText(cut), cut.toString()).toBe(parses(cut));
        continue;
      }
      bytes[at] = random() % 256;
      expect(isJsonText(bytes), bytes.toString()).toBe(parses(bytes));
    }
  });
});
