import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BODY_LIMITS } from "../../functions/http/body-limits.ts";
import { type Product, STUDY, startProduct } from "./harness.ts";
import { Browser } from "./web-client.ts";

/**
 * The reference study's file fields through the form page without the page
 * script: a plain multipart post uploads, keeps, refuses and removes files;
 * the browser test (tests/e2e/file-fields.test.ts) covers drawing and
 * downloading.
 */

let product: Product;
let b: Browser;

beforeAll(async () => {
  product = await startProduct();
  b = new Browser(product);
  await b.signIn("site-01");
});
afterAll(() => product.close());

const consentPage = (subject: string) =>
  `/studies/${STUDY}/subjects/${subject}/events/screening/forms/consent`;

async function post(subject: string, fields: Record<string, string | File>) {
  const form = await b.request("GET", consentPage(subject));
  const body = new FormData();
  body.set("_csrf", b.csrf(form.html));
  body.set("_rev", b.rev(form.html));
  body.set("_status", "incomplete");
  for (const [k, v] of Object.entries(fields)) body.append(k, v);
  return b.request("POST", consentPage(subject), body);
}

const stored = async (subject: string) =>
  (await product.call("GET", product.formPath(subject, "screening", "consent"), { as: "site-01" })).body;

describe("file fields on the form page, without the script", () => {
  it("uploads a scan larger than a form post's usual limit, keeps it when none is chosen, removes it when asked", async () => {
    const subject = await product.enrol("site-01", { site: "site-01", arm: "rrms" });
    const bytes = new Uint8Array(BODY_LIMITS.default + 1000).fill(0x25);
    const saved = await post(subject, {
      consent_version: "2.1",
      "_file.consent_scan": new File([bytes], "scan.pdf", { type: "application/pdf" }),
    });
    expect(saved.status, saved.html).toBe(303);
    const first = await stored(subject);
    expect(first.data.consent_scan).toMatchObject({
      name: "scan.pdf",
      size: bytes.length,
      mediaType: "application/pdf",
    });

    // No file chosen: an empty, nameless file is posted, and the page's hidden reference keeps the scan.
    const page = await b.request("GET", consentPage(subject));
    const kept = /name="consent_scan" value="([^"]*)"/.exec(page.html)?.[1]?.replaceAll("&quot;", '"') ?? "";
    expect(JSON.parse(kept)).toEqual(first.data.consent_scan);
    expect(
      (
        await post(subject, {
          consent_version: "2.2",
          consent_scan: kept,
          "_file.consent_scan": new File([], "", { type: "application/octet-stream" }),
        })
      ).status,
    ).toBe(303);
    expect((await stored(subject)).data).toEqual({
      consent_version: "2.2",
      consent_scan: first.data.consent_scan,
    });

    expect(
      (await post(subject, { consent_version: "2.2", consent_scan: kept, "_remove.consent_scan": "true" }))
        .status,
    ).toBe(303);
    expect((await stored(subject)).data).toEqual({ consent_version: "2.2" });
  });

  it("gives a monitor, who reads the form without controls, the attached file's download link", async () => {
    const subject = await product.enrol("site-01", { site: "site-01", arm: "rrms" });
    const bytes = new TextEncoder().encode("%PDF-1.4 signed consent");
    const saved = await post(subject, {
      consent_version: "2.1",
      "_file.consent_scan": new File([bytes], "signed.pdf", { type: "application/pdf" }),
    });
    expect(saved.status, saved.html).toBe(303);
    const { sha256 } = (await stored(subject)).data.consent_scan as { sha256: string };

    const monitor = new Browser(product);
    await monitor.signIn("monitor");
    const page = await monitor.request("GET", consentPage(subject));
    expect(page.html).not.toContain('type="file"');
    const href = new RegExp(`<a href="([^"]*/files/${sha256})">signed\\.pdf`).exec(page.html)?.[1];
    expect(href, "no download link on the read-only form").toBeDefined();
    const file = await monitor.request("GET", href ?? "");
    expect(file.status).toBe(200);
    expect(file.html).toBe("%PDF-1.4 signed consent");
  });

  it("refuses a file too large or of the wrong type beside its field, saving nothing", async () => {
    const subject = await product.enrol("site-01", { site: "site-01", arm: "rrms" });
    const before = await product.snapshot();
    const tooLarge = new File([new Uint8Array(4 * 1024 * 1024 + 1)], "scan.pdf", { type: "application/pdf" });
    const big = await post(subject, { consent_version: "2.1", "_file.consent_scan": tooLarge });
    expect(big.status).toBe(422);
    expect(big.html).toMatch(/id="e-consent_scan"[^>]*>must be at most 4 MB/);
    const text = new File(["hello"], "notes.txt", { type: "text/plain" });
    const wrong = await post(subject, { consent_version: "2.1", "_file.participant_signature": text });
    expect(wrong.status).toBe(422);
    expect(wrong.html).toMatch(/id="e-participant_signature"[^>]*>must be a file of type image\/png/);
    expect(await product.snapshot()).toEqual(before);
  });

  it("a file posted under the field's own name is not a value: ignored, never a server error", async () => {
    const subject = await product.enrol("site-01", { site: "site-01", arm: "rrms" });
    const res = await post(subject, {
      consent_version: "2.1",
      consent_scan: new File(["%PDF-1.4"], "scan.pdf", { type: "application/pdf" }),
    });
    expect(res.status).toBe(303);
    expect((await stored(subject)).data).toEqual({ consent_version: "2.1" });
  });
});
