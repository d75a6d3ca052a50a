import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevEnvironment } from "../../functions/dev-environment.ts";
import { BASE, Product } from "./harness.ts";
import { Browser } from "./web-client.ts";

let product: Product;
beforeAll(async () => {
  // Settled at once, so the change feed delivers the revisions made here.
  product = new Product(await startDevEnvironment({ feedSettleMs: 0 }));
});
afterAll(() => product.close());

const mark = (
  subject: string,
  event: string,
  form: string,
  instance: number,
  body: unknown,
  as = "site-01",
) =>
  product.call("POST", `${product.formPath(subject, event, form, instance)}/entered-in-error`, { as, body });
const restore = (subject: string, event: string, form: string, instance: number, body: unknown) =>
  product.call("POST", `${product.formPath(subject, event, form, instance)}/restore`, {
    as: "site-01",
    body,
  });

async function withAdverseEvents(): Promise<string> {
  const subject = await product.enrol();
  for (const [n, term] of [
    [1, "Headache"],
    [2, "Headache (duplicate)"],
  ] as const) {
    const saved = await product.save(
      subject,
      "logs",
      "adverse_event",
      { data: { ae_term: term }, status: "incomplete" },
      { instance: n },
    );
    expect(saved.status, JSON.stringify(saved.body)).toBe(200);
  }
  return subject;
}

const get = async (path: string, as = "monitor") => {
  const res = await product.env.app.request(path, {
    headers: { authorization: `Bearer ${product.token(as)}` },
  });
  return { status: res.status, text: await res.text() };
};

async function redcap(params: Record<string, string>) {
  const res = await product.env.app.request("/api/", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token: product.token("sponsor"), ...params }).toString(),
  });
  return res.text();
}

describe("marking a log instance as entered in error", () => {
  it("is a revision with who, when and reason; reads say so; data saves are refused until restored", async () => {
    const subject = await withAdverseEvents();
    const marked = await mark(subject, "logs", "adverse_event", 2, { rev: 1, reason: "Duplicate of AE #1" });
    expect(marked.status, JSON.stringify(marked.body)).toBe(200);
    expect(marked.body).toMatchObject({
      rev: 2,
      enteredInError: true,
      data: { ae_term: "Headache (duplicate)" },
    });

    const read = await product.call("GET", product.formPath(subject, "logs", "adverse_event", 2), {
      as: "monitor",
    });
    expect(read.body).toMatchObject({ rev: 2, enteredInError: true, status: "incomplete" });

    const save = await product.save(
      subject,
      "logs",
      "adverse_event",
      { data: { ae_term: "Migraine" }, rev: 2 },
      { instance: 2 },
    );
    expect(save.status).toBe(409);
    expect(save.body.type).toBe("urn:edc:problem:entered-in-error");
    expect(save.body.detail).toMatch(/restore/i);
    // Refused for what it is, whatever the values: a value the form would refuse gets the same answer.
    const invalid = await product.save(
      subject,
      "logs",
      "adverse_event",
      { data: { ae_term: "x" }, rev: 2 },
      { instance: 2 },
    );
    expect(invalid.status).toBe(409);

    const restored = await restore(subject, "logs", "adverse_event", 2, {
      rev: 2,
      reason: "Was a second event",
    });
    expect(restored.status, JSON.stringify(restored.body)).toBe(200);
    expect(restored.body).toMatchObject({ rev: 3, enteredInError: false, status: "incomplete" });
    const after = await product.save(
      subject,
      "logs",
      "adverse_event",
      { data: { ae_term: "Migraine" }, rev: 3 },
      { instance: 2 },
    );
    expect(after.status).toBe(200);

    const audit = await product.call("GET", `${BASE}/subjects/${subject}/audit`, { as: "monitor" });
    const entries = audit.body.entries.filter((e: { instance?: number; form?: string }) => e.instance === 2);
    expect(
      entries.map((e: { action: string; rev: number; reason?: string; by: string }) => [
        e.action,
        e.rev,
        e.reason,
        e.by,
      ]),
    ).toEqual([
      ["save", 1, undefined, "dev-site-01"],
      ["entered-in-error", 2, "Duplicate of AE #1", "dev-site-01"],
      ["restore", 3, "Was a second event", "dev-site-01"],
      ["save", 4, undefined, "dev-site-01"],
    ]);
    expect(entries[1]).toMatchObject({ statusFrom: "incomplete", status: "incomplete", changes: [] });
  });

  it("refuses without a reason (422 /reason), on a stale rev (409), twice (409), and writes nothing", async () => {
    const subject = await withAdverseEvents();
    const before = await product.snapshot();
    const noReason = await mark(subject, "logs", "adverse_event", 1, { rev: 1 });
    expect(noReason.status).toBe(422);
    expect(noReason.body.errors).toEqual([
      expect.objectContaining({ pointer: "/reason", code: "reason-required" }),
    ]);
    expect((await mark(subject, "logs", "adverse_event", 1, { rev: 1, reason: "  " })).status).toBe(422);
    const stale = await mark(subject, "logs", "adverse_event", 1, { rev: 0, reason: "x" });
    expect(stale.status).toBe(409);
    expect(stale.body.current).toMatchObject({ rev: 1 });
    const restoreUnmarked = await restore(subject, "logs", "adverse_event", 1, { rev: 1, reason: "x" });
    expect(restoreUnmarked.status).toBe(409);
    expect(await product.snapshot()).toEqual(before);

    expect(
      (await mark(subject, "logs", "adverse_event", 1, { rev: 1, reason: "wrong subject" })).status,
    ).toBe(200);
    const twice = await mark(subject, "logs", "adverse_event", 1, { rev: 2, reason: "again" });
    expect(twice.status).toBe(409);
    expect(twice.body.type).toBe("urn:edc:problem:entered-in-error");
  });

  it("is for site roles only, for saved log or unscheduled instances only", async () => {
    const subject = await withAdverseEvents();
    const monitor = await mark(subject, "logs", "adverse_event", 1, { rev: 1, reason: "x" }, "monitor");
    expect(monitor.status).toBe(403);
    const unsaved = await mark(subject, "logs", "adverse_event", 9, { rev: 0, reason: "x" });
    expect(unsaved.status).toBe(404);
    expect((await product.save(subject, "screening", "edss", { data: { edss_total: 3.5 } })).status).toBe(
      200,
    );
    const scheduled = await product.call(
      "POST",
      `${product.formPath(subject, "screening", "edss", 1)}/entered-in-error`,
      { as: "site-01", body: { rev: 1, reason: "x" } },
    );
    expect(scheduled.status).toBe(422);
    expect(scheduled.body.type).toBe("urn:edc:problem:not-markable");

    const visit = await product.save(
      subject,
      "unscheduled",
      "vital_signs",
      { data: { weight: 70 } },
      { instance: 1 },
    );
    expect(visit.status, JSON.stringify(visit.body)).toBe(200);
    const unscheduled = await mark(subject, "unscheduled", "vital_signs", 1, {
      rev: 1,
      reason: "opened by mistake",
    });
    expect(unscheduled.status).toBe(200);
  });

  it("keeps a mistaken visit's weight out of $latest", async () => {
    const subject = await product.enrol();
    expect((await product.save(subject, "iv_1", "vital_signs", { data: { weight: 80 } })).status).toBe(200);
    expect(
      (await product.save(subject, "unscheduled", "vital_signs", { data: { weight: 40 } }, { instance: 1 }))
        .status,
    ).toBe(200);
    expect(
      (await mark(subject, "unscheduled", "vital_signs", 1, { rev: 1, reason: "wrong subject" })).status,
    ).toBe(200);
    const infusion = await product.save(subject, "iv_1", "infusion", {
      data: { route: "iv", dose_cells: 100 },
    });
    expect(infusion.body.data.dose_per_kg).toBe(1.25);
  });
});

describe("exports and the feed", () => {
  it("leave instances entered in error out by default and include them, marked, with includeEnteredInError", async () => {
    const subject = await withAdverseEvents();
    expect((await mark(subject, "logs", "adverse_event", 2, { rev: 1, reason: "duplicate" })).status).toBe(
      200,
    );
    const only = `subjects=${subject}&forms=adverse_event`;

    const json = JSON.parse((await get(`${BASE}/records?format=json&${only}`)).text);
    expect(json.map((r: Record<string, unknown>) => r.redcap_repeat_instance)).toEqual([1]);
    expect(json[0]).not.toHaveProperty("adverse_event_entered_in_error");
    const all = JSON.parse(
      (await get(`${BASE}/records?format=json&${only}&includeEnteredInError=true`)).text,
    );
    expect(
      all.map((r: Record<string, unknown>) => [r.redcap_repeat_instance, r.adverse_event_entered_in_error]),
    ).toEqual([
      [1, 0],
      [2, 1],
    ]);

    const api = JSON.parse(
      await redcap({ content: "record", format: "json", records: subject, forms: "adverse_event" }),
    );
    // REDCap sends every value as text.
    expect(api.map((r: Record<string, unknown>) => r.redcap_repeat_instance)).toEqual(["1"]);

    const odm = (await get(`${BASE}/odm?subjects=${subject}`)).text;
    expect(odm).toContain("Headache");
    expect(odm).not.toContain("duplicate");
    const odmAll = (await get(`${BASE}/odm?subjects=${subject}&includeEnteredInError=true`)).text;
    expect(odmAll).toContain("Headache (duplicate)");
    expect(odmAll).toMatch(/<Comment[^>]*>Entered in error: duplicate<\/Comment>/);
    const audited = (await get(`${BASE}/odm?subjects=${subject}&audit=true&includeEnteredInError=true`)).text;
    expect(audited).toMatch(/<ReasonForChange>Entered in error: duplicate<\/ReasonForChange>/);
    expect((await get(`${BASE}/odm?subjects=${subject}&audit=true`)).text).not.toContain("duplicate");
  });

  it("the change feed delivers the mark and the restore", async () => {
    const subject = await withAdverseEvents();
    expect((await mark(subject, "logs", "adverse_event", 1, { rev: 1, reason: "mistake" })).status).toBe(200);
    expect(
      (await restore(subject, "logs", "adverse_event", 1, { rev: 2, reason: "not a mistake" })).status,
    ).toBe(200);
    let cursor = "";
    const changes: Record<string, unknown>[] = [];
    for (;;) {
      const page = JSON.parse(
        (await get(`${BASE}/changes?limit=5000${cursor ? `&cursor=${cursor}` : ""}`)).text,
      );
      changes.push(...page.changes);
      cursor = page.cursor;
      if (!page.more) break;
    }
    const mine = changes.filter(
      (c) => c.subject === subject && c.form === "adverse_event" && c.instance === 1,
    );
    expect(mine.map((c) => [c.rev, c.action, c.enteredInError, c.reason ?? null])).toEqual([
      [1, "save", false, null],
      [2, "entered-in-error", true, "mistake"],
      [3, "restore", false, "not a mistake"],
    ]);
  });
});

describe("the web pages", () => {
  const site = "/studies/hucmsc-ms-nmo";

  it("mark from the form page with a reason, list it struck through on the subject page, restore it", async () => {
    const subject = await withAdverseEvents();
    const b = new Browser(product);
    await b.signIn("site-01");
    const formUrl = `${site}/subjects/${subject}/events/logs/forms/adverse_event/instances/2`;
    const page = await b.request("GET", formUrl);
    expect(page.html).toContain(`action="${formUrl}/entered-in-error"`);
    const csrf = b.csrf(page.html);

    const noReason = await b.request("POST", `${formUrl}/entered-in-error`, {
      _csrf: csrf,
      _rev: "1",
      _reason: "",
    });
    expect(noReason.status).toBe(422);
    expect(noReason.html).toContain("Say why");

    const marked = await b.request("POST", `${formUrl}/entered-in-error`, {
      _csrf: csrf,
      _rev: "1",
      _reason: "Duplicate of AE #1",
    });
    expect(marked.status).toBe(303);
    expect(marked.location).toBe(`${site}/subjects/${subject}#log-adverse_event`);

    const subjectPage = await b.request("GET", `${site}/subjects/${subject}`);
    expect(subjectPage.html).toMatch(
      /<tr class="in-error"[^>]*>[\s\S]*?Headache \(duplicate\)[\s\S]*?Entered in error/,
    );
    expect(subjectPage.html).toContain(`href="${formUrl}#restore"`);

    const markedPage = await b.request("GET", formUrl);
    expect(markedPage.html).toContain("Duplicate of AE #1");
    expect(markedPage.html).toContain(`action="${formUrl}/restore"`);
    expect(markedPage.html).not.toContain('value="complete"');

    const restored = await b.request("POST", `${formUrl}/restore`, {
      _csrf: csrf,
      _rev: "2",
      _reason: "It was a second headache",
    });
    expect(restored.status).toBe(303);
    expect(restored.location).toBe(formUrl);
    const back = await b.request("GET", `${site}/subjects/${subject}`);
    expect(back.html).not.toContain('class="in-error"');
  });

  it("answers a save posted from a page opened before the mark with 409 and the reason, not a 500", async () => {
    const subject = await withAdverseEvents();
    const b = new Browser(product);
    await b.signIn("site-01");
    const formUrl = `${site}/subjects/${subject}/events/logs/forms/adverse_event/instances/1`;
    const csrf = b.csrf((await b.request("GET", formUrl)).html);
    expect(
      (await mark(subject, "logs", "adverse_event", 1, { rev: 1, reason: "wrong subject" })).status,
    ).toBe(200);
    const before = await product.snapshot();
    const post = await b.request("POST", formUrl, {
      _csrf: csrf,
      _rev: "1",
      _status: "incomplete",
      ae_term: "Migraine",
    });
    // Stale (the mark is a revision): the page shows the mark and why, and no save buttons.
    expect(post.status).toBe(409);
    expect(post.html).toContain("Entered in error");
    expect(post.html).toContain("wrong subject");
    expect(post.html).not.toContain('name="_status"');
    // A post from the marked revision itself is refused as such.
    const again = await b.request("POST", formUrl, {
      _csrf: csrf,
      _rev: "2",
      _status: "incomplete",
      ae_term: "Migraine",
    });
    expect(again.status).toBe(409);
    expect(again.html).toContain("restore it (with a reason)");
    expect(await product.snapshot()).toEqual(before);
  });

  it("offers no mark on a scheduled visit's form, nor to a monitor, and refuses a monitor's post", async () => {
    const subject = await withAdverseEvents();
    expect((await product.save(subject, "screening", "edss", { data: { edss_total: 3.5 } })).status).toBe(
      200,
    );
    const site01 = new Browser(product);
    await site01.signIn("site-01");
    const scheduled = await site01.request("GET", `${site}/subjects/${subject}/events/screening/forms/edss`);
    expect(scheduled.html).not.toContain("entered-in-error");

    const monitor = new Browser(product);
    await monitor.signIn("monitor");
    const formUrl = `${site}/subjects/${subject}/events/logs/forms/adverse_event/instances/1`;
    const page = await monitor.request("GET", formUrl);
    expect(page.html).not.toContain(`${formUrl}/entered-in-error`);
    const before = await product.snapshot();
    const post = await monitor.request("POST", `${formUrl}/entered-in-error`, {
      _csrf: monitor.csrf(page.html),
      _rev: "1",
      _reason: "x",
    });
    expect(post.status).toBe(403);
    expect(await product.snapshot()).toEqual(before);
  });
});
