import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeInBrowser, type E2E, formUrl, STUDY, signIn, startE2E } from "./browser.ts";

/**
 * The Content-Security-Policy (http/security-headers.ts) as Chromium enforces
 * it: the pages and their scripts (precompiled checks, live checks) run
 * without a single violation, and an injected inline script does not run.
 */

let e2e: E2E;
beforeAll(async () => {
  e2e = await startE2E();
}, 60_000);
afterAll(() => e2e?.close());

/** Everything the browser reports about blocked content or failing scripts on `page`. */
function watch(page: Page): string[] {
  const seen: string[] = [];
  page.on("console", (m) => {
    if (/Content Security Policy|Refused to|EvalError/i.test(m.text())) seen.push(m.text());
  });
  page.on("pageerror", (e) => seen.push(String(e)));
  return seen;
}

async function signedIn(as: string): Promise<{ page: Page; violations: string[] }> {
  const context = await e2e.context();
  const page = await context.newPage();
  const violations = watch(page);
  await signIn(page, e2e.env.tokens[as]?.token ?? "");
  return { page, violations };
}

describeInBrowser("the Content-Security-Policy in Chromium", () => {
  it("lets the form page's script check values live, with no violation", async () => {
    const { page, violations } = await signedIn("site-01");
    const enrolled = await e2e.api("site-01", "POST", `/studies/${STUDY}/subjects`, {
      site: "site-01",
      arm: "rrms",
    });
    const response = await page.goto(formUrl(enrolled.body.id, "screening", "vital_signs"));
    // No eval on a form page: its checks come precompiled.
    expect(response?.headers()["content-security-policy"]).toMatch(/script-src 'self';/);
    await page.fill("#f-systolic_bp", "400");
    await page.locator("#f-systolic_bp").blur();
    await expect
      .poll(async () => (await page.locator("#e-systolic_bp").textContent())?.trim())
      .toMatch(/250/);
    await page.goto(`/studies/${STUDY}`);
    expect(violations).toEqual([]);
  });

  it("checks a builder pattern live (RE2 loaded as its own script), with no eval allowed", async () => {
    const { page, violations } = await signedIn("site-01");
    const enrolled = await e2e.api("site-01", "POST", `/studies/${STUDY}/subjects`, {
      site: "site-01",
      arm: "rrms",
    });
    // Demographics opens once consent is recorded.
    const consent = `/studies/${STUDY}/subjects/${enrolled.body.id}/events/screening/forms/consent`;
    await e2e.api("site-01", "PUT", consent, { rev: 0, status: "incomplete", data: {} });
    const response = await page.goto(formUrl(enrolled.body.id, "screening", "demographics"));
    expect(response?.headers()["content-security-policy"]).not.toContain("unsafe-eval");
    await page.fill("#f-initials", "j1");
    await page.locator("#f-initials").blur();
    await expect.poll(async () => (await page.locator("#e-initials").textContent())?.trim()).not.toBe("");
    await page.fill("#f-initials", "JD");
    await expect.poll(async () => (await page.locator("#e-initials").textContent())?.trim()).toBe("");
    expect(violations).toEqual([]);
  });

  it("lets the builder's script check a definition live, with no eval allowed and no violation", async () => {
    const { page, violations } = await signedIn("builder");
    const response = await page.goto(`/studies/${STUDY}/builder/edit?file=instruments/mri.json`);
    // The meta-schema checks come precompiled in the editor's script: nothing compiles in the page.
    expect(response?.headers()["content-security-policy"]).toMatch(/script-src 'self';/);
    const items = async () =>
      (await page.locator("#edc-live-errors li").allTextContents()).map((s) => s.trim());
    await expect.poll(items).toEqual(["No errors."]);
    const editor = page.locator("textarea[data-definition-editor]");
    const original = await editor.inputValue();
    // A field whose type is misspelt, typed key by key right after the opening of `properties`.
    const at = original.indexOf('"properties": {') + '"properties": {'.length;
    await editor.evaluate((el, i) => {
      const t = el as HTMLTextAreaElement;
      t.focus();
      t.setSelectionRange(i, i);
    }, at);
    await page.keyboard.type('"bad_field": { "type": "strnig", "title": "Bad" }, ');
    await expect
      .poll(async () => (await items()).join("\n"))
      .toContain('instruments/mri.json: /properties/bad_field/type: "type" must be one of');
    expect(await editor.getAttribute("aria-invalid")).toBe("true");
    await page.goto(`/studies/${STUDY}/builder/preview/diagnosis`);
    expect(violations).toEqual([]);
  });

  it("does not run an inline script injected into a page", async () => {
    const { page, violations } = await signedIn("site-01");
    const ran = await page.evaluate(async () => {
      const script = document.createElement("script");
      script.textContent = "window.edcInjected = true";
      document.body.append(script);
      await new Promise((r) => setTimeout(r, 50));
      return (window as unknown as { edcInjected?: boolean }).edcInjected === true;
    });
    expect(ran).toBe(false);
    await expect.poll(() => violations.some((v) => /Content Security Policy/.test(v))).toBe(true);
  });

  it("does not let another site frame ours", async () => {
    // Another origin (a second local server, with no policy of its own) frames our sign-in page.
    const framer = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/html" });
      res.end(`<iframe src="${e2e.baseURL}/signin"></iframe>`);
    });
    await new Promise<void>((resolve) => framer.listen(0, "127.0.0.1", resolve));
    try {
      const page = await (await e2e.context()).newPage();
      const refused: string[] = [];
      page.on("console", (m) => refused.push(m.text()));
      await page.goto(`http://127.0.0.1:${(framer.address() as AddressInfo).port}/`);
      await expect.poll(() => refused.some((m) => /frame-ancestors 'none'/.test(m))).toBe(true);
      // The console message can come before the frame has navigated to Chromium's error page.
      await expect
        .poll(() =>
          page
            .frames()
            .find((f) => f !== page.mainFrame())
            ?.url(),
        )
        .toBe("chrome-error://chromewebdata/");
    } finally {
      framer.closeAllConnections();
      await new Promise((resolve) => framer.close(resolve));
    }
  });
});
