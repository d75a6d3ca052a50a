import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevEnvironment } from "../../functions/dev-environment.ts";
import { BASE, Product } from "./harness.ts";

/**
 * The incremental export: a sponsor pulling with a cursor while sites save
 * concurrently receives every committed revision once and only once, in commit
 * order — including a commit stamped before a pull but visible only after it.
 */
const SETTLE_MS = 300;
let product: Product;
beforeAll(async () => {
  product = new Product(await startDevEnvironment({ feedSettleMs: SETTLE_MS }));
});
afterAll(() => product.close());

type Change = {
  subject: string;
  event: string;
  form: string;
  instance: number;
  rev: number;
  committedAt: string;
  data: Record<string, unknown>;
};

async function pull(
  cursor: string,
  as = "sponsor",
): Promise<{ changes: Change[]; cursor: string; more: boolean }> {
  const q = cursor ? `?cursor=${cursor}&limit=7` : "?limit=7";
  const res = await product.env.app.request(`${BASE}/changes${q}`, {
    headers: { authorization: `Bearer ${product.token(as)}` },
  });
  expect(res.status).toBe(200);
  return (await res.json()) as { changes: Change[]; cursor: string; more: boolean };
}

const key = (c: Change) => `${c.subject}/${c.event}/${c.form}/${c.instance}#${c.rev}`;

describe("the change feed", () => {
  it("delivers every change of concurrent writers exactly once, in commit order", async () => {
    const subjects = await Promise.all([1, 2, 3, 4].map(() => product.enrol()));
    const delivered: Change[] = [];
    let cursor = "";
    let writing = true;
    let committed = 0;
    // Four writers, each saving its subject's vital signs again and again.
    const writers = subjects.map(async (s, w) => {
      let rev = 0;
      for (let i = 0; i < 12; i++) {
        const res = await product.save(s, "screening", "vital_signs", {
          data: { heart_rate: 60 + w * 20 + i },
          rev,
        });
        expect(res.status).toBe(200);
        rev = res.body.rev;
        committed += 1;
      }
    });
    const reader = (async () => {
      while (writing) {
        const page = await pull(cursor);
        delivered.push(...page.changes);
        cursor = page.cursor;
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    await Promise.all(writers);
    writing = false;
    await reader;
    // Drain once everything has settled.
    await new Promise((r) => setTimeout(r, SETTLE_MS + 50));
    for (;;) {
      const page = await pull(cursor);
      delivered.push(...page.changes);
      cursor = page.cursor;
      if (!page.more) break;
    }
    const mine = delivered.filter((c) => subjects.includes(c.subject));
    expect(committed).toBe(48);
    expect(mine).toHaveLength(48);
    expect(new Set(mine.map(key)).size).toBe(48);
    const times = mine.map((c) => c.committedAt);
    expect(times).toEqual([...times].sort());
    for (const s of subjects) {
      expect(mine.filter((c) => c.subject === s).map((c) => c.rev)).toEqual(
        Array.from({ length: 12 }, (_, i) => i + 1),
      );
    }
  });

  /**
   * A slow writer stamps its commit at t0 but its write lands later; meanwhile
   * another writer commits at t1 > t0 and a sponsor pulls. Returns what the
   * sponsor received of the two subjects over the whole sequence.
   */
  async function lateCommitScenario(p: Product, settleMs: number): Promise<string[]> {
    const pullAll = async (cursor: string) => {
      const res = await p.env.app.request(`${BASE}/changes${cursor ? `?cursor=${cursor}` : ""}`, {
        headers: { authorization: `Bearer ${p.token("sponsor")}` },
      });
      return (await res.json()) as { changes: Change[]; cursor: string };
    };
    const slow = await p.enrol();
    const fast = await p.enrol();
    await new Promise((r) => setTimeout(r, settleMs + 50));
    let cursor = (await pullAll("")).cursor;
    const definition = await p.env.store.definitions.current(p.env.studyId);
    const slowSubject = await p.env.store.getSubject(p.env.studyId, slow);
    if (!definition || !slowSubject) throw new Error("setup");
    const stampedAt = new Date();
    await new Promise((r) => setTimeout(r, 5));
    expect((await p.save(fast, "screening", "edss", { data: { edss_total: 3 } })).status).toBe(200);
    const received: string[] = [];
    const take = (page: { changes: Change[]; cursor: string }) => {
      received.push(
        ...page.changes.filter((c) => c.subject === slow || c.subject === fast).map((c) => c.subject),
      );
      cursor = page.cursor;
    };
    take(await pullAll(cursor));
    const late = await p.env.store.saveFormInstance({
      definition,
      subject: slowSubject,
      event: "screening",
      form: "edss",
      instance: 1,
      data: { edss_total: 2 },
      status: "incomplete",
      rev: 0,
      actor: "slow-writer",
      now: stampedAt,
    });
    expect(late.kind).toBe("saved");
    await new Promise((r) => setTimeout(r, settleMs + 50));
    take(await pullAll(cursor));
    take(await pullAll(cursor));
    return received.map((s) => (s === slow ? "slow" : "fast"));
  }

  it("does not skip a commit stamped before a later one but visible only after a pull", async () => {
    expect(await lateCommitScenario(product, SETTLE_MS)).toEqual(["slow", "fast"]);
  });

  it("would skip it without the settle window (why the window exists)", async () => {
    const unsettled = new Product(await startDevEnvironment({ feedSettleMs: 0 }));
    try {
      expect(await lateCommitScenario(unsettled, 0)).toEqual(["fast"]);
    } finally {
      await unsettled.close();
    }
  });

  it("scopes the feed to the caller's sites and refuses a forged cursor", async () => {
    const other = await product.enrol("site-02", { site: "site-02", arm: "nmo" });
    await product.save(other, "screening", "edss", { data: { edss_total: 4 } }, { as: "site-02" });
    await new Promise((r) => setTimeout(r, SETTLE_MS + 50));
    const seen: Change[] = [];
    let cursor = "";
    for (;;) {
      const page = await pull(cursor, "site-01");
      seen.push(...page.changes);
      cursor = page.cursor;
      if (!page.more) break;
    }
    expect(seen.some((c) => c.subject === other)).toBe(false);
    expect(seen.length).toBeGreaterThan(0);
    const forged = await product.env.app.request(`${BASE}/changes?cursor=bm9wZQ`, {
      headers: { authorization: `Bearer ${product.token("sponsor")}` },
    });
    expect(forged.status).toBe(400);
  });
});
