import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadDefinition } from "../../functions/definition-files.ts";
import { startDevEnvironment } from "../../functions/dev-environment.ts";
import { entryHash, genesisHash } from "../../functions/engine/audit-chain.ts";
import { accessLogChainId, accessLogContent } from "../../functions/store/access-log.ts";
import { Product } from "./harness.ts";

let product: Product;
beforeAll(async () => {
  product = new Product(await startDevEnvironment({ feedSettleMs: 0 }));
});
afterAll(() => product.close());

describe("the access log", () => {
  it("records a publish with its version and reason, the first entry of the study's chain", async () => {
    const { entries } = await product.env.store.readAccessLog(product.env.studyId);
    const [first] = entries;
    expect(first).toMatchObject({
      seq: 1,
      actor: "local",
      action: "publish",
      details: { version: 1, reason: "forms/ published at start" },
    });
    expect(first?.previousHash).toBe(genesisHash(accessLogChainId(product.env.studyId)));
  });

  it("gives each of many concurrent appends its own seq, every entry chained to the one before", async () => {
    const study = "concurrent-appends";
    await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        product.env.store.appendAccessLog(study, { actor: `a${i}`, action: "test", details: { i } }),
      ),
    );
    const { entries } = await product.env.store.readAccessLog(study);
    expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(new Set(entries.map((e) => e.actor)).size).toBe(12);
    let previous = genesisHash(accessLogChainId(study));
    for (const e of entries) {
      expect(e.previousHash).toBe(previous);
      expect(e.hash).toBe(entryHash(previous, accessLogContent(e as never)));
      previous = e.hash;
    }
  });

  it("reads past DynamoDB's 1 MB pages and continues after a seq", async () => {
    const study = "large-entries";
    const filler = "x".repeat(100_000);
    for (let i = 0; i < 14; i++) {
      await product.env.store.appendAccessLog(study, { actor: "a", action: "test", details: { filler } });
    }
    const all = await product.env.store.readAccessLog(study, { limit: 1000 });
    expect(all.entries.map((e) => e.seq)).toEqual(Array.from({ length: 14 }, (_, i) => i + 1));
    expect(all.next).toBeUndefined();
    const page = await product.env.store.readAccessLog(study, { after: 3, limit: 4 });
    expect(page.entries.map((e) => e.seq)).toEqual([4, 5, 6, 7]);
    expect(page.next).toBe(7);
  });

  it("records a later publish with the next seq", async () => {
    const definition = await loadDefinition("forms");
    definition.study.title = `${definition.study.title} (renamed)`;
    const outcome = await product.env.store.publish({
      definition,
      actor: "dev-builder",
      reason: "new title",
    });
    expect(outcome.kind).toBe("published");
    const { entries } = await product.env.store.readAccessLog(product.env.studyId);
    const [prior, last] = entries.slice(-2);
    expect(last).toMatchObject({
      seq: (prior?.seq ?? 0) + 1,
      actor: "dev-builder",
      action: "publish",
      details: { version: 2, reason: "new title" },
    });
    expect(last?.previousHash).toBe(prior?.hash);
  });

  it("takes a burst of concurrent appends without refusing any (parallel exports each log one)", async () => {
    const study = product.env.studyId;
    const before = (await product.env.store.readAccessLog(study, { limit: 1000 })).entries.length;
    const burst = Array.from({ length: 32 }, (_, w) =>
      (async () => {
        for (let i = 0; i < 6; i++)
          await product.env.store.appendAccessLog(study, { actor: `writer-${w}`, action: "export" });
      })(),
    );
    const outcomes = await Promise.allSettled(burst);
    expect(
      outcomes.filter((o) => o.status === "rejected").map((o) => String((o as PromiseRejectedResult).reason)),
    ).toEqual([]);
    const { entries } = await product.env.store.readAccessLog(study, { limit: 1000 });
    expect(entries.length - before).toBe(192);
    expect(new Set(entries.map((e) => e.seq)).size).toBe(entries.length);
    expect((await product.env.store.verifyAudit(study)).findings).toEqual([]);
  });
});
