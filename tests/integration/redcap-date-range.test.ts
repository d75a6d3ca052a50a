import { parse } from "csv-parse/sync";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevEnvironment } from "../../functions/dev-environment.ts";
import { Product } from "./harness.ts";

/**
 * REDCap's `dateRangeBegin`/`dateRangeEnd` keep the records with a data change
 * in the range, whatever happened to them later: REDCap reads its log, whose
 * time stamps have whole seconds, so the end second counts whole. A record
 * whose only change was marking an instance entered in error has changed too:
 * its rows are not what they were, and a client pulling by date must get it.
 */

let product: Product;
const ids: Record<string, string> = {};

async function saveAt(subject: string, edss: number, rev: number, at: string) {
  const definition = await product.env.store.definitions.current(product.env.studyId);
  const found = await product.env.store.getSubject(product.env.studyId, subject);
  if (!definition || !found) throw new Error("setup");
  const saved = await product.env.store.saveFormInstance({
    definition,
    subject: found,
    event: "screening",
    form: "edss",
    instance: 1,
    data: { edss_total: edss },
    status: "incomplete",
    rev,
    actor: "dev-site-01",
    now: new Date(at),
  });
  expect(saved.kind).toBe("saved");
}

beforeAll(async () => {
  product = new Product(await startDevEnvironment());
  for (const name of ["twice", "once", "marked"]) ids[name] = await product.enrol();
  await saveAt(ids.twice as string, 2, 0, "2026-01-10T12:00:00.500Z");
  await saveAt(ids.twice as string, 3, 1, "2026-01-20T09:00:00.000Z");
  await saveAt(ids.once as string, 4, 0, "2026-01-15T12:00:00.000Z");
  // Its other data, so the record still has a row once the adverse event is marked.
  await saveAt(ids.marked as string, 5, 0, "2026-01-01T08:00:00.000Z");
});
afterAll(() => product.close());

async function recordsIn(range: { dateRangeBegin?: string; dateRangeEnd?: string }): Promise<string[]> {
  const body = new URLSearchParams({
    token: product.token("sponsor"),
    content: "record",
    format: "csv",
    ...range,
  });
  body.append("fields[0]", "record_id");
  const res = await product.env.app.request("/api/", { method: "POST", body });
  const text = await res.text();
  expect(res.status, text).toBe(200);
  const rows = parse(text, { columns: true }) as { record_id: string }[];
  return [...new Set(rows.map((r) => r.record_id))];
}

describe("REDCap dateRangeBegin / dateRangeEnd", () => {
  it("keeps a record changed in the range and again after it", async () => {
    expect(
      await recordsIn({ dateRangeBegin: "2026-01-09 00:00:00", dateRangeEnd: "2026-01-12 00:00:00" }),
    ).toEqual([ids.twice]);
    expect(await recordsIn({ dateRangeBegin: "2026-01-14", dateRangeEnd: "2026-01-16" })).toEqual([ids.once]);
  });

  it("counts the end second whole, as REDCap's log does", async () => {
    expect(
      await recordsIn({ dateRangeBegin: "2026-01-10 11:00:00", dateRangeEnd: "2026-01-10 12:00:00" }),
    ).toEqual([ids.twice]);
  });

  it("keeps a record whose change was marking an instance entered in error", async () => {
    const subject = ids.marked as string;
    const saved = await product.save(
      subject,
      "logs",
      "adverse_event",
      { data: { ae_term: "Headache" } },
      { instance: 1 },
    );
    expect(saved.status).toBe(200);
    await new Promise((r) => setTimeout(r, 1100));
    const since = new Date().toISOString().slice(0, 19).replace("T", " ");
    await new Promise((r) => setTimeout(r, 1100));
    const marked = await product.call(
      "POST",
      `${product.formPath(subject, "logs", "adverse_event", 1)}/entered-in-error`,
      {
        as: "site-01",
        body: { rev: 1, reason: "Wrong subject" },
      },
    );
    expect(marked.status, JSON.stringify(marked.body)).toBe(200);
    expect(await recordsIn({ dateRangeBegin: since })).toEqual([subject]);
  });
});
