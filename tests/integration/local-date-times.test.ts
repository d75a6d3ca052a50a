import { rmSync } from "node:fs";
import { parse } from "csv-parse/sync";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevEnvironment, startDevEnvironment } from "../../functions/dev-environment.ts";
import { studyClient } from "./harness.ts";
import { ID, writeProtocolFormatsStudy } from "./protocol-formats-study.ts";

/** Issue 14 item 2 through the JSON API and REDCap's /api/: local date-times and decimal commas. */

const BASE = `/api/v1/studies/${ID}`;
let env: DevEnvironment;
let dir: string;
const { call, redcap } = studyClient(() => env, ID);

const formUrl = (subject: string) => `${BASE}/subjects/${subject}/events/baseline/forms/sample`;
const rows = (csv: string) => parse(csv, { columns: true }) as Record<string, string>[];

beforeAll(async () => {
  dir = writeProtocolFormatsStudy();
  env = await startDevEnvironment({ studyDirs: [dir], feedSettleMs: 0 });
}, 60_000);

afterAll(async () => {
  await env?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("local date-times and decimal commas", () => {
  it("the JSON API stores either spelling as YYYY-MM-DDTHH:MM, refuses a zone, takes numbers only", async () => {
    const subject = (await call("POST", `${BASE}/subjects`, { site: "site-01", arm: "main" })).body.id;
    const put = (data: Record<string, unknown>, rev = 0) =>
      call("PUT", formUrl(subject), { data, status: "incomplete", rev });
    const zoned = await put({ taken_at: "2026-03-28T22:00Z" });
    expect(zoned.status).toBe(422);
    expect(zoned.text).toMatch(/without a time zone/);
    expect((await put({ volume_ml: "1,5" })).status).toBe(422);
    const saved = await put({
      taken_at: "2026-03-28 22:00",
      received_at: "2026-03-29T04:30",
      volume_ml: 1.5,
    });
    expect(saved.status, saved.text).toBe(200);
    const stored = (await call("GET", formUrl(subject))).body.data;
    // Over the night the clocks went forward: the engine counts the clock difference, the study's zone says where.
    expect(stored).toEqual({
      taken_at: "2026-03-28T22:00",
      received_at: "2026-03-29T04:30",
      transit_hours: 6.5,
      volume_ml: 1.5,
    });
  });

  it("REDCap's /api/ exports them as REDCap writes them and imports them back, in the dateFormat asked", async () => {
    const exported = await redcap({ content: "record", format: "csv", type: "flat" });
    expect(exported.status, exported.text).toBe(200);
    const [row] = rows(exported.text);
    expect(row).toMatchObject({
      taken_at: "2026-03-28 22:00",
      received_at: "2026-03-29 04:30",
      volume_ml: "1,5",
    });
    const record = row?.record_id ?? "";
    const imported = await redcap({
      content: "record",
      format: "csv",
      dateFormat: "DMY",
      data: `record_id,redcap_event_name,taken_at,volume_ml\n${record},baseline_arm_1,29/03/2026 08:15,"2,75"\n`,
    });
    expect(imported.status, imported.text).toBe(200);
    const subject = (await call("GET", formUrl(record))).body.data;
    expect(subject).toMatchObject({ taken_at: "2026-03-29T08:15", volume_ml: 2.75 });
    const refused = await redcap({
      content: "record",
      format: "csv",
      data: `record_id,redcap_event_name,taken_at\n${record},baseline_arm_1,2026-03-29 25:00\n`,
    });
    expect(refused.status).toBe(400);
    expect(refused.text).toMatch(/taken_at/);
  });

  it("the dictionary gives the REDCap validations back", async () => {
    const dictionary = rows((await redcap({ content: "metadata", format: "csv" })).text);
    const validation = (name: string) =>
      dictionary.find((r) => r.field_name === name)?.text_validation_type_or_show_slider_number;
    expect(validation("taken_at")).toBe("datetime_ymd");
    expect(validation("volume_ml")).toBe("number_comma_decimal");
  });
});
