import { readFileSync } from "node:fs";
import path from "node:path";
import { GetCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadDefinition } from "../../functions/definition-files.ts";
import { LOGS_EVENT, type StudyDefinition } from "../../functions/engine/definition.ts";
import { keys } from "../../functions/store/keys.ts";
import { summaryKey, toSummary } from "../../functions/store/subject-summary-item.ts";
import { signIn } from "../bench/checkout-at.ts";
import { itemSize, type Meter, meter, valueSize } from "../bench/dynamo-units.ts";
import { buildCasebookPlan, type CasebookPlan } from "../bench/seed-study.ts";
import { BASE, type Product, STUDY, startProduct } from "./harness.ts";

/**
 * The figures of docs/cost-model.md, measured: the items one subject's
 * casebook leaves in the table when every form of the reference study is
 * saved once through the API (realistic fill: tests/bench/seed-study.ts's
 * values), and the read and write units of each operation the model prices.
 * Every figure the doc's table quotes is checked here within a tolerance, and
 * every figure measured here must be quoted: neither can drift from the other.
 */

const DOC = path.join(import.meta.dirname, "../../docs/cost-model.md");
/** Relative tolerance for bytes and units; small unit counts may also differ by one. */
const TOLERANCE = 0.1;
/** Empty subjects beside the full one, so a page of the export or listing is a whole page. */
const EMPTY_SUBJECTS = 199;

let product: Product;
let metered: Meter;
let plan: CasebookPlan;
let definition: StudyDefinition;
let full: string;
const figures: Record<string, number> = {};

/** The `| \`key\` | value | …` rows of the doc's measured table. */
function quoted(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of readFileSync(DOC, "utf8").matchAll(/^\|\s*`([a-z0-9.-]+)`\s*\|\s*([\d,.]+)\s*\|/gm))
    out[m[1] as string] = Number((m[2] as string).replaceAll(",", ""));
  return out;
}

async function measured<T>(work: () => Promise<T>): Promise<{ read: number; write: number; calls: number }> {
  metered.reset();
  await work();
  return metered.totals();
}

const slotPath = (subject: string, slot: CasebookPlan["slots"][number]) =>
  slot.event === LOGS_EVENT || slot.instance > 1 || slot.event === "unscheduled"
    ? product.formPath(subject, slot.event, slot.form, slot.instance)
    : product.formPath(subject, slot.event, slot.form);

/** The seeded schedule runs ten years from 2021: moved back so every visit is past (and after the study's start). */
const DAYS_BACK = 3_700;
const shiftBack = (v: unknown) =>
  typeof v === "string" && /^20\d\d-\d\d-\d\d/.test(v)
    ? new Date(Date.parse(`${v.slice(0, 10)}T00:00:00Z`) - DAYS_BACK * 86_400_000)
        .toISOString()
        .slice(0, 10) + v.slice(10)
    : v;

/**
 * The seeding values ignore soft ranges and today: a value a person would have
 * to confirm is moved inside its range, and dates back into the past.
 */
function realistic(form: string, data: Record<string, unknown>): Record<string, unknown> {
  const out = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, shiftBack(v)]));
  for (const [field, schema] of Object.entries(definition.instruments[form]?.properties ?? {})) {
    const lo = schema["x-soft-minimum"];
    const hi = schema["x-soft-maximum"];
    const v = out[field];
    if (typeof v !== "number" || (lo === undefined && hi === undefined)) continue;
    if ((lo !== undefined && v < lo) || (hi !== undefined && v > hi))
      out[field] =
        schema.type === "integer" ? Math.round(((lo ?? v) + (hi ?? v)) / 2) : ((lo ?? v) + (hi ?? v)) / 2;
  }
  return out;
}

async function saveSlot(subject: string, i: number) {
  const slot = plan.slots[i] as CasebookPlan["slots"][number];
  const t = slot.variants[0] as { data: Record<string, unknown>; status: string };
  const res = await product.call("PUT", slotPath(subject, slot), {
    as: "site-01",
    body: { data: realistic(slot.form, t.data), status: t.status, rev: 0 },
  });
  if (res.status !== 200 && res.status !== 201)
    throw new Error(`${slot.event}/${slot.form}/${slot.instance}: ${res.status} ${JSON.stringify(res.body)}`);
}

beforeAll(async () => {
  product = await startProduct();
  definition = await loadDefinition("forms");
  plan = buildCasebookPlan(definition, { definitionVersion: 1, maxSubjects: 1000 });
  metered = meter(product.env.store.db.doc as never, product.env.tableName);
  // Warm, as a Lambda that has served a request is: definition read, modules loaded.
  await saveSlot(await product.enrol("site-01", { site: "site-01", arm: plan.arms[0] }), 0);

  const enrol = await measured(async () => {
    full = await product.enrol("site-01", { site: "site-01", arm: plan.arms[0] });
  });
  figures["enrol.read"] = enrol.read;
  figures["enrol.write"] = enrol.write;
  const first = await measured(() => saveSlot(full, 0));
  figures["save.first.read"] = first.read;
  figures["save.first.write"] = first.write;
  figures["save.first.calls"] = first.calls;
  const rest = await measured(async () => {
    for (let i = 1; i < plan.slots.length - 1; i++) await saveSlot(full, i);
  });
  // Every form of the casebook saved once, in schedule order: what an average save costs over a study.
  const saves = plan.slots.length - 2;
  figures["save.mean.read"] = Math.round((rest.read / saves) * 10) / 10;
  figures["save.mean.write"] = Math.round((rest.write / saves) * 10) / 10;
  const last = await measured(() => saveSlot(full, plan.slots.length - 1));
  figures["save.late.read"] = last.read;
  figures["save.late.write"] = last.write;
  figures["save.late.calls"] = last.calls;
  console.log(
    "save, late:",
    metered.calls.map((c) => `${c.command} ${c.target.split("#")[0]} r${c.read} w${c.write}`),
  );
  for (let i = 0; i < EMPTY_SUBJECTS; i++)
    await product.enrol(`site-0${1 + (i % 2)}`, { site: `site-0${1 + (i % 2)}`, arm: plan.arms[0] });
}, 600_000);

afterAll(async () => {
  await product?.env.close();
});

describe("the cost model's figures (docs/cost-model.md)", () => {
  it("measures the items a full casebook leaves, by DynamoDB's size rules", async () => {
    const { Items = [] } = await product.env.store.db.doc.send(
      new QueryCommand({
        TableName: product.env.tableName,
        KeyConditionExpression: "PK = :pk",
        ExpressionAttributeValues: { ":pk": keys.subjectPartition(STUDY, full) },
      }),
    );
    const by = (type: string) => Items.filter((i) => i.type === type).map((i) => itemSize(i));
    const revisions = by("revision");
    const projections = by("current");
    expect(revisions).toHaveLength(plan.instancesPerSubject);
    expect(projections).toHaveLength(plan.instancesPerSubject);
    const mean = (xs: number[]) => Math.round(xs.reduce((a, b) => a + b, 0) / xs.length);
    figures["item.subject.bytes"] = by("subject")[0] ?? 0;
    figures["item.revision.mean-bytes"] = mean(revisions);
    figures["item.revision.max-bytes"] = Math.max(...revisions);
    figures["item.projection.mean-bytes"] = mean(projections);
    figures["casebook.items"] = Items.length;
    figures["casebook.bytes"] = Items.reduce((sum, i) => sum + itemSize(i), 0);
    // The dashboard's summary of the full casebook: every save of the subject pays its size in WRU.
    const { Item: summary } = await product.env.store.db.doc.send(
      new GetCommand({ TableName: product.env.tableName, Key: summaryKey(STUDY, "site-01", full) }),
    );
    expect(toSummary(summary ?? {}).instances).toHaveLength(plan.instancesPerSubject);
    figures["item.summary.bytes"] = itemSize(summary ?? {});
    expect(figures["item.revision.max-bytes"]).toBeLessThan(400 * 1024);
  });

  it("meters a casebook read, the flat CSV and REDCap exports, and the dashboard", async () => {
    const partition = keys.subjectPartition(STUDY, full);
    const ofFull = (c: { target: string }) => c.target === partition;
    const ofAnySubject = (c: { target: string }) => c.target.startsWith(keys.subjectPartition(STUDY, ""));
    const casebook = await measured(() => product.call("GET", `${BASE}/subjects/${full}`, { as: "site-01" }));
    figures["casebook.read"] = casebook.read;

    // A casebook with commits after the projection watermark is checked against its log's revision keys.
    const changed = await measured(() => product.env.store.readCurrentState(STUDY, full));
    figures["export.casebook.changed.read"] = changed.read;
    // Steady state: the repair pass has moved the watermark past every save (settle window 0 here, as if
    // the saves were a minute old), so the export reads projections only.
    await product.env.store.advanceProjectionWatermark(STUDY, { settleMs: 0, now: Date.now() + 1 });
    // Flat CSV, one page of 200 subjects: the full one and empty ones. Per 1,000 subjects: five such
    // pages' own reads (listing, statuses, watermark and feed check, access log) and 1,000 full casebooks.
    const page = await measured(async () => {
      const res = await product.call("GET", `${BASE}/records?format=csv&limit=200`, { as: "monitor" });
      expect(res.status).toBe(200);
    });
    const perCasebook = metered.totals(ofFull).read;
    const emptyCasebook = metered.totals((c) => ofAnySubject(c) && !ofFull(c));
    const pageOwn = {
      read: page.read - perCasebook - emptyCasebook.read,
      write: page.write,
    };
    figures["export.casebook.read"] = perCasebook;
    figures["export.page.read"] = pageOwn.read;
    figures["export.1000.read"] = 1000 * perCasebook + 5 * pageOwn.read;
    figures["export.1000.write"] = 5 * pageOwn.write;

    // REDCap's /api/ lists every subject at once: its listing scales with the study.
    const redcap = await measured(async () => {
      const res = await product.env.app.request("/api/", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          token: product.token("monitor"),
          content: "record",
          format: "csv",
          type: "flat",
        }).toString(),
      });
      expect(res.status, await res.clone().text()).toBe(200);
      await res.text();
    });
    const redcapCasebooks = metered.totals(ofAnySubject);
    const redcapOwn = redcap.read - redcapCasebooks.read;
    const subjects = EMPTY_SUBJECTS + 2;
    figures["redcap.1000.read"] =
      Math.round(1000 * metered.totals(ofFull).read + (redcapOwn * 1000) / subjects) || 0;
    figures["redcap.1000.write"] = redcap.write;

    // The dashboard: a cold Lambda reads every visible casebook once; a warm one the change feed.
    const cookie = await signIn(product.env.app, product.token("monitor"));
    const load = async () => {
      const res = await product.env.app.request(`/studies/${STUDY}`, { headers: { cookie } });
      expect(res.status).toBe(200);
      await res.text();
    };
    const cold = await measured(load);
    figures["dashboard.cold.casebook.read"] = metered.totals(ofFull).read;
    figures["dashboard.cold.own.read"] = cold.read - metered.totals(ofAnySubject).read;
    const warm = await measured(load);
    figures["dashboard.warm.read"] = warm.read;
    figures["dashboard.warm.calls"] = warm.calls;
    console.log(
      "dashboard, warm:",
      metered.calls.map((c) => `${c.command} ${c.target} r${c.read} w${c.write}`),
    );
    console.log(JSON.stringify(figures, null, 1));
  }, 300_000);

  it("sizes values as DynamoDB does", () => {
    expect(valueSize("héllo")).toBe(6);
    expect(valueSize(true)).toBe(1);
    expect(valueSize(null)).toBe(1);
    expect(valueSize(12345)).toBe(4); // 5 significant digits: 1 + 3
    expect(valueSize(0.5)).toBe(2);
    expect(valueSize(["a", 1])).toBe(3 + (1 + 1) + (1 + 2));
    expect(valueSize({ ab: "c" })).toBe(3 + 1 + 2 + 1);
    expect(itemSize({ PK: "x", n: 10 })).toBe(2 + 1 + 1 + 2);
  });

  it("the doc quotes every measured figure, each within the tolerance", () => {
    const doc = quoted();
    // Every figure measured, for the one who updates the doc.
    console.log("measured:", JSON.stringify(figures));
    expect(Object.keys(doc).sort()).toEqual(Object.keys(figures).sort());
    for (const [key, value] of Object.entries(figures)) {
      const said = doc[key] as number;
      const slack = Math.max(TOLERANCE * Math.abs(value), value < 20 ? 1 : 0);
      expect(Math.abs(said - value), `${key}: the doc says ${said}, measured ${value}`).toBeLessThanOrEqual(
        slack,
      );
    }
  });
});
