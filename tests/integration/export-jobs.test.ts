import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { HeadObjectCommand } from "@aws-sdk/client-s3";
import { Hono } from "hono";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { loadDefinition } from "../../functions/definition-files.ts";
import {
  folderExportTarget,
  LOCAL_EXPORT_DOWNLOADS,
  serveLocalExports,
} from "../../functions/dev/folder-export-target.ts";
import { storeDevKey } from "../../functions/dev-environment.ts";
import { writeExportFile } from "../../functions/exports/export-files.ts";
import { openResumableFile } from "../../functions/exports/resumable-file.ts";
import { runExportJob } from "../../functions/http/export-job-runner.ts";
import type { StoredParts } from "../../functions/store/export-target.ts";
import { memoryMacKey } from "../../functions/store/mac-key.ts";
import { ALL_SITES } from "../../functions/store/principal.ts";
import { s3ExportTarget } from "../../functions/store/s3-export-target.ts";
import { newToken } from "../../functions/store/tokens.ts";
import { seedFast } from "../bench/seed-fast.ts";
import { buildCasebookPlan } from "../bench/seed-study.ts";
import { startLocalS3 } from "../helpers/local-s3.ts";
import { BASE, Product, STUDY } from "./harness.ts";

/**
 * Bulk export jobs over a seeded study (straight BatchWrites of whole
 * casebooks), the runner driven by hand (the app's `start` does nothing) so
 * progress can be read mid-way and a runner can "die" holding its lease.
 * A job's file must equal the same export over HTTP byte for byte.
 */

vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });
const SUBJECTS = 16;
const macKey = memoryMacKey();
let product: Product;

beforeAll(async () => {
  const { startDevEnvironment } = await import("../../functions/dev-environment.ts");
  product = new Product(await startDevEnvironment({ macKey, exportJobs: { start: () => {} } }));
  const plan = buildCasebookPlan(await loadDefinition("forms"), {
    definitionVersion: 1,
    maxSubjects: SUBJECTS,
  });
  await seedFast(product.env.store.db.doc, product.env.tableName, plan, macKey, { from: 0, to: SUBJECTS });
});
afterAll(() => product.close());

const run = (id: string, options: Parameters<typeof runExportJob>[4] = {}) =>
  runExportJob(product.env.store, product.env.exportTarget, STUDY, id, options);

async function start(body: Record<string, unknown>, as = "monitor") {
  const res = await product.call("POST", `${BASE}/exports`, { as, body });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return res.body.id as string;
}

const getJob = (id: string, as = "monitor") => product.call("GET", `${BASE}/exports/${id}`, { as });

/** The job's one file, through its download URL (answered by the local server). */
async function download(id: string, as = "monitor") {
  const job = (await getJob(id, as)).body;
  expect(job.state).toBe("done");
  const res = await product.env.app.request(job.files[0].url);
  expect(res.status).toBe(200);
  return { job, bytes: Buffer.from(await res.arrayBuffer()) };
}

const http = async (query: string, as = "monitor") => {
  const res = await product.env.app.request(`${BASE}/${query}`, {
    headers: { authorization: `Bearer ${product.token(as)}` },
  });
  expect(res.status).toBe(200);
  return Buffer.from(await res.arrayBuffer());
};

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

describe("bulk export jobs", () => {
  let csvJob = "";

  it("shows progress mid-way; a runner that dies holding the lease is restarted once it expires", async () => {
    csvJob = await start({ format: "csv" });
    expect((await getJob(csvJob)).body).toMatchObject({
      state: "queued",
      percent: 0,
      startedBy: "dev-monitor",
    });
    await run(csvJob, { progressEvery: 5, dieAfterSubjects: 7 });
    const midway = (await getJob(csvJob)).body;
    expect(midway).toMatchObject({ state: "running", subjects: { total: SUBJECTS, done: 5 }, percent: 31 });
    expect(midway.bytes).toBeGreaterThan(0);
    expect(midway.files).toEqual([]);
    // Another runner while the lease holds: it leaves the job alone.
    await run(csvJob, { progressEvery: 5 });
    expect((await getJob(csvJob)).body.subjects.done).toBe(5);
    // After the lease: the job starts again from its first subject and finishes.
    const later = Date.now() + 10 * 60_000;
    const done = await run(csvJob, { progressEvery: 5, now: () => later });
    expect(done).toMatchObject({ state: "done", attempt: 2, subjectsDone: SUBJECTS });
  });

  it("writes the same bytes as the HTTP export, and the access log keeps its SHA-256", async () => {
    const { job, bytes } = await download(csvJob);
    expect(bytes.equals(await http(`records?format=csv&limit=1000`))).toBe(true);
    expect(job.files[0]).toMatchObject({ name: "records.csv", bytes: bytes.length, sha256: sha256(bytes) });
    expect(job.rows).toBe(job.files[0].rows);
    expect(job.files[0].url).toMatch(
      new RegExp(`^${LOCAL_EXPORT_DOWNLOADS}/${STUDY}/${csvJob}/records.csv\\?`),
    );
    const { entries } = await product.env.store.readAccessLog(STUDY, {});
    const ofJob = entries.filter((e) => e.details.job === csvJob);
    expect(ofJob.map((e) => e.action)).toEqual(["export-job-start", "export-job-done"]);
    expect(ofJob[1]?.details.files).toEqual([
      { name: "records.csv", bytes: bytes.length, rows: job.rows, sha256: sha256(bytes) },
    ]);
  });

  it("writes ODM and gzipped NDJSON as the HTTP exports do", async () => {
    const odm = await start({ format: "odm" });
    await run(odm);
    // The same document but for when it was made.
    const made = (b: Buffer) =>
      b.toString().replace(/(FileOID|CreationDateTime|AsOfDateTime)="[^"]*"/g, '$1=""');
    const odmFile = (await download(odm)).bytes;
    expect(made(odmFile)).toBe(made(await http("odm")));
    expect(made(odmFile)).toContain("<SubjectData");
    const nd = await start({ format: "ndjson", gzip: true, forms: ["demographics"] });
    await run(nd);
    const { job, bytes } = await download(nd);
    expect(job.files[0].name).toBe("records.ndjson.gz");
    expect(gunzipSync(bytes).equals(await http("records?format=ndjson&limit=1000&forms=demographics"))).toBe(
      true,
    );
  });

  it("holds only a site user's subjects; another site's user sees 404 and the job is not listed", async () => {
    const mine = await start({ format: "ndjson" }, "site-01");
    await run(mine);
    const { bytes } = await download(mine, "site-01");
    expect(bytes.equals(await http("records?format=ndjson&limit=1000", "site-01"))).toBe(true);
    const sites = new Set(
      bytes
        .toString()
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l).redcap_data_access_group),
    );
    expect(sites.size).toBe(1);
    expect((await getJob(csvJob, "site-01")).status).toBe(404);
    expect((await getJob(mine, "site-02")).status).toBe(404);
    expect((await getJob(mine, "monitor")).status).toBe(200);
    const listed = await product.call("GET", `${BASE}/exports`, { as: "site-02" });
    expect(listed.body.jobs.map((j: { id: string }) => j.id)).not.toContain(mine);
    const all = await product.call("GET", `${BASE}/exports?limit=2`, { as: "monitor" });
    expect(all.body.jobs).toHaveLength(2);
    expect(all.body.jobs[0].id).toBe(mine);
    const next = await product.call("GET", `${BASE}/exports?limit=2&before=${all.body.next}`, {
      as: "monitor",
    });
    expect(next.body.jobs[0].id < all.body.jobs[1].id).toBe(true);
  });

  it("gives a de-identified principal a de-identified file", async () => {
    const token = newToken();
    await storeDevKey(product.env.store, token, {
      user: "deid-monitor",
      role: "monitor",
      study: STUDY,
      sites: [ALL_SITES],
      deidentified: true,
    });
    product.env.tokens.deid = { ...product.env.tokens.monitor, token } as never;
    const id = await start({ format: "json" }, "deid");
    await run(id);
    const { job, bytes } = await download(id, "deid");
    expect(job.filters).toMatchObject({ deidentify: true, hashIds: true });
    expect(bytes.equals(await http("records?format=json&limit=1000", "deid"))).toBe(true);
    expect(bytes.equals(await http("records?format=json&limit=1000"))).toBe(false);
    // An identified job is not the de-identified principal's to see.
    expect((await getJob(csvJob, "deid")).status).toBe(404);
  });

  it("refuses bad bodies with pointers", async () => {
    const bad = async (body: unknown, pointer: string) => {
      const res = await product.call("POST", `${BASE}/exports`, { as: "monitor", body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.contentType).toContain("application/problem+json");
      expect(res.body.errors.map((e: { pointer: string }) => e.pointer)).toContain(pointer);
    };
    await bad({ format: "xlsx" }, "/format");
    await bad({ format: "csv", forms: ["nope"] }, "/forms");
    await bad({ format: "csv", audit: true }, "/audit");
    await bad({ format: "odm", forms: ["demographics"] }, "/forms");
    await bad({ format: "csv", deidentify: "yes" }, "/deidentify");
    await bad({ format: "csv", hashIds: true }, "/hashIds");
    expect((await product.call("GET", `${BASE}/exports?before=x`, { as: "monitor" })).status).toBe(400);
    expect((await getJob("20260101T000000000Z-00000000")).status).toBe(404);
  });
});

describe("bulk export jobs carried on after a run dies", () => {
  const PART = 4096;
  const texts = new Map<string, Promise<Buffer>>();
  /** The HTTP export (read once per query: the jobs here compare with it again and again). */
  const httpOnce = (query: string) => {
    if (!texts.has(query)) texts.set(query, http(query));
    return texts.get(query) as Promise<Buffer>;
  };
  /** Each run of a job after the first reads the clock past the previous run's lease. */
  const runs = (id: string, options: Parameters<typeof runExportJob>[4][]) =>
    options.reduce(
      (prev, o, i) => prev.then(() => run(id, { now: () => Date.now() + i * 10 * 60_000, ...o })),
      Promise.resolve() as Promise<unknown>,
    );
  /** An uninterrupted job's file, and the subjects done at each checkpoint it committed. */
  async function whole(body: Record<string, unknown>, partBytes = PART) {
    const id = await start(body);
    const steps = vi.spyOn(product.env.store.exportJobs, "step");
    await run(id, { partBytes });
    const at = steps.mock.calls.flatMap(([, , s]) => (s.checkpoint ? [s.checkpoint.subjectsDone] : []));
    steps.mockRestore();
    return { ...(await download(id)), at };
  }
  /** A job whose runs die after these many subjects each, then one that finishes. */
  async function carriedOn(body: Record<string, unknown>, dieAfter: number[], partBytes = PART) {
    const id = await start(body);
    await runs(id, [...dieAfter.map((n) => ({ partBytes, dieAfterSubjects: n })), { partBytes }]);
    return download(id);
  }

  it("writes the same CSV and JSON bytes whether a run dies at a part's end, mid-part or before any part", async () => {
    const csv = await whole({ format: "csv" });
    expect(csv.at.length).toBeGreaterThanOrEqual(2);
    const [first = 0, second = 0] = csv.at;
    expect(second).toBeGreaterThan(first);
    expect(csv.bytes.equals(await httpOnce("records?format=csv&limit=1000"))).toBe(true);
    for (const k of [first, first + 1, 1]) {
      const { job, bytes } = await carriedOn({ format: "csv" }, [k]);
      expect(sha256(bytes), `died after ${k}`).toBe(sha256(csv.bytes));
      // Written by two runs: hashed by reading the stored file back.
      expect(job.files[0]).toMatchObject({ sha256: sha256(bytes), bytes: bytes.length, rows: csv.job.rows });
      expect(job).toMatchObject({ rows: csv.job.rows, bytes: bytes.length });
    }
    // JSON's "[" and commas: its parts fill faster than CSV's, so a run dying there has a checkpoint behind it.
    const json = await start({ format: "json" });
    await run(json, { partBytes: PART, dieAfterSubjects: first + 1 });
    expect((await getJob(json)).body.subjects.done).toBeGreaterThan(0);
    await run(json, { partBytes: PART, now: () => Date.now() + 10 * 60_000 });
    const jsonText = await httpOnce("records?format=json&limit=1000");
    expect((await download(json)).bytes.equals(jsonText)).toBe(true);
  });

  it("writes a gzip file of one member per part that decompresses to the same text", async () => {
    const text = await httpOnce("records?format=ndjson&limit=1000");
    const nd = await whole({ format: "ndjson", gzip: true }, 1024);
    expect(nd.at.length).toBeGreaterThanOrEqual(2);
    expect(gunzipSync(nd.bytes).equals(text)).toBe(true);
    // The dead run's member after the checkpoint is dropped; the next run starts one of its own.
    const { job, bytes } = await carriedOn({ format: "ndjson", gzip: true }, [(nd.at[0] ?? 0) + 1], 1024);
    expect(gunzipSync(bytes).equals(text)).toBe(true);
    expect(job.files[0].sha256).toBe(sha256(bytes));
  });

  it("lets a job that progresses take as many runs as it needs, but fails one stuck three times", async () => {
    // A part per subject: each of three runs dies after checkpoints of its own, the fourth finishes.
    const { job, bytes } = await carriedOn({ format: "ndjson" }, [4, 8, 12], 1);
    expect(job).toMatchObject({ state: "done", subjects: { done: SUBJECTS } });
    expect(bytes.equals(await httpOnce("records?format=ndjson&limit=1000"))).toBe(true);
    const stuck = await start({ format: "ndjson" });
    const dies = { dieAfterSubjects: 0 };
    await runs(stuck, [dies, dies, dies, {}]);
    expect((await getJob(stuck)).body).toMatchObject({
      state: "failed",
      error: expect.stringContaining("3 times"),
    });
  });

  it("stops a run at its next checkpoint once stopBy has passed, releasing the lease for the next run", async () => {
    const id = await start({ format: "csv" });
    const stopped = await run(id, { partBytes: PART, stopBy: 0 });
    expect(stopped).toMatchObject({ state: "running", attempt: 1 });
    expect(stopped?.leaseOwner).toBeUndefined();
    expect(stopped?.subjectsDone).toBeGreaterThan(0);
    expect(stopped?.subjectsDone).toBeLessThan(SUBJECTS);
    // No waiting out a lease: the next run carries on at once.
    const done = await run(id, { partBytes: PART });
    expect(done).toMatchObject({ state: "done", attempt: 2 });
    // Dropped before the file was made whole: its parts are gone once it is.
    expect(done?.checkpoint).toBeUndefined();
    expect((await download(id)).bytes.equals(await httpOnce("records?format=csv&limit=1000"))).toBe(true);
  });
});

describe("export targets", () => {
  it("answers a local download URL until it expires, and never a tampered one", async () => {
    const root = await mkdtemp(path.join(tmpdir(), "edc-export-target-"));
    let clock = Date.parse("2026-01-01T00:00:00Z");
    const target = folderExportTarget(root, "secret", () => clock);
    const app = new Hono().get(
      `${LOCAL_EXPORT_DOWNLOADS}/*`,
      serveLocalExports(root, "secret", () => clock),
    );
    const file = {
      name: "a.csv",
      contentType: "text/csv",
      chunks: (async function* () {
        yield "x,y\n";
      })(),
      rows: () => 1,
    };
    await writeExportFile(target, "s/j/a.csv", file);
    const url = await target.downloadUrl(
      "s/j/a.csv",
      { contentType: "text/csv", contentDisposition: "attachment" },
      900,
    );
    expect(await (await app.request(url)).text()).toBe("x,y\n");
    expect((await app.request(url.replace("a.csv", "b.csv"))).status).toBe(403);
    expect((await app.request(url.replace(/signature=[^&]+/, "signature=AAAA"))).status).toBe(403);
    clock += 901_000;
    expect((await app.request(url)).status).toBe(403);
    await rm(root, { recursive: true, force: true });
  });

  it("carries an S3 multipart upload on in another run from its recorded parts", async () => {
    const s3 = await startLocalS3("edc-exports");
    try {
      const target = s3ExportTarget(s3.client, s3.bucket);
      const file = { name: "r.ndjson", contentType: "application/x-ndjson" };
      const line = (i: number) => `{"i":"${String(i).padStart(3, "0")}"}\n`;
      const progress = { bytes: 0 };
      const first = await openResumableFile(target, "s/j/r.ndjson", file, { partBytes: 64, progress });
      let parts: StoredParts | undefined;
      for (let i = 0; i < 30; i++) {
        await first.write(line(i));
        parts = (await first.cut()) ?? parts;
      }
      await first.close(); // the run dies here: what it gathered after its last part is lost
      expect(parts?.parts.length).toBeGreaterThanOrEqual(2);
      const stored = parts?.parts.reduce((n, p) => n + p.bytes, 0) ?? 0;
      const from = stored / line(0).length; // lines of equal length: the next one to write
      const next = await openResumableFile(target, "s/j/r.ndjson", file, {
        partBytes: 64,
        progress,
        from: parts,
      });
      for (let i = from; i < 40; i++) await next.write(line(i));
      const written = await next.end();
      const text = Array.from({ length: 40 }, (_, i) => line(i)).join("");
      const chunks: Uint8Array[] = [];
      for await (const chunk of target.read("s/j/r.ndjson")) chunks.push(chunk);
      const got = Buffer.concat(chunks);
      expect(got.toString()).toBe(text);
      expect(written).toEqual({ bytes: text.length, sha256: sha256(got) });
    } finally {
      await s3.close();
    }
  });

  it("streams a file over 5 MiB to S3 in parts, gzipped when named .gz, with a presigned GET", async () => {
    const s3 = await startLocalS3("edc-exports");
    try {
      const target = s3ExportTarget(s3.client, s3.bucket, 5 * 1024 * 1024);
      const sent: string[] = [];
      const send = s3.client.send.bind(s3.client);
      vi.spyOn(s3.client, "send").mockImplementation(((command: { constructor: { name: string } }) => {
        sent.push(command.constructor.name);
        return send(command as never);
      }) as never);
      const line = `${"abcdefghij".repeat(10)}\n`;
      const lines = 70_000; // ~7 MB: two parts
      let rows = 0;
      const chunks = async function* () {
        for (let i = 0; i < lines; i += 1000) {
          rows += 1000;
          yield line.repeat(1000);
        }
      };
      const written = await writeExportFile(target, "s/j/big.ndjson", {
        name: "big.ndjson",
        contentType: "application/x-ndjson",
        chunks: chunks(),
        rows: () => rows,
      });
      expect(written).toMatchObject({ bytes: line.length * lines, rows: lines });
      const head = await s3.client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: "s/j/big.ndjson" }));
      expect(head.ContentLength).toBe(line.length * lines);
      expect(sent).toEqual([
        "CreateMultipartUploadCommand",
        "UploadPartCommand",
        "UploadPartCommand",
        "CompleteMultipartUploadCommand",
        "HeadObjectCommand",
      ]);
      const url = await target.downloadUrl(
        "s/j/big.ndjson",
        { contentType: "application/x-ndjson", contentDisposition: "attachment" },
        900,
      );
      expect(new URL(url).searchParams.get("X-Amz-Expires")).toBe("900");
      const got = Buffer.from(await (await fetch(url)).arrayBuffer());
      expect(sha256(got)).toBe(written.sha256);
      rows = 0;
      const gz = await writeExportFile(target, "s/j/big.ndjson.gz", {
        name: "big.ndjson.gz",
        contentType: "application/gzip",
        chunks: chunks(),
        rows: () => rows,
      });
      const stored = Buffer.from(
        await (
          await fetch(
            await target.downloadUrl(
              "s/j/big.ndjson.gz",
              { contentType: "application/gzip", contentDisposition: "attachment" },
              900,
            ),
          )
        ).arrayBuffer(),
      );
      expect(sha256(stored)).toBe(gz.sha256);
      expect(gunzipSync(stored).length).toBe(line.length * lines);
    } finally {
      await s3.close();
    }
  });
});
