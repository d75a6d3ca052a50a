import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevEnvironment } from "../../functions/dev-environment.ts";
import { dateShift, subjectKey } from "../../functions/exports/deidentify.ts";
import { appendReview, type ReviewRequest } from "../../functions/store/review-log.ts";
import { BASE, Product } from "./harness.ts";

/**
 * Review entries (queries, verification, locks, signatures, status) in the
 * change feed: a sponsor's pipeline sees each exactly once, in commit order,
 * interleaved with the revisions, across pages of the index (the store reads
 * it 500 items at a time), only of the caller's sites (the study's own
 * entries, a freeze, to everyone), and de-identified on request.
 */
const ROUNDS = 100;
const NAME = "Smyth";
let product: Product;
/** Every seeded change, in commit order, as `<subject|study>#<rev n|seq n>`, with its site. */
let seeded: { key: string; site?: string }[];
let siteOf: Map<string, string>;

beforeAll(async () => {
  product = new Product(await startDevEnvironment({ feedSettleMs: 0 }));
  const { store, studyId: study } = product.env;
  const definition = await store.definitions.current(study);
  if (!definition) throw new Error("setup");
  const ids = [
    await product.enrol(),
    await product.enrol(),
    await product.enrol("site-02", { site: "site-02", arm: "nmo" }),
  ];
  const subjects = await Promise.all(ids.map((id) => store.getSubject(study, id)));
  siteOf = new Map(subjects.map((s) => [s?.id ?? "", s?.site ?? ""]));
  // Stamped in the past, each change its own millisecond, so every one is settled and the order is known.
  let clock = Date.now() - 3_600_000;
  const tick = () => new Date(clock++);
  seeded = [];
  const review = async (request: ReviewRequest) => {
    const entry = await appendReview(store.db, store.macKey, request, { now: tick });
    seeded.push({
      key: `${entry.subject ?? "study"}#seq ${entry.seq}`,
      ...(entry.site ? { site: entry.site } : {}),
    });
  };
  for (let round = 0; round < ROUNDS; round++) {
    for (const subject of subjects) {
      if (!subject) throw new Error("setup");
      const saved = await store.saveFormInstance({
        definition,
        subject,
        event: "screening",
        form: "vital_signs",
        instance: 1,
        data: { heart_rate: 60 + (round % 2) },
        status: "incomplete",
        rev: round,
        actor: "seed",
        now: tick(),
      });
      if (saved.kind !== "saved") throw new Error(`seed: ${saved.kind}`);
      seeded.push({ key: `${subject.id}#rev ${round + 1}`, site: subject.site });
      const on = {
        study,
        subject: subject.id,
        site: subject.site,
        by: "dev-monitor",
        target: { event: "screening", form: "vital_signs", instance: 1, field: "heart_rate" },
      };
      const covers = [{ event: "screening", form: "vital_signs", instance: 1, rev: round + 1 }];
      if (round % 3 === 0)
        await review({
          ...on,
          action: "query-open",
          query: `q${round}`,
          text: `Source says ${NAME}, not ${round}`,
        });
      else if (round % 3 === 1) await review({ ...on, action: "verify", covers });
      else
        await review({
          ...on,
          target: {},
          action: "subject-status",
          status: "enrolled",
          date: "2026-03-04",
          reason: `Confirmed by ${NAME}`,
        });
    }
    if (round % 40 === 39)
      await review({
        study,
        by: "dev-data-manager",
        target: {},
        action: "lock",
        reason: `Freeze asked by ${NAME}`,
      });
    // A freeze holds every save: lifted again at once, so the next round can save (the lift is in the feed too).
    if (round % 40 === 39)
      await review({ study, by: "dev-data-manager", target: {}, action: "unlock", reason: "Interim done" });
  }
}, 300_000);
afterAll(() => product.close());

type Change = Record<string, unknown> & { type: string; subject?: string; site?: string };

async function pullAll(as: string, query: Record<string, string> = {}): Promise<Change[]> {
  const delivered: Change[] = [];
  let cursor = "";
  for (let pulls = 0; ; pulls++) {
    const q = new URLSearchParams(query);
    if (cursor) q.set("cursor", cursor);
    const res = await product.call("GET", `${BASE}/changes?${q}`, { as });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    delivered.push(...res.body.changes);
    cursor = res.body.cursor;
    if (!res.body.more) return delivered;
    if (pulls > 2 * seeded.length) throw new Error("the feed does not end");
  }
}

const keyOf = (c: Change) =>
  c.type === "review" ? `${c.subject ?? "study"}#seq ${String(c.seq)}` : `${c.subject}#rev ${String(c.rev)}`;

describe("review entries in the change feed", () => {
  it("were seeded past one page of the index", () => {
    expect(seeded.length).toBeGreaterThan(600);
    expect(seeded.filter((s) => s.key.startsWith("study#"))).toHaveLength(4);
  });

  for (const limit of [500, 499, 1000, 37]) {
    it(`delivers every review entry exactly once, in order among the revisions, with limit ${limit}`, async () => {
      const delivered = await pullAll("sponsor", { limit: String(limit) });
      expect(delivered.map(keyOf)).toEqual(seeded.map((s) => s.key));
      const types = new Set(delivered.map((c) => c.type));
      expect(types).toEqual(new Set(["revision", "review"]));
    });
  }

  it("carries each entry as the review log holds it, without its seal", async () => {
    const delivered = await pullAll("sponsor");
    const [open] = delivered.filter((c) => c.action === "query-open");
    const subject = String(open?.subject);
    expect(open).toEqual({
      type: "review",
      subject,
      site: siteOf.get(subject),
      seq: 1,
      at: expect.any(String),
      by: "dev-monitor",
      target: { event: "screening", form: "vital_signs", instance: 1, field: "heart_rate" },
      action: "query-open",
      query: "q0",
      text: `Source says ${NAME}, not 0`,
    });
    const freeze = delivered.find((c) => c.action === "lock");
    expect(freeze).toMatchObject({ type: "review", target: {}, reason: `Freeze asked by ${NAME}` });
    expect(freeze).not.toHaveProperty("subject");
  });

  it("shows a site's user only its own sites' entries, and the study's to everyone", async () => {
    const delivered = await pullAll("site-01", { limit: "499" });
    const visible = seeded.filter((s) => s.site === undefined || s.site === "site-01");
    expect(delivered.map(keyOf)).toEqual(visible.map((s) => s.key));
    expect(delivered.some((c) => c.site === "site-02")).toBe(false);
    expect(delivered.filter((c) => c.type === "review" && c.subject === undefined)).toHaveLength(4);
  });

  it("de-identifies review entries like revisions: the subject keyed, dates shifted, free text dropped", async () => {
    const plain = await pullAll("sponsor");
    const salt = await product.env.store.exportSalt(product.env.studyId);
    const delivered = await pullAll("sponsor", { deidentify: "true", hashIds: "true" });
    expect(delivered).toHaveLength(plain.length);
    expect(JSON.stringify(delivered)).not.toContain(NAME);
    for (const [i, c] of delivered.entries()) {
      const original = plain[i] as Change;
      if (original.type !== "review") continue;
      expect(c.type).toBe("review");
      expect(c).not.toHaveProperty("text");
      expect(c).not.toHaveProperty("reason");
      if (original.subject === undefined) {
        expect(c).toEqual(Object.fromEntries(Object.entries(original).filter(([k]) => k !== "reason")));
        continue;
      }
      const subject = original.subject;
      expect(c.subject).toBe(subjectKey(salt, subject));
      const days = dateShift(salt, subject);
      const shifted = new Date(Date.parse(String(original.at)) + days * 86_400_000).toISOString();
      expect(c.at).toBe(shifted);
      if (original.date !== undefined)
        expect(c.date).toBe(
          new Date(Date.parse("2026-03-04") + days * 86_400_000).toISOString().slice(0, 10),
        );
    }
    // A subject's revisions and review entries are keyed alike, so a pipeline can join them.
    const keys = new Set(delivered.map((c) => c.subject).filter((s) => s !== undefined));
    expect(keys.size).toBe(3);
  });
});
