import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StudyDefinition } from "../../functions/engine/definition.ts";
import { scheduleDateFields } from "../../functions/engine/schedule.ts";
import { keys } from "../../functions/store/keys.ts";
import { createStore, type Store } from "../../functions/store/store.ts";
import { dashboardPage, MAX_PAGE_READS } from "../../functions/web/dashboard-page.ts";
import type { DashboardQuery } from "../../functions/web/dashboard-query.ts";
import { type Product, startProduct } from "./harness.ts";
import { Browser } from "./web-client.ts";

/**
 * The dashboard read from the per-subject summaries: 120 subjects over two
 * sites paged 50 at a time with the sealed cursor (each subject exactly once,
 * at most two Queries a page), filters giving exactly the right sets, and a
 * save whose process died between its projection and its summary repaired.
 */

type Send = Pick<DynamoDBDocumentClient, "send">;
const SITE_01 = 70;
const SITE_02 = 50;

let product: Product;
let definition: StudyDefinition;
const enrolled: { id: string; site: string; arm: string }[] = [];
const today = new Date().toISOString().slice(0, 10);
const daysAgo = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);

/** A store over the same table whose every call is recorded (command name and key condition's partition). */
function countingStore(): { store: Store; calls: { command: string; pk?: string }[] } {
  const calls: { command: string; pk?: string }[] = [];
  const real = product.env.store.db.doc;
  const doc: Send = {
    send: ((command: { constructor: { name: string }; input: Record<string, unknown> }) => {
      const values = command.input.ExpressionAttributeValues as Record<string, unknown> | undefined;
      const key = command.input.Key as Record<string, unknown> | undefined;
      calls.push({ command: command.constructor.name, pk: String(values?.[":pk"] ?? key?.PK ?? "") });
      return real.send(command as never);
    }) as unknown as Send["send"],
  };
  return {
    store: createStore({ tableName: product.env.tableName, doc, macKey: product.env.store.macKey }),
    calls,
  };
}

const ALL = ["site-01", "site-02"];

/** Every page of the dashboard under these filters, and the reads each page took. */
async function allPages(store: Store, calls: { command: string }[], query: Omit<DashboardQuery, "after">) {
  const ids: string[] = [];
  const reads: number[] = [];
  let after: string | undefined;
  for (let page = 0; page < 20; page++) {
    const before = calls.length;
    const selection = await dashboardPage(
      store,
      definition,
      { ...query, ...(after ? { after } : {}) },
      ALL,
      today,
    );
    reads.push(calls.slice(before).filter((c) => c.command === "QueryCommand").length);
    ids.push(...selection.rows.map((r) => r.subject.id));
    after = selection.next;
    if (!after) return { ids, reads };
  }
  throw new Error("the cursor never ended");
}

beforeAll(async () => {
  product = await startProduct();
  const { store, studyId } = product.env;
  definition = (await store.definitions.current(studyId)) as StudyDefinition;
  for (const [site, code, count] of [
    ["site-01", "01", SITE_01],
    ["site-02", "02", SITE_02],
  ] as const)
    for (let i = 0; i < count; i++) {
      const arm = i % 4 === 0 ? "nmo" : "rrms";
      const result = await store.enrolSubject({ study: studyId, site, siteCode: code, arm, actor: "test" });
      if (result.kind !== "enrolled") throw new Error("enrolment");
      enrolled.push({ id: result.subject.id, site, arm });
    }
  // Day one long ago and nothing else: their past visits are overdue, and one form is incomplete.
  const dayOne = { infusion_date: daysAgo(200), route: "iv" };
  expect((await product.save("01-005", "iv_1", "infusion", { data: dayOne })).status).toBe(200);
  expect((await product.save("02-040", "iv_1", "infusion", { data: dayOne }, { as: "site-02" })).status).toBe(
    200,
  );
}, 120_000);
afterAll(() => product.close());

describe("dashboard pages from summaries", () => {
  it("pages 120 subjects with the cursor: each exactly once, at most two Queries a page", async () => {
    const { store, calls } = countingStore();
    const { ids, reads } = await allPages(store, calls, {});
    expect(ids).toHaveLength(SITE_01 + SITE_02);
    expect(new Set(ids)).toEqual(new Set(enrolled.map((s) => s.id)));
    expect(reads).toHaveLength(3);
    for (const n of reads) expect(n).toBeLessThanOrEqual(MAX_PAGE_READS);
    // Every read of a page is a Query of the summary partition; the cursor key is read once per process.
    const pageReads = calls.filter((c) => c.command !== "PutCommand");
    expect(
      pageReads
        .filter((c) => c.command === "QueryCommand")
        .every((c) => c.pk === keys.summaries(product.env.studyId)),
    ).toBe(true);
    expect(pageReads.filter((c) => c.command === "GetCommand")).toHaveLength(1);
  });

  it("pages back from the last page to the first: the same pages, numbered the same, at most two Queries each", async () => {
    const { store, calls } = countingStore();
    for (const query of [{}, { arm: "rrms" }, { site: "site-02" }] as Omit<DashboardQuery, "after">[]) {
      const forward: { ids: string[]; first: number }[] = [];
      let selection = await dashboardPage(store, definition, query, ALL, today);
      forward.push({ ids: selection.rows.map((r) => r.subject.id), first: selection.first });
      expect(selection.previous).toBeUndefined();
      while (selection.next) {
        selection = await dashboardPage(store, definition, { ...query, after: selection.next }, ALL, today);
        forward.push({ ids: selection.rows.map((r) => r.subject.id), first: selection.first });
      }
      const backward = [forward.at(-1)];
      while (selection.previous) {
        const before = calls.length;
        selection = await dashboardPage(
          store,
          definition,
          { ...query, after: selection.previous },
          ALL,
          today,
        );
        expect(calls.slice(before).filter((c) => c.command === "QueryCommand").length).toBeLessThanOrEqual(
          MAX_PAGE_READS,
        );
        backward.unshift({ ids: selection.rows.map((r) => r.subject.id), first: selection.first });
        // Forward again from a page reached backwards: the page that followed it.
        if (selection.next && backward.length === 2) {
          const again = await dashboardPage(
            store,
            definition,
            { ...query, after: selection.next },
            ALL,
            today,
          );
          expect(again.rows.map((r) => r.subject.id)).toEqual(forward.at(-1)?.ids);
        }
      }
      expect(forward.length, JSON.stringify(query)).toBeGreaterThan(1);
      expect(backward).toEqual(forward);
    }
  });

  it("refuses a page-back cursor under other filters, or altered (400)", async () => {
    const second = await dashboardPage(
      product.env.store,
      definition,
      { after: (await dashboardPage(product.env.store, definition, {}, ALL, today)).next },
      ALL,
      today,
    );
    const previous = second.previous as string;
    await expect(
      dashboardPage(product.env.store, definition, { arm: "nmo", after: previous }, ALL, today),
    ).rejects.toMatchObject({
      status: 400,
    });
    const altered = `${previous.slice(0, 10)}${previous[10] === "A" ? "B" : "A"}${previous.slice(11)}`;
    await expect(
      dashboardPage(product.env.store, definition, { after: altered }, ALL, today),
    ).rejects.toMatchObject({
      status: 400,
    });
  });

  it("filters on the server: arm, site, id prefix, visit timing, form status", async () => {
    const { store, calls } = countingStore();
    const ids = async (query: Omit<DashboardQuery, "after">) =>
      (await allPages(store, calls, query)).ids.sort();
    const where = (f: (s: (typeof enrolled)[number]) => boolean) =>
      enrolled
        .filter(f)
        .map((s) => s.id)
        .sort();
    expect(await ids({ arm: "nmo" })).toEqual(where((s) => s.arm === "nmo"));
    expect(await ids({ site: "site-02" })).toEqual(where((s) => s.site === "site-02"));
    expect(await ids({ site: "site-01", arm: "rrms" })).toEqual(
      where((s) => s.site === "site-01" && s.arm === "rrms"),
    );
    expect(await ids({ q: "02-01" })).toEqual(where((s) => s.id.startsWith("02-01")));
    expect(await ids({ timing: "overdue" })).toEqual(["01-005", "02-040"]);
    expect(await ids({ status: "incomplete" })).toEqual(["01-005", "02-040"]);
    // A filter that leaves pages short still reads at most two Queries a page.
    const { reads } = await allPages(store, calls, { timing: "overdue" });
    for (const n of reads) expect(n).toBeLessThanOrEqual(MAX_PAGE_READS);
  });

  it("draws a page in at most 2 KB of HTML a subject", async () => {
    const b = new Browser(product);
    await b.signIn("monitor");
    const res = await b.request("GET", `/studies/${product.env.studyId}`);
    const rows = res.html.split("<tr data-subject=").length - 1;
    expect(rows).toBe(50);
    const body = /<tbody>([\s\S]*)<\/tbody>/.exec(res.html)?.[1] ?? "";
    expect(Buffer.byteLength(body) / rows).toBeLessThanOrEqual(2048);
    // The whole page too, its header, filters and legend shared out over the rows.
    expect(Buffer.byteLength(res.html) / rows).toBeLessThanOrEqual(2048);
  });

  it("a save whose process died after the projection, before the summary, is shown once repaired", async () => {
    const env = product.env;
    const subject = await env.store.getSubject(env.studyId, "01-007");
    if (!subject) throw new Error("setup");
    const real = env.store.db.doc;
    const summaryPartition = keys.summaries(env.studyId);
    // The summary's UpdateItem is the call that fails: everything before it, and the projection beside it, took effect.
    const doc: Send = {
      send: (async (command: { constructor: { name: string }; input: { Key?: { PK?: string } } }) => {
        if (command.constructor.name === "UpdateCommand" && command.input.Key?.PK === summaryPartition)
          throw new Error("process died");
        return real.send(command as never);
      }) as unknown as Send["send"],
    };
    const dying = createStore({ tableName: env.tableName, doc, macKey: env.store.macKey });
    await expect(
      dying.saveFormInstance({
        definition,
        subject,
        event: "screening",
        form: "vital_signs",
        instance: 1,
        data: { heart_rate: 70 },
        status: "incomplete",
        rev: 0,
        actor: "dev-site-01",
      }),
    ).rejects.toThrow("process died");
    const cell = async () => {
      const page = await dashboardPage(env.store, definition, { q: "01-007" }, ALL, today);
      const screening = page.rows[0]?.view.events.find((e) => e.event.id === "screening");
      return screening?.forms.find((f) => f.form === "vital_signs")?.status;
    };
    // The projection moved, the summary did not: a reader of projections alone would not see anything wrong.
    // (The projection's put was sent beside the failed update: it may land a moment after the failure.)
    await expect
      .poll(async () => (await env.store.readProjections(env.studyId, "01-007")).map((p) => p.rev))
      .toEqual([1]);
    expect(await cell()).toBe("not_started");
    // The repair compares each entry's rev with the log's latest revision and moves what is behind.
    const repairs = await env.store.repairSummaries(env.studyId, ["site-01"], scheduleDateFields(definition));
    expect(repairs).toEqual([
      {
        subject: "01-007",
        site: "site-01",
        created: false,
        instances: ["screening/vital_signs#1"],
        status: false,
      },
    ]);
    expect(await cell()).toBe("incomplete");
    // Once repaired there is nothing left to do.
    expect(await env.store.repairSummaries(env.studyId, ["site-01"], scheduleDateFields(definition))).toEqual(
      [],
    );
  });
});
