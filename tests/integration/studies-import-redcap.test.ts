import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { parse } from "csv-parse/sync";
import { afterAll, describe, expect, it } from "vitest";
import { startDevEnvironment } from "../../functions/dev-environment.ts";

/**
 * `npm run studies:import-redcap` end to end: a real REDCap project XML
 * becomes a study folder, the dev environment serves and publishes it as
 * `npm start` does with `studies/<id>/`, and its records go in through
 * REDCap's `/api/` and come out again.
 */

const run = promisify(execFile);
const CLI = "functions/cli/studies-import-redcap.ts";
const PROJECTS = "tests/fixtures/redcap-projects";
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function importRedcap(...args: string[]) {
  const out = mkdtempSync(path.join(tmpdir(), "import-redcap-"));
  dirs.push(out);
  try {
    const { stdout, stderr } = await run("npx", ["tsx", CLI, ...args, "--out", out], { encoding: "utf8" });
    return { out, code: 0, stdout, stderr };
  } catch (e) {
    const failed = e as { code: number; stdout: string; stderr: string };
    return { out, code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

async function redcap(
  app: { request: (url: string, init: RequestInit) => Response | Promise<Response> },
  token: string,
  params: Record<string, string>,
) {
  const res = await app.request("/api/", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token, ...params }).toString(),
  });
  return { status: res.status, text: await res.text() };
}

describe("npm run studies:import-redcap", () => {
  it("writes nothing and exits 1 when something cannot be carried over, naming it", async () => {
    // An SQL field (a query on REDCap's own database) has no counterpart here.
    const result = await importRedcap(path.join(PROJECTS, "validation-types-1/project.xml"));
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("error: field form_1.f_sql [Field Type]");
    expect(readdirSync(result.out)).toEqual([]);
  });

  it("a classic project with a repeating instrument: a log, records without event names, served and published", async () => {
    const result = await importRedcap(
      path.join(PROJECTS, "repeating-instruments-sparse/project.xml"),
      "--records",
    );
    expect(result.code, result.stderr).toBe(0);
    expect(readdirSync(path.join(result.out, "instruments")).sort()).toEqual([
      "bp.json",
      "demographics.json",
    ]);
    const study = JSON.parse(readFileSync(path.join(result.out, "study.json"), "utf8"));
    expect(study.logs).toEqual(["bp"]);
    const header = readFileSync(path.join(result.out, "records.csv"), "utf8").split("\n")[0];
    expect(header?.startsWith("record_id,redcap_repeat_instrument,redcap_repeat_instance,")).toBe(true);
    const env = await startDevEnvironment({ studyDirs: [result.out], feedSettleMs: 0 });
    try {
      const builder = env.studies[study.id]?.tokens.builder?.token ?? "";
      const res = await env.app.request(`/api/v1/studies/${study.id}`, {
        headers: { authorization: `Bearer ${builder}` },
      });
      expect(res.status).toBe(200);
    } finally {
      await env.close();
    }
  }, 60_000);

  it("two arms with their own forms: published, its records imported through /api/ and exported the same", async () => {
    const result = await importRedcap(
      path.join(PROJECTS, "longitudinal/project.xml"),
      "--allow-partial",
      "--records",
      "--id",
      "two-arms",
    );
    expect(result.code, result.stderr).toBe(0);
    const records = readFileSync(path.join(result.out, "records.csv"), "utf8");
    const env = await startDevEnvironment({ studyDirs: [result.out], feedSettleMs: 0 });
    try {
      const token = env.studies["two-arms"]?.tokens.main?.token ?? "";
      const imported = await redcap(env.app, token, {
        content: "record",
        format: "csv",
        type: "flat",
        data: records,
      });
      expect(imported.status, imported.text).toBe(200);
      const exported = await redcap(env.app, token, { content: "record", format: "csv", type: "flat" });
      const given = parse(records, { columns: true }) as Record<string, string>[];
      const back = parse(exported.text, { columns: true }) as Record<string, string>[];
      expect(back.length).toBe(given.length);
      const key = (r: Record<string, string>) => `${r.study_id}|${r.redcap_event_name}`;
      const byKey = new Map(back.map((r) => [key(r), r]));
      // The engine writes numbers its own way (".34" comes back as "0.34").
      const same = (a: string | undefined, b: string) =>
        a === b || (a !== undefined && a.trim() !== "" && Number(a) === Number(b));
      let compared = 0;
      for (const row of given) {
        for (const [column, value] of Object.entries(row)) {
          // A file field's bytes come through content=file, not the record import (as in REDCap).
          if (value === "" || column === "patient_document") continue;
          const ours = byKey.get(key(row))?.[column];
          expect(same(ours, value), `${key(row)} ${column}: ${ours} ≠ ${value}`).toBe(true);
          compared++;
        }
      }
      expect(compared).toBeGreaterThan(400);
    } finally {
      await env.close();
    }
  }, 60_000);
});
