import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startDevEnvironment } from "../../functions/dev-environment.ts";
import { STOP_BEFORE_TIMEOUT_MS, workImportJobs } from "../../functions/handlers/import-job-worker.ts";
import { BODY_LIMITS } from "../../functions/http/body-limits.ts";
import { runImportJob } from "../../functions/http/import-job-runner.ts";
import type { Store } from "../../functions/store/store.ts";
import { BASE, Product, STUDY } from "./harness.ts";

/**
 * Record imports as background jobs, with a batch of 8 so a hundred-odd
 * instances make many batches (each instance is an audited save: the batch
 * count, not the batch size, is what these tests exercise). The runner is driven by hand here (the app's
 * `start` does nothing) so progress can be read between batches; the last
 * block lets the local server's in-process runner pick a job up by itself.
 */

const BATCH = 8;
// Hundreds of audited saves on an in-process dynalite, on a shared machine.
vi.setConfig({ testTimeout: 180_000, hookTimeout: 60_000 });
let product: Product;
let store: Store;
beforeAll(async () => {
  product = new Product(
    await startDevEnvironment({ importJobs: { batchSize: BATCH, syncLimit: 50, start: () => {} } }),
  );
  store = product.env.store;
});
afterAll(() => product.close());

/** `records` new records × `events` adverse events each, REDCap flat JSON rows. */
function adverseEvents(prefix: string, records: number, events: number, term = "Fatigue") {
  const rows: Record<string, string>[] = [];
  for (let r = 1; r <= records; r++)
    for (let i = 1; i <= events; i++)
      rows.push({
        record_id: `${prefix}-${String(r).padStart(3, "0")}`,
        redcap_event_name: "logs_arm_1",
        redcap_repeat_instrument: "adverse_event",
        redcap_repeat_instance: String(i),
        ae_term: `${term} ${i}`,
      });
  return rows;
}

async function startJob(data: unknown, extra: Record<string, unknown> = {}, as = "site-01") {
  const res = await product.call("POST", `${BASE}/record-imports`, { as, body: { data, ...extra } });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  return res.body as { id: string; status: string };
}

const job = async (id: string, as = "site-01") => product.call("GET", `${BASE}/record-imports/${id}`, { as });

/** Revision items in the table: every save that changed something added one. */
async function revisionCount(): Promise<number> {
  const items = await product.snapshot();
  return items.filter((i) => (JSON.parse(i) as { SK: string }).SK.startsWith("REV#")).length;
}

describe("record import jobs (POST /record-imports, then a runner in batches)", () => {
  let firstId = "";
  const rows = adverseEvents("01-5", 10, 12);

  it("stores the rows and answers 202 with the job's status URL; the job is queued at 0 %", async () => {
    const started = await startJob(rows);
    firstId = started.id;
    expect(started.status).toBe(`${BASE}/record-imports/${started.id}`);
    const res = await job(started.id);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      state: "queued",
      total: 120,
      checked: 0,
      written: 0,
      percent: 0,
      refusedCount: 0,
      startedBy: "dev-site-01",
    });
  });

  it("shows progress between 0 and 100 % while it runs, then done with its counts", async () => {
    const before = await revisionCount();
    // 15 batches to check and 15 to write, plus a step per state change: stop in the middle of checking.
    await runImportJob(store, STUDY, firstId, { maxBatches: 8 });
    const midway = (await job(firstId)).body;
    expect(midway.state).toBe("checking");
    expect(midway.percent).toBeGreaterThan(0);
    expect(midway.percent).toBeLessThan(50);
    expect(await revisionCount()).toBe(before);
    // The other 8 checks, the move to writing, 5 of the 15 writes.
    await runImportJob(store, STUDY, firstId, { maxBatches: 8 + 1 + 5 });
    const writing = (await job(firstId)).body;
    expect(writing.state).toBe("writing");
    expect(writing.percent).toBeGreaterThan(50);
    expect(writing.percent).toBeLessThan(100);
    await runImportJob(store, STUDY, firstId);
    const done = (await job(firstId)).body;
    expect(done).toMatchObject({ state: "done", total: 120, checked: 120, written: 120, percent: 100 });
    expect(done.finishedAt).toBeTruthy();
    expect(await revisionCount()).toBe(before + 120);
    // Its rows are deleted once it has ended; the job item stays.
    const left = (await product.snapshot()).filter((i) => i.includes(`#IMPORT#${firstId}`));
    expect(left).toEqual([]);
  });

  it("audits every revision with the job's reason", async () => {
    const audit = await product.call("GET", `${BASE}/subjects/01-5-001/audit`, { as: "site-01" });
    expect(audit.status).toBe(200);
    const text = JSON.stringify(audit.body);
    expect(text).toContain(`Imported (job ${firstId})`);
    expect(text.split(`Imported (job ${firstId})`).length - 1).toBeGreaterThanOrEqual(12);
  });

  it("re-running the same import writes nothing", async () => {
    const before = await revisionCount();
    const again = await startJob(rows);
    const done = await runImportJob(store, STUDY, again.id);
    expect(done).toMatchObject({ state: "done", checked: 120, written: 0 });
    expect(await revisionCount()).toBe(before);
  });

  it("a refused value anywhere fails the job, and nothing is written, not even the batches before it", async () => {
    const before = await revisionCount();
    const bad = [
      ...adverseEvents("01-6", 5, BATCH),
      // The last batch: a new record at a site this token may not enrol at.
      { ...adverseEvents("01-7", 1, 1)[0], redcap_data_access_group: "site-02" },
    ];
    const started = await startJob(bad);
    const done = await runImportJob(store, STUDY, started.id);
    expect(done?.state).toBe("failed");
    const shown = (await job(started.id)).body;
    expect(shown.refusedCount).toBe(1);
    expect(shown.refused[0]).toMatchObject({ record: "01-7-001", field: "redcap_data_access_group" });
    expect(shown.written).toBe(0);
    expect(await revisionCount()).toBe(before);
    expect((await product.call("GET", `${BASE}/subjects/01-6-001`, { as: "site-01" })).status).toBe(404);
  });

  it("a runner that dies in the middle of a batch is resumed from the stored progress, each save made once", async () => {
    const before = await revisionCount();
    const started = await startJob(adverseEvents("01-8", 4, 10));
    // Check every batch and write two, then die after the first save of the third.
    await runImportJob(store, STUDY, started.id, { maxBatches: 1 + 5 + 1 + 2 });
    let saves = 0;
    const dying: Store = {
      ...store,
      saveFormInstance: async (request) => {
        if (++saves > 1) throw new Error("the process died");
        return store.saveFormInstance(request);
      },
    };
    const leaseMs = 5_000;
    const diedAt = Date.now();
    await expect(runImportJob(dying, STUDY, started.id, { leaseMs })).rejects.toThrow("the process died");
    // Its lease still holds: another runner leaves the job alone until it runs out.
    expect((await runImportJob(store, STUDY, started.id))?.state).toBe("writing");
    expect(Date.now() - diedAt).toBeLessThan(leaseMs);
    expect(await revisionCount()).toBe(before + 2 * BATCH + 1);
    // The lease runs out by the clock the runners read (Date.now): moved past it rather than waited out.
    vi.useFakeTimers({ toFake: ["Date"], shouldAdvanceTime: true });
    vi.setSystemTime(Math.max(Date.now(), diedAt + leaseMs + 50));
    const done = await runImportJob(store, STUDY, started.id).finally(() => vi.useRealTimers());
    expect(done).toMatchObject({ state: "done", total: 40, written: 40 });
    expect(await revisionCount()).toBe(before + 40);
  });

  it("a dry run checks and writes nothing", async () => {
    const before = await revisionCount();
    const started = await startJob(adverseEvents("01-9", 2, 10), { dryRun: true });
    expect(await runImportJob(store, STUDY, started.id)).toMatchObject({
      state: "done",
      checked: 20,
      written: 0,
    });
    expect((await job(started.id)).body).toMatchObject({ dryRun: true, percent: 100 });
    expect(await revisionCount()).toBe(before);
  });

  it("is scoped: another site's coordinator does not see it, another study's path is 404, the list is the caller's", async () => {
    expect((await job(firstId, "site-02")).status).toBe(404);
    const mine = await product.call("GET", `${BASE}/record-imports`, { as: "site-01" });
    expect(mine.body.jobs.map((j: { id: string }) => j.id)).toContain(firstId);
    const theirs = await product.call("GET", `${BASE}/record-imports`, { as: "site-02" });
    expect(theirs.body.jobs).toEqual([]);
    const other = await product.call("GET", `/api/v1/studies/another-study/record-imports/${firstId}`, {
      as: "site-01",
    });
    expect(other.status).toBe(404);
    // A role without data entry may not start or read jobs.
    expect((await job(firstId, "monitor")).status).toBe(403);
  });

  it("answers 404, not 500, for a job id no job can have (found by the OpenAPI fuzz: a 2,000-character id)", async () => {
    for (const id of ["a".repeat(2000), "20260101T120000000Z-zzzz", "..%2F"]) {
      const res = await job(id);
      expect(res.status, id.slice(0, 40)).toBe(404);
    }
  });

  it("refuses unreadable data and values with 400, storing no job", async () => {
    const count = (await store.importJobs.list(STUDY)).length;
    const csv = await product.call("POST", `${BASE}/record-imports`, {
      as: "site-01",
      body: { format: "csv", data: 'record_id,ae_term\n"01-1,x' },
    });
    expect(csv.status).toBe(400);
    const bad = await product.call("POST", `${BASE}/record-imports`, {
      as: "site-01",
      body: { data: [{ record_id: "01-1", redcap_event_name: "nowhere_arm_1" }] },
    });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain("nowhere_arm_1");
    expect((await store.importJobs.list(STUDY)).length).toBe(count);
  });

  it("takes bodies past the default 256 KB limit, up to its own 6 MB class", async () => {
    const big = [{ ...adverseEvents("01-2", 1, 1)[0], ae_term: "x".repeat(BODY_LIMITS.default) }];
    await startJob(big);
    const huge = await product.call("POST", `${BASE}/record-imports`, {
      as: "site-01",
      body: { data: [{ ...big[0], ae_term: "x".repeat(BODY_LIMITS.recordImports) }] },
    });
    expect(huge.status).toBe(413);
    const tooBigForAnItem = await product.call("POST", `${BASE}/record-imports`, {
      as: "site-01",
      body: { data: [{ ...big[0], ae_term: "x".repeat(400_000) }] },
    });
    expect(tooBigForAnItem.status).toBe(400);
  });

  it("REDCap's /api/ import above its bound answers REDCap's error naming the jobs endpoint", async () => {
    const res = await product.env.app.request("/api/", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        token: product.token("site-01"),
        content: "record",
        format: "json",
        returnFormat: "json",
        data: JSON.stringify(adverseEvents("01-4", 3, 20)),
      }).toString(),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: string };
    expect(body.error).toContain(`/api/v1/studies/${STUDY}/record-imports`);
    expect(body.error).toContain("60 form instances");
  });
});

describe("the AWS worker, as the table's stream invokes it", () => {
  const streamEvent = (id: string) => ({
    Records: [
      { dynamodb: { NewImage: { type: { S: "import-job" }, study: { S: STUDY }, id: { S: id } } } },
      // Other items never reach it (the event source's filter), but one that did would be ignored.
      { dynamodb: { NewImage: { type: { S: "revision" }, study: { S: STUDY } } } },
    ],
  });

  it("stops before its timeout, releasing the job (that write re-invokes it), and finishes it next time", async () => {
    const started = await startJob(adverseEvents("01-3", 2, BATCH));
    await workImportJobs(store, streamEvent(started.id), {
      getRemainingTimeInMillis: () => STOP_BEFORE_TIMEOUT_MS,
    });
    const stopped = await store.importJobs.get(STUDY, started.id);
    expect(stopped?.state).toBe("queued");
    expect(stopped?.leaseOwner).toBeUndefined();
    await workImportJobs(store, streamEvent(started.id), { getRemainingTimeInMillis: () => 15 * 60_000 });
    expect(await store.importJobs.get(STUDY, started.id)).toMatchObject({
      state: "done",
      written: 2 * BATCH,
    });
  });
});

describe("the local server runs a job by itself right after the 202", () => {
  let local: Product;
  beforeAll(async () => {
    local = new Product(await startDevEnvironment({ importJobs: { batchSize: BATCH } }));
  });
  afterAll(() => local.close());

  it("is done without anyone running it", async () => {
    const res = await local.call("POST", `${BASE}/record-imports`, {
      as: "site-01",
      body: { data: adverseEvents("01-5", 3, BATCH) },
    });
    expect(res.status).toBe(202);
    let state = "";
    for (let tries = 0; tries < 200 && state !== "done"; tries++) {
      await new Promise((r) => setTimeout(r, 50));
      state = (await local.call("GET", res.body.status, { as: "site-01" })).body.state;
    }
    expect(state).toBe("done");
  });
});
