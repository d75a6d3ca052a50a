import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { parse } from "csv-parse/sync";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { keys } from "../../functions/store/keys.ts";
import { readWatermark } from "../../functions/store/projection-watermark.ts";
import { createStore } from "../../functions/store/store.ts";
import { meter } from "../bench/dynamo-units.ts";
import { BASE, type Product, startProduct } from "./harness.ts";

/**
 * The projection watermark (store/projection-watermark.ts): the pass that
 * moves it, the settle window it trails the clock by, and what the flat
 * export reads thanks to it. exports-after-crash.test.ts holds each export
 * against a crash on either side of it.
 */
type Send = Pick<DynamoDBDocumentClient, "send">;
const SETTLE_MS = 60_000;

let product: Product;
beforeAll(async () => {
  // A pass an hour apart: the one at start, then only those the tests and the exports run.
  product = await startProduct({ feedSettleMs: SETTLE_MS, projectionPassEveryMs: 3_600_000 });
});
afterAll(() => product.close());

const study = () => product.env.studyId;
const pass = (options: { settleMs: number; now?: number; maxChanges?: number }) =>
  product.env.store.advanceProjectionWatermark(study(), options);

/** A save of heart rate 99 whose process dies right after its commit, stamped `stampedAgoMs` in the past. */
async function crashedSave(subject: string, stampedAgoMs = 0) {
  const env = product.env;
  const definition = await env.store.definitions.current(study());
  const sub = await env.store.getSubject(study(), subject);
  if (!definition || !sub) throw new Error("setup");
  let committed = false;
  const real = env.store.db.doc;
  const doc: Send = {
    send: (async (command: Parameters<Send["send"]>[0]) => {
      if (committed) throw new Error("process died");
      const result = await real.send(command as never);
      const item = (command.input as { Item?: { SK?: unknown } }).Item;
      if (String(item?.SK ?? "").startsWith("REV#")) committed = true;
      return result;
    }) as Send["send"],
  };
  const dying = createStore({ tableName: env.tableName, doc, macKey: env.store.macKey });
  // A slow writer: its commit stamped when it began, landing now.
  if (stampedAgoMs > 0) vi.useFakeTimers({ toFake: ["Date"], now: Date.now() - stampedAgoMs });
  const save = dying.saveFormInstance({
    definition,
    subject: sub,
    event: "screening",
    form: "vital_signs",
    instance: 1,
    data: { heart_rate: 99 },
    status: "incomplete",
    rev: 0,
    actor: "dev-site-01",
  });
  try {
    await expect(save).rejects.toThrow("process died");
  } finally {
    vi.useRealTimers();
  }
}

const heartRates = async (subject: string) => {
  const res = await product.call("GET", `${BASE}/records?format=csv&subjects=${subject}`, { as: "monitor" });
  expect(res.status).toBe(200);
  const rows = parse(res.body, { columns: true }) as Record<string, string>[];
  return rows.filter((r) => r.heart_rate).map((r) => r.heart_rate);
};

describe("the projection watermark", () => {
  it("is placed by the pass at start, trailing the clock by the settle window", async () => {
    const placed = await readWatermark(product.env.store.db, study());
    expect(placed).toBeDefined();
    expect(Date.parse(placed as string)).toBeLessThanOrEqual(Date.now() - SETTLE_MS);
  });

  it("a slow writer's commit stamped inside the settle window stays after it, so the export finds it", async () => {
    // The watermark trails the clock by the window (first test): the pass at start put it there.
    const subject = await product.enrol();
    await crashedSave(subject, SETTLE_MS / 2);
    expect(await heartRates(subject)).toEqual(["99"]);
  });

  it("never moves back, and a pass stopped at its bound moves it to the last commit it checked", async () => {
    const subjects = [await product.enrol(), await product.enrol()];
    for (const s of subjects)
      expect((await product.save(s, "screening", "vital_signs", { data: { heart_rate: 70 } })).status).toBe(
        200,
      );
    const now = Date.now() + 1;
    const before = await readWatermark(product.env.store.db, study());
    const bounded = await pass({ settleMs: 0, now, maxChanges: 1 });
    expect(bounded.caughtUp).toBe(false);
    expect(bounded.checked).toBe(1);
    expect(bounded.to).toMatch(new RegExp(`#${keys.subjectPartition(study(), "")}`));
    expect(String(bounded.to) > String(before)).toBe(true);
    const rest = await pass({ settleMs: 0, now });
    expect(rest.caughtUp).toBe(true);
    expect(rest.to).toBe(new Date(now).toISOString());
    // An older clock (another process, or a pass with a longer window) leaves it where it is.
    const older = await pass({ settleMs: SETTLE_MS, now });
    expect(older.to).toBe(rest.to);
    expect(await readWatermark(product.env.store.db, study())).toBe(rest.to);
  });

  it("without the window the watermark would pass such a commit unseen (why it trails the clock)", async () => {
    await pass({ settleMs: 0, now: Date.now() + 1 });
    const subject = await product.enrol();
    await crashedSave(subject, SETTLE_MS / 2);
    // Stamped before the watermark, so neither the export's feed check nor any later pass sees it:
    // the counter-example a watermark moved up to `now` would make. The full read still does.
    expect(await heartRates(subject)).toEqual([]);
    const casebook = await product.call("GET", `${BASE}/subjects/${subject}`, { as: "site-01" });
    expect(casebook.body.instances.map((i: { rev: number }) => i.rev)).toEqual([1]);
  });

  it("the export reads the log's revision keys of changed casebooks only", async () => {
    const [quiet, changed] = [await product.enrol(), await product.enrol()];
    expect((await product.save(quiet, "screening", "vital_signs", { data: { heart_rate: 61 } })).status).toBe(
      200,
    );
    await pass({ settleMs: 0, now: Date.now() + 1 });
    expect(
      (await product.save(changed, "screening", "vital_signs", { data: { heart_rate: 62 } })).status,
    ).toBe(200);
    const metered = meter(product.env.store.db.doc as never, product.env.tableName);
    const res = await product.call("GET", `${BASE}/records?format=csv&subjects=${quiet},${changed}`, {
      as: "monitor",
    });
    expect(res.status).toBe(200);
    const revisionKeyReads = (subject: string) =>
      metered.calls.filter(
        (c) => c.command === "Query" && c.target === keys.subjectPartition(study(), subject),
      ).length;
    // The projections, and for the changed casebook its revision keys too (one Query each).
    expect(revisionKeyReads(quiet)).toBe(1);
    expect(revisionKeyReads(changed)).toBe(2);
  });
});
