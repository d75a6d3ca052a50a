import { GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keys } from "../../functions/store/keys.ts";
import { TABLE } from "../../functions/store/table-shape.ts";
import { type Product, startProduct } from "./harness.ts";
import { Browser } from "./web-client.ts";

/**
 * The record status dashboard at scale: paged (a sealed cursor) and filtered
 * on the server from the subjects' summaries, a count of the page's overdue
 * visits that links to those subjects, and never a subject (or a count) from
 * a site the caller cannot see.
 */

let product: Product;
const study = "/studies/hucmsc-ms-nmo";
const SITE_01 = 60;
const SITE_02 = 3;
/** Day one 200 days ago: screening, iv_1's neighbours up to m6 are past their windows (9 visits), m9 is not due yet. */
const OVERDUE_PER_SUBJECT = 9;

const daysAgo = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);
const subjectsIn = (html: string) => [...html.matchAll(/data-subject="([^"]+)"/g)].map((m) => m[1] as string);
const fromHtml = (href: string) => href.replaceAll("&amp;", "&");

beforeAll(async () => {
  product = await startProduct();
  for (let i = 0; i < SITE_01; i++)
    await product.enrol("site-01", { site: "site-01", arm: i % 3 === 0 ? "nmo" : "rrms" });
  for (let i = 0; i < SITE_02; i++) await product.enrol("site-02", { site: "site-02", arm: "rrms" });
  // One subject per site with day one long ago and nothing else: its past visits are overdue.
  const dayOne = { infusion_date: daysAgo(200), route: "iv" };
  expect((await product.save("01-001", "iv_1", "infusion", { data: dayOne })).status).toBe(200);
  expect((await product.save("02-001", "iv_1", "infusion", { data: dayOne }, { as: "site-02" })).status).toBe(
    200,
  );
}, 60_000);
afterAll(() => product.close());

async function signedIn(name: string) {
  const b = new Browser(product);
  await b.signIn(name);
  return b;
}

describe("dashboard paging", () => {
  it("shows 50 subjects a page in id order, with a link to the next page", async () => {
    const b = await signedIn("site-01");
    const first = await b.request("GET", study);
    expect(first.status).toBe(200);
    const page1 = subjectsIn(first.html);
    expect(page1).toHaveLength(50);
    expect(page1[0]).toBe("01-001");
    expect(page1).toEqual([...page1].sort());
    expect(first.html).toContain("Subjects 1–50, more on the next page");
    const next = /<a[^>]*rel="next"[^>]*href="([^"]+)"/.exec(first.html)?.[1];
    expect(next).toBeDefined();
    const second = await b.request("GET", fromHtml(next as string));
    const page2 = subjectsIn(second.html);
    expect(page2).toHaveLength(10);
    expect(second.html).toContain("Subjects 51–60<");
    expect(second.html).not.toMatch(/rel="next"/);
    expect(new Set([...page1, ...page2]).size).toBe(60);
  });

  it("refuses a cursor it did not hand out, or one handed out under other filters", async () => {
    const b = await signedIn("site-01");
    const next = /<a[^>]*rel="next"[^>]*href="[^"]*after=([^"&]+)"/.exec(
      (await b.request("GET", study)).html,
    )?.[1];
    expect(next).toBeDefined();
    for (const path of [
      `${study}?after=abc`,
      `${study}?after=${(next as string).slice(0, 20)}${(next as string)[20] === "A" ? "B" : "A"}${(next as string).slice(21)}`,
      `${study}?arm=nmo&after=${next}`,
    ]) {
      const res = await b.request("GET", path);
      expect(res.status, path).toBe(400);
      expect(res.html, path).toContain("after");
    }
    expect((await b.request("GET", `${study}?after=${next}`)).status).toBe(200);
  });
});

describe("dashboard filters", () => {
  it("filters by subject id prefix, arm and site on the server", async () => {
    const b = await signedIn("monitor");
    const prefix = subjectsIn((await b.request("GET", `${study}?q=01-00`)).html);
    expect(prefix).toEqual([
      "01-001",
      "01-002",
      "01-003",
      "01-004",
      "01-005",
      "01-006",
      "01-007",
      "01-008",
      "01-009",
    ]);
    const nmo = await b.request("GET", `${study}?arm=nmo&site=site-01`);
    expect(subjectsIn(nmo.html)).toHaveLength(20);
    expect(nmo.html).toContain("Subjects 1–20<");
    const site2 = subjectsIn((await b.request("GET", `${study}?site=site-02`)).html);
    expect(site2).toEqual(["02-001", "02-002", "02-003"]);
  });

  it("filters by visit timing and by form status", async () => {
    const b = await signedIn("monitor");
    expect(subjectsIn((await b.request("GET", `${study}?timing=overdue`)).html)).toEqual([
      "01-001",
      "02-001",
    ]);
    expect(subjectsIn((await b.request("GET", `${study}?status=incomplete`)).html)).toEqual([
      "01-001",
      "02-001",
    ]);
    expect(subjectsIn((await b.request("GET", `${study}?status=complete`)).html)).toEqual([]);
  });

  it("refuses an unknown filter value with 400, naming the parameter", async () => {
    const b = await signedIn("monitor");
    for (const [param, value] of [
      ["arm", "ppms"],
      ["site", "site-99"],
      ["timing", "late"],
      ["status", "done"],
    ]) {
      const res = await b.request("GET", `${study}?${param}=${value}`);
      expect(res.status, param).toBe(400);
      expect(res.html, param).toContain(param);
    }
  });
});

describe("overdue visits", () => {
  it("counts the overdue visits of the page's subjects and links to every subject with one", async () => {
    const b = await signedIn("monitor");
    const res = await b.request("GET", study);
    const link = /<a[^>]*href="([^"]*timing=overdue[^"]*)"[^>]*>(\d+) overdue visits?<\/a>/.exec(res.html);
    // The first page holds site-01's first 50 subjects: 01-001 is overdue there, 02-001 is on the next page.
    expect(link?.[2]).toBe(String(OVERDUE_PER_SUBJECT));
    const listed = await b.request("GET", fromHtml(link?.[1] as string));
    expect(subjectsIn(listed.html)).toEqual(["01-001", "02-001"]);
  });
});

describe("visit timing from the stored dates", () => {
  it("reads each visit's date and day one from the log: a visit dated outside its window is out of window", async () => {
    const b = await signedIn("site-01");
    // Month 3 is day 90 ± 14; dated day 51 it is early.
    const early = { vs_date: daysAgo(150) };
    expect(
      (await product.save("01-002", "iv_1", "infusion", { data: { infusion_date: daysAgo(200) } })).status,
    ).toBe(200);
    expect((await product.save("01-002", "m3", "vital_signs", { data: early })).status).toBe(200);
    const res = await b.request("GET", `${study}?timing=out-of-window`);
    expect(subjectsIn(res.html)).toEqual(["01-002"]);
    expect(res.html).toMatch(/<td data-event="m3"[^>]*>[^<]*<b class="t-out-of-window"> out of window<\/b>/);
    // Both subjects with day one are overdue; 01-002's month 3 is done (early), so it has one overdue visit fewer.
    const home = await b.request("GET", study);
    expect(home.html).toMatch(new RegExp(`>${2 * OVERDUE_PER_SUBJECT - 1} overdue visits</a>`));
  });
});

describe("summaries kept beside the projections", () => {
  const screening = (html: string, subject: string) =>
    new RegExp(`data-subject="${subject}"[\\s\\S]*?(<td data-event="screening"[^<]*)`).exec(html)?.[1];

  it("shows a save on the next load", async () => {
    const b = await signedIn("site-01");
    expect(screening((await b.request("GET", `${study}?q=01-003`)).html, "01-003")).toBe(
      '<td data-event="screening">0/8',
    );
    expect((await product.save("01-003", "screening", "consent", { data: {} })).status).toBe(200);
    expect(screening((await b.request("GET", `${study}?q=01-003`)).html, "01-003")).toBe(
      '<td data-event="screening" class="v-incomplete">0/8',
    );
  });

  it("a commit whose writer died before its projection and summary shows once repaired", async () => {
    const b = await signedIn("site-01");
    const { doc, tableName } = product.env.store.db;
    const pk = keys.subjectPartition("hucmsc-ms-nmo", "01-003");
    const { Item } = await doc.send(
      new GetCommand({
        TableName: tableName,
        Key: { PK: pk, SK: keys.revision("screening", "consent", 1, 1) },
      }),
    );
    const stamped = new Date(Date.now() - 500).toISOString();
    const sk = keys.revision("screening", "consent", 1, 2);
    await doc.send(
      new PutCommand({
        TableName: tableName,
        Item: {
          ...Item,
          SK: sk,
          rev: 2,
          status: "complete",
          committedAt: stamped,
          [TABLE.indexes.feed.sortKey]: `${stamped}#${pk}#${sk}`,
        },
      }),
    );
    // The summary is behind the log (its consent entry says rev 1) until a repair: the repair command, or any
    // reader that repairs the projection (the subject page, an export), which moves the summary with it.
    expect(screening((await b.request("GET", `${study}?q=01-003`)).html, "01-003")).toBe(
      '<td data-event="screening" class="v-incomplete">0/8',
    );
    const subject = await product.env.store.getSubject("hucmsc-ms-nmo", "01-003");
    await product.env.store.repairSubjectSummary(subject as NonNullable<typeof subject>);
    expect(screening((await b.request("GET", `${study}?q=01-003`)).html, "01-003")).toBe(
      '<td data-event="screening" class="v-incomplete">1/8',
    );
  });
});

describe("visits entered in error", () => {
  it("a cell leaves out what was entered in error (the lean read carries the mark)", async () => {
    const b = await signedIn("site-01");
    const cell = async () =>
      /<td data-event="unscheduled"[\s\S]*?<\/td>/.exec(
        /<tr data-subject="01-004">([\s\S]*?)<\/tr>/.exec(
          (await b.request("GET", `${study}?q=01-004`)).html,
        )?.[1] ?? "",
      )?.[0] ?? "";
    const saved = await product.save("01-004", "unscheduled", "vital_signs", { data: {} }, { instance: 1 });
    expect(saved.status, JSON.stringify(saved.body)).toBe(200);
    expect(await cell()).toMatch(/<td data-event="unscheduled" class="v-incomplete">0\/5<\/td>/);
    const marked = await product.call(
      "POST",
      `${product.formPath("01-004", "unscheduled", "vital_signs", 1)}/entered-in-error`,
      { as: "site-01", body: { rev: 1, reason: "Wrong subject" } },
    );
    expect(marked.status, JSON.stringify(marked.body)).toBe(200);
    const after = await cell();
    // The visit held only that form: it counts for nothing, and the cell is no longer shaded as begun.
    expect(after).toMatch(/<td data-event="unscheduled">0\/4<\/td>/);
  });
});

describe("site isolation of the list", () => {
  it("never shows a site user another site's subjects, in any page, filter or count", async () => {
    const b = await signedIn("site-01");
    const seen: string[] = [];
    for (const path of [
      study,
      `${study}?arm=rrms`,
      `${study}?q=02`,
      `${study}?timing=overdue`,
      `${study}?status=incomplete`,
    ]) {
      const res = await b.request("GET", path);
      expect(res.status, path).toBe(200);
      seen.push(...subjectsIn(res.html));
      expect(res.html, path).not.toContain("02-00");
    }
    expect(seen.length).toBeGreaterThan(60);
    expect(seen.every((id) => id.startsWith("01-"))).toBe(true);
    const home = await b.request("GET", study);
    // Its own two subjects with day one (one visit of 01-002 done early), not 02-001's.
    expect(home.html).toMatch(new RegExp(`>${2 * OVERDUE_PER_SUBJECT - 1} overdue visits</a>`));
    expect(home.html).toContain("Subjects 1–50, more on the next page");
    // Another site is answered like a site that does not exist.
    const other = await b.request("GET", `${study}?site=site-02`);
    const unknown = await b.request("GET", `${study}?site=site-99`);
    expect(other.status).toBe(400);
    expect(other.html).toBe(unknown.html.replace("site-99", "site-02"));
  });
});
