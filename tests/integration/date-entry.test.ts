import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Product, startProduct } from "./harness.ts";
import { Browser } from "./web-client.ts";

/**
 * Dates are stored only when they mean one day: the API takes ISO dates in
 * their plausible range, the pages also take a month's name, and an ambiguous
 * "10/11/2026" is refused with the expected format. Nothing is written when
 * a date is refused.
 */

let product: Product;
beforeAll(async () => {
  product = await startProduct();
});
afterAll(() => product.close());

const study = "/studies/hucmsc-ms-nmo";

describe("the API refuses implausible dates with a pointer and writes nothing", () => {
  it.each([
    ["demographics", "date_of_birth", "1899-12-31", "must be on or after 1 January 1900"],
    ["demographics", "date_of_birth", "2999-01-01", "must be today or earlier"],
    ["consent", "consent_date", "0026-03-05", "must be on or after 1 January 2010, the study's start"],
    ["consent", "consent_date", "2009-12-31", "must be on or after 1 January 2010, the study's start"],
  ])("%s.%s = %s", async (form, field, value, message) => {
    const subject = await product.enrol();
    const before = await product.snapshot();
    const res = await product.save(subject, "screening", form, { data: { [field]: value } });
    expect(res.status).toBe(422);
    expect(res.contentType).toContain("application/problem+json");
    expect(res.body.errors).toContainEqual(
      expect.objectContaining({ pointer: `/${field}`, code: "date-range", message }),
    );
    expect(await product.snapshot()).toEqual(before);
  });

  it("takes a date inside the range", async () => {
    const subject = await product.enrol();
    const res = await product.save(subject, "screening", "demographics", {
      data: { date_of_birth: "1988-04-17" },
    });
    expect(res.status).toBe(200);
  });
});

describe("a plain form post (no JavaScript)", () => {
  async function formPage() {
    const b = new Browser(product);
    await b.signIn("site-01");
    const subject = await product.enrol();
    const url = `${study}/subjects/${subject}/events/screening/forms/consent`;
    const page = await b.request("GET", url);
    return { b, subject, url, csrf: b.csrf(page.html) };
  }

  it("refuses 10/11/2026 as ambiguous, says the format, keeps the text and writes nothing", async () => {
    const { b, url, csrf } = await formPage();
    const before = await product.snapshot();
    const res = await b.request("POST", url, {
      _csrf: csrf,
      _rev: "0",
      _status: "complete",
      consent_date: "10/11/2026",
    });
    expect(res.status).toBe(422);
    expect(res.html).toMatch(
      /id="e-consent_date"[^>]*>is ambiguous \(day and month are both numbers\): write YYYY-MM-DD/,
    );
    expect(res.html).toContain('value="10/11/2026"');
    expect(await product.snapshot()).toEqual(before);
  });

  it("stores '10 Nov 2026' and a vital-signs time '0930' as 2026-11-10 and 09:30", async () => {
    const { b, subject, url, csrf } = await formPage();
    const res = await b.request("POST", url, {
      _csrf: csrf,
      _rev: "0",
      _status: "incomplete",
      consent_date: "10 Nov 2026",
    });
    expect(res.status).toBe(303);
    const vitalsUrl = `${study}/subjects/${subject}/events/screening/forms/vital_signs`;
    const vitals = await b.request("GET", vitalsUrl);
    const saved = await b.request("POST", vitalsUrl, {
      _csrf: b.csrf(vitals.html),
      _rev: "0",
      _status: "incomplete",
      vs_time: "0930",
    });
    expect(saved.status).toBe(303);
    const consent = await product.call("GET", product.formPath(subject, "screening", "consent"), {
      as: "site-01",
    });
    expect(consent.body.data.consent_date).toBe("2026-11-10");
    const vs = await product.call("GET", product.formPath(subject, "screening", "vital_signs"), {
      as: "site-01",
    });
    expect(vs.body.data.vs_time).toBe("09:30");
  });
});
