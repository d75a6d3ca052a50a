import { describe, expect, it } from "vitest";
import * as zod from "zod";
import * as english from "../../infra/zod-english.js";

/**
 * The Lambda bundles get infra/zod-english.js for "zod" (an esbuild alias in
 * infra/stack.ts): zod's entry with English as the only locale. A zod upgrade
 * that adds or moves an export must show up here, not as an undefined at run time.
 */
describe("zod, English only (the bundles' zod)", () => {
  it("exports every name zod exports, from the same modules", () => {
    expect(Object.keys(english).sort()).toEqual(Object.keys(zod).sort());
    const ours: Record<string, unknown> = { ...english };
    const theirs: Record<string, unknown> = { ...zod };
    for (const name of Object.keys(theirs).filter((n) => !["locales", "core", "z", "default"].includes(n)))
      expect(ours[name], name).toBe(theirs[name]);
    expect(Object.keys(english.core).sort()).toEqual(Object.keys(zod.core).sort());
    expect(english.z.object).toBe(zod.z.object);
  });

  it("keeps English and only English among the locales", () => {
    expect(Object.keys(english.locales)).toEqual(["en"]);
    expect(Object.keys(english.core.locales)).toEqual(["en"]);
    expect(english.locales.en).toBe(zod.locales.en);
  });

  it("answers in English", () => {
    const result = english.z.object({ age: english.z.number() }).safeParse({ age: "x" });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toBe("Invalid input: expected number, received string");
  });
});
