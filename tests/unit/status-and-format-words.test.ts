import { describe, expect, it } from "vitest";
import type { EventDef, Instrument } from "../../functions/engine/definition.ts";
import { visitTiming } from "../../functions/engine/schedule.ts";
import { prepareForm } from "../../functions/engine/validate-form.ts";
import { progressText, statusText } from "../../functions/web/casebook-view.ts";

/** Issue 9 items 6 and 10: a visit's state from all its forms; errors and statuses said in words. */

const patterned: Instrument = {
  $id: "p",
  title: "P",
  type: "object",
  additionalProperties: false,
  properties: {
    initials: { type: "string", pattern: "^[A-Z]{2,3}$", description: "Capitals, 2 or 3 letters." },
    code: { type: "string", pattern: "^[0-9]{4}$" },
    zip: { type: "string", pattern: "^[0-9]{5}$", "x-text-validation": "zipcode" },
    version: {
      type: "string",
      pattern: "^[0-9][0-9.]*$",
      "x-format": "digits and dots, e.g. 2.1",
      description: "As printed on the consent form's footer, with every digit and dot.",
    },
  },
};

const errorsOf = (data: Record<string, unknown>) =>
  Object.fromEntries(
    (prepareForm(patterned, data, "incomplete", { $event: "v" }).errors ?? []).map((e) => [
      e.pointer,
      e.message,
    ]),
  );

describe("pattern errors say which format", () => {
  it("uses the protocol's own short words for the format before the help text", () => {
    expect(errorsOf({ version: "v2" })["/version"]).toBe(
      "is not in the expected format: digits and dots, e.g. 2.1",
    );
  });
  it("quotes the field's help text", () => {
    expect(errorsOf({ initials: "ab" })["/initials"]).toBe(
      "is not in the expected format: Capitals, 2 or 3 letters.",
    );
  });
  it("names the REDCap validation type's format", () => {
    expect(errorsOf({ zip: "1234" })["/zip"]).toBe(
      "is not in the expected format: a 5-digit ZIP code, e.g. 12345",
    );
  });
  it("without help text, shows the pattern itself", () => {
    expect(errorsOf({ code: "12" })["/code"]).toBe("is not in the expected format (pattern ^[0-9]{4}$)");
  });
});

describe("a visit's timing reflects all its forms", () => {
  const event: EventDef = {
    id: "v",
    label: "V",
    day: 10,
    window: { before: 1, after: 1 },
    forms: ["a", "b"],
  };
  it("is in progress, not done, while some forms are not complete", () => {
    expect(
      visitTiming(event, "2026-01-01", "2026-01-10", { any: true, allComplete: false, deviations: 0 }),
    ).toBe("in-progress");
  });
  it("is done when every form is complete", () => {
    expect(
      visitTiming(event, "2026-01-01", "2026-01-10", { any: true, allComplete: true, deviations: 0 }),
    ).toBe("done");
  });
  it("is out of window when a visit date falls outside it, however complete", () => {
    expect(
      visitTiming(event, "2026-01-01", "2026-01-10", { any: true, allComplete: false, deviations: 1 }),
    ).toBe("out-of-window");
  });
  it("progress and statuses in words", () => {
    expect(progressText({ complete: 3, total: 8 })).toBe("3 of 8 forms complete");
    expect(statusText({ title: "Vital signs", status: "not_started", instance: 2 }, true)).toBe(
      "Vital signs #2: Not started",
    );
  });
});
