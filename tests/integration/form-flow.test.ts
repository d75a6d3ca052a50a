import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Product, startProduct } from "./harness.ts";
import { Browser } from "./web-client.ts";

/**
 * Issue 9, items 4 and 9, through plain form posts (a browser without
 * JavaScript): a post that names no save action stores nothing, and a save
 * can move on to the next form of the visit or back to the subject.
 */

let product: Product;
beforeAll(async () => {
  product = await startProduct();
});
afterAll(() => product.close());

const study = "/studies/hucmsc-ms-nmo";

async function signedIn() {
  const b = new Browser(product);
  await b.signIn("site-01");
  return b;
}

describe("a form post without an explicit save action (Enter in a text field)", () => {
  it("saves nothing, keeps what was typed and says how to save", async () => {
    const b = await signedIn();
    const subject = await product.enrol();
    const url = `${study}/subjects/${subject}/events/screening/forms/vital_signs`;
    const form = await b.request("GET", url);
    const before = await product.snapshot();
    const res = await b.request("POST", url, { _csrf: b.csrf(form.html), _rev: "0", heart_rate: "61" });
    expect(res.status).toBe(422);
    expect(res.html).toContain("Nothing was saved");
    expect(res.html).toMatch(/id="f-heart_rate"[^>]*value="61"/);
    expect(await product.snapshot()).toEqual(before);
  });

  it("creates no log instance", async () => {
    const b = await signedIn();
    const subject = await product.enrol();
    const url = `${study}/subjects/${subject}/events/logs/forms/adverse_event/instances/1`;
    const form = await b.request("GET", url);
    const before = await product.snapshot();
    const res = await b.request("POST", url, { _csrf: b.csrf(form.html), _rev: "0", ae_term: "Headache" });
    expect(res.status).toBe(422);
    expect(await product.snapshot()).toEqual(before);
  });

  it("puts a disabled default button first, so a browser's implicit submission does nothing", async () => {
    const b = await signedIn();
    const subject = await product.enrol();
    const html = (await b.request("GET", `${study}/subjects/${subject}/events/screening/forms/vital_signs`))
      .html;
    const firstButton = /<button[^>]*>/.exec(html.slice(html.indexOf("data-edc-form")))?.[0] ?? "";
    expect(firstButton).toMatch(/type="submit"/);
    expect(firstButton).toMatch(/disabled/);
    expect(firstButton).toMatch(/hidden/);
  });
});

describe("moving on after a save", () => {
  const post = async (b: Browser, url: string, fields: Record<string, string>) => {
    const form = await b.request("GET", url);
    return b.request("POST", url, { _csrf: b.csrf(form.html), _rev: b.rev(form.html), ...fields });
  };

  it("offers the next form of the visit and the subject page on the form", async () => {
    const b = await signedIn();
    const subject = await product.enrol();
    const html = (await b.request("GET", `${study}/subjects/${subject}/events/screening/forms/consent`)).html;
    expect(html).toMatch(/<select[^>]*name="_then"/);
    expect(html).toContain('value="next"');
    expect(html).toContain("Demographics");
    expect(html).toContain('value="subject"');
  });

  it("saves and goes to the next form of the visit, which says what was stored", async () => {
    const b = await signedIn();
    const subject = await product.enrol();
    const base = `${study}/subjects/${subject}/events/screening/forms`;
    const res = await post(b, `${base}/consent`, {
      _status: "incomplete",
      _then: "next",
      consent_version: "2.1",
    });
    expect(res.status).toBe(303);
    expect(res.location?.startsWith(`${base}/demographics?`)).toBe(true);
    const next = await b.request("GET", res.location ?? "");
    expect(next.html).toMatch(/Informed consent[^<]*stored as revision 1/);
    // The choice carries on, so a visit can be walked form after form.
    expect(next.html).toMatch(/<option[^>]*value="next"[^>]*selected/);
    const stored = await product.call("GET", product.formPath(subject, "screening", "consent"), {
      as: "site-01",
    });
    expect(stored.body.data.consent_version).toBe("2.1");
  });

  it("goes to the subject page after the last form of the visit, and for a log", async () => {
    const b = await signedIn();
    const subject = await product.enrol();
    const subjectPage = `${study}/subjects/${subject}`;
    const last = await post(b, `${subjectPage}/events/screening/forms/labs`, {
      _status: "incomplete",
      _then: "next",
      wbc: "5.1",
    });
    expect(last.status).toBe(303);
    expect(last.location?.startsWith(`${subjectPage}?`)).toBe(true);
    expect(last.location).toContain("#event-screening");
    const log = await post(b, `${subjectPage}/events/logs/forms/adverse_event/instances/1`, {
      _status: "incomplete",
      _then: "subject",
      ae_term: "Headache",
    });
    expect(log.status).toBe(303);
    expect(log.location?.startsWith(`${subjectPage}?`)).toBe(true);
    const page = await b.request("GET", log.location ?? "");
    expect(page.html).toMatch(/Adverse event #1[^<]*stored as revision 1/);
  });

  it("saves and returns to the subject", async () => {
    const b = await signedIn();
    const subject = await product.enrol();
    const subjectPage = `${study}/subjects/${subject}`;
    const res = await post(b, `${subjectPage}/events/screening/forms/vital_signs`, {
      _status: "incomplete",
      _then: "subject",
      heart_rate: "62",
    });
    expect(res.status).toBe(303);
    expect(res.location?.startsWith(`${subjectPage}?`)).toBe(true);
    const page = await b.request("GET", res.location ?? "");
    expect(page.html).toMatch(/Vital signs[^<]*stored as revision 1/);
  });

  it("stays on the form when the save is refused, keeping the choice", async () => {
    const b = await signedIn();
    const subject = await product.enrol();
    const res = await post(b, `${study}/subjects/${subject}/events/screening/forms/vital_signs`, {
      _status: "incomplete",
      _then: "next",
      heart_rate: "sixty",
    });
    expect(res.status).toBe(422);
    expect(res.html).toMatch(/<option[^>]*value="next"[^>]*selected/);
  });

  it("stays on the form by default, and ignores an unknown choice", async () => {
    const b = await signedIn();
    const subject = await product.enrol();
    const url = `${study}/subjects/${subject}/events/screening/forms/vital_signs`;
    const res = await post(b, url, {
      _status: "incomplete",
      _then: "https://evil.example",
      heart_rate: "63",
    });
    expect(res.status).toBe(303);
    expect(res.location).toBe(`${url}?saved=1`);
  });

  it("does not announce a revision that is not stored", async () => {
    const b = await signedIn();
    const subject = await product.enrol();
    const page = await b.request(
      "GET",
      `${study}/subjects/${subject}/events/screening/forms/demographics?stored=screening.consent.1.7`,
    );
    expect(page.status).toBe(200);
    expect(page.html).not.toContain("stored as revision");
  });
});
