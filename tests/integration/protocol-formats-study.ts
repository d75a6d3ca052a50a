import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

/**
 * A study folder whose visit form holds a local date-time (the study's clock is
 * Europe/Berlin) and a number written with a decimal comma, as REDCap projects
 * write them (issue 14 item 2). Shared by the integration and e2e tests.
 */

export const ID = "protocol-formats";

const study = {
  id: ID,
  title: "Protocol formats",
  timeZone: "Europe/Berlin",
  arms: [{ id: "main", label: "Main", number: 1 }],
  sites: [{ id: "site-01", name: "Site 1", code: "01" }],
  subjectIdPattern: "^[0-9]{2}-[0-9]{3}$",
  events: [{ id: "baseline", label: "Baseline", day: 1, forms: ["sample"] }],
  logs: [],
};

const sample = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  $id: "sample",
  title: "Sample",
  type: "object",
  additionalProperties: false,
  properties: {
    taken_at: { type: "string", format: "local-date-time", title: "Sample taken at" },
    received_at: { type: "string", format: "local-date-time", title: "Sample received at" },
    transit_hours: {
      type: "number",
      title: "Hours in transit",
      readOnly: true,
      "x-calc": { "*": [{ datediff: [{ var: "taken_at" }, { var: "received_at" }, "d"] }, 24] },
    },
    volume_ml: { type: "number", title: "Volume", "x-unit": "mL", "x-decimal-comma": true },
  },
};

/** Writes the study into a fresh temporary folder, for `startDevEnvironment({ studyDirs })`. */
export function writeProtocolFormatsStudy(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "protocol-formats-"));
  mkdirSync(path.join(dir, "instruments"));
  writeFileSync(path.join(dir, "study.json"), JSON.stringify(study));
  writeFileSync(path.join(dir, "instruments", "sample.json"), JSON.stringify(sample));
  return dir;
}
