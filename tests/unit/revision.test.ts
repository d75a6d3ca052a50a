import { describe, expect, it } from "vitest";
import { decideRevision, diffData, type InstanceState } from "../../functions/engine/revision.ts";

const state = (over: Partial<InstanceState> = {}): InstanceState => ({
  rev: 1,
  status: "incomplete",
  data: { a: 1, b: "x" },
  definitionVersion: 1,
  committedAt: "2024-01-01T00:00:00.000Z",
  committedBy: "u",
  ...over,
});

describe("field-level differences", () => {
  it("lists changed, added and removed fields with old and new values in field order", () => {
    expect(diffData({ a: 1, b: "x", c: [1] }, { a: 2, c: [1], d: true }, ["d", "c", "b", "a"])).toEqual([
      { field: "d", old: null, new: true },
      { field: "b", old: "x", new: null },
      { field: "a", old: 1, new: 2 },
    ]);
  });
});

describe("deciding a revision", () => {
  const base = { status: "incomplete" as const, reason: undefined, fields: ["a", "b"] };

  it("refuses a save from a revision that is not the latest", () => {
    expect(decideRevision({ ...base, current: state(), baseRev: 0, data: {} }).kind).toBe("stale");
    expect(decideRevision({ ...base, current: undefined, baseRev: 1, data: {} }).kind).toBe("stale");
  });

  it("commits the first revision of a new instance", () => {
    expect(decideRevision({ ...base, current: undefined, baseRev: 0, data: { a: 1 } })).toEqual({
      kind: "commit",
      rev: 1,
      changes: [{ field: "a", old: null, new: 1 }],
      statusFrom: null,
    });
  });

  it("does nothing when neither data nor status change", () => {
    expect(decideRevision({ ...base, current: state(), baseRev: 1, data: { a: 1, b: "x" } }).kind).toBe(
      "unchanged",
    );
  });

  it("commits a status change alone", () => {
    const d = decideRevision({
      ...base,
      status: "complete",
      current: state(),
      baseRev: 1,
      data: { a: 1, b: "x" },
    });
    expect(d).toMatchObject({ kind: "commit", rev: 2, changes: [], statusFrom: "incomplete" });
  });

  it("asks for a reason to change a complete form, including reopening it", () => {
    const complete = state({ status: "complete" });
    expect(decideRevision({ ...base, current: complete, baseRev: 1, data: { a: 2, b: "x" } }).kind).toBe(
      "reason-required",
    );
    expect(decideRevision({ ...base, current: complete, baseRev: 1, data: { a: 1, b: "x" } }).kind).toBe(
      "reason-required",
    );
    expect(
      decideRevision({ ...base, current: complete, baseRev: 1, data: { a: 2, b: "x" }, reason: "   " }).kind,
    ).toBe("reason-required");
    expect(
      decideRevision({ ...base, current: complete, baseRev: 1, data: { a: 2, b: "x" }, reason: "typo" }).kind,
    ).toBe("commit");
  });
});
