import { describe, expect, it } from "vitest";
import { type FlatInstance, flatColumns, flatRows, uniqueEventName } from "../../functions/exports/flat.ts";
import { adverseEvent, instrument, labs, smallDefinition, smallStudy, visit } from "./small-study.ts";

const definition = smallDefinition();
const subject = { id: "S1-001", arm: "b" };
const at = (more: Partial<FlatInstance>): FlatInstance => ({
  event: "baseline",
  form: "visit",
  instance: 1,
  status: "complete",
  data: {},
  ...more,
});

describe("flatColumns", () => {
  it("lists the REDCap columns in protocol order, a multiple choice as one column per code", () => {
    expect(flatColumns(definition).map((c) => c.name)).toEqual([
      "record_id",
      "redcap_event_name",
      "redcap_repeat_instrument",
      "redcap_repeat_instance",
      "visit_date",
      "initials",
      "weight",
      "smoker",
      "symptoms___pain",
      "symptoms___fatigue",
      "consented",
      "visit_complete",
      "sampled_at",
      "hb",
      "labs_complete",
      "ae_term",
      "onset",
      "adverse_event_complete",
    ]);
  });

  it("takes every field of the forms named plus the fields named, and leaves identifiers out when asked", () => {
    const names = flatColumns(definition, {
      forms: ["labs"],
      fields: ["weight", "initials"],
      deidentify: { dropIdentifiers: true },
    }).map((c) => c.name);
    expect(names.slice(4)).toEqual(["weight", "sampled_at", "hb", "labs_complete"]);
  });

  it("names a field that repeats an earlier form's field name after its form", () => {
    const twice = smallDefinition(1, {
      visit,
      labs: instrument("labs", { weight: { type: "number", title: "Weight at sampling" } }),
    });
    expect(flatColumns(twice).map((c) => c.name)).toContain("labs_weight");
  });

  it("adds an entered-in-error column only to forms that can be marked so, and only when asked", () => {
    const names = flatColumns(definition, { includeEnteredInError: true }).map((c) => c.name);
    expect(names).toContain("visit_entered_in_error"); // also on the repeatable unscheduled visit
    expect(names).toContain("adverse_event_entered_in_error");
    expect(names).not.toContain("labs_entered_in_error");
    expect(flatColumns(definition).map((c) => c.name)).not.toContain("visit_entered_in_error");
  });
});

describe("flatRows", () => {
  const instances = [
    at({ event: "logs", form: "adverse_event", instance: 2, data: { ae_term: "Rash" } }),
    at({ event: "unscheduled", instance: 1, status: "unverified", data: { weight: 71 } }),
    at({
      data: { visit_date: "2024-05-10", smoker: "never", symptoms: ["fatigue"], consented: true, weight: 70 },
    }),
    at({ form: "labs", status: "incomplete", data: { hb: 13.5 } }),
  ];

  it("puts an event's one-off forms on one row, each repeat and log instance on its own, in schedule order", () => {
    const rows = flatRows(definition, subject, instances, flatColumns(definition));
    expect(
      rows.map((r) => [r.redcap_event_name, r.redcap_repeat_instrument, r.redcap_repeat_instance]),
    ).toEqual([
      ["baseline_arm_2", "", ""],
      ["unscheduled_arm_2", "", 1],
      ["logs_arm_2", "adverse_event", 2],
    ]);
    expect(rows[0]).toMatchObject({
      record_id: "S1-001",
      visit_date: "2024-05-10",
      smoker: "never",
      symptoms___pain: 0,
      symptoms___fatigue: 1,
      consented: 1,
      visit_complete: 2,
      hb: 13.5,
      labs_complete: 0,
      ae_term: "",
    });
    expect(rows[1]).toMatchObject({ weight: 71, visit_complete: 1, hb: "" });
  });

  it("writes labels instead of codes when asked", () => {
    const [row] = flatRows(definition, subject, instances, flatColumns(definition), { rawOrLabel: "label" });
    expect(row).toMatchObject({
      smoker: "Never",
      symptoms___pain: "Unchecked",
      symptoms___fatigue: "Checked",
      consented: "Yes",
      visit_complete: "Complete",
      labs_complete: "Incomplete",
    });
  });

  it("writes a comma-decimal field's numbers with a decimal comma when asked (REDCap's endpoint)", () => {
    const comma = structuredClone(definition);
    const weight = comma.instruments.visit?.properties.weight;
    if (!weight) throw new Error("no weight field");
    weight["x-text-validation"] = "number_1dp_comma_decimal";
    const data = { weight: 70.5 };
    const [row] = flatRows(comma, subject, [at({ data })], flatColumns(comma), { commaDecimals: true });
    expect(row?.weight).toBe("70,5");
    expect(flatRows(comma, subject, [at({ data })], flatColumns(comma))[0]?.weight).toBe(70.5);
    const plain = flatRows(definition, subject, [at({ data })], flatColumns(definition), {
      commaDecimals: true,
    });
    expect(plain[0]?.weight).toBe(70.5);
  });

  it("labels events with their arm and repeating instruments by title, as REDCap's rawOrLabel=label", () => {
    const rows = flatRows(
      definition,
      subject,
      [at({}), at({ event: "logs", form: "adverse_event", instance: 1, data: { ae_term: "Rash" } })],
      flatColumns(definition),
      { rawOrLabel: "label" },
    );
    expect(rows.map((r) => [r.redcap_event_name, r.redcap_repeat_instrument])).toEqual([
      ["Baseline (Arm 2: Arm B)", ""],
      ["Logs (Arm 2: Arm B)", "adverse_event"],
    ]);
  });

  it("shifts dates and keys the subject when de-identifying", () => {
    const deidentify = { dropIdentifiers: true, shiftDays: () => -10, subjectKey: () => "k1" };
    const [row] = flatRows(definition, subject, instances, flatColumns(definition, { deidentify }), {
      deidentify,
    });
    expect(row).toMatchObject({ record_id: "k1", visit_date: "2024-04-30" });
    expect(row).not.toHaveProperty("initials");
  });

  it("keeps only the rows a filter keeps, letting it see every form of the row", () => {
    const rows = flatRows(definition, subject, instances, flatColumns(definition), {
      keepRow: (row) => row.items.some((i) => i.form === "labs"),
    });
    expect(rows.map((r) => r.redcap_event_name)).toEqual(["baseline_arm_2"]);
  });
});

describe("uniqueEventName", () => {
  it("numbers arms from 1 and falls back to arm 1", () => {
    expect(uniqueEventName(definition, "baseline", "a")).toBe("baseline_arm_1");
    expect(uniqueEventName(definition, "baseline", "nope")).toBe("baseline_arm_1");
  });
});

describe("REDCap's classic projects and the study's record id field", () => {
  const classic = (logs: string[]) =>
    smallDefinition(
      1,
      { visit, labs, adverse_event: adverseEvent },
      smallStudy({
        arms: [{ id: "a", label: "Arm A" }],
        events: [{ id: "baseline", label: "Baseline", day: 1, forms: ["visit", "labs"] }],
        logs,
        recordIdField: "study_id",
      }),
    );

  it("has no event column with one arm and one scheduled event, and no repeat columns without repeats", () => {
    const plain = classic([]);
    const columns = flatColumns(plain).map((c) => c.name);
    expect(columns.slice(0, 2)).toEqual(["study_id", "visit_date"]);
    expect(columns.filter((c) => c.startsWith("redcap_"))).toEqual([]);
    const rows = flatRows(
      plain,
      { id: "S1-001", arm: "a" },
      [at({ data: { weight: 70 } })],
      flatColumns(plain),
      {
        valuesAsText: true,
      },
    );
    expect(rows).toEqual([
      expect.objectContaining({ study_id: "S1-001", weight: "70", visit_complete: "2" }),
    ]);
    expect(Object.keys(rows[0] ?? {})).not.toContain("redcap_event_name");
  });

  it("keeps the repeat columns of a classic study with logs (REDCap's repeating instruments)", () => {
    const withLogs = classic(["adverse_event"]);
    const columns = flatColumns(withLogs);
    expect(columns.map((c) => c.name).slice(0, 3)).toEqual([
      "study_id",
      "redcap_repeat_instrument",
      "redcap_repeat_instance",
    ]);
    const rows = flatRows(
      withLogs,
      { id: "S1-001", arm: "a" },
      [at({ event: "logs", form: "adverse_event", instance: 2, data: { ae_term: "Rash" } })],
      columns,
      { valuesAsText: true },
    );
    expect(rows[0]).toMatchObject({
      study_id: "S1-001",
      redcap_repeat_instrument: "adverse_event",
      redcap_repeat_instance: "2",
      ae_term: "Rash",
    });
  });
});
