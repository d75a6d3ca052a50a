import { describe, expect, it } from "vitest";
import type { Instrument, StudyDefinition } from "../../functions/engine/definition.ts";
import { eventNeighbours } from "../../functions/engine/event-neighbours.ts";
import { applyCalculations } from "../../functions/engine/validate-form.ts";

const event = (id: string, arms?: string[]) => ({ id, label: id, forms: [], ...(arms ? { arms } : {}) });
const study = {
  events: [event("screening"), event("dose_a", ["a"]), event("dose_b", ["b"]), event("follow_up")],
} as unknown as StudyDefinition["study"];

describe("an event's neighbours in its arm (REDCap's [previous-event-name] and friends)", () => {
  it("skips the events of other arms", () => {
    expect(eventNeighbours(study, "b", "dose_b")).toEqual({
      $previousEvent: "screening",
      $nextEvent: "follow_up",
      $firstEvent: "screening",
      $lastEvent: "follow_up",
    });
  });

  it("has no previous event at the first and no next at the last; the logs and unknown events have none", () => {
    expect(eventNeighbours(study, "a", "screening")).toEqual({
      $nextEvent: "dose_a",
      $firstEvent: "screening",
      $lastEvent: "follow_up",
    });
    expect(eventNeighbours(study, "a", "follow_up").$nextEvent).toBeUndefined();
    expect(eventNeighbours(study, "a", "logs")).toEqual({});
    expect(eventNeighbours(study, "a", "dose_b")).toEqual({});
  });
});

describe("calculated texts and dates (REDCap @CALCTEXT, @CALCDATE)", () => {
  const instrument = {
    $id: "dosing",
    title: "Dosing",
    type: "object",
    properties: {
      given: { type: "string", format: "local-date-time" },
      next_dose: {
        type: "string",
        format: "date",
        readOnly: true,
        "x-calc": { date_add: [{ var: "given" }, 28] },
      },
      label: {
        type: "string",
        readOnly: true,
        "x-calc": { concat: ["Instance ", { var: "$instance" }, " after ", { var: "$previousEvent" }] },
      },
    },
  } as unknown as Instrument;

  it("a date computed from a date-time keeps its day; a text holds what the logic returned as text", () => {
    const data = applyCalculations(
      instrument,
      { given: "2026-01-05T23:30" },
      { $event: "dose_b", $instance: 2, $previousEvent: "screening" },
    );
    expect(data).toEqual({
      given: "2026-01-05T23:30",
      next_dose: "2026-02-02",
      label: "Instance 2 after screening",
    });
  });
});
