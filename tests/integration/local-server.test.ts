import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import {
  closeSync,
  cpSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import type { AbstractLevel } from "abstract-level";
import { parse } from "csv-parse/sync";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevEnvironment } from "../../functions/dev-environment.ts";
import { freePort, HttpBrowser } from "./http-browser.ts";

const root = path.join(import.meta.dirname, "../..");
const dataDir = mkdtempSync(path.join(tmpdir(), "edc-local-"));
let child: ChildProcess | undefined;
/** The server `start` left running: its port, data folder and what it printed. */
let running: { port: number; dir: string; printed: string } | undefined;

/** `npm start` as a user runs it (tsx functions/local.ts), until it prints its URL. */
/** The local OpenID provider's port per app port: fixed across a restart (the issuer names people), and free. */
const oidcPorts = new Map<number, number>();

async function start(port: number, dir = dataDir, extraEnv: Record<string, string> = {}): Promise<string> {
  const oidcPort = oidcPorts.get(port) ?? (await freePort());
  oidcPorts.set(port, oidcPort);
  child = spawn(process.execPath, ["--import", "tsx", "functions/local.ts"], {
    cwd: root,
    // PORT + 1 (the default) may be taken by another test's server: ask for a free one.
    env: { ...process.env, PORT: String(port), OIDC_PORT: String(oidcPort), DATA_DIR: dir, ...extraEnv },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  await new Promise<void>((resolve, reject) => {
    // Not a speed limit: a guard against a server that never comes up (it publishes every study first).
    const timer = setTimeout(() => reject(new Error(`no URL printed:\n${out}`)), 60_000);
    child?.stdout?.on("data", (chunk) => {
      out += chunk;
      if (out.includes("OpenAPI:")) {
        clearTimeout(timer);
        running = { port, dir, printed: out };
        resolve();
      }
    });
    child?.stderr?.on("data", (chunk) => {
      out += chunk;
    });
    // "close", not "exit": everything the process wrote has been read by then.
    child?.on("close", (code) => reject(new Error(`exited ${code}:\n${out}`)));
  });
  return out;
}

async function stop(): Promise<void> {
  running = undefined;
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child?.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

afterAll(async () => {
  await stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("npm start", () => {
  it("serves the reference study with printed dev tokens, and keeps data and tokens across a restart", async () => {
    const port = await freePort();
    const printed = await start(port);
    const url = `http://localhost:${port}`;
    expect(printed).toContain(url);
    const tokensFile = path.join(dataDir, "dev-tokens.json");
    expect(existsSync(tokensFile)).toBe(true);
    const tokens = JSON.parse(readFileSync(tokensFile, "utf8"));
    expect(Object.keys(tokens).sort()).toEqual(["builder", "monitor", "site-01", "site-02", "sponsor"]);
    for (const t of Object.values(tokens) as { token: string }[]) expect(printed).toContain(t.token);

    const site = { authorization: `Bearer ${tokens["site-01"].token}`, "content-type": "application/json" };
    const api = `${url}/api/v1/studies/hucmsc-ms-nmo`;
    const enrolled = await fetch(`${api}/subjects`, {
      method: "POST",
      headers: site,
      body: JSON.stringify({ site: "site-01", arm: "rrms" }),
    });
    expect(enrolled.status).toBe(201);
    const { id } = await enrolled.json();
    const saved = await fetch(`${api}/subjects/${id}/events/screening/forms/edss`, {
      method: "PUT",
      headers: site,
      body: JSON.stringify({ data: { edss_total: 3.5 }, status: "incomplete", rev: 0 }),
    });
    expect(saved.status).toBe(200);

    await stop();
    await start(port);
    expect(JSON.parse(readFileSync(tokensFile, "utf8"))).toEqual(tokens);
    const after = await fetch(`${api}/subjects/${id}/events/screening/forms/edss`, { headers: site });
    expect(await after.json()).toMatchObject({ rev: 1, data: { edss_total: 3.5 } });
    const study = await fetch(api, { headers: site });
    expect((await study.json()).version).toBe(1); // an unchanged forms/ is not published again
  }, 150_000);

  it("serves the shipped example study beside the reference one, and takes its records as the README says", async () => {
    // The server the test before restarted on this data folder serves every study of studies/ (started
    // here when this test runs alone).
    const { port, printed } =
      running?.dir === dataDir
        ? running
        : await freePort().then(async (p) => ({ port: p, printed: await start(p) }));
    const url = `http://localhost:${port}`;
    expect(printed).toContain(`${url}/studies/redcapr-longitudinal`);
    const keys = JSON.parse(readFileSync(path.join(dataDir, "dev-tokens.redcapr-longitudinal.json"), "utf8"));
    const siteKey = (Object.entries(keys) as [string, { token: string }][]).find(([k]) => k === "main")?.[1]
      .token;
    expect(siteKey).toBeTruthy();
    const records = path.join(root, "studies/redcapr-longitudinal/records.csv");
    const cli = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        "functions/cli/records-import-redcap.ts",
        records,
        "--token",
        String(siteKey),
        "--url",
        url,
      ],
      { cwd: root, stdio: ["ignore", "pipe", "pipe"] },
    );
    let said = "";
    cli.stdout.on("data", (c) => (said += c));
    cli.stderr.on("data", (c) => (said += c));
    const code = await new Promise((resolve) => cli.on("close", resolve));
    expect(code, said).toBe(0);
    // REDCap's own export of the project holds these records; they come back through /api/.
    const rowsIn = parse(readFileSync(records, "utf8"), { columns: true }) as { study_id: string }[];
    const expected = [...new Set(rowsIn.map((r) => r.study_id))];
    expect(expected).toEqual(["100", "220", "304"]);
    const exported = await fetch(`${url}/api/`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        token: String(siteKey),
        content: "record",
        format: "json",
        fields: "study_id",
      }),
    });
    const rows = (await exported.json()) as { study_id: string }[];
    expect([...new Set(rows.map((r) => r.study_id))].sort()).toEqual(expected.sort());
    // The reference study's keys see none of it.
    const reference = JSON.parse(readFileSync(path.join(dataDir, "dev-tokens.json"), "utf8"));
    const other = await fetch(`${url}/api/v1/studies/redcapr-longitudinal/subjects`, {
      headers: { authorization: `Bearer ${reference["site-01"].token}` },
    });
    expect(other.status).toBe(404);
    // The tests after this one start servers of their own: this one must not outlive the file.
    await stop();
  }, 150_000);
});

/** `npm start` on `dir` until it exits or serves (then stopped): what it printed and its exit code. */
async function runToEnd(dir: string): Promise<{ served: boolean; code: number | null; output: string }> {
  const port = await freePort();
  try {
    const output = await start(port, dir);
    await stop();
    return { served: true, code: 0, output };
  } catch (error) {
    const output = (error as Error).message;
    return { served: false, code: child?.exitCode ?? null, output };
  }
}

/** Every file under `dir` with its size, mtime and content hash: "untouched" means this does not change. */
function fileState(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => {
      const file = path.join(e.parentPath, e.name);
      const { size, mtimeMs } = statSync(file);
      const hash = createHash("sha256").update(readFileSync(file)).digest("hex").slice(0, 16);
      return `${path.relative(dir, file)} ${size} ${mtimeMs} ${hash}`;
    })
    .sort();
}

describe("npm start on a store it cannot read", () => {
  // A store with data in a table file (.ldb): LevelDB moves its log into a table when it reopens.
  const populated = mkdtempSync(path.join(tmpdir(), "edc-populated-"));
  const copies: string[] = [];
  function copyOfPopulated(): string {
    const dir = mkdtempSync(path.join(tmpdir(), "edc-broken-"));
    cpSync(populated, dir, { recursive: true, preserveTimestamps: true });
    copies.push(dir);
    return dir;
  }
  function tableFiles(dir: string): string[] {
    return readdirSync(path.join(dir, "dynamo")).filter((f) => /\.(ldb|sst)$/.test(f));
  }

  beforeAll(async () => {
    // The store npm start keeps in <DATA_DIR>/dynamo, written in this process: what these tests need is a
    // folder LevelDB wrote, not a server's start-up (the tests below start npm start on copies of it).
    await (await startDevEnvironment({ dataDir: populated })).close();
    // LevelDB moves its log into a table file when it reopens: the LevelDB dynalite uses does it, no second start needed.
    const level = createRequire(createRequire(import.meta.url).resolve("dynalite"))("level") as {
      Level: new (
        folder: string,
        options: { createIfMissing: boolean },
      ) => AbstractLevel<string, string, string>;
    };
    const db = new level.Level(path.join(populated, "dynamo"), { createIfMissing: false });
    await db.open();
    await db.close();
    expect(tableFiles(populated).length).toBeGreaterThan(0);
  }, 90_000);
  afterAll(() => {
    for (const dir of [populated, ...copies]) rmSync(dir, { recursive: true, force: true });
  });

  it("refuses to start when dynamo/CURRENT is gone, naming the folder, and touches nothing", async () => {
    const dir = copyOfPopulated();
    rmSync(path.join(dir, "dynamo", "CURRENT"));
    const before = fileState(dir);
    const run = await runToEnd(dir);
    expect(run.served).toBe(false);
    expect(run.code).not.toBe(0);
    expect(run.output).toContain(path.join(dir, "dynamo"));
    expect(run.output).not.toMatch(/^\s+at /m);
    expect(fileState(dir)).toEqual(before);
  }, 60_000);

  it("refuses to start when a table file has a corrupt block, without a stack trace, and touches nothing", async () => {
    const dir = copyOfPopulated();
    const [table] = tableFiles(dir);
    if (!table) throw new Error("no table file");
    const file = path.join(dir, "dynamo", table);
    // 64 bytes every 1 KB through the data blocks (the index and footer at the end stay intact).
    const fd = openSync(file, "r+");
    for (let at = 100; at < statSync(file).size / 2; at += 1024)
      writeSync(fd, Buffer.alloc(64, 0xff), 0, 64, at);
    closeSync(fd);
    const before = fileState(dir);
    const run = await runToEnd(dir);
    expect(run.served).toBe(false);
    expect(run.code).not.toBe(0);
    expect(run.output).toContain(path.join(dir, "dynamo"));
    expect(run.output).not.toMatch(/^\s+at /m);
    expect(run.output).not.toMatch(/node_modules/);
    expect(fileState(dir)).toEqual(before);
  }, 60_000);

  it("stops with a clear message, not a stack trace, when LevelDB fails under the running server", async () => {
    const dir = copyOfPopulated();
    await start(await freePort(), dir);
    const first = child; // holds the folder's LevelDB lock, so the second server's store cannot open
    try {
      const run = await runToEnd(dir);
      expect(run.served).toBe(false);
      expect(run.code).not.toBe(0);
      expect(run.output).toContain(`The local store in ${path.join(dir, "dynamo")} failed`);
      expect(run.output).not.toMatch(/^\s+at /m);
      expect(run.output).not.toMatch(/node_modules/);
    } finally {
      child = first;
      await stop();
    }
  }, 60_000);
});

describe("npm start with a second study (STUDY_DIRS)", () => {
  const home = mkdtempSync(path.join(tmpdir(), "edc-two-studies-"));
  const second = path.join(home, "second");
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  /** Signs in at the provider's login form from the app's sign-in for `next`; answers where the person lands. */
  async function signIn(url: string, username: string, next: string) {
    const people = JSON.parse(readFileSync(path.join(home, "data", "dev-people.json"), "utf8"));
    const person = people.find((p: { username: string }) => p.username === username);
    const browser = new HttpBrowser();
    const form = await browser.follow(`${url}/auth/login?next=${encodeURIComponent(next)}`);
    const action = /<form method="post" action="([^"]+)"/.exec(await form.res.text())?.[1] ?? "";
    return browser.follow(new URL(action, form.at), {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ username, password: person.password }).toString(),
    });
  }

  it("prints each study's address, and grants the dev people at both: a person signs in at either", async () => {
    cpSync(path.join(root, "forms"), second, { recursive: true });
    const study = JSON.parse(readFileSync(path.join(second, "study.json"), "utf8"));
    writeFileSync(path.join(second, "study.json"), JSON.stringify({ ...study, id: "second-study" }));
    const port = await freePort();
    const url = `http://localhost:${port}`;
    try {
      const printed = await start(port, path.join(home, "data"), { STUDY_DIRS: second });
      expect(printed).toContain(`${url}/studies/hucmsc-ms-nmo\n`);
      expect(printed).toContain(`${url}/studies/second-study\n`);
      for (const [username, study] of [
        ["monitor", "second-study"],
        ["monitor", "hucmsc-ms-nmo"],
        ["coordinator-site-01", "second-study"],
      ]) {
        const landed = await signIn(url, username as string, `/studies/${study}`);
        expect(landed.at.toString(), `${username} at ${study}`).toBe(`${url}/studies/${study}`);
        expect(landed.res.status).toBe(200);
      }
    } finally {
      await stop();
    }
  }, 90_000);
});
