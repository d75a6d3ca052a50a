import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevEnvironment, storeDevKey } from "../../functions/dev-environment.ts";
import { runExportJob } from "../../functions/http/export-job-runner.ts";
import { runDueSchedules, type TickReport } from "../../functions/http/export-schedules.ts";
import { createStore } from "../../functions/store/store.ts";
import { BASE, Product, STUDY } from "./harness.ts";

/**
 * Issue 16: scheduled exports. Defined like a job start (same checks), replaced
 * only with If-Match, hidden from callers of other sites; a tick at a given
 * `now` starts one job per schedule per UTC day, whatever ticks race, as the
 * creator as the store has them then; an incremental goes on from its last
 * done job's cursor, and a failed job leaves the cursor where it was.
 */

let product: Product;
let subject: string;
beforeAll(async () => {
  product = new Product(await startDevEnvironment({ feedSettleMs: 0, exportJobs: { start: () => {} } }));
  subject = await product.enrol();
});
afterAll(() => product.close());

const url = (name: string) => `${BASE}/export-schedules/${name}`;

async function put(
  name: string,
  body: Record<string, unknown>,
  options: { as?: string; ifMatch?: string } = {},
) {
  const res = await product.env.app.request(url(name), {
    method: "PUT",
    headers: {
      authorization: `Bearer ${product.token(options.as ?? "monitor")}`,
      "content-type": "application/json",
      ...(options.ifMatch ? { "if-match": options.ifMatch } : {}),
    },
    body: JSON.stringify(body),
  });
  return { status: res.status, etag: res.headers.get("etag"), body: await res.json() };
}

const view = async (name: string, as = "monitor") => (await product.call("GET", url(name), { as })).body;

/** The jobs one tick started for `name`. */
const startedFor = (report: TickReport, name: string) =>
  report.started.filter((s) => s.schedule === `${STUDY}/${name}`).map((s) => s.job);

/** `n` days after today, at HH:MM (UTC): within the dev keys' lifetime, as a creator's key must be. */
const at = (n: number, hhmm: string) =>
  new Date(`${new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10)}T${hhmm}:00Z`);
const dayOf = (when: Date) => when.toISOString().slice(0, 10);

async function run(id: string) {
  return runExportJob(product.env.store, product.env.exportTarget, STUDY, id, { feedSettleMs: 0 });
}

describe("export schedules", () => {
  it("are created, read, listed, replaced with If-Match only, hidden from other sites, and deleted", async () => {
    const created = await put("nightly", {
      kind: "full",
      format: "csv",
      at: "02:00",
      forms: ["vital_signs"],
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.etag).toBe('"1"');
    expect(await view("nightly")).toMatchObject({
      name: "nightly",
      kind: "full",
      format: "csv",
      at: "02:00",
      filters: { forms: ["vital_signs"], deidentify: false },
      createdBy: "dev-monitor",
      version: 1,
    });
    const list = await product.call("GET", `${BASE}/export-schedules`, { as: "monitor" });
    expect(list.body.schedules.map((s: { name: string }) => s.name)).toContain("nightly");

    const again = await put("nightly", { kind: "full", format: "json", at: "03:00" });
    expect(again.status).toBe(428);
    expect(again.body.version).toBe(1);
    const replaced = await put("nightly", { kind: "full", format: "json", at: "03:00" }, { ifMatch: '"1"' });
    expect(replaced.status).toBe(200);
    expect(replaced.etag).toBe('"2"');
    // A second writer that read version 1 loses, and is told so.
    const lost = await put("nightly", { kind: "full", format: "ndjson", at: "04:00" }, { ifMatch: '"1"' });
    expect(lost.status).toBe(412);
    expect((await view("nightly")).format).toBe("json");

    // A coordinator of site-02 holds fewer sites than the monitor who made it: not theirs to see or change.
    expect((await product.call("GET", url("nightly"), { as: "site-02" })).status).toBe(404);
    expect(
      (await put("nightly", { kind: "full", format: "csv", at: "02:00" }, { as: "site-02", ifMatch: '"2"' }))
        .status,
    ).toBe(404);
    const theirs = await product.call("GET", `${BASE}/export-schedules`, { as: "site-02" });
    expect(theirs.body.schedules).toEqual([]);
    expect((await product.call("DELETE", url("nightly"), { as: "site-02" })).status).toBe(404);

    expect((await product.call("DELETE", url("nightly"), { as: "monitor" })).status).toBe(204);
    expect((await product.call("GET", url("nightly"), { as: "monitor" })).status).toBe(404);

    // Who set each version, and who deleted it, is in the access log; refused writes left nothing there.
    const { entries } = await product.env.store.readAccessLog(STUDY, { limit: 100_000 });
    expect(
      entries
        .filter((e) => e.action.startsWith("export-schedule-") && e.details.schedule === "nightly")
        .map((e) => ({
          action: e.action,
          actor: e.actor,
          version: e.details.version,
          format: e.details.format,
        }))
        .sort((a, b) => Number(a.version) - Number(b.version) || a.action.localeCompare(b.action)),
    ).toEqual([
      { action: "export-schedule-set", actor: "dev-monitor", version: 1, format: "csv" },
      { action: "export-schedule-delete", actor: "dev-monitor", version: 2, format: undefined },
      { action: "export-schedule-set", actor: "dev-monitor", version: 2, format: "json" },
    ]);
  });

  it("are listed whole past a short DynamoDB page (the 1 MB cut)", async () => {
    for (const n of [1, 2, 3, 4, 5])
      expect((await put(`paged-${n}`, { kind: "full", format: "csv", at: "02:00" })).status).toBe(201);
    // The real client, except that every Query answers at most 2 items, as DynamoDB does once 1 MB is reached.
    const real = product.env.store.db.doc;
    const doc = {
      send: ((command: QueryCommand) =>
        command instanceof QueryCommand
          ? real.send(new QueryCommand({ ...command.input, Limit: 2 }))
          : real.send(command as never)) as typeof real.send,
    };
    const store = createStore({ tableName: product.env.tableName, doc, macKey: product.env.store.macKey });
    const names = (await store.exportSchedules.list(STUDY))
      .map((s) => s.name)
      .filter((n) => n.startsWith("paged-"));
    expect(names.sort()).toEqual(["paged-1", "paged-2", "paged-3", "paged-4", "paged-5"]);
  });

  it("refuse bad input with pointers, as a job start does", async () => {
    const bad = async (name: string, body: Record<string, unknown>, pointer: string) => {
      const res = await put(name, body);
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      expect(res.body.errors.map((e: { pointer: string }) => e.pointer)).toContain(pointer);
    };
    await bad("x", { kind: "incremental", format: "csv", at: "02:00" }, "/format");
    await bad("x", { kind: "full", format: "csv", at: "2am" }, "/at");
    await bad("x", { kind: "full", format: "csv", at: "02:00", forms: ["nope"] }, "/forms");
    await bad("x", { kind: "full", format: "csv", at: "02:00", hashIds: true }, "/hashIds");
    await bad("x", { kind: "weekly", format: "csv", at: "02:00" }, "/kind");
    await bad("x", { kind: "full", format: "csv", at: "02:00", extra: 1 }, "/");
    await bad("Bad_Name", { kind: "full", format: "csv", at: "02:00" }, "/name");
    expect((await product.call("GET", url("x"), { as: "monitor" })).status).toBe(404);
  });

  it("start one job a day at or after `at`, however many ticks race", async () => {
    expect((await put("daily", { kind: "full", format: "csv", at: "03:00" })).status).toBe(201);
    expect(startedFor(await runDueSchedules(product.env.store, at(1, "02:59")), "daily")).toEqual([]);
    const racing = await Promise.all([
      runDueSchedules(product.env.store, at(1, "03:00")),
      runDueSchedules(product.env.store, at(1, "03:00")),
    ]);
    const started = racing.flatMap((r) => startedFor(r, "daily"));
    expect(started).toHaveLength(1);
    expect(startedFor(await runDueSchedules(product.env.store, at(1, "23:59")), "daily")).toEqual([]);
    const [id] = started;
    const job = (await product.call("GET", `${BASE}/exports/${id}`, { as: "monitor" })).body;
    expect(job).toMatchObject({
      schedule: "daily",
      startedBy: "dev-monitor",
      format: "csv",
      state: "queued",
    });
    expect(await view("daily")).toMatchObject({
      lastRunDay: dayOf(at(1, "00:00")),
      lastJob: { id, state: "queued" },
      nextRunAt: at(2, "03:00").toISOString(),
    });
    expect(startedFor(await runDueSchedules(product.env.store, at(2, "03:05")), "daily")).toHaveLength(1);
    expect((await product.call("DELETE", url("daily"), { as: "monitor" })).status).toBe(204);
  });

  it("incremental: the cursor moves on only once a job is done; a failed job leaves it", async () => {
    expect(
      (await put("changes", { kind: "incremental", format: "warehouse-changes", at: "01:00" })).status,
    ).toBe(201);
    const tick = async (n: number, hhmm: string) =>
      startedFor(await runDueSchedules(product.env.store, at(n, hhmm)), "changes");
    const [first] = await tick(1, "01:00");
    if (!first) throw new Error("no job");
    expect((await run(first))?.state).toBe("done");
    // The tick sees the job done: the cursor becomes its nextCursor.
    expect(await tick(1, "12:00")).toEqual([]);
    const c1 = (await view("changes")).cursor;
    expect(c1).toBeTruthy();

    for (const [rev, rate] of [
      [0, 61],
      [1, 62],
    ] as const) {
      const saved = await product.save(subject, "screening", "vital_signs", {
        data: { heart_rate: rate },
        rev,
      });
      expect(saved.status, JSON.stringify(saved.body)).toBe(200);
    }
    const [second] = await tick(2, "01:00");
    if (!second) throw new Error("no job");
    expect((await product.env.store.exportJobs.get(STUDY, second))?.request.cursor).toBe(c1);
    // Not done yet: the cursor stays, and no second job starts from it.
    expect(await tick(3, "01:00")).toEqual([]);
    expect((await view("changes")).cursor).toBe(c1);
    const done = await run(second);
    expect(done?.state).toBe("done");
    // The two saves are the increment's changes (and their subject's row): nothing before c1.
    expect(done?.files.filter((f) => f.name.startsWith("changes/")).map((f) => f.rows)).toEqual([2]);
    expect(await tick(3, "01:30")).toHaveLength(1);
    const c2 = (await view("changes")).cursor;
    expect(c2).toBe(done?.nextCursor);
    expect(c2).not.toBe(c1);

    // Today's job (from c2) fails: the cursor stays at c2 and the next day's job covers the range again.
    const third = (await view("changes")).lastJob.id as string;
    const claimed = await product.env.store.exportJobs.claim(
      STUDY,
      third,
      "test",
      Date.now(),
      Date.now() + 60_000,
    );
    if (!claimed) throw new Error("not claimed");
    await product.env.store.exportJobs.step(claimed, "test", {
      state: "failed",
      error: "disk full",
      release: true,
    });
    const [fourth] = await tick(4, "01:00");
    if (!fourth) throw new Error("no job");
    expect((await product.env.store.exportJobs.get(STUDY, fourth))?.request.cursor).toBe(c2);
    expect((await view("changes")).cursor).toBe(c2);
  });

  it("a creator revoked since starts no job: the schedule says why and the access log has it", async () => {
    const rita = await storeDevKey(product.env.store, "key-of-rita", {
      user: "rita",
      role: "sponsor",
      study: STUDY,
      sites: ["*"],
    });
    product.env.tokens.rita = rita;
    expect((await put("ritas", { kind: "full", format: "csv", at: "05:00" }, { as: "rita" })).status).toBe(
      201,
    );
    expect(await product.env.store.revokeGrant(STUDY, rita.owner, "test")).toBe(true);
    const report = await runDueSchedules(product.env.store, at(1, "05:00"));
    expect(startedFor(report, "ritas")).toEqual([]);
    const schedule = await view("ritas");
    expect(schedule.lastError).toMatch(/admits no one/);
    expect(schedule.lastRunDay).toBe(dayOf(at(1, "00:00")));
    expect(schedule.lastJob).toBeUndefined();
    const { entries } = await product.env.store.readAccessLog(STUDY, { limit: 100_000 });
    expect(
      entries.filter((e) => e.action === "export-schedule-refused" && e.details.schedule === "ritas"),
    ).toMatchObject([{ actor: "rita", details: { day: dayOf(at(1, "00:00")) } }]);
  });
});
