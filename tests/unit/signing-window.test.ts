import { describe, expect, it } from "vitest";
import {
  DEFAULT_SIGNING_WINDOW_MS,
  reauthenticationRefusal,
  signingWindowMs,
  withinSigningWindow,
} from "../../functions/http/signing.ts";

const WINDOW = 5 * 60_000;
const asked = Date.parse("2026-06-01T10:00:00Z");

describe("a re-authentication to sign", () => {
  it("is accepted when it happened after it was asked for and within the window", () => {
    expect(reauthenticationRefusal(asked + 20_000, asked, asked + 30_000, WINDOW)).toBeUndefined();
  });

  it("is refused without auth_time, before it was asked for, in the future, or older than the window", () => {
    expect(reauthenticationRefusal(undefined, asked, asked + 1000, WINDOW)).toMatch(/did not say when/);
    // A provider that ignored prompt=login answers with the session's old authentication.
    expect(reauthenticationRefusal(asked - 3_600_000, asked, asked + 1000, WINDOW)).toMatch(/did not ask/);
    expect(reauthenticationRefusal(asked + 120_000, asked, asked + 1000, WINDOW)).toMatch(/future/);
    expect(reauthenticationRefusal(asked + 1000, asked, asked + WINDOW + 2000, WINDOW)).toMatch(
      /more than 5 minutes old/,
    );
  });

  it("may be used to sign only within the window", () => {
    expect(withinSigningWindow(asked, asked + WINDOW, WINDOW)).toBe(true);
    expect(withinSigningWindow(asked, asked + WINDOW + 1, WINDOW)).toBe(false);
  });

  it("reads SIGNING_WINDOW_MINUTES, and anything unusable is the default", () => {
    expect(signingWindowMs("2")).toBe(120_000);
    expect(signingWindowMs("0.5")).toBe(30_000);
    for (const bad of [undefined, "", "0", "-1", "soon"])
      expect(signingWindowMs(bad)).toBe(DEFAULT_SIGNING_WINDOW_MS);
  });
});
