import { execFile } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BASE, type Product, startProduct } from "./harness.ts";

const run = promisify(execFile);
const root = path.join(import.meta.dirname, "../..");
const tsx = (script: string, args: string[], env: Record<string, string> = {}) =>
  run(process.execPath, ["--import", "tsx", path.join(root, script), ...args], {
    cwd: root,
    env: { ...process.env, ...env },
  }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => ({
      code: e.code,
      stdout: e.stdout,
      stderr: e.stderr,
    }),
  );

let product: Product;
beforeAll(async () => {
  product = await startProduct();
});
afterAll(() => product.close());

describe("npm run tokens:create", () => {
  it("creates a working site token whose clear text is printed once and never stored", async () => {
    const res = await tsx(
      "functions/cli/create-token.ts",
      ["--study", product.env.studyId, "--role", "coordinator", "--sites", "site-02", "--user", "jane"],
      { TABLE_NAME: product.env.tableName, DYNAMODB_ENDPOINT: product.env.endpoint },
    );
    expect(res.code, res.stderr).toBe(0);
    const token = res.stdout.trim();
    expect(token).toMatch(/^edc_/);
    expect((await product.snapshot()).join("\n")).not.toContain(token);
    const enrol = await product.env.app.request(`${BASE}/subjects`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ site: "site-02", arm: "nmo" }),
    });
    expect(enrol.status).toBe(201);
    expect((await enrol.json()).enrolledBy).toBe("jane");
  });

  it("refuses an unknown role with exit code 2", async () => {
    const res = await tsx(
      "functions/cli/create-token.ts",
      ["--study", "s", "--role", "root", "--user", "u"],
      {
        TABLE_NAME: "t",
      },
    );
    expect(res.code).toBe(2);
    expect(res.stderr).toContain("--role");
  });

  it("does not accept an expired token", async () => {
    const res = await tsx(
      "functions/cli/create-token.ts",
      ["--study", product.env.studyId, "--role", "sponsor", "--user", "old", "--expires", "2020-01-01"],
      { TABLE_NAME: product.env.tableName, DYNAMODB_ENDPOINT: product.env.endpoint },
    );
    expect(res.code, res.stderr).toBe(0);
    const list = await product.env.app.request(`${BASE}/subjects`, {
      headers: { authorization: `Bearer ${res.stdout.trim()}` },
    });
    expect(list.status).toBe(401);
  });
});

describe("npm run forms:check", () => {
  it("exits 0 on the shipped protocol and 1 naming file and pointer on a broken one", async () => {
    const ok = await tsx("functions/cli/forms-check.ts", ["forms"]);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);

    const dir = mkdtempSync(path.join(tmpdir(), "forms-"));
    cpSync(path.join(root, "forms"), dir, { recursive: true });
    const file = path.join(dir, "instruments/edss.json");
    const edss = JSON.parse(readFileSync(file, "utf8"));
    edss.properties.edss_total["x-visble-if"] = true;
    writeFileSync(file, JSON.stringify(edss));
    const bad = await tsx("functions/cli/forms-check.ts", [dir]);
    expect(bad.code).toBe(1);
    expect(bad.stdout + bad.stderr).toMatch(/edss\.json.*\/properties\/edss_total\/x-visble-if/);
  });
});
