import { spawnSync } from "node:child_process";
import { existsSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parse } from "csv-parse/sync";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevEnvironment, startDevEnvironment } from "../../functions/dev-environment.ts";
import { ID, writeArmsStudy } from "./arms-study.ts";
import { studyClient } from "./harness.ts";

/** The study model a REDCap project needs (./arms-study.ts), served from a study folder beside forms/. */

const BASE = `/api/v1/studies/${ID}`;

const xsd = [
  path.resolve(import.meta.dirname, "../../../shared/standards/odm-1.3.2"),
  "/work/shared/standards/odm-1.3.2",
].find((d) => existsSync(path.join(d, "ODM1-3-2.xsd")));
const canValidate = spawnSync("xmllint", ["--version"]).status === 0 && xsd !== undefined;

let env: DevEnvironment;
let dir: string;
const { call, redcap, token } = studyClient(() => env, ID);

const save = (subject: string, form: string, data: Record<string, unknown>, instance?: number) =>
  call(
    "PUT",
    `${BASE}/subjects/${subject}/events/baseline/forms/${form}${instance ? `/instances/${instance}` : ""}`,
    { data, status: "incomplete", rev: 0 },
  );

const subjects: Record<string, string> = {};

beforeAll(async () => {
  dir = writeArmsStudy();
  env = await startDevEnvironment({ studyDirs: [dir], feedSettleMs: 0 });
  for (const arm of ["alpha", "gamma"]) {
    const enrolled = await call("POST", `${BASE}/subjects`, { site: "site-01", arm });
    expect(enrolled.status).toBe(201);
    subjects[arm] = enrolled.body.id;
  }
}, 60_000);

afterAll(async () => {
  await env?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("a study with no day one, per-arm forms and a form repeating at one event", () => {
  it("answers a casebook with dayOne null", async () => {
    const casebook = await call("GET", `${BASE}/subjects/${subjects.alpha}`);
    expect(casebook.status).toBe(200);
    expect(casebook.body.dayOne).toBeNull();
  });

  it("saves each arm's forms and refuses a form the arm does not collect", async () => {
    const alpha = subjects.alpha as string;
    const gamma = subjects.gamma as string;
    expect((await save(alpha, "visit", { visit_date: "2026-01-05" })).status).toBe(200);
    expect((await save(alpha, "labs", { hb: 13.1 })).status).toBe(200);
    expect((await save(gamma, "visit", { visit_date: "2026-02-01" })).status).toBe(200);
    expect((await save(gamma, "labs", { hb: 12 })).status).toBe(404);
    // A one-off form has no instance 2; a repeating one has as many as are added.
    expect((await save(alpha, "labs", { hb: 13 }, 2)).status).toBe(404);
    for (const n of [1, 2, 3])
      expect((await save(gamma, "notes", { note: `note ${n}` }, n)).status).toBe(200);
  });

  it("gives REDCap's form-event mapping per arm number, and the form repeating at its event", async () => {
    const mapping = JSON.parse((await redcap({ content: "formEventMapping", format: "json" })).text);
    expect(mapping).toEqual(
      expect.arrayContaining([
        { arm_num: 1, unique_event_name: "baseline_arm_1", form: "labs" },
        { arm_num: 3, unique_event_name: "baseline_arm_3", form: "notes" },
      ]),
    );
    expect(mapping).not.toContainEqual({ arm_num: 3, unique_event_name: "baseline_arm_3", form: "labs" });
    const arms = JSON.parse((await redcap({ content: "arm", format: "json" })).text);
    expect(arms.map((a: { arm_num: number }) => a.arm_num)).toEqual([1, 3]);
    const events = JSON.parse((await redcap({ content: "event", format: "json" })).text);
    expect(events.map((e: { unique_event_name: string }) => e.unique_event_name)).toEqual(
      expect.arrayContaining(["baseline_arm_1", "followup_arm_3", "baseline_arm_3"]),
    );
    const repeating = JSON.parse((await redcap({ content: "repeatingFormsEvents", format: "json" })).text);
    expect(repeating).toEqual([
      { event_name: "baseline_arm_1", form_name: "notes", custom_form_label: "" },
      { event_name: "baseline_arm_3", form_name: "notes", custom_form_label: "" },
    ]);
  });

  it("exports each instance of the repeating form on its own row and imports them back unchanged", async () => {
    const exported = await redcap({ content: "record", format: "csv", type: "flat" });
    expect(exported.status).toBe(200);
    const rows = parse(exported.text, { columns: true }) as Record<string, string>[];
    const gamma = rows.filter((r) => r.record_id === subjects.gamma);
    expect(
      gamma.map((r) => [r.redcap_event_name, r.redcap_repeat_instrument, r.redcap_repeat_instance, r.note]),
    ).toEqual([
      ["baseline_arm_3", "", "", ""],
      ["baseline_arm_3", "notes", "1", "note 1"],
      ["baseline_arm_3", "notes", "2", "note 2"],
      ["baseline_arm_3", "notes", "3", "note 3"],
    ]);
    expect(gamma[0]?.visit_date).toBe("2026-02-01");
    expect(rows.find((r) => r.record_id === subjects.alpha)?.hb).toBe("13.1");

    const dry = await redcap({ content: "record", format: "csv", data: exported.text, dryRun: "true" });
    expect(dry.status, dry.text).toBe(200);
    expect(JSON.parse(dry.text).changes).toEqual([]);
    const again = await redcap({ content: "record", format: "csv", data: exported.text });
    expect(again.status, again.text).toBe(200);
    const notes = await call(
      "GET",
      `${BASE}/subjects/${subjects.gamma}/events/baseline/forms/notes/instances/3`,
    );
    expect(notes.body.rev).toBe(1);
  });

  it("refuses a repeating form's value on the event's own row, and a repeat instrument that does not repeat there", async () => {
    const header = "record_id,redcap_event_name,redcap_repeat_instrument,redcap_repeat_instance";
    const onOwnRow = await redcap({
      content: "record",
      format: "csv",
      data: `${header},note\n${subjects.gamma},baseline_arm_3,,,x\n`,
    });
    expect(onOwnRow.status).toBe(400);
    expect(onOwnRow.text).toContain("notes repeats at baseline_arm_3");
    const notRepeating = await redcap({
      content: "record",
      format: "csv",
      data: `${header},hb\n${subjects.alpha},baseline_arm_1,labs,2,12\n`,
    });
    expect(notRepeating.status).toBe(400);
    expect(notRepeating.text).toContain("is not a repeating instrument at baseline_arm_1");
  });

  it.skipIf(!canValidate)(
    "exports ODM that validates, with FormRepeatKey on the repeating form",
    async () => {
      const res = await env.app.request(`${BASE}/odm`, {
        headers: { authorization: `Bearer ${token("sponsor")}` },
      });
      expect(res.status).toBe(200);
      const xml = await res.text();
      const file = path.join(dir, "export.xml");
      writeFileSync(file, xml);
      const lint = spawnSync(
        "xmllint",
        ["--noout", "--nonet", "--schema", path.join(xsd as string, "ODM1-3-2.xsd"), file],
        { encoding: "utf8" },
      );
      expect(lint.status, lint.stderr).toBe(0);
      expect(xml).toMatch(/<FormData FormOID="[^"]*notes"[^>]*FormRepeatKey="3"/);
      expect(xml).toContain('Context="x-arm-forms" Name="gamma: visit notes"');
    },
  );
});
