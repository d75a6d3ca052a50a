import { createHash } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runExportJob } from "../../functions/http/export-job-runner.ts";
import { Product, STUDY } from "./harness.ts";
import { Browser } from "./web-client.ts";

/**
 * The exports page's bulk exports: the form starts a job through the API's
 * use case (CSRF-checked, refusals back on the page), and the list shows
 * only the jobs the signed-in person may see. Jobs are run by hand (the
 * app's `start` does nothing), on an empty study: the page is under test,
 * not the writer.
 */

const PAGE = `/studies/${STUDY}/exports`;
let product: Product;

beforeAll(async () => {
  const { startDevEnvironment } = await import("../../functions/dev-environment.ts");
  product = new Product(await startDevEnvironment({ exportJobs: { start: () => {} } }));
});
afterAll(() => product.close());

async function signedIn(name: string) {
  const browser = new Browser(product);
  await browser.signIn(name);
  const page = await browser.request("GET", PAGE);
  expect(page.status).toBe(200);
  return { browser, csrf: browser.csrf(page.html) };
}

const jobRows = (html: string) => html.match(/<tr( data-running="")?><td>/g)?.length ?? 0;

describe("bulk exports on the exports page", () => {
  it("refuses a start without the CSRF token, and bad choices come back on the page", async () => {
    const { browser, csrf } = await signedIn("monitor");
    const forged = await browser.request("POST", `${PAGE}/jobs`, { format: "csv" });
    expect(forged.status).toBe(403);
    const noFormat = await browser.request("POST", `${PAGE}/jobs`, { _csrf: csrf, format: "xlsx" });
    expect(noFormat.status).toBe(422);
    expect(noFormat.html).toContain("Choose one of the formats offered.");
    const odmWithForms = await browser.request("POST", `${PAGE}/jobs`, {
      _csrf: csrf,
      format: "odm-audit",
      forms: "demographics",
    });
    expect(odmWithForms.status).toBe(422);
    expect(odmWithForms.html).toContain("forms: ODM exports whole casebooks: no filter");
    const unknownForm = await browser.request("POST", `${PAGE}/jobs`, {
      _csrf: csrf,
      format: "csv",
      forms: "no_such_form",
    });
    expect(unknownForm.status).toBe(422);
    expect(unknownForm.html).toContain('role="alert"');
    const hashOnly = await browser.request("POST", `${PAGE}/jobs`, {
      _csrf: csrf,
      format: "csv",
      hashIds: "true",
    });
    expect(hashOnly.status).toBe(422);
    expect((await product.env.store.exportJobs.list(STUDY, { limit: 10 })).jobs).toHaveLength(0);
  });

  it("starts a job, lists it while it runs (with the updating script) and once done links its file with its hash", async () => {
    const { browser, csrf } = await signedIn("monitor");
    const started = await browser.request("POST", `${PAGE}/jobs`, { _csrf: csrf, format: "odm-audit" });
    expect(started.status).toBe(303);
    expect(started.location).toBe(`${PAGE}#bulk-jobs`);
    const [job] = (await product.env.store.exportJobs.list(STUDY, { limit: 10 })).jobs;
    expect(job?.request).toMatchObject({ format: "odm", audit: true, deidentify: false });
    const queued = await browser.request("GET", PAGE);
    expect(queued.html).toContain("Queued");
    expect(queued.html).toMatch(/<script src="\/assets\/export-jobs\.[0-9a-f]+\.js"/);

    await runExportJob(product.env.store, product.env.exportTarget, STUDY, job?.id ?? "");
    const done = await browser.request("GET", PAGE);
    expect(done.html).not.toContain("/assets/export-jobs.");
    expect(done.html).toContain("Done");
    const url = /<a href="([^"]+)" download/.exec(done.html)?.[1]?.replaceAll("&amp;", "&") ?? "";
    const file = await product.env.app.request(url);
    expect(file.status).toBe(200);
    const sha = createHash("sha256")
      .update(Buffer.from(await file.arrayBuffer()))
      .digest("hex");
    expect(done.html).toContain(sha);
  });

  it("lists to a site user only the jobs its sites cover", async () => {
    const site = await signedIn("site-01");
    const mine = await site.browser.request("POST", `${PAGE}/jobs`, { _csrf: site.csrf, format: "csv" });
    expect(mine.status).toBe(303);
    const sitePage = await site.browser.request("GET", PAGE);
    // The monitor's all-site job from the test before is not the site user's to see.
    expect(jobRows(sitePage.html)).toBe(1);
    expect(sitePage.html).toContain("by dev-site-01");
    expect(sitePage.html).not.toContain("by dev-monitor");
    const other = await signedIn("site-02");
    const otherPage = await other.browser.request("GET", PAGE);
    expect(jobRows(otherPage.html)).toBe(0);
    expect(otherPage.html).toContain("No bulk exports yet.");
    const monitorPage = await (await signedIn("monitor")).browser.request("GET", PAGE);
    expect(jobRows(monitorPage.html)).toBe(2);
  });
});
