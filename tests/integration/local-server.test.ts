import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const root = path.join(import.meta.dirname, "../..");
const dataDir = mkdtempSync(path.join(tmpdir(), "edc-local-"));
let child: ChildProcess | undefined;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** `npm start` as a user runs it (tsx functions/local.ts), until it prints its URL. */
async function start(port: number): Promise<string> {
  child = spawn(process.execPath, ["--import", "tsx", "functions/local.ts"], {
    cwd: root,
    env: { ...process.env, PORT: String(port), DATA_DIR: dataDir },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL printed:\n${out}`)), 30_000);
    child?.stdout?.on("data", (chunk) => {
      out += chunk;
      if (out.includes("OpenAPI:")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child?.on("exit", (code) => reject(new Error(`exited ${code}:\n${out}`)));
  });
  return out;
}

async function stop(): Promise<void> {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child?.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

afterAll(stop);

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
  }, 90_000);
});
