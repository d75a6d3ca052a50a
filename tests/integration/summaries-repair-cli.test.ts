import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevEnvironment } from "../../functions/dev-environment.ts";
import type { StudyDefinition } from "../../functions/engine/definition.ts";
import { keys } from "../../functions/store/keys.ts";
import { fileMacKey } from "../../functions/store/mac-key.ts";
import { createStore } from "../../functions/store/store.ts";
import { dashboardPage } from "../../functions/web/dashboard-page.ts";
import { Product } from "./harness.ts";

/**
 * The operator's repair after a crash: a save whose process died between its
 * projection and its summary write leaves the dashboard wrong (nothing else
 * notices: the projection is right). `npm run summaries:repair` finds it,
 * says what it fixed, and the dashboard shows the save; run again it finds
 * nothing.
 */

const run = promisify(execFile);
const root = path.join(import.meta.dirname, "../..");
const keyFile = path.join(mkdtempSync(path.join(tmpdir(), "summaries-repair-")), "audit-mac.key");
const today = new Date().toISOString().slice(0, 10);

let product: Product;
let study: string;
let definition: StudyDefinition;

beforeAll(async () => {
  product = new Product(
    await startDevEnvironment({ feedSettleMs: 0, macKey: fileMacKey(keyFile, { create: true }) }),
  );
  study = product.env.studyId;
  definition = (await product.env.store.definitions.current(study)) as StudyDefinition;
}, 120_000);
afterAll(() => product.close());

async function repairCli(...args: string[]) {
  return run(
    process.execPath,
    [
      "--import",
      "tsx",
      path.join(root, "functions/cli/summaries-repair.ts"),
      "--endpoint",
      product.env.endpoint,
      "--table",
      product.env.tableName,
      ...args,
    ],
    { cwd: root, env: { ...process.env, AUDIT_MAC_KEY_FILE: keyFile, AUDIT_MAC_KEY_ID: "" } },
  ).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({
      code: e.code,
      stdout: e.stdout,
      stderr: e.stderr,
    }),
  );
}

async function vitalSigns(subject: string) {
  const page = await dashboardPage(
    product.env.store,
    definition,
    { q: subject },
    ["site-01", "site-02"],
    today,
  );
  return page.rows[0]?.view.events
    .find((e) => e.event.id === "screening")
    ?.forms.find((f) => f.form === "vital_signs")?.status;
}

describe("npm run summaries:repair", () => {
  it("finds and repairs a summary a crash left behind, then finds nothing", async () => {
    const healthy = await product.enrol();
    expect(
      (await product.save(healthy, "screening", "vital_signs", { data: { heart_rate: 70 } })).status,
    ).toBe(200);
    const subject = await product.enrol("site-02", { site: "site-02", arm: "rrms" });
    const stored = await product.env.store.getSubject(study, subject);
    if (!stored) throw new Error("setup");
    const real = product.env.store.db.doc;
    const summaries = keys.summaries(study);
    // The process dies at the summary's write: the revision and the projection beside it took effect.
    const dying = {
      send: ((command: Parameters<typeof real.send>[0]) =>
        command instanceof UpdateCommand && command.input.Key?.PK === summaries
          ? Promise.reject(new Error("process died"))
          : real.send(command as never)) as typeof real.send,
    };
    const store = createStore({
      tableName: product.env.tableName,
      doc: dying,
      macKey: product.env.store.macKey,
    });
    await expect(
      store.saveFormInstance({
        definition,
        subject: stored,
        event: "screening",
        form: "vital_signs",
        instance: 1,
        data: { heart_rate: 71 },
        status: "incomplete",
        rev: 0,
        actor: "dev-site-02",
      }),
    ).rejects.toThrow("process died");
    await expect.poll(async () => (await product.env.store.readProjections(study, subject)).length).toBe(1);
    expect(await vitalSigns(subject)).toBe("not_started");

    const first = await repairCli();
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain(`site-02 ${subject}: 1 form(s) moved up: screening/vital_signs#1`);
    expect(first.stdout).toContain("1 summaries repaired.");
    expect(first.stdout).not.toContain(healthy);
    expect(await vitalSigns(subject)).toBe("incomplete");

    const again = await repairCli("--site", "site-02");
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain("every summary was up to date.");
  });

  it("refuses a site the study does not have (exit 2)", async () => {
    const res = await repairCli("--site", "site-99");
    expect(res.code).toBe(2);
    expect(res.stderr).toContain("not a site of");
  });
});
