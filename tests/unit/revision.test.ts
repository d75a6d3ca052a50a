import { describe, expect, it } from "vitest";
import {
  decideRevision,
  diffData,
  type InstanceState,
  rebaseEdits,
} from "../../functions/engine/revision.ts";

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

describe("re-applying my edits to the latest state (the 409 answer)", () => {
  const fields = ["a", "b", "c"];

  it("keeps my edit of a field nobody else changed, and takes theirs on fields I left alone", () => {
    const rebased = rebaseEdits({
      base: { a: 1, b: "x" },
      mine: { a: 2, b: "x" },
      theirs: { a: 1, b: "y", c: true },
      fields,
    });
    expect(rebased.values).toEqual({ a: 2, b: "y", c: true });
    expect(rebased.conflicts).toEqual({});
    expect(rebased.theirChanges).toEqual([
      { field: "b", old: "x", new: "y" },
      { field: "c", old: null, new: true },
    ]);
  });

  it("keeps my value where both changed a field and reports theirs beside it", () => {
    const rebased = rebaseEdits({ base: { a: 1 }, mine: { a: 2 }, theirs: { a: 3 }, fields });
    expect(rebased.values).toEqual({ a: 2 });
    expect(rebased.conflicts).toEqual({ a: 3 });
  });

  it("reports a field they emptied and I changed with null as their value", () => {
    const rebased = rebaseEdits({ base: { a: 1, b: "x" }, mine: { a: 1, b: "z" }, theirs: { a: 1 }, fields });
    expect(rebased.values).toEqual({ a: 1, b: "z" });
    expect(rebased.conflicts).toEqual({ b: null });
  });

  it("empties a field I emptied even when they kept it", () => {
    const rebased = rebaseEdits({
      base: { a: 1, b: "x" },
      mine: { b: "x" },
      theirs: { a: 1, b: "x", c: 5 },
      fields,
    });
    expect(rebased.values).toEqual({ b: "x", c: 5 });
    expect(rebased.conflicts).toEqual({});
  });

  it("starts from nothing when nothing is committed", () => {
    const rebased = rebaseEdits({ base: {}, mine: { a: 1 }, theirs: {}, fields });
    expect(rebased).toEqual({ values: { a: 1 }, theirChanges: [], conflicts: {} });
  });
});
