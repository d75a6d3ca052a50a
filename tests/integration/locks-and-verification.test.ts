import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevEnvironment, storeDevKey } from "../../functions/dev-environment.ts";
import { ALL_SITES } from "../../functions/store/principal.ts";
import { BASE, Product, STUDY } from "./harness.ts";
import { Browser } from "./web-client.ts";

let product: Product;
beforeAll(async () => {
  product = new Product(await startDevEnvironment({ feedSettleMs: 0 }));
  for (const role of ["data_manager", "investigator"] as const) {
    const key = { user: `test-${role}`, role, study: STUDY, sites: [ALL_SITES] };
    product.env.tokens[role] = await storeDevKey(product.env.store, `test-${role}`, key);
  }
});
afterAll(() => product.close());

const post = (path: string, body: unknown, as = "data_manager") =>
  product.call("POST", `${BASE}${path}`, { as, body });
const lock = (subject: string, target: unknown, as = "data_manager") =>
  post(`/subjects/${subject}/locks`, { target }, as);
const unlock = (subject: string, target: unknown, reason?: string) =>
  post(`/subjects/${subject}/unlock`, { target, ...(reason === undefined ? {} : { reason }) });
const verify = (subject: string, target: unknown, as = "monitor") =>
  post(`/subjects/${subject}/verifications`, { target }, as);

async function saveCount(subject: string): Promise<number> {
  const audit = await product.call("GET", `${BASE}/subjects/${subject}/audit`, { as: "site-01" });
  return audit.body.entries.filter((e: { action: string }) => e.action !== "enrol").length;
}

const vitals = { event: "screening", form: "vital_signs", instance: 1 };

describe("locks", () => {
  it("refuses a save to a locked form with 423 and writes nothing; unlocking needs a reason; unlocked, it saves", async () => {
    const subject = await product.enrol();
    expect(
      (await product.save(subject, "screening", "vital_signs", { data: { heart_rate: 70 } })).status,
    ).toBe(200);
    const locked = await lock(subject, vitals);
    expect(locked.status, JSON.stringify(locked.body)).toBe(201);
    expect(locked.body).toMatchObject({ action: "lock", target: vitals, by: "test-data_manager", seq: 1 });

    const before = await product.snapshot();
    const refused = await product.save(subject, "screening", "vital_signs", {
      data: { heart_rate: 99 },
      rev: 1,
    });
    expect(refused.status).toBe(423);
    expect(refused.contentType).toContain("application/problem+json");
    expect(refused.body).toMatchObject({
      type: "urn:edc:problem:locked",
      lock: { scope: "form", by: "test-data_manager", target: vitals },
    });
    expect(await product.snapshot()).toEqual(before);
    expect(await saveCount(subject)).toBe(1);

    // Locking it twice says so; the lock of a visit is another lock.
    expect((await lock(subject, vitals)).status).toBe(409);

    const noReason = await unlock(subject, vitals);
    expect(noReason.status).toBe(422);
    expect(noReason.body.errors[0].pointer).toBe("/reason");
    expect((await unlock(subject, vitals, "   ")).status).toBe(422);
    expect(await product.snapshot()).toEqual(before);

    const unlocked = await unlock(subject, vitals, "Source corrected after monitoring visit");
    expect(unlocked.status).toBe(201);
    expect(unlocked.body).toMatchObject({
      action: "unlock",
      reason: "Source corrected after monitoring visit",
    });
    expect((await unlock(subject, vitals, "again")).status).toBe(409);

    const saved = await product.save(subject, "screening", "vital_signs", {
      data: { heart_rate: 99 },
      rev: 1,
    });
    expect(saved.status).toBe(200);
    expect(await saveCount(subject)).toBe(2);
  });

  it("a visit lock covers the visit's forms, saved or not yet saved, and nothing outside it", async () => {
    const subject = await product.enrol();
    expect((await lock(subject, { event: "screening" })).status).toBe(201);
    const fresh = await product.save(subject, "screening", "demographics", { data: { sex: "F" } });
    expect(fresh.status).toBe(423);
    expect(fresh.body.lock.scope).toBe("visit");
    expect(await saveCount(subject)).toBe(0);
    // Another visit is free.
    const elsewhere = await product.save(subject, "iv_1", "vital_signs", { data: { heart_rate: 72 } });
    expect(elsewhere.status).toBe(200);
  });

  it("a subject lock holds every form, logs included, and the entered-in-error mark too", async () => {
    const subject = await product.enrol();
    const ae = await product.save(
      subject,
      "logs",
      "adverse_event",
      { data: { ae_term: "Headache" } },
      { instance: 1 },
    );
    expect(ae.status).toBe(200);
    expect((await lock(subject, {})).status).toBe(201);
    const before = await product.snapshot();
    const mark = await product.call(
      "POST",
      `${product.formPath(subject, "logs", "adverse_event", 1)}/entered-in-error`,
      { as: "site-01", body: { rev: 1, reason: "duplicate" } },
    );
    expect(mark.status).toBe(423);
    expect(mark.body.lock.scope).toBe("subject");
    const again = await product.save(
      subject,
      "logs",
      "adverse_event",
      { data: { ae_term: "x" } },
      { instance: 2 },
    );
    expect(again.status).toBe(423);
    expect(await product.snapshot()).toEqual(before);
  });

  it("only lock holders lock: a coordinator and a monitor get 403; a field is not a lock target", async () => {
    const subject = await product.enrol();
    expect((await lock(subject, vitals, "site-01")).status).toBe(403);
    expect((await lock(subject, vitals, "monitor")).status).toBe(403);
    const field = await lock(subject, { ...vitals, field: "heart_rate" });
    expect(field.status).toBe(422);
    expect((await lock(subject, { event: "nowhere" })).status).toBe(404);
    expect((await lock(subject, { form: "vital_signs" })).status).toBe(422);
  });
});

describe("source data verification", () => {
  it("only monitors verify: a coordinator gets 403 and nothing is written", async () => {
    const subject = await product.enrol();
    await product.save(subject, "screening", "vital_signs", { data: { heart_rate: 70 } });
    const before = await product.snapshot();
    expect((await verify(subject, vitals, "site-01")).status).toBe(403);
    expect((await verify(subject, vitals, "data_manager")).status).toBe(403);
    expect(await product.snapshot()).toEqual(before);
  });

  it("a verified value changed later needs re-verification; the revision that changed it is named", async () => {
    const subject = await product.enrol();
    await product.save(subject, "screening", "vital_signs", { data: { heart_rate: 70, systolic_bp: 120 } });
    const verified = await verify(subject, vitals);
    expect(verified.status, JSON.stringify(verified.body)).toBe(201);
    expect(verified.body.covers).toHaveLength(1);
    expect(verified.body.covers[0]).toMatchObject({ ...vitals, rev: 1 });
    expect(verified.body.covers[0].fields).toContain("heart_rate");
    expect(Object.keys(verified.body.covers[0].valueHashes)).toEqual(verified.body.covers[0].fields);

    const { sdvWithin, instanceSdv, fieldMarks } = await import("../../functions/engine/sdv.ts");
    const store = product.env.store;
    const definition = await store.definitions.current(STUDY);
    if (!definition) throw new Error("setup");
    const statusNow = async () => {
      const [projections, log] = await Promise.all([
        store.readProjections(STUDY, subject),
        store.readReviewLog(STUDY, subject),
      ]);
      const fields = sdvWithin(definition, projections, log, vitals)[0]?.fields ?? [];
      return Object.fromEntries(fields.map((f) => [f.field, f.status]));
    };
    expect(await statusNow()).toMatchObject({ heart_rate: "verified", systolic_bp: "verified" });

    await product.save(subject, "screening", "vital_signs", {
      data: { heart_rate: 88, systolic_bp: 120 },
      rev: 1,
    });
    expect(await statusNow()).toMatchObject({ heart_rate: "needs-reverification", systolic_bp: "verified" });

    const address = { study: STUDY, subject, ...vitals };
    const [revisions, log, projections] = await Promise.all([
      store.readRevisions(address),
      store.readReviewLog(STUDY, subject),
      store.readProjections(STUDY, subject),
    ]);
    const current = projections.find((p) => p.form === "vital_signs");
    if (!current) throw new Error("setup");
    const heartRate = instanceSdv(definition, current, fieldMarks(log), revisions).find(
      (f) => f.field === "heart_rate",
    );
    expect(heartRate?.changedBy).toMatchObject({ rev: 2, by: "dev-site-01" });

    const state = await product.call("GET", `${BASE}/subjects/${subject}/review-state`, { as: "site-01" });
    expect(state.status).toBe(200);
    expect(state.body.locks).toEqual([]);
    expect(state.body.sdv.progress).toEqual({ required: 2, verified: 1, reverify: 1 });
    expect(state.body.sdv.instances[0]).toMatchObject({ ...vitals, rev: 2, status: "needs-reverification" });
    expect(
      state.body.sdv.instances[0].fields.find((f: { field: string }) => f.field === "heart_rate"),
    ).toMatchObject({ status: "needs-reverification", verifiedBy: "dev-monitor", verifiedRev: 1 });

    // Verified again, field by field, it holds again.
    expect((await verify(subject, { ...vitals, field: "heart_rate" })).status).toBe(201);
    expect(await statusNow()).toMatchObject({ heart_rate: "verified" });
  });

  it("a visit with nothing saved has nothing to verify; a verified locked form stays verifiable", async () => {
    const subject = await product.enrol();
    expect((await verify(subject, { event: "m3" })).status).toBe(422);
    await product.save(subject, "screening", "vital_signs", { data: { heart_rate: 70 } });
    expect((await lock(subject, { event: "screening" })).status).toBe(201);
    const visit = await verify(subject, { event: "screening" });
    expect(visit.status).toBe(201);
    expect(visit.body.covers.map((c: { form: string }) => c.form)).toEqual(["vital_signs"]);
  });
});

describe("the pages", () => {
  const site = `/studies/${STUDY}`;

  it("a data manager locks a form from its page; it shows read only with who locked it; unlocking needs a reason", async () => {
    const subject = await product.enrol();
    await product.save(subject, "screening", "vital_signs", { data: { heart_rate: 70 } });
    const formUrl = `${site}/subjects/${subject}/events/screening/forms/vital_signs/instances/1`;
    const dm = new Browser(product);
    await dm.signIn("data_manager");
    const page = await dm.request("GET", formUrl);
    expect(page.html).toContain("Lock this form");
    const csrf = dm.csrf(page.html);
    const locked = await dm.request("POST", `${site}/subjects/${subject}/locks`, {
      _csrf: csrf,
      _scope: "form",
      _event: "screening",
      _form: "vital_signs",
      _instance: "1",
    });
    expect(locked.status).toBe(303);
    expect(locked.location).toBe(formUrl);

    const coordinator = new Browser(product);
    await coordinator.signIn("site-01");
    const readOnly = await coordinator.request("GET", formUrl);
    expect(readOnly.html).toContain('data-locked="form"');
    expect(readOnly.html).toContain("test-data_manager");
    expect(readOnly.html).not.toContain('value="complete"');
    expect(readOnly.html).not.toContain("data-unlock");
    const posted = await coordinator.request("POST", formUrl, {
      _csrf: coordinator.csrf(readOnly.html),
      _rev: "1",
      _status: "incomplete",
      heart_rate: "99",
    });
    expect(posted.status).toBe(423);

    const dmView = await dm.request("GET", formUrl);
    expect(dmView.html).toContain("data-unlock");
    const noReason = await dm.request("POST", `${site}/subjects/${subject}/unlock`, {
      _csrf: csrf,
      _scope: "form",
      _event: "screening",
      _form: "vital_signs",
      _instance: "1",
    });
    expect(noReason.status).toBe(422);
    const unlocked = await dm.request("POST", `${site}/subjects/${subject}/unlock`, {
      _csrf: csrf,
      _scope: "form",
      _event: "screening",
      _form: "vital_signs",
      _instance: "1",
      _reason: "Correction requested by the monitor",
    });
    expect(unlocked.status).toBe(303);
    expect((await coordinator.request("GET", formUrl)).html).toContain('value="complete"');
  });

  it("a save that meets a lock set after the page opened shows the form again with the typed edits listed (423)", async () => {
    const subject = await product.enrol();
    await product.save(subject, "screening", "vital_signs", { data: { heart_rate: 70 } });
    const formUrl = `${site}/subjects/${subject}/events/screening/forms/vital_signs/instances/1`;
    const coordinator = new Browser(product);
    await coordinator.signIn("site-01");
    const opened = await coordinator.request("GET", formUrl);
    expect(opened.html).toContain('value="complete"');
    expect((await lock(subject, { event: "screening" })).status).toBe(201);
    const posted = await coordinator.request("POST", formUrl, {
      _csrf: coordinator.csrf(opened.html),
      _rev: "1",
      _status: "incomplete",
      heart_rate: "99",
      temperature: "37.1",
    });
    expect(posted.status).toBe(423);
    // Not a dead end: the form, read only under its lock, with what was typed and not saved.
    expect(posted.html).toContain('data-locked="visit"');
    const notice = /<div class="notice bad" role="alert" data-not-saved[^>]*>([\s\S]*?)<\/div>/.exec(
      posted.html,
    )?.[1];
    expect(notice).toContain("Not saved: the visit was locked");
    expect(notice).toContain("Heart rate: 70 bpm → <strong>99 bpm</strong>");
    expect(notice).toContain("Body temperature: — → <strong>37.1 °C</strong>");
    expect(posted.html).not.toContain('value="complete"');
    const stored = await product.call("GET", product.formPath(subject, "screening", "vital_signs"), {
      as: "site-01",
    });
    expect(stored.body).toMatchObject({ rev: 1, data: { heart_rate: 70 } });
  });

  it("a monitor verifies from the form page; a change shows needing re-verification there and on the dashboard", async () => {
    const subject = await product.enrol();
    await product.save(subject, "screening", "vital_signs", { data: { heart_rate: 70, temperature: 36.6 } });
    const formUrl = `${site}/subjects/${subject}/events/screening/forms/vital_signs/instances/1`;
    const monitor = new Browser(product);
    await monitor.signIn("monitor");
    const page = await monitor.request("GET", formUrl);
    expect(page.html).toContain('data-sdv-field="heart_rate" data-sdv="to-verify"');
    const verified = await monitor.request("POST", `${formUrl}/verify`, { _csrf: monitor.csrf(page.html) });
    expect(verified.status).toBe(303);
    expect(verified.location).toBe(formUrl);
    expect((await monitor.request("GET", formUrl)).html).toContain(
      'data-sdv-field="heart_rate" data-sdv="verified"',
    );

    await product.save(subject, "screening", "vital_signs", {
      data: { heart_rate: 75, temperature: 36.6 },
      rev: 1,
    });
    const after = await monitor.request("GET", formUrl);
    expect(after.html).toContain('data-sdv-field="heart_rate" data-sdv="needs-reverification"');
    expect(after.html).toContain("changed in revision 2 by dev-site-01");
    expect(after.html).toContain('data-sdv-field="temperature" data-sdv="verified"');

    const dashboard = await monitor.request("GET", `${site}?q=${subject}&sdv=1`);
    expect(dashboard.status).toBe(200);
    expect(dashboard.html).toMatch(/data-sdv="true">1\/2 <span[^>]*>1 to re-verify/);
    expect(dashboard.html).toContain("Source data verification");
    const coordinator = new Browser(product);
    await coordinator.signIn("site-01");
    expect((await coordinator.request("GET", `${site}?q=${subject}`)).html).not.toContain("data-sdv");
    const denied = await coordinator.request("POST", `${formUrl}/verify`, {
      _csrf: coordinator.csrf((await coordinator.request("GET", formUrl)).html),
    });
    expect(denied.status).toBe(403);
  });
});

describe("the study freeze", () => {
  it("blocks every subject's saves and new enrolments until unfrozen with a reason", async () => {
    const a = await product.enrol();
    const b = await product.enrol("site-02", { site: "site-02", arm: "nmo" });
    expect((await post("/freeze", {}, "site-01")).status).toBe(403);
    // A data manager of one site cannot hold the other sites.
    const key = { user: "test-dm-site-01", role: "data_manager" as const, study: STUDY, sites: ["site-01"] };
    product.env.tokens["dm-site-01"] = await storeDevKey(product.env.store, "test-dm-site-01", key);
    expect((await post("/freeze", {}, "dm-site-01")).status).toBe(403);
    const frozen = await post("/freeze", { reason: "Database lock for the interim analysis" });
    expect(frozen.status).toBe(201);
    expect(frozen.body).toMatchObject({ action: "lock", target: {} });
    expect(frozen.body.subject).toBeUndefined();
    expect((await post("/freeze", {})).status).toBe(409);
    const state = await product.call("GET", `${BASE}/subjects/${a}/review-state`, { as: "monitor" });
    expect(state.body.frozen).toMatchObject({
      by: "test-data_manager",
      reason: "Database lock for the interim analysis",
    });

    const before = await product.snapshot();
    const saveA = await product.save(a, "screening", "vital_signs", { data: { heart_rate: 70 } });
    expect(saveA.status).toBe(423);
    expect(saveA.body.lock.scope).toBe("study");
    const saveB = await product.save(
      b,
      "screening",
      "vital_signs",
      { data: { heart_rate: 70 } },
      { as: "site-02" },
    );
    expect(saveB.status).toBe(423);
    const enrol = await product.call("POST", `${BASE}/subjects`, {
      as: "site-01",
      body: { site: "site-01", arm: "rrms" },
    });
    expect(enrol.status).toBe(423);
    expect(enrol.body.type).toBe("urn:edc:problem:locked");
    expect(await product.snapshot()).toEqual(before);

    expect((await post("/unfreeze", {})).status).toBe(422);
    expect((await post("/unfreeze", { reason: "Interim analysis done" })).status).toBe(201);
    expect((await product.save(a, "screening", "vital_signs", { data: { heart_rate: 70 } })).status).toBe(
      200,
    );
  });
});
