import { describe, expect, it } from "vitest";
import { latestValues } from "../../functions/engine/casebook.ts";
import { LOGS_EVENT, type StudyDefinition } from "../../functions/engine/definition.ts";
import { decideErrorMark, isMarkableEvent } from "../../functions/engine/entered-in-error.ts";
import { decideRevision, type InstanceState } from "../../functions/engine/revision.ts";

const state = (over: Partial<InstanceState> = {}): InstanceState => ({
  rev: 2,
  status: "complete",
  data: { a: 1 },
  definitionVersion: 1,
  committedAt: "2024-01-01T00:00:00.000Z",
  committedBy: "u",
  ...over,
});

const definition = {
  version: 1,
  instruments: {},
  study: {
    logs: ["adverse_event"],
    events: [
      { id: "screening", label: "Screening", day: -1, forms: ["edss", "labs"], repeatingForms: ["labs"] },
      { id: "unscheduled", label: "Unscheduled visit", repeatable: true, forms: ["edss"] },
    ],
  },
} as unknown as StudyDefinition;

describe("which instances can be marked as entered in error", () => {
  it("allows log instances and unscheduled (repeatable) visits, never a scheduled visit", () => {
    expect(isMarkableEvent(definition, LOGS_EVENT)).toBe(true);
    expect(isMarkableEvent(definition, "unscheduled")).toBe(true);
    expect(isMarkableEvent(definition, "screening")).toBe(false);
    expect(isMarkableEvent(definition, "nowhere")).toBe(false);
  });

  it("allows an instance of a form repeating at a scheduled visit, not that visit's one-off forms", () => {
    expect(isMarkableEvent(definition, "screening", "labs")).toBe(true);
    expect(isMarkableEvent(definition, "screening", "edss")).toBe(false);
  });
});

describe("deciding a mark or a restore", () => {
  const mark = { action: "entered-in-error" as const, reason: "duplicate of AE #1" };

  it("marks a saved instance from its latest revision with a reason: the next revision", () => {
    const current = state();
    expect(decideErrorMark({ ...mark, current, baseRev: 2 })).toEqual({ kind: "commit", rev: 3, current });
  });

  it("asks for a reason (blank counts as none)", () => {
    expect(decideErrorMark({ ...mark, reason: "  ", current: state(), baseRev: 2 }).kind).toBe(
      "reason-required",
    );
    expect(decideErrorMark({ ...mark, reason: undefined, current: state(), baseRev: 2 }).kind).toBe(
      "reason-required",
    );
  });

  it("refuses a stale revision, an instance never saved, and marking twice", () => {
    expect(decideErrorMark({ ...mark, current: state(), baseRev: 1 }).kind).toBe("stale");
    expect(decideErrorMark({ ...mark, current: undefined, baseRev: 0 }).kind).toBe("not-saved");
    expect(decideErrorMark({ ...mark, current: state({ enteredInError: true }), baseRev: 2 }).kind).toBe(
      "already",
    );
  });

  it("restores only a marked instance, also with a reason", () => {
    const restore = { action: "restore" as const, reason: "was a real event" };
    expect(decideErrorMark({ ...restore, current: state(), baseRev: 2 }).kind).toBe("already");
    const marked = state({ enteredInError: true });
    expect(decideErrorMark({ ...restore, current: marked, baseRev: 2 })).toEqual({
      kind: "commit",
      rev: 3,
      current: marked,
    });
    expect(
      decideErrorMark({ ...restore, reason: "", current: state({ enteredInError: true }), baseRev: 2 }).kind,
    ).toBe("reason-required");
  });
});

describe("an instance marked as entered in error", () => {
  it("refuses data saves until restored", () => {
    const decision = decideRevision({
      current: state({ enteredInError: true }),
      baseRev: 2,
      status: "complete",
      data: { a: 2 },
      reason: "typo",
      fields: ["a"],
    });
    expect(decision.kind).toBe("entered-in-error");
  });

  it("does not feed $latest (a mistaken visit's weight must not drive a dose)", () => {
    const latest = latestValues([
      { event: "iv_1", form: "vital_signs", instance: 1, data: { weight: 80 }, committedAt: "2024-01-01" },
      {
        event: "unscheduled",
        form: "vital_signs",
        instance: 1,
        data: { weight: 8 },
        committedAt: "2024-02-01",
        enteredInError: true,
      },
    ]);
    expect(latest.vital_signs?.weight).toBe(80);
  });
});
