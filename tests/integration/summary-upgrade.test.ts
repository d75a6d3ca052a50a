import { GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StudyDefinition } from "../../functions/engine/definition.ts";
import { scheduleDateFields } from "../../functions/engine/schedule.ts";
import type { Revision } from "../../functions/store/form-instances.ts";
import { keys } from "../../functions/store/keys.ts";
import { summarizeRevision, summaryKey } from "../../functions/store/subject-summary-item.ts";
import { dashboardPage } from "../../functions/web/dashboard-page.ts";
import { itemSize } from "../bench/dynamo-units.ts";
import { type Product, STUDY, startProduct } from "./harness.ts";

/**
 * A deployment upgraded in place: its summaries were written by the code
 * before the compact entries (attributes named after the projection key, with
 * event, form, full status and every date-like value). They still read, a
 * save moves its instance to the compact format, a late write cannot undo a
 * newer old-format entry, and the repair rewrites what is left.
 */

let product: Product;
let definition: StudyDefinition;
let subject: string;
const today = new Date().toISOString().slice(0, 10);
const daysAgo = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);

/** The summary entry as the code before issue 15's second pass wrote it. */
function oldEntry(r: Revision) {
  return {
    e: r.event,
    f: r.form,
    n: r.instance,
    rev: r.rev,
    s: r.status,
    ...(r.enteredInError ? { x: true } : {}),
    d: Object.fromEntries(
      Object.entries(r.data).filter(([, v]) => typeof v === "string" && /^\d{4}-\d{2}-\d{2}/.test(v)),
    ),
  };
}

const db = () => product.env.store.db;
const key = () => summaryKey(STUDY, "site-01", subject);
const readItem = async () =>
  (await db().doc.send(new GetCommand({ TableName: db().tableName, Key: key(), ConsistentRead: true })))
    .Item as Record<string, unknown>;
const oldAttributes = (item: Record<string, unknown>) =>
  Object.keys(item).filter((k) => k.startsWith(keys.projections));

async function cells() {
  const page = await dashboardPage(
    product.env.store,
    definition,
    { q: subject },
    ["site-01", "site-02"],
    today,
  );
  const row = page.rows[0];
  const status = (event: string, form: string) =>
    row?.view.events.find((e) => e.event.id === event)?.forms.find((f) => f.form === form)?.status;
  return {
    dayOne: row?.view.dayOne,
    infusion: status("iv_1", "infusion"),
    vitals: status("screening", "vital_signs"),
  };
}

beforeAll(async () => {
  product = await startProduct();
  definition = (await product.env.store.definitions.current(STUDY)) as StudyDefinition;
  subject = await product.enrol();
  const dayOne = daysAgo(30);
  expect(
    (await product.save(subject, "iv_1", "infusion", { data: { infusion_date: dayOne, route: "iv" } }))
      .status,
  ).toBe(200);
  expect((await product.save(subject, "screening", "vital_signs", { data: { heart_rate: 70 } })).status).toBe(
    200,
  );
  // Rewritten as the old code left it.
  const instances = await product.env.store.readCurrentState(STUDY, subject);
  const { PK, SK, type, study, id, site, arm, enrolledAt, enrolledBy } = await readItem();
  await db().doc.send(
    new PutCommand({
      TableName: db().tableName,
      Item: {
        ...{ PK, SK, type, study, id, site, arm, enrolledAt, enrolledBy },
        ...Object.fromEntries(instances.map((r) => [keys.data(r.event, r.form, r.instance), oldEntry(r)])),
      },
    }),
  );
}, 120_000);
afterAll(() => product.close());

describe("summaries written before the compact format", () => {
  it("read as they did", async () => {
    expect(oldAttributes(await readItem())).toHaveLength(2);
    expect(await cells()).toEqual({ dayOne: daysAgo(30), infusion: "incomplete", vitals: "incomplete" });
  });

  it("a save moves its instance to the compact format; the other still reads", async () => {
    const res = await product.save(subject, "screening", "vital_signs", {
      data: { heart_rate: 72, vs_date: daysAgo(60) },
      rev: 1,
    });
    expect(res.status).toBe(200);
    const item = await readItem();
    expect(oldAttributes(item)).toEqual([keys.data("iv_1", "infusion", 1)]);
    expect(item["screening#vital_signs#1"]).toEqual({ r: 2, s: 0, d: { vs_date: daysAgo(60) } });
    expect(await cells()).toEqual({ dayOne: daysAgo(30), infusion: "incomplete", vitals: "incomplete" });
  });

  it("a late write does not undo a newer old-format entry", async () => {
    const [infusion] = (await product.env.store.readCurrentState(STUDY, subject)).filter(
      (r) => r.form === "infusion",
    );
    if (!infusion) throw new Error("setup");
    const old = keys.data("iv_1", "infusion", 1);
    const item = await readItem();
    const newer = { ...(item[old] as Record<string, unknown>), rev: 5, s: "complete" };
    await db().doc.send(new PutCommand({ TableName: db().tableName, Item: { ...item, [old]: newer } }));
    await summarizeRevision(db(), infusion, scheduleDateFields(definition));
    const after = await readItem();
    expect(after[old]).toEqual(newer);
    expect(after["iv_1#infusion#1"]).toBeUndefined();
    // Put back as it was for the repair below.
    await db().doc.send(new PutCommand({ TableName: db().tableName, Item: item }));
  });

  it("the repair rewrites the rest in the compact format, smaller, reading the same", async () => {
    const before = await readItem();
    const repairs = await product.env.store.repairSummaries(
      STUDY,
      ["site-01"],
      scheduleDateFields(definition),
    );
    expect(repairs).toEqual([
      { subject, site: "site-01", created: false, instances: ["iv_1/infusion#1"], status: false },
    ]);
    const after = await readItem();
    expect(oldAttributes(after)).toEqual([]);
    expect(after["iv_1#infusion#1"]).toEqual({ r: 1, s: 0, d: { infusion_date: daysAgo(30) } });
    expect(itemSize(after)).toBeLessThan(itemSize(before));
    expect(await cells()).toEqual({ dayOne: daysAgo(30), infusion: "incomplete", vitals: "incomplete" });
  });
});
