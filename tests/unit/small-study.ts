import type { Instrument, StudyDefinition, StudyFile } from "../../functions/engine/definition.ts";

/** A two-visit study with one log, small enough to change by hand in a test. */
export function smallStudy(changes: Partial<StudyFile> = {}): StudyFile {
  return {
    id: "small",
    title: "Small study",
    arms: [
      { id: "a", label: "Arm A" },
      { id: "b", label: "Arm B" },
    ],
    sites: [{ id: "s1", name: "Site 1", code: "S1" }],
    subjectIdPattern: "^S1-\\d{3}$",
    dayOne: { event: "baseline", form: "visit", field: "visit_date" },
    events: [
      { id: "baseline", label: "Baseline", day: 1, forms: ["visit", "labs"] },
      { id: "unscheduled", label: "Unscheduled", repeatable: true, forms: ["visit"] },
    ],
    logs: ["adverse_event"],
    ...changes,
  };
}

export function instrument(
  id: string,
  properties: Instrument["properties"],
  more: Partial<Instrument> = {},
): Instrument {
  return { $id: id, title: id, type: "object", properties, additionalProperties: false, ...more };
}

export const visit = instrument("visit", {
  visit_date: { type: "string", title: "Visit date", format: "date", "x-visit-date": true },
  initials: { type: "string", title: "Initials", "x-identifier": true },
  weight: { type: "number", title: "Weight", minimum: 20, maximum: 300 },
  smoker: {
    type: "string",
    title: "Smoker",
    oneOf: [
      { const: "never", title: "Never" },
      { const: "former", title: "Former" },
      { const: "current", title: "Current" },
    ],
  },
  symptoms: {
    type: "array",
    title: "Symptoms",
    uniqueItems: true,
    items: {
      type: "string",
      oneOf: [
        { const: "pain", title: "Pain" },
        { const: "fatigue", title: "Fatigue" },
      ],
    },
  },
  consented: { type: "boolean", title: "Consented" },
});

export const labs = instrument("labs", {
  sampled_at: { type: "string", title: "Sampled at", format: "date-time" },
  hb: { type: "number", title: "Haemoglobin" },
});

export const adverseEvent = instrument(
  "adverse_event",
  { ae_term: { type: "string", title: "Term" }, onset: { type: "string", title: "Onset", format: "date" } },
  { "x-repeating": true },
);

export function smallDefinition(
  version = 1,
  instruments: Record<string, Instrument> = { visit, labs, adverse_event: adverseEvent },
  study: StudyFile = smallStudy(),
): StudyDefinition {
  return { version, study, instruments };
}
