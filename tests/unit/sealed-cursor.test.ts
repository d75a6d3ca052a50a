import { describe, expect, it } from "vitest";
import { openCursor, sealCursor } from "../../functions/exports/sealed-cursor.ts";

describe("sealed export cursors", () => {
  const position = "2026-01-02T03:04:05.678Z#STUDY#s#SUBJ#01-417#REV#screening#demographics#0001#000002";

  it("hide the position, open to it again, and seal one position always the same way", () => {
    const sealed = sealCursor("salt-a", position);
    expect(Buffer.from(sealed, "base64url").toString("latin1")).not.toContain("01-417");
    expect(openCursor("salt-a", sealed)).toBe(position);
    expect(sealCursor("salt-a", position)).toBe(sealed);
  });

  it("refuse a cursor of another study, a tampered one and a made-up one", () => {
    const sealed = sealCursor("salt-a", position);
    expect(openCursor("salt-b", sealed)).toBeUndefined();
    const bytes = Buffer.from(sealed, "base64url");
    bytes[bytes.length - 1] = (bytes.at(-1) ?? 0) ^ 1;
    expect(openCursor("salt-a", bytes.toString("base64url"))).toBeUndefined();
    expect(openCursor("salt-a", Buffer.from(position).toString("base64url"))).toBeUndefined();
    expect(openCursor("salt-a", "bm9wZQ")).toBeUndefined();
  });
});
