import { describe, expect, it } from "vitest";
import { cachedSaveReads, saveReads } from "../../functions/engine/save-reads.ts";
import { adverseEvent, instrument, smallDefinition, smallStudy, visit } from "./small-study.ts";

const withLabs = (properties: Parameters<typeof instrument>[1]) =>
  smallDefinition(1, { visit, labs: instrument("labs", properties), adverse_event: adverseEvent });

describe("what a save of one form reads before its commit", () => {
  it("a form whose logic reads no other form needs only day one's state, for its visit date", () => {
    expect(saveReads(smallDefinition(), "visit")).toEqual({
      all: false,
      slots: [{ event: "baseline", form: "visit", instance: 1 }],
    });
  });

  it("a form without a visit date has no use for day one", () => {
    expect(saveReads(smallDefinition(), "labs")).toEqual({ all: false, slots: [] });
  });

  it("without a day one, nothing at all", () => {
    const definition = smallDefinition(1, undefined, smallStudy({ dayOne: undefined }));
    expect(saveReads(definition, "visit")).toEqual({ all: false, slots: [] });
  });

  it("$events.<event>.<form>.<field> reads that form at that event, every instance, once however often named", () => {
    const definition = withLabs({
      sampled_on: { type: "string", title: "Sampled on", format: "date", "x-visit-date": true },
      hb: {
        type: "number",
        title: "Hb",
        "x-visible-if": { "!!": [{ var: "$events.unscheduled.visit.weight" }] },
      },
      note: {
        type: "string",
        title: "Note",
        "x-calc": {
          cat: [{ var: "$events.unscheduled.visit.smoker" }, { var: "$events.baseline.visit.weight" }],
        },
      },
    });
    expect(saveReads(definition, "labs")).toEqual({
      all: false,
      slots: [
        { event: "unscheduled", form: "visit" },
        // Day one's instance is among these: not read a second time.
        { event: "baseline", form: "visit" },
      ],
    });
  });

  it("$latest reads every state: the form's instances may be at any event", () => {
    const definition = withLabs({
      hb: { type: "number", title: "Hb", "x-visible-if": { ">": [{ var: "$latest.visit.weight" }, 50] } },
    });
    expect(saveReads(definition, "labs")).toEqual({ all: true });
  });

  it("a reference it cannot place (a whole event, a name in a rule's message) reads every state", () => {
    const wholeEvent = withLabs({
      hb: { type: "number", title: "Hb", "x-visible-if": { "!!": [{ var: "$events.baseline" }] } },
    });
    expect(saveReads(wholeEvent, "labs")).toEqual({ all: true });
    const inAKey = withLabs({ hb: { type: "number", title: "Hb", "x-calc": { var: ["$latest"] } } });
    expect(saveReads(inAKey, "labs")).toEqual({ all: true });
  });

  it("an unknown form reads every state (the save refuses it later, as before)", () => {
    expect(saveReads(smallDefinition(), "nope")).toEqual({ all: true });
  });

  it("is derived once per definition and form", () => {
    const reads = cachedSaveReads();
    const definition = smallDefinition();
    expect(reads(definition, "labs")).toBe(reads(definition, "labs"));
    expect(reads(smallDefinition(), "labs")).not.toBe(reads(definition, "labs"));
  });
});
