import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

/**
 * A study folder shaped like a REDCap project: no day one, arms numbered 1
 * and 3, an event whose forms differ per arm (armForms), and a form repeating
 * at a one-off event (repeatingForms). Shared by the integration and e2e tests.
 */

export const ID = "arms-study";

export const study = {
  id: ID,
  title: "Arms and repeating forms",
  arms: [
    { id: "alpha", label: "Alpha", number: 1 },
    { id: "gamma", label: "Gamma", number: 3 },
  ],
  sites: [{ id: "site-01", name: "Site 1", code: "01" }],
  subjectIdPattern: "^[0-9]{2}-[0-9]{3}$",
  events: [
    {
      id: "baseline",
      label: "Baseline",
      day: 1,
      forms: ["visit", "labs", "notes"],
      armForms: { gamma: ["visit", "notes"] },
      repeatingForms: ["notes"],
    },
    { id: "followup", label: "Follow-up", day: 30, forms: ["visit"] },
  ],
  logs: [],
};

const instrument = (id: string, properties: Record<string, unknown>) => ({
  $schema: "https://json-schema.org/draft/2020-12/schema",
  $id: id,
  title: id[0]?.toUpperCase() + id.slice(1),
  type: "object",
  additionalProperties: false,
  properties,
});

const instruments = {
  visit: instrument("visit", {
    visit_date: { type: "string", format: "date", title: "Visit date", "x-visit-date": true },
  }),
  labs: instrument("labs", { hb: { type: "number", title: "Haemoglobin" } }),
  notes: instrument("notes", { note: { type: "string", title: "Note" } }),
};

/** Writes the study into a fresh temporary folder, for `startDevEnvironment({ studyDirs })`. */
export function writeArmsStudy(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "arms-study-"));
  mkdirSync(path.join(dir, "instruments"));
  writeFileSync(path.join(dir, "study.json"), JSON.stringify(study));
  for (const [id, schema] of Object.entries(instruments))
    writeFileSync(path.join(dir, "instruments", `${id}.json`), JSON.stringify(schema));
  return dir;
}
