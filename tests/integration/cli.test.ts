import { execFile } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fileMacKey } from "../../functions/store/mac-key.ts";
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
  // The CLI logs the key's creation, MACed with a key file of its own here (the product's key is in memory).
  const macKeyFile = path.join(mkdtempSync(path.join(tmpdir(), "edc-cli-mac-")), "audit-mac.key");
  const local = () => ({
    TABLE_NAME: product.env.tableName,
    DYNAMODB_ENDPOINT: product.env.endpoint,
    AUDIT_MAC_KEY_FILE: macKeyFile,
  });
  const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
  let jane = "";
  beforeAll(async () => {
    const person = await product.env.store.upsertPerson(
      { issuer: "https://idp.example.org", sub: "jane", name: "Jane", email: "jane@example.org" },
      { signedIn: false },
    );
    await product.env.store.setGrant(
      { study: product.env.studyId, person: person.id, roles: [{ role: "coordinator", sites: ["site-02"] }] },
      "test",
    );
    jane = person.id;
    await fileMacKey(macKeyFile, { create: true }).mac("made");
  });

  it("creates a key owned by a person with grants, printed once, never stored, within the owner's grant", async () => {
    const res = await tsx(
      "functions/cli/create-token.ts",
      ["--study", product.env.studyId, "--owner", "JANE@example.org", "--expires", inDays(30)],
      local(),
    );
    expect(res.code, res.stderr).toBe(0);
    const token = res.stdout.trim();
    expect(token).toMatch(/^edc_/);
    expect((await product.snapshot()).join("\n")).not.toContain(token);
    const enrol = (site: string) =>
      product.env.app.request(`${BASE}/subjects`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ site, arm: "nmo" }),
      });
    const enrolled = await enrol("site-02");
    expect(enrolled.status).toBe(201);
    expect((await enrolled.json()).enrolledBy).toBe("jane@example.org");
    expect((await enrol("site-01")).status).toBe(403);
    const listed = (await product.env.store.listTokens(product.env.studyId)).find((t) => t.owner === jane);
    expect(listed).toMatchObject({ kind: "personal", scope: [{ role: "coordinator", sites: ["site-02"] }] });
    const logged = (
      await product.env.store.readAccessLog(product.env.studyId, { limit: 10_000 })
    ).entries.filter((e) => e.action === "key-create" && e.details.key === listed?.id);
    expect(logged).toHaveLength(1);
  });

  it("makes a REDCap-format key for a person id on request", async () => {
    const res = await tsx(
      "functions/cli/create-token.ts",
      ["--study", product.env.studyId, "--owner", jane, "--expires", inDays(30), "--format", "redcap"],
      local(),
    );
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout.trim()).toMatch(/^[0-9A-F]{32}$/);
  });

  it("refuses, with exit code 2, a key without owner or expiry, beyond a year, or beyond the owner's grant", async () => {
    const study = ["--study", product.env.studyId];
    for (const [args, said] of [
      [["--expires", inDays(30)], "--owner"],
      [["--owner", jane], "--expires"],
      [["--owner", jane, "--expires", "2020-01-01"], "--expires"],
      [["--owner", jane, "--expires", inDays(400)], "--expires"],
      [["--owner", jane, "--expires", inDays(30), "--role", "root"], "--role"],
      [["--owner", jane, "--expires", inDays(30), "--role", "monitor"], "does not hold"],
      [["--owner", "nobody@example.org", "--expires", inDays(30)], "no person"],
    ] as const) {
      const res = await tsx("functions/cli/create-token.ts", [...study, ...args], local());
      expect(res.code, args.join(" ")).toBe(2);
      expect(res.stderr).toContain(said);
    }
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

describe("npm run studies:create", () => {
  const macKeyFile = path.join(mkdtempSync(path.join(tmpdir(), "edc-cli-mac-")), "audit-mac.key");
  const local = () => ({
    TABLE_NAME: product.env.tableName,
    DYNAMODB_ENDPOINT: product.env.endpoint,
    AUDIT_MAC_KEY_FILE: macKeyFile,
  });

  it("creates a study once, its owner admin and builder there", async () => {
    const person = await product.env.store.upsertPerson(
      { issuer: "https://idp.example.org", sub: "olga", name: "Olga", email: "olga@example.org" },
      { signedIn: false },
    );
    await fileMacKey(macKeyFile, { create: true }).mac("made");
    const args = ["cli-study", "--owner", "olga@example.org", "--title", "CLI study"];
    const res = await tsx("functions/cli/studies-create.ts", args, local());
    expect(res.code, res.stderr).toBe(0);
    expect(await product.env.store.findStudyRecord("cli-study")).toMatchObject({ title: "CLI study" });
    const grant = await product.env.store.findGrant("cli-study", person.id);
    expect(grant?.roles.map((r) => r.role)).toEqual(["admin", "builder"]);
    const again = await tsx("functions/cli/studies-create.ts", args, local());
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("exists already");
    const bad = await tsx(
      "functions/cli/studies-create.ts",
      ["Bad Id", "--owner", "olga@example.org"],
      local(),
    );
    expect(bad.code).toBe(2);
  });
});
