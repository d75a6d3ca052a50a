import { BatchWriteCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevEnvironment } from "../../functions/dev-environment.ts";
import { diffData } from "../../functions/engine/revision.ts";
import { projectionItem, type Revision, revisionItem } from "../../functions/store/revision-item.ts";
import { sealRevision } from "../../functions/store/revision-seal.ts";
import { createStore } from "../../functions/store/store.ts";
import { BASE, Product } from "./harness.ts";

/**
 * The change feed over more changes than one DynamoDB page (the store reads
 * the index 500 items at a time, and a page also ends at 1 MB): whatever the
 * `limit`, following the cursor delivers every change exactly once, in order.
 */
const SUBJECTS = 8;
const SAVES_PER_SUBJECT = 140; // 1,120 revisions
let product: Product;
let seeded: string[];

beforeAll(async () => {
  product = new Product(await startDevEnvironment({ feedSettleMs: 0 }));
  const env = product.env;
  const definition = await env.store.definitions.current(env.studyId);
  if (!definition) throw new Error("setup");
  const ids = await Promise.all(Array.from({ length: SUBJECTS }, () => product.enrol()));
  // Stamped in the past, one millisecond apart per save, so every commit is settled and the order is known.
  const start = Date.now() - 3_600_000;
  // The items 140 saves of each instance leave (its sealed revisions, then its projection), built by the store's
  // own builders and written in batches: this file is about reading the feed, and 1,120 saves one by one took
  // most of its time.
  const items: Record<string, unknown>[] = [];
  for (const [s, id] of ids.entries()) {
    const subject = await env.store.getSubject(env.studyId, id);
    if (!subject) throw new Error("setup");
    let previous: Revision | undefined;
    for (let rev = 1; rev <= SAVES_PER_SUBJECT; rev++) {
      const data = { heart_rate: 60 + ((rev - 1) % 2) };
      const revision: Revision = await sealRevision(
        env.store.macKey,
        {
          study: env.studyId,
          subject: id,
          site: subject.site,
          event: "screening",
          form: "vital_signs",
          instance: 1,
          rev,
          status: "incomplete",
          statusFrom: previous ? previous.status : null,
          data,
          changes: diffData(previous?.data ?? {}, data, ["heart_rate"]),
          definitionVersion: definition.version,
          committedAt: new Date(start + (rev - 1) * SUBJECTS + s).toISOString(),
          committedBy: "seed",
        },
        previous,
      );
      items.push(revisionItem(revision));
      previous = revision;
    }
    if (previous) items.push(projectionItem(previous));
  }
  for (let at = 0; at < items.length; at += 25) {
    let batch: Record<string, unknown>[] = items.slice(at, at + 25);
    while (batch.length > 0) {
      const { UnprocessedItems } = await env.store.db.doc.send(
        new BatchWriteCommand({
          RequestItems: { [env.tableName]: batch.map((Item) => ({ PutRequest: { Item } })) },
        }),
      );
      batch = (UnprocessedItems?.[env.tableName] ?? []).flatMap((r) =>
        r.PutRequest?.Item ? [r.PutRequest.Item] : [],
      );
    }
  }
  seeded = [];
  for (let rev = 1; rev <= SAVES_PER_SUBJECT; rev++) for (const id of ids) seeded.push(`${id}#${rev}`);
}, 120_000);
afterAll(() => product.close());

type Page = { changes: { subject: string; rev: number }[]; cursor: string; more: boolean };

/** Follows the cursor to the end; `limitOf(pull)` is the limit asked on each pull (a client may change it). */
async function pullAll(
  limitOf: (pull: number) => number | undefined,
): Promise<{ delivered: string[]; pulls: number }> {
  const delivered: string[] = [];
  let cursor = "";
  let pulls = 0;
  for (;;) {
    const limit = limitOf(pulls);
    const q = new URLSearchParams();
    if (limit !== undefined) q.set("limit", String(limit));
    if (cursor) q.set("cursor", cursor);
    const res = await product.call("GET", `${BASE}/changes?${q}`, { as: "sponsor" });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const page = res.body as Page;
    pulls += 1;
    expect(page.changes.length).toBeLessThanOrEqual(limit ?? 1000);
    delivered.push(...page.changes.map((c) => `${c.subject}#${c.rev}`));
    cursor = page.cursor;
    if (!page.more) break;
    if (pulls > 2 * seeded.length) throw new Error("the feed does not end");
  }
  return { delivered, pulls };
}

describe("the change feed over more than one page of the index", () => {
  for (const limit of [1000, 501, 500, 499, undefined, 7]) {
    // The timeout guards against a feed that never ends.
    it(`delivers every one of 1,120 changes exactly once, in order, with limit ${limit ?? "absent"}`, async () => {
      const { delivered, pulls } = await pullAll(() => limit);
      expect(delivered.length).toBe(seeded.length);
      expect(delivered).toEqual(seeded);
      // Full pages until the end: a short page only when the feed is exhausted.
      expect(pulls).toBe(Math.floor(seeded.length / (limit ?? 1000)) + 1);
    }, 300_000);
  }

  // Limit 1 the whole way is 1,121 requests (a minute of the suite) for nothing the pulls above do not show:
  // one change per pull across the index's first page end (the 500th), then the rest at the default.
  it("delivers every change exactly once with limit 1 across the index's first page, then the default", async () => {
    const single = 520;
    const { delivered, pulls } = await pullAll((pull) => (pull < single ? 1 : undefined));
    expect(delivered).toEqual(seeded);
    expect(pulls).toBe(single + Math.floor((seeded.length - single) / 1000) + 1);
  }, 300_000);
});

describe("a DynamoDB page shorter than asked (the 1 MB limit)", () => {
  it("does not end the pull: a page of the feed is `limit` changes unless the feed is caught up", async () => {
    // The real client, except that every Query answers at most 7 items, as DynamoDB does when 1 MB is reached.
    const real = product.env.store.db.doc;
    const doc = {
      send: ((command: QueryCommand) => {
        if (command instanceof QueryCommand) {
          const input = { ...command.input, Limit: Math.min(command.input.Limit ?? 7, 7) };
          return real.send(new QueryCommand(input));
        }
        return real.send(command as never);
      }) as typeof real.send,
    };
    const store = createStore({ tableName: product.env.tableName, doc, macKey: product.env.store.macKey });
    const settledBefore = new Date().toISOString();
    const delivered: string[] = [];
    let cursor: string | undefined;
    for (;;) {
      const page = await store.readFeed(product.env.studyId, { cursor, settledBefore, limit: 300 });
      delivered.push(...page.changes.map((c) => `${c.subject}#${c.kind === "revision" ? c.rev : c.seq}`));
      cursor = page.cursor;
      if (page.changes.length < 300) break;
      expect(page.changes).toHaveLength(300);
    }
    expect(delivered).toEqual(seeded);
  }, 60_000);
});
