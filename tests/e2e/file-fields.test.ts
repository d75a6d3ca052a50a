import { createHash } from "node:crypto";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, expect, it } from "vitest";
import { describeInBrowser, type E2E, formUrl, STUDY, signIn, startE2E } from "./browser.ts";

/**
 * Issue 14's acceptance in the browser: the reference study's signed consent
 * scan, the participant's drawn signature and the infusion's release
 * certificate are uploaded through the form page, downloaded byte for byte,
 * replaced with a reason and seen in the history; another site's user gets
 * 404 for the file.
 */

const sha256 = (bytes: Buffer | Uint8Array) => createHash("sha256").update(bytes).digest("hex");
const pdf = (text: string) => Buffer.from(`%PDF-1.4\n% ${text}\n%%EOF\n`);
const SCAN = pdf("the signed consent form, page 1");
const RESCAN = pdf("the signed consent form, pages 1 and 2, legible");
const CERTIFICATE = pdf("release certificate, batch 42");
const TODAY = new Date().toISOString().slice(0, 10);

let e2e: E2E;
let context: BrowserContext;
let page: Page;

function token(as: string): string {
  const found = e2e.env.tokens[as]?.token;
  if (!found) throw new Error(`no dev token ${as}`);
  return found;
}

async function enrol(): Promise<string> {
  const res = await e2e.api("site-01", "POST", `/studies/${STUDY}/subjects`, {
    site: "site-01",
    arm: "rrms",
  });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

async function typeInto(p: Page, selector: string, text: string) {
  await p.locator(selector).click();
  await p.keyboard.type(text, { delay: 40 });
}

/** Clicks the attached file's link as a person would and answers the bytes the browser saved. */
async function download(p: Page, field: string): Promise<{ name: string; bytes: Buffer; href: string }> {
  const link = p.locator(`[data-file=${field}] [data-file-attached] a`);
  const href = (await link.getAttribute("href")) ?? "";
  const [file] = await Promise.all([p.waitForEvent("download"), link.click()]);
  // The browser may run in another process (one shared per test run): its download is copied here.
  const saved = path.join(await mkdtemp(path.join(tmpdir(), "download-")), "file");
  await file.saveAs(saved);
  return { name: file.suggestedFilename(), bytes: await readFile(saved), href };
}

/** A signature as a hand draws it: press, a few moves at human pace, release. */
async function drawSignature(p: Page, field: string) {
  const canvas = p.locator(`[data-signature-pad=${field}] canvas`);
  await canvas.scrollIntoViewIfNeeded();
  const box = await canvas.boundingBox();
  if (!box) throw new Error("the signature pad is not shown");
  const at = (fx: number, fy: number) => [box.x + box.width * fx, box.y + box.height * fy] as const;
  await p.mouse.move(...at(0.1, 0.6));
  await p.mouse.down();
  for (const [fx, fy] of [
    [0.2, 0.3],
    [0.3, 0.7],
    [0.45, 0.35],
    [0.6, 0.65],
    [0.8, 0.4],
  ] as const)
    await p.mouse.move(...at(fx, fy), { steps: 6 });
  await p.mouse.up();
  await expect
    .poll(() => p.locator(`[data-signature-pad=${field}] [data-signature-state]`).textContent())
    .toMatch(/drawn/);
}

describeInBrowser("file and signature fields in the form page", () => {
  beforeAll(async () => {
    e2e = await startE2E();
    context = await e2e.context({ acceptDownloads: true });
    page = await context.newPage();
    await signIn(page, token("site-01"));
  });
  afterEach(() => e2e.assertAccessible());
  afterAll(async () => {
    await e2e?.close();
  });

  let subject = "";
  let url = "";
  let firstScan = "";
  let secondScan = "";

  it("consent: uploads the scan and a drawn signature, downloads both byte for byte", async () => {
    subject = await enrol();
    url = formUrl(subject, "screening", "consent");
    await page.goto(url);
    await typeInto(page, "#f-consent_date", TODAY);
    await typeInto(page, "#f-consent_version", "2.1");
    await page.locator("[data-field=consent_signed] input[value=true]").check();
    await page
      .locator("#f-consent_scan")
      .setInputFiles({ name: "consent-scan.pdf", mimeType: "application/pdf", buffer: SCAN });
    await drawSignature(page, "participant_signature");
    await page.locator("button[name=_status][value=complete]").click();
    await page.waitForURL(/saved=1/);

    await expect
      .poll(() => page.locator("[data-file=consent_scan] [data-file-attached]").textContent())
      .toMatch(/consent-scan\.pdf \(\d+ bytes\)/);
    const scan = await download(page, "consent_scan");
    expect(scan.name).toBe("consent-scan.pdf");
    expect(sha256(scan.bytes)).toBe(sha256(SCAN));
    const signature = await download(page, "participant_signature");
    expect(signature.name).toBe("signature.png");
    expect([...signature.bytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

    firstScan = scan.href;
  });

  it("consent: a wrong type is refused beside the field; replacing the scan asks why; the history shows both", async () => {
    // A wrong type is refused beside the field and nothing is saved.
    await page
      .locator("#f-consent_scan")
      .setInputFiles({ name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("not a scan") });
    await typeInto(page, "#f-_reason", "Rescanned");
    await page.locator("button[name=_status][value=complete]").click();
    await expect
      .poll(() => page.locator("#e-consent_scan").textContent())
      .toMatch(/must be a file of type application\/pdf, image\/png, image\/jpeg/);
    expect(await page.locator("#f-consent_scan").getAttribute("aria-invalid")).toBe("true");
    const unchanged = await e2e.api(
      "site-01",
      "GET",
      `/studies/${STUDY}/subjects/${subject}/events/screening/forms/consent`,
    );
    expect(unchanged.body.rev).toBe(1);

    // Replacing the scan of a complete form asks why, like any other change.
    await page.goto(url);
    await page
      .locator("#f-consent_scan")
      .setInputFiles({ name: "consent-scan-v2.pdf", mimeType: "application/pdf", buffer: RESCAN });
    await page.locator("button[name=_status][value=complete]").click();
    await expect.poll(() => page.locator("[data-reason]").isVisible()).toBe(true);
    expect(page.url()).not.toMatch(/saved=/);
    await typeInto(page, "#f-_reason", "The first scan missed page 2");
    await page.locator("button[name=_status][value=complete]").click();
    await page.waitForURL(/saved=2/);
    const rescan = await download(page, "consent_scan");
    expect(rescan.name).toBe("consent-scan-v2.pdf");
    expect(sha256(rescan.bytes)).toBe(sha256(RESCAN));

    const history = page.locator("[data-history=consent_scan]");
    await history.locator("summary").click();
    const lines = await history.locator("li").allTextContents();
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/— → consent-scan\.pdf/);
    expect(lines[1]).toMatch(
      /consent-scan\.pdf \(\d+ bytes\) → consent-scan-v2\.pdf .*The first scan missed page 2/,
    );
    // The replaced file stays downloadable: the audit trail names it.
    const old = await context.request.get(firstScan);
    expect(old.status()).toBe(200);
    expect(sha256(await old.body())).toBe(sha256(SCAN));

    secondScan = rescan.href;
  });

  it("consent: another site's user is told the file does not exist", async () => {
    const elsewhere = await e2e.context();
    const theirs = await elsewhere.newPage();
    await signIn(theirs, token("site-02"));
    const denied = await elsewhere.request.get(secondScan);
    expect(denied.status()).toBe(404);
    expect(await denied.text()).not.toContain("PDF-1.4");
    await elsewhere.close();
  });

  it("infusion on a German phone: attaches the release certificate, downloads it, keeps it on the next save, removes it", async () => {
    const subject = await enrol();
    const phone = await e2e.context({
      acceptDownloads: true,
      locale: "de-DE",
      viewport: { width: 390, height: 844 },
      hasTouch: true,
    });
    const p = await phone.newPage();
    await signIn(p, token("site-01"));
    const url = formUrl(subject, "iv_1", "infusion");
    await p.goto(url);
    await p.locator("#f-release_certificate").setInputFiles({
      name: "Freigabezertifikat Charge 42.pdf",
      mimeType: "application/pdf",
      buffer: CERTIFICATE,
    });
    await p.locator("button[name=_status][value=incomplete]").click();
    await p.waitForURL(/saved=1/);
    const certificate = await download(p, "release_certificate");
    expect(certificate.name).toBe("Freigabezertifikat Charge 42.pdf");
    expect(sha256(certificate.bytes)).toBe(sha256(CERTIFICATE));

    // Saving without choosing a file keeps the one attached.
    await typeInto(p, "#f-cell_viability", "95");
    await p.locator("button[name=_status][value=incomplete]").click();
    await p.waitForURL(/saved=2/);
    expect(await p.locator("[data-file=release_certificate] [data-file-attached]").textContent()).toContain(
      "Freigabezertifikat Charge 42.pdf",
    );

    await p.locator("[data-file=release_certificate] [data-file-remove]").check();
    await p.locator("button[name=_status][value=incomplete]").click();
    await p.waitForURL(/saved=3/);
    expect(await p.locator("[data-file=release_certificate] [data-file-attached]").textContent()).toBe(
      "No file attached.",
    );
    const stored = await e2e.api(
      "site-01",
      "GET",
      `/studies/${STUDY}/subjects/${subject}/events/iv_1/forms/infusion`,
    );
    expect(stored.body.data.release_certificate).toBeUndefined();
    expect(stored.body.data.cell_viability).toBe(95);
    await phone.close();
  });
});
