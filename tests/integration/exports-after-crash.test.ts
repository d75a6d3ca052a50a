import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { parse } from "csv-parse/sync";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createStore } from "../../functions/store/store.ts";
import { BASE, type Product, STUDY, startProduct } from "./harness.ts";
import { Browser } from "./web-client.ts";

/**
 * A save whose process died after the commit (the REV# item) and before the
 * projection (DATA#) is in the revision log, the audit and the change feed.
 * The exports must show it too, the first time they are read, without anyone
 * having opened that subject first; the dashboard once its summary is repaired.
 *
 * The flat exports read the log's revision keys only of casebooks with a
 * commit after the projection watermark (store/projection-watermark.ts), so
 * each reader is tried with the crash on both sides of it: after it (the
 * export must find the commit in the feed) and before it (the pass that moved
 * the watermark past the commit must have repaired its projection). The
 * export's own pass runs with the settle window, a minute here, so it leaves
 * the watermark where each test put it.
 */
type Send = Pick<DynamoDBDocumentClient, "send">;

let product: Product;
beforeAll(async () => {
  product = await startProduct({ feedSettleMs: 60_000 });
});

/** The repair pass with no settle window: the watermark moves to now (just past every commit so far). */
const passNow = () =>
  product.env.store.advanceProjectionWatermark(product.env.studyId, { settleMs: 0, now: Date.now() + 1 });
afterAll(() => product.close());

/** A save through a process that dies right after its commit (the put of its REV# item) took effect. */
async function saveAndDieAfterCommit(subject: string, rev: number, status: "incomplete" | "unverified") {
  const env = product.env;
  const definition = await env.store.definitions.current(env.studyId);
  const sub = await env.store.getSubject(env.studyId, subject);
  if (!definition || !sub) throw new Error("setup");
  let committed = false;
  const real = env.store.db.doc;
  const doc: Send = {
    send: (async (command: Parameters<Send["send"]>[0]) => {
      if (committed) throw new Error("process died");
      const result = await real.send(command as never);
      const item = (command.input as { Item?: { SK?: unknown } }).Item;
      if (String(item?.SK ?? "").startsWith("REV#")) committed = true;
      return result;
    }) as Send["send"],
  };
  const dying = createStore({ tableName: env.tableName, doc, macKey: env.store.macKey });
  await expect(
    dying.saveFormInstance({
      definition,
      subject: sub,
      event: "screening",
      form: "vital_signs",
      instance: 1,
      data: { heart_rate: 99 },
      status,
      rev,
      actor: "dev-site-01",
    }),
  ).rejects.toThrow("process died");
}

/** A subject whose last save (heart rate 99, and the given status) was committed and never projected. */
async function crashedSubject(
  kind: "first save" | "update",
  status: "incomplete" | "unverified" = "incomplete",
): Promise<string> {
  const subject = await product.enrol();
  if (kind === "update") {
    const saved = await product.save(subject, "screening", "vital_signs", { data: { heart_rate: 70 } });
    expect(saved.status).toBe(200);
  }
  await saveAndDieAfterCommit(subject, kind === "update" ? 1 : 0, status);
  return subject;
}

const READERS: Record<string, (subject: string) => Promise<string[]>> = {
  /** The heart rates of the subject's rows in the flat CSV export. */
  "flat CSV export": async (subject) => {
    const res = await product.call("GET", `${BASE}/records?format=csv&subjects=${subject}`, {
      as: "sponsor",
    });
    expect(res.status).toBe(200);
    const rows = parse(res.body, { columns: true }) as Record<string, string>[];
    return rows.filter((r) => r.record_id === subject && r.heart_rate).map((r) => r.heart_rate as string);
  },
  "REDCap API record export": async (subject) => {
    const res = await product.env.app.request("/api/", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        token: product.token("sponsor"),
        content: "record",
        format: "json",
        "records[0]": subject,
      }).toString(),
    });
    expect(res.status).toBe(200);
    const rows = (await res.json()) as Record<string, string>[];
    return rows.filter((r) => r.record_id === subject && r.heart_rate).map((r) => String(r.heart_rate));
  },
  "ODM export": async (subject) => {
    const res = await product.call("GET", `${BASE}/odm?subjects=${subject}`, { as: "sponsor" });
    expect(res.status).toBe(200);
    return [...String(res.body).matchAll(/ItemOID="I\.vital_signs\.heart_rate" Value="(\d+)"/g)].map(
      (m) => m[1] as string,
    );
  },
};

describe("after a crash between commit and projection", () => {
  for (const kind of ["first save", "update"] as const) {
    for (const [name, read] of Object.entries(READERS)) {
      it(`the ${name} shows the committed value (${kind}, after the watermark)`, async () => {
        await passNow();
        const subject = await crashedSubject(kind);
        expect(await read(subject)).toEqual(["99"]);
      });

      it(`the ${name} shows the committed value (${kind}, before the watermark)`, async () => {
        const subject = await crashedSubject(kind);
        const pass = await passNow();
        expect(pass.repaired).toContain(subject);
        expect(await read(subject)).toEqual(["99"]);
        // The same as the audit trail says.
        const audit = await product.call("GET", `${BASE}/subjects/${subject}/audit`, { as: "site-01" });
        const saves = audit.body.entries.filter((e: { action: string }) => e.action === "save");
        expect(saves.at(-1).changes).toEqual([
          { field: "heart_rate", old: kind === "update" ? 70 : null, new: 99 },
        ]);
      });
    }

    it(`the dashboard shows the committed form status (${kind})`, async () => {
      // The dashboard shows statuses: the lost-looking save moved incomplete (or not started) → unverified.
      const subject = await crashedSubject(kind, "unverified");
      // The dashboard reads summaries: a commit that never reached its summary is shown once repaired (the
      // repair command, or any reader that repairs the projection, which moves the summary with it).
      const sub = await product.env.store.getSubject(product.env.studyId, subject);
      await product.env.store.repairSubjectSummary(sub as NonNullable<typeof sub>);
      const browser = new Browser(product);
      await browser.signIn("site-01");
      const page = await browser.request("GET", `/studies/${STUDY}`);
      expect(page.status).toBe(200);
      const row = new RegExp(`<tr data-subject="${subject}">([\\s\\S]*?)</tr>`).exec(page.html)?.[1] ?? "";
      const cell = /<td data-event="screening"[\s\S]*?<\/td>/.exec(row)?.[0] ?? "";
      // Vital signs is screening's only form saved: the cell counts it as unverified.
      expect(cell).toMatch(/<td data-event="screening" class="v-unverified">0\/8/);
    });
  }
});
