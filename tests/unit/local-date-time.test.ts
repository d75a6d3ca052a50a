import path from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { readFormsDirectory } from "../../functions/definition-files.ts";
import { checkDefinition, type DefinitionFiles } from "../../functions/engine/check-definition.ts";
import { parseLocalDateTimeText } from "../../functions/engine/date-text.ts";
import type { Instrument } from "../../functions/engine/definition.ts";
import { evaluate } from "../../functions/engine/logic.ts";
import { validationOf, validationSchema } from "../../functions/engine/redcap/validation-types.ts";
import { prepareForm } from "../../functions/engine/validate-form.ts";
import { scalar } from "../../functions/exports/odm/values.ts";
import { echoText, inputText, readFormEntries } from "../../functions/web/form-values.ts";

/** Issue 14 item 2: wall-clock date-times without a zone, and numbers written with a decimal comma. */

const visit: Instrument = {
  $id: "visit",
  title: "Visit",
  type: "object",
  additionalProperties: false,
  properties: {
    taken_at: { type: "string", title: "Sample taken", format: "local-date-time" },
    dose: { type: "number", title: "Dose", "x-decimal-comma": true },
    plain: { type: "number", title: "Plain number" },
  },
};
const ctx = { $event: "baseline" };
const save = (data: Record<string, unknown>) => prepareForm(visit, data, "incomplete", ctx);

describe("local date-times", () => {
  it("reads a date and a 24-hour time typed either way, stored as YYYY-MM-DDTHH:MM[:SS]", () => {
    expect(parseLocalDateTimeText("2026-11-10 09:30")).toEqual({ ok: true, value: "2026-11-10T09:30" });
    expect(parseLocalDateTimeText("2026-11-10T09:30:05")).toEqual({ ok: true, value: "2026-11-10T09:30:05" });
    expect(parseLocalDateTimeText(" 10 Nov 2026 0930 ")).toEqual({ ok: true, value: "2026-11-10T09:30" });
    expect(parseLocalDateTimeText("10/11/2026 09:30")).toEqual({ ok: false, problem: "ambiguous" });
    expect(parseLocalDateTimeText("2026-02-30 09:30")).toEqual({ ok: false, problem: "no-such-day" });
    expect(parseLocalDateTimeText("2026-11-10 9:30 PM").ok).toBe(false);
    expect(parseLocalDateTimeText("2026-11-10").ok).toBe(false);
  });

  it("the engine stores REDCap's spelling in the canonical one and refuses a zone, a bad hour or day", () => {
    expect(save({ taken_at: "2026-11-10 09:30" })).toMatchObject({
      errors: [],
      data: { taken_at: "2026-11-10T09:30" },
    });
    expect(save({ taken_at: "2026-11-10T09:30:59" }).data.taken_at).toBe("2026-11-10T09:30:59");
    for (const bad of ["2026-11-10T09:30Z", "2026-11-10T24:00", "2026-02-30T09:30", "10 Nov 2026 09:30"]) {
      expect(save({ taken_at: bad }).errors, bad).toEqual([
        expect.objectContaining({
          pointer: "/taken_at",
          message: expect.stringMatching(/without a time zone/),
        }),
      ]);
    }
  });

  it("the page reads what a person types and echoes it spelt out", () => {
    expect(readFormEntries(visit, { taken_at: "10 Nov 2026 0930" })).toEqual({
      taken_at: "2026-11-10T09:30",
    });
    expect(echoText("local-date-time", "2026-11-10 09:30")).toBe("= 10 November 2026 09:30");
    expect(echoText("local-date-time", "10/11/2026 09:30")).toBe("");
  });

  it("datediff between local date-times is the clock difference, whatever the runtime's zone", () => {
    const hours = { "*": [{ datediff: ["2026-03-28 22:00", "2026-03-29T04:30", "d"] }, 24] };
    expect(evaluate(hours, {})).toBeCloseTo(6.5, 10);
    expect(evaluate({ datediff: ["2026-11-10", "2026-11-11T12:00", "d"] }, {})).toBe(1.5);
  });

  it("ODM writes xs:dateTime with seconds and no zone", () => {
    expect(scalar("2026-11-10T09:30", "datetime")).toBe("2026-11-10T09:30:00");
    expect(scalar("2026-11-10T09:30:05", "datetime")).toBe("2026-11-10T09:30:05");
  });

  it("REDCap's date-time validations map to it and back", () => {
    expect(validationSchema("datetime_dmy")).toEqual({
      type: "string",
      format: "local-date-time",
      "x-text-validation": "datetime_dmy",
    });
    expect(validationOf({ type: "string", title: "t", format: "local-date-time" })).toBe("datetime_ymd");
    for (const name of ["datetime_mdy", "datetime_seconds_ymd", "datetime_seconds_dmy"])
      expect(validationOf({ title: "t", ...validationSchema(name) } as never)).toBe(name);
    // Zoned date-times are untouched.
    expect(validationOf({ type: "string", title: "t", format: "date-time" })).toBe("datetime_seconds_ymd");
  });
});

describe("decimal-comma numbers", () => {
  it("the page takes 1,5 for such a field, stores the number and shows it back with its comma", () => {
    expect(readFormEntries(visit, { dose: "1,5", plain: "1,5" })).toEqual({ dose: 1.5, plain: "1,5" });
    expect(readFormEntries(visit, { dose: "2.25" })).toEqual({ dose: 2.25 });
    expect(save(readFormEntries(visit, { dose: "1,5" }))).toMatchObject({ errors: [], data: { dose: 1.5 } });
    expect(save(readFormEntries(visit, { plain: "1,5" })).errors).toEqual([
      expect.objectContaining({ pointer: "/plain" }),
    ]);
    expect(inputText(1.5, visit.properties.dose)).toBe("1,5");
    expect(inputText(1.5, visit.properties.plain)).toBe("1.5");
  });

  it("the JSON API takes numbers only, for such a field too", () => {
    expect(save({ dose: "1,5" }).errors).toEqual([expect.objectContaining({ pointer: "/dose" })]);
  });

  it("REDCap's comma validations map to x-decimal-comma and back", () => {
    expect(validationSchema("number_comma_decimal")).toMatchObject({ "x-decimal-comma": true });
    expect(validationSchema("number_1dp_comma_decimal")).toMatchObject({
      "x-decimal-comma": true,
      "x-text-validation": "number_1dp_comma_decimal",
    });
    expect(validationOf({ type: "number", title: "t", "x-decimal-comma": true })).toBe(
      "number_comma_decimal",
    );
  });
});

describe("forms:check", () => {
  let shipped: DefinitionFiles;
  beforeAll(async () => {
    const read = await readFormsDirectory(
      path.join(fileURLToPath(new URL("../../", import.meta.url)), "forms"),
    );
    if (!read.files) throw new Error("forms/ could not be read");
    shipped = read.files;
  });

  it("checks study.json's timeZone is an IANA zone", () => {
    const files = structuredClone(shipped);
    (files.study.json as { timeZone?: string }).timeZone = "Europe/Berlin";
    expect(checkDefinition(files).errors).toEqual([]);
    (files.study.json as { timeZone?: string }).timeZone = "Mars/Olympus";
    expect(checkDefinition(files).errors).toEqual([
      expect.objectContaining({
        pointer: "/timeZone",
        message: expect.stringMatching(/not an IANA time zone/),
      }),
    ]);
  });

  it("refuses x-decimal-comma on a field that is not a number, at the field", () => {
    const files = structuredClone(shipped);
    const [first] = files.instruments;
    const json = first?.json as { properties: Record<string, Record<string, unknown>> };
    const [name, field] = Object.entries(json.properties).find(([, f]) => f.type === "string") ?? [];
    if (!name || !field) throw new Error("no text field in forms/");
    field["x-decimal-comma"] = true;
    expect(checkDefinition(files).errors).toEqual([
      expect.objectContaining({ pointer: `/properties/${name}/x-decimal-comma` }),
    ]);
  });
});
