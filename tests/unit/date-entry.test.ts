import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { parseDateText, parseTimeText, spellDate } from "../../functions/engine/date-text.ts";
import type { Instrument } from "../../functions/engine/definition.ts";
import { prepareForm } from "../../functions/engine/validate-form.ts";
import { readFormEntries } from "../../functions/web/form-values.ts";

describe("typed dates are read one way only", () => {
  it.each([
    ["2026-11-10", "2026-11-10"],
    [" 2026-11-10 ", "2026-11-10"],
    ["2026-1-5", "2026-01-05"],
    ["17 Apr 1988", "1988-04-17"],
    ["17 april 1988", "1988-04-17"],
    ["17-Apr-1988", "1988-04-17"],
    ["17. April 1988", "1988-04-17"],
    ["Apr 17, 1988", "1988-04-17"],
    ["10 Nov 2026", "2026-11-10"],
    ["1 Mai 2024", "2024-05-01"],
    ["3 Okt 2024", "2024-10-03"],
  ])("%s is %s", (text, iso) => {
    expect(parseDateText(text)).toEqual({ ok: true, value: iso });
  });

  it.each(["10/11/2026", "17/04/1988", "5/3/2026", "10.11.2026", "10-11-2026", "04/17/1988"])(
    "%s is refused as ambiguous (day and month are both numbers)",
    (text) => {
      expect(parseDateText(text)).toMatchObject({ ok: false, problem: "ambiguous" });
    },
  );

  it.each(["0026-03-05", "26-03-05", "5 Mar 26", "5 Mar 0026"])(
    "%s is refused: the year has four digits",
    (text) => {
      expect(parseDateText(text)).toMatchObject({ ok: false });
    },
  );

  it.each(["2026-02-30", "31 Apr 2024", "2026-13-01"])("%s is refused: no such day", (text) => {
    expect(parseDateText(text)).toMatchObject({ ok: false, problem: "no-such-day" });
  });

  it("spells a date with the month's name", () => {
    expect(spellDate("1988-04-17")).toBe("17 April 1988");
    expect(spellDate("2026-11-10")).toBe("10 November 2026");
  });
});

describe("typed times are 24-hour HH:MM", () => {
  it.each([
    ["0930", "09:30"],
    ["9:30", "09:30"],
    ["09:30", "09:30"],
    ["930", "09:30"],
    ["9.30", "09:30"],
    ["2359", "23:59"],
    ["08:30:15", "08:30:15"],
  ])("%s is %s", (text, hhmm) => {
    expect(parseTimeText(text)).toEqual({ ok: true, value: hhmm });
  });

  it.each(["9:30 pm", "2400", "12:60", "9", "9:3"])("%s is refused", (text) => {
    expect(parseTimeText(text)).toMatchObject({ ok: false });
  });
});

const instrument: Instrument = {
  $id: "t",
  title: "T",
  type: "object",
  additionalProperties: false,
  properties: {
    birth: {
      type: "string",
      format: "date",
      title: "Birth",
      "x-date-min": "1900-01-01",
      "x-date-max": "today",
    },
    visit: {
      type: "string",
      format: "date",
      title: "Visit",
      "x-date-min": "2020-01-01",
      "x-date-max": "today",
    },
    any: { type: "string", format: "date", title: "Any date" },
    event: {
      type: "string",
      format: "date",
      title: "Event",
      "x-date-min": "study-start",
      "x-date-max": "today",
    },
    at: { type: "string", format: "time", title: "At" },
  },
};
const ctx = { $event: "e" };

describe("a date field's plausible range", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date("2026-06-15T12:00:00Z"));
  });
  afterEach(() => vi.useRealTimers());

  const errors = (data: Record<string, unknown>) =>
    prepareForm(instrument, data, "incomplete", ctx).errors.map((e) => [e.pointer, e.code, e.message]);

  it("accepts dates inside it, bounds included", () => {
    expect(errors({ birth: "1900-01-01", visit: "2026-06-15" })).toEqual([]);
  });

  it("refuses a date of birth before 1900 or in the future, naming the bound", () => {
    expect(errors({ birth: "1899-12-31" })).toEqual([
      ["/birth", "date-range", "must be on or after 1 January 1900"],
    ]);
    expect(errors({ birth: "2026-07-01" })).toEqual([["/birth", "date-range", "must be today or earlier"]]);
  });

  it("'today' tolerates the time zones of the world: tomorrow in UTC+14 is allowed, the day after is not", () => {
    expect(errors({ visit: "2026-06-16" })).toEqual([]);
    expect(errors({ visit: "2026-06-17" })).toHaveLength(1);
  });

  it("'study-start' is the study's startDate from the context", () => {
    const withStart = (data: Record<string, unknown>) =>
      prepareForm(instrument, data, "incomplete", { ...ctx, $studyStart: "2010-01-01" }).errors.map(
        (e) => e.message,
      );
    expect(withStart({ event: "2010-01-01" })).toEqual([]);
    expect(withStart({ event: "2009-12-31" })).toEqual([
      "must be on or after 1 January 2010, the study's start",
    ]);
  });

  it("a date field without bounds still refuses a year before 1900 (year 0026 is a typing slip)", () => {
    expect(errors({ any: "0026-03-05" })).toEqual([
      ["/any", "date-range", "must be on or after 1 January 1900"],
    ]);
  });

  it("an ambiguous date that reached the engine as text is explained with the expected format", () => {
    expect(errors({ visit: "10/11/2026" })).toEqual([
      [
        "/visit",
        "format",
        "is ambiguous (day and month are both numbers): write YYYY-MM-DD or the month's name, e.g. 2026-11-10 or 10 Nov 2026",
      ],
    ]);
  });
});

describe("a form post reads typed dates and times", () => {
  it("stores ISO dates and HH:MM times, and keeps what does not parse as text for the engine to refuse", () => {
    expect(readFormEntries(instrument, { birth: "17 Apr 1988", visit: "10/11/2026", at: "0930" })).toEqual({
      birth: "1988-04-17",
      visit: "10/11/2026",
      at: "09:30",
    });
  });
});
