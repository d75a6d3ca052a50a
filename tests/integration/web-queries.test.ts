import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevEnvironment } from "../../functions/dev-environment.ts";
import { Product, STUDY } from "./harness.ts";
import { Browser } from "./web-client.ts";

let product: Product;
beforeAll(async () => {
  product = new Product(await startDevEnvironment({ feedSettleMs: 0 }));
});
afterAll(() => product.close());

const site = `/studies/${STUDY}`;

describe("queries through the pages, without JavaScript", () => {
  it("a monitor raises a query beside a field, the site answers it, the monitor closes it; lists show it", async () => {
    const subject = await product.enrol();
    expect((await product.save(subject, "screening", "edss", { data: { edss_total: 2 } })).status).toBe(200);
    const formUrl = `${site}/subjects/${subject}/events/screening/forms/edss/instances/1`;
    const shortUrl = `${site}/subjects/${subject}/events/screening/forms/edss`;

    const monitor = new Browser(product);
    await monitor.signIn("monitor");
    const form = await monitor.request("GET", `${shortUrl}?raise=field%3Aedss_total`);
    expect(form.html).toContain('id="raise-query"');
    expect(form.html).toMatch(/<option value="field:edss_total" selected="">/);
    const raised = await monitor.request("POST", `${site}/subjects/${subject}/queries`, {
      _csrf: monitor.csrf(form.html),
      event: "screening",
      form: "edss",
      instance: "1",
      on: "field:edss_total",
      text: "EDSS 2 with every system at 0?",
      assignee: "coordinator",
    });
    expect(raised.status, raised.html).toBe(303);
    const id = /#query-(q_[a-z2-7]{10})$/.exec(raised.location ?? "")?.[1] ?? "";
    expect(raised.location).toBe(`${formUrl}#query-${id}`);

    const coordinator = new Browser(product);
    await coordinator.signIn("site-01");
    const seen = await coordinator.request("GET", formUrl);
    // Beside the field (in the data form, after edss_total's field) and as a thread with an answer form.
    expect(seen.html).toMatch(/<ul class="field-queries"[^>]*><li data-query="q_[^"]+"><a href="#query-/);
    expect(seen.html).toContain("EDSS 2 with every system at 0?");
    expect(seen.html).toContain(`action="${site}/subjects/${subject}/queries/${id}/answer"`);
    expect(seen.html).not.toContain(`/queries/${id}/close"`);
    expect(seen.html).not.toContain('id="raise-query"');
    const answered = await coordinator.request("POST", `${site}/subjects/${subject}/queries/${id}/answer`, {
      _csrf: coordinator.csrf(seen.html),
      text: "Source checked: 2 is right.",
    });
    expect(answered.status, answered.html).toBe(303);
    const refused = await coordinator.request("POST", `${site}/subjects/${subject}/queries/${id}/close`, {
      _csrf: coordinator.csrf(seen.html),
      text: "",
    });
    expect(refused.status).toBe(403);

    const again = await monitor.request("GET", formUrl);
    expect(again.html).toMatch(new RegExp(`data-query="${id}" data-state="answered"`));
    expect(again.html).toContain("Source checked: 2 is right.");
    const closed = await monitor.request("POST", `${site}/subjects/${subject}/queries/${id}/close`, {
      _csrf: monitor.csrf(again.html),
      text: "Thanks",
    });
    expect(closed.status).toBe(303);
    const after = await monitor.request("GET", formUrl);
    expect(after.html).toMatch(new RegExp(`data-query="${id}" data-state="closed"`));
    expect(after.html).toContain(`/queries/${id}/reopen"`);

    const subjectPage = await coordinator.request("GET", `${site}/subjects/${subject}`);
    expect(subjectPage.html).toMatch(new RegExp(`data-query="${id}" data-state="closed"`));

    const list = await monitor.request("GET", `${site}/queries?state=closed&form=edss`);
    expect(list.status).toBe(200);
    expect(list.html).toContain(`href="${formUrl}#query-${id}"`);
    expect(list.html).toContain('data-stat="closed">');
    expect(list.html).toContain('<section class="scroll"');
    const open = await monitor.request("GET", `${site}/queries?state=open&minAgeDays=1`);
    expect(open.html).not.toContain(`data-query="${id}"`);
    expect(open.html).toContain("No queries match.");
  });

  it("the site corrects the value and answers in one post of the data form; a refused save does neither", async () => {
    const subject = await product.enrol();
    expect((await product.save(subject, "screening", "edss", { data: { edss_total: 2 } })).status).toBe(200);
    const formUrl = `${site}/subjects/${subject}/events/screening/forms/edss/instances/1`;
    const opened = await product.call("POST", `/api/v1${site}/subjects/${subject}/queries`, {
      as: "monitor",
      body: { target: { event: "screening", form: "edss", field: "edss_total" }, text: "Source says 3" },
    });
    const id = opened.body.id as string;
    const answerUrl = `${site}/subjects/${subject}/queries/${id}/answer`;

    const b = new Browser(product);
    await b.signIn("site-01");
    const page = await b.request("GET", formUrl);
    // The button sits in the data form and sends it to the answer.
    expect(page.html).toMatch(
      new RegExp(`<form method="post" data-edc-form[\\s\\S]*formaction="${answerUrl}"[\\s\\S]*</form>`),
    );
    const before = await product.snapshot();
    const invalid = await b.request("POST", answerUrl, {
      _csrf: b.csrf(page.html),
      _rev: "1",
      _status: "incomplete",
      edss_total: "0.5",
      [`_answer.${id}`]: "Corrected",
    });
    expect(invalid.status).toBe(422);
    expect(await product.snapshot()).toEqual(before);

    const answered = await b.request("POST", answerUrl, {
      _csrf: b.csrf(page.html),
      _rev: "1",
      _status: "incomplete",
      edss_total: "3",
      [`_answer.${id}`]: "Corrected to 3 from the chart",
    });
    expect(answered.status, answered.html).toBe(303);
    expect(answered.location).toBe(`${formUrl}#query-${id}`);
    const query = (await product.call("GET", `/api/v1${site}/subjects/${subject}/queries`, { as: "monitor" }))
      .body.queries[0];
    expect(query.state).toBe("answered");
    expect(query.messages[1]).toMatchObject({
      text: "Corrected to 3 from the chart",
      correction: { event: "screening", form: "edss", instance: 1, rev: 2 },
    });
    const read = await product.call("GET", product.formPath(subject, "screening", "edss"), { as: "monitor" });
    expect(read.body).toMatchObject({ rev: 2, data: { edss_total: 3 } });
    const shown = await b.request("GET", formUrl);
    expect(shown.html).toContain("Corrected the data: revision 2");
    expect(shown.html).not.toContain(`formaction="${answerUrl}"`);
  });

  it("raises a query on a visit from the subject page", async () => {
    const subject = await product.enrol();
    const monitor = new Browser(product);
    await monitor.signIn("monitor");
    const page = await monitor.request("GET", `${site}/subjects/${subject}`);
    expect(page.html).toContain('<option value="event:screening">');
    const raised = await monitor.request("POST", `${site}/subjects/${subject}/queries`, {
      _csrf: monitor.csrf(page.html),
      on: "event:screening",
      text: "Visit date missing in the source?",
      assignee: "",
    });
    expect(raised.status).toBe(303);
    expect(raised.location).toMatch(new RegExp(`^${site}/subjects/${subject}#query-q_`));
    const back = await monitor.request("GET", `${site}/subjects/${subject}`);
    expect(back.html).toContain("Visit date missing in the source?");
    expect(back.html).toMatch(/data-state="open"[\s\S]*?<strong>Screening \(days -28 to -1\)<\/strong>/);
  });
});
