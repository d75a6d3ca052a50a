import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../functions/app.ts";
import { createStore } from "../../functions/store/store.ts";
import { type Product, startProduct } from "./harness.ts";
import { itemsRead, readUnits, recordingClient, type StoreCall, sequentialRounds } from "./store-calls.ts";

/**
 * What one save through the whole HTTP app costs the store: round trips one
 * after the other, and what it reads. A save reads only what its form's logic
 * and day one refer to, so late in a study it reads no more than early on.
 */

let product: Product;
let recorded: ReturnType<typeof recordingClient>;
let app: ReturnType<typeof createApp>;

beforeAll(async () => {
  product = await startProduct();
  const env = product.env;
  recorded = recordingClient(env.store.db.doc);
  // Long enough that no cache expires between the warm-up request and the measured one, whatever the machine's load.
  const store = createStore({
    tableName: env.tableName,
    doc: recorded,
    macKey: env.store.macKey,
    pointerTtlMs: 600_000,
    keyCacheTtlMs: 600_000,
  });
  app = createApp(store, { sessionSecret: "save-cost" });
});
afterAll(() => product.close());

const edss = (total: number) => ({
  assessment_date: "2024-01-10",
  assessor_blinded: true,
  fs_visual: 1,
  fs_pyramidal: 2,
  edss_total: total,
});

async function save(subject: string, event: string, form: string, data: Record<string, unknown>, rev = 0) {
  const res = await app.request(product.formPath(subject, event, form), {
    method: "PUT",
    headers: { authorization: `Bearer ${product.token("site-01")}`, "content-type": "application/json" },
    body: JSON.stringify({ data, status: "incomplete", rev }),
  });
  expect(res.status, await res.clone().text()).toBe(200);
}

/** The store calls of one save of a new EDSS at m3, once key, definition and subject were read by an earlier request. */
async function measuredSave(subject: string): Promise<StoreCall[]> {
  await save(subject, "m6", "vital_signs", { heart_rate: 70 });
  recorded.reset();
  await save(subject, "m3", "edss", edss(3.5));
  return [...recorded.calls];
}

async function enrolWithDayOne(): Promise<string> {
  const subject = await product.enrol();
  const res = await product.save(subject, "iv_1", "infusion", { data: { infusion_date: "2024-02-01" } });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return subject;
}

describe("the store calls of one save", () => {
  it("are 4 calls in 3 round trips one after the other: one read, the commit, the projection and summary", async () => {
    const calls = await measuredSave(await enrolWithDayOne());
    expect(sequentialRounds(calls)).toBeLessThanOrEqual(3);
    // Every read in one call: the instance's projection (its chain head), day one's, and both lock states.
    expect(calls.map((c) => c.command)).toEqual(["BatchGet", "Put", "Put", "Update"]);
    // Exactly one commit, then the projection and the dashboard's summary entry at once, after every read.
    const isWrite = (c: { command: string }) => c.command === "Put" || c.command === "Update";
    const writes = calls.filter(isWrite);
    expect(writes.map((c) => `${c.command} ${c.target}`)).toEqual([
      expect.stringMatching(/^Put REV#m3#edss#0001#000001$/),
      "Put DATA#m3#edss#0001",
      expect.stringMatching(/^Update /),
    ]);
    const lastRead = Math.max(...calls.filter((c) => !isWrite(c)).map((c) => c.endedAt));
    expect(writes.every((w) => w.startedAt > lastRead)).toBe(true);
    const [commit, projection, summary] = writes;
    expect(projection?.startedAt).toBeGreaterThan(commit?.endedAt ?? Infinity);
    expect(summary?.startedAt).toBeLessThan(projection?.endedAt ?? -Infinity);
  });

  it("read no more items and no more read units late in a study than early", async () => {
    const early = await measuredSave(await enrolWithDayOne());
    const late = await enrolWithDayOne();
    const events = ["screening", "m9", "m12", "y2", "y3", "y4", "y5", "y6"];
    for (const event of events) {
      for (const form of ["vital_signs", "labs"]) {
        const res = await product.save(late, event, form, { data: {} });
        expect(res.status, JSON.stringify(res.body)).toBe(200);
      }
      const res = await product.save(late, event, "edss", { data: edss(4) });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
    }
    const lateCalls = await measuredSave(late);
    console.log(
      `save of a new EDSS: early ${itemsRead(early)} items / ${readUnits(early)} RU, late (${events.length * 3 + 1} instances) ${itemsRead(lateCalls)} items / ${readUnits(lateCalls)} RU; rounds ${sequentialRounds(lateCalls)}; calls ${lateCalls.map((c) => `${c.command} ${c.target} ${c.items}`).join(", ")}`,
    );
    expect(itemsRead(lateCalls)).toBeLessThanOrEqual(itemsRead(early));
    expect(readUnits(lateCalls)).toBeLessThanOrEqual(readUnits(early));
    // Not vacuous: the day-one state is read, and the late casebook holds far more.
    expect(itemsRead(early)).toBeGreaterThan(0);
  });

  it("a process's first request reads the definition (pointer, version), then the key, then its owner's grant first: 4 rounds more", async () => {
    const subject = await enrolWithDayOne();
    const env = product.env;
    const fresh = recordingClient(env.store.db.doc);
    app = createApp(createStore({ tableName: env.tableName, doc: fresh, macKey: env.store.macKey }), {
      sessionSecret: "save-cost",
    });
    await save(subject, "m3", "edss", edss(3.5));
    const rounds = sequentialRounds(fresh.calls);
    expect(rounds).toBeLessThanOrEqual(7);
    console.log(`cold process: ${fresh.calls.length} calls in ${rounds} rounds`);
  });
});
