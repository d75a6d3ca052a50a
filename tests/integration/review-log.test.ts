import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevEnvironment } from "../../functions/dev-environment.ts";
import { entryHash, genesisHash, headMessage } from "../../functions/engine/audit-chain.ts";
import { MalformedItemError } from "../../functions/store/item-fields.ts";
import {
  appendReview,
  readReviewLog,
  readSiteQueryEntries,
  readSiteStatusEntries,
  reviewChainId,
  reviewContent,
  toReviewEntry,
} from "../../functions/store/review-log.ts";
import { Product } from "./harness.ts";

let product: Product;
beforeAll(async () => {
  product = new Product(await startDevEnvironment({ feedSettleMs: 0 }));
});
afterAll(() => product.close());

const db = () => product.env.store.db;
const macKey = () => product.env.store.macKey;

describe("the review log", () => {
  it("chains a subject's entries, seals each with a MAC, and keeps them apart from the study's", async () => {
    const study = "review-chains";
    const base = { study, subject: "S-1", site: "site-a", by: "monitor@example.org" };
    await appendReview(db(), macKey(), {
      ...base,
      target: {},
      action: "query-open",
      query: "q1",
      text: "Why?",
    });
    await appendReview(db(), macKey(), { ...base, target: { event: "screening" }, action: "lock" });
    await appendReview(db(), macKey(), { study, by: "dm", target: {}, action: "lock", reason: "freeze" });

    const subjectLog = await readReviewLog(db(), study, "S-1");
    expect(subjectLog.map((e) => [e.seq, e.action])).toEqual([
      [1, "query-open"],
      [2, "lock"],
    ]);
    let previous = genesisHash(reviewChainId(study, "S-1"));
    for (const entry of subjectLog) {
      expect(entry.previousHash).toBe(previous);
      expect(entry.hash).toBe(entryHash(previous, reviewContent(entry as never)));
      expect(entry.mac).toBe(
        await macKey().mac(headMessage(reviewChainId(study, "S-1"), entry.seq, entry.hash)),
      );
      previous = entry.hash;
    }
    const studyLog = await readReviewLog(db(), study);
    expect(studyLog).toHaveLength(1);
    expect(studyLog[0]).toMatchObject({ seq: 1, action: "lock", reason: "freeze" });
    expect(studyLog[0]?.previousHash).toBe(genesisHash(reviewChainId(study, undefined)));
  });

  it("gives each of many concurrent appends to one subject its own seq", async () => {
    const study = "review-concurrent";
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        appendReview(db(), macKey(), {
          study,
          subject: "S-2",
          site: "site-a",
          by: `m${i}`,
          target: { event: "e", form: "f", instance: 1 },
          action: "verify",
          covers: [{ event: "e", form: "f", instance: 1, rev: i + 1 }],
        }),
      ),
    );
    const log = await readReviewLog(db(), study, "S-2");
    expect(log.map((e) => e.seq)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    expect(new Set(log.map((e) => e.by)).size).toBe(10);
  });

  it("lists query and status entries per site, and nothing of another site", async () => {
    const study = "review-sites";
    const entry = (site: string, subject: string) => ({ study, subject, site, by: "x", target: {} });
    await appendReview(db(), macKey(), {
      ...entry("a", "A-1"),
      action: "query-open",
      query: "q1",
      text: "t",
    });
    await appendReview(db(), macKey(), { ...entry("a", "A-1"), action: "query-close", query: "q1" });
    await appendReview(db(), macKey(), {
      ...entry("b", "B-1"),
      action: "query-open",
      query: "q2",
      text: "t",
    });
    await appendReview(db(), macKey(), {
      ...entry("a", "A-2"),
      action: "subject-status",
      status: "withdrawn",
      date: "2026-11-30",
      reason: "moved away",
    });
    await appendReview(db(), macKey(), { ...entry("a", "A-2"), action: "lock" });
    expect(
      (await readSiteQueryEntries(db(), study, "a")).map((e) => [
        "query" in e ? e.query : undefined,
        e.action,
      ]),
    ).toEqual([
      ["q1", "query-open"],
      ["q1", "query-close"],
    ]);
    expect((await readSiteQueryEntries(db(), study, "b")).map((e) => e.subject)).toEqual(["B-1"]);
    expect((await readSiteStatusEntries(db(), study, "a")).map((e) => [e.subject, e.action])).toEqual([
      ["A-2", "subject-status"],
    ]);
  });

  it("puts every entry in the change feed, beside the revisions, once", async () => {
    const study = product.env.studyId;
    const settledBefore = () => new Date(Date.now() + 1000).toISOString();
    const before = await product.env.store.readFeed(study, { settledBefore: settledBefore(), limit: 10_000 });
    const entry = await appendReview(db(), macKey(), {
      study,
      subject: "FEED-1",
      site: "x",
      by: "m",
      target: {},
      action: "subject-status",
      status: "completed",
    });
    const page = await product.env.store.readFeed(study, {
      cursor: before.cursor,
      settledBefore: settledBefore(),
      limit: 10_000,
    });
    expect(page.changes).toEqual([{ kind: "review", ...entry }]);
  });

  it("refuses to decode an item without a target or seal", () => {
    const item = { PK: "p", SK: "REVIEW#000000001", study: "s", seq: 1, at: "t", by: "b", action: "lock" };
    expect(() => toReviewEntry(item)).toThrow(MalformedItemError);
    expect(() => toReviewEntry({ ...item, target: {} })).toThrow(/hash|previousHash/);
  });
});
