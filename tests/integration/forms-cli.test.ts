import { execFile } from "node:child_process";
import { cpSync, mkdtempSync as mkdtemp, readFileSync, rmSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { type ServerType, serve } from "@hono/node-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BASE, type Product, startProduct } from "./harness.ts";

/**
 * forms:publish and forms:check --against / --against-dir as users run them:
 * child processes against the real product served over real HTTP.
 */

const run = promisify(execFile);
const root = path.join(import.meta.dirname, "../..");
const cli = (script: string, args: string[], env: Record<string, string> = {}) =>
  run(process.execPath, ["--import", "tsx", path.join(root, "functions/cli", script), ...args], {
    cwd: root,
    env: { ...process.env, DATA_DIR: path.join(tmpdir(), "no-such-data-dir"), ...env },
  }).then(
    (r) => ({ code: 0, out: r.stdout + r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
  );

const temps: string[] = [];
/** A temp dir removed after the tests. */
const mkdtempSync = (prefix: string) => {
  const dir = mkdtemp(prefix);
  temps.push(dir);
  return dir;
};

let product: Product;
let server: ServerType;
let url: string;
let token: string;

beforeAll(async () => {
  product = await startProduct();
  token = product.token("builder");
  server = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: product.env.app.fetch, port: 0, hostname: "127.0.0.1" }, () => resolve(s));
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // Stored data that removing edss.walking_range_m would orphan.
  const subject = await product.enrol();
  const saved = await product.save(subject, "screening", "edss", {
    data: { edss_total: 3.5, walking_range_m: 300 },
  });
  expect(saved.status, JSON.stringify(saved.body)).toBe(200);
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await product.close();
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

/** A copy of forms/ in a temp dir with edss.json changed by `edit`. */
function formsCopy(edit: (edss: any) => void, plan?: unknown): string {
  const dir = mkdtempSync(path.join(tmpdir(), "forms-"));
  cpSync(path.join(root, "forms"), dir, { recursive: true });
  const file = path.join(dir, "instruments/edss.json");
  const edss = JSON.parse(readFileSync(file, "utf8"));
  edit(edss);
  writeFileSync(file, JSON.stringify(edss, null, 2));
  if (plan !== undefined) writeFileSync(path.join(dir, "publish-plan.json"), JSON.stringify(plan));
  return dir;
}

const currentVersion = async () => (await product.call("GET", BASE, { as: "builder" })).body.version;

const relabelled = (edss: any) => {
  edss.properties.fs_visual.title = "Visual functions";
};
const withoutWalkingRange = (edss: any) => {
  delete edss.properties.walking_range_m;
};
const REMOVED = "field-removed:edss.walking_range_m";

describe("npm run forms:publish", () => {
  it("publishes through the API: unchanged, then a safe change, refuses a destructive one, publishes it once accepted", async () => {
    // Unchanged forms/, with the builder token taken from $DATA_DIR/dev-tokens.json.
    const dataDir = mkdtempSync(path.join(tmpdir(), "data-"));
    writeFileSync(path.join(dataDir, "dev-tokens.json"), JSON.stringify({ builder: { token } }));
    const unchanged = await cli("forms-publish.ts", ["--url", url], { DATA_DIR: dataDir });
    expect(unchanged.code, unchanged.out).toBe(0);
    expect(unchanged.out).toMatch(/unchanged, version 1 is current/);

    const safe = await cli("forms-publish.ts", [formsCopy(relabelled), "--url", url, "--token", token]);
    expect(safe.code, safe.out).toBe(0);
    expect(safe.out).toContain("SAFE        text-changed:edss.fs_visual");
    expect(safe.out).toContain("published version 2");
    expect(await currentVersion()).toBe(2);

    const destructiveDir = formsCopy(withoutWalkingRange);
    const before = await product.snapshot();
    // forms:check --against <url> asks the impact endpoint for the same report; neither writes anything.
    const [refused, checked] = await Promise.all([
      cli("forms-publish.ts", [destructiveDir, "--url", url, "--token", token]),
      cli("forms-check.ts", [destructiveDir, "--against", url, "--token", token]),
    ]);
    expect(refused.code, refused.out).toBe(3);
    expect(refused.out).toContain(`DESTRUCTIVE ${REMOVED} [1 affected]`);
    expect(refused.out).toContain("refused, nothing published");
    expect(checked.code, checked.out).toBe(3);
    expect(checked.out).toContain("Impact against published version 2: 1 destructive");
    expect(checked.out).toContain(`${REMOVED} [1 affected]`);
    expect(await product.snapshot()).toEqual(before);

    const plan = { accept: { reason: "Walking range is no longer collected", changes: [REMOVED] } };
    const accepted = await cli("forms-publish.ts", [
      formsCopy(withoutWalkingRange, plan),
      "--url",
      url,
      "--token",
      token,
      "--reason",
      "Drop walking range",
    ]);
    expect(accepted.code, accepted.out).toBe(0);
    expect(accepted.out).toContain("published version 3");
    expect(await currentVersion()).toBe(3);
    const versions = await product.call("GET", `${BASE}/definitions`, { as: "builder" });
    expect(JSON.stringify(versions.body.versions[0])).toContain("Walking range is no longer collected");
  }, 60_000); // five CLI runs in sequence, each a fresh node + tsx

  it("exits 1 naming file and pointer for a broken definition, 2 on a usage error, 1 on a bad token", async () => {
    const broken = formsCopy((edss) => {
      edss.properties.edss_total["x-visble-if"] = true;
    });
    const [bad, usage, unauthorised] = await Promise.all([
      cli("forms-publish.ts", [broken, "--url", url, "--token", token]),
      cli("forms-publish.ts", ["--url", url]),
      cli("forms-publish.ts", ["--url", url, "--token", "edc_wrong"]),
    ]);
    expect(bad.code, bad.out).toBe(1);
    expect(bad.out).toMatch(/edss\.json: \/properties\/edss_total\/x-visble-if/);
    expect(usage.code, usage.out).toBe(2);
    expect(usage.out).toContain("--token");
    expect(unauthorised.code, unauthorised.out).toBe(1);
    expect(unauthorised.out).toContain("401");
  });
});

describe("npm run forms:check --against-dir", () => {
  it("exits 3 naming a removed field, 0 once the local publish plan accepts it", async () => {
    const [removed, accepted] = await Promise.all([
      cli("forms-check.ts", [formsCopy(withoutWalkingRange), "--against-dir", "forms"]),
      cli("forms-check.ts", [
        formsCopy(withoutWalkingRange, { accept: { reason: "not collected", changes: [REMOVED] } }),
        "--against-dir",
        "forms",
      ]),
    ]);
    expect(removed.code, removed.out).toBe(3);
    expect(removed.out).toContain(`DESTRUCTIVE ${REMOVED}`);
    expect(accepted.code, accepted.out).toBe(0);
    expect(accepted.out).toContain("all migrated or accepted");
  });
});
