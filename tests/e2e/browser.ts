import { readFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { serve } from "@hono/node-server";
import type axe from "axe-core";
import {
  type Browser,
  type BrowserContext,
  type BrowserContextOptions,
  chromium,
  type Page,
  type Response as PageResponse,
} from "playwright-core";
import { describe, inject, it } from "vitest";
import { type DevEnvironment, startDevEnvironment } from "../../functions/dev-environment.ts";
import { findChromium, LAUNCH_ARGS, SHARED_CHROMIUM } from "./chromium.ts";

/**
 * Browser tests: the product served on a random local port, driven by
 * playwright-core through the system's Chromium (Debian's `chromium`, or
 * CHROMIUM_PATH). A browser is never downloaded. Without one the tests are
 * skipped with a warning on a developer machine, and fail in CI (CI=…), whose
 * `.ci/run` installs it. A run shares one Chromium (shared-chromium.ts, the
 * global setup): each file connects to it; a file run without one launches its own.
 */

export const STUDY = "hucmsc-ms-nmo";
export const ARTIFACTS = path.join(import.meta.dirname, "..", "artifacts");

const found = findChromium();
export const chromiumPath = found.path;
export const hasBrowser = chromiumPath !== undefined;
export const missingBrowser = found.reason;

let warned = false;

/**
 * `describe` for browser tests: skipped, with one warning, when no Chromium is
 * present; when CI is set a missing browser is a failure instead.
 */
export function describeInBrowser(name: string, body: () => void): void {
  if (!hasBrowser && process.env.CI) {
    describe(name, () => {
      it("has a Chromium to run in (CI must install it: see .ci/run)", () => {
        throw new Error(`Browser tests cannot run in CI: ${missingBrowser}`);
      });
    });
    return;
  }
  if (!hasBrowser && !warned) {
    warned = true;
    console.warn(`e2e: SKIPPED browser tests: ${missingBrowser}`);
  }
  describe.skipIf(!hasBrowser)(hasBrowser ? name : `${name} [SKIPPED: ${missingBrowser}]`, body);
}

export interface E2E {
  env: DevEnvironment;
  baseURL: string;
  browser: Browser;
  /** A fresh browser context (own cookies, own cache) against the product. */
  context: (options?: BrowserContextOptions) => Promise<BrowserContext>;
  /**
   * Every page a context made here loads is checked with axe-core (WCAG 2.1
   * A/AA); this waits for the checks still running and throws if any found a
   * violation since the last call (call it in afterEach).
   */
  assertAccessible: () => Promise<void>;
  /** How many page loads axe-core has checked so far. */
  a11yChecked: () => number;
  /** Calls the JSON API as one of the dev tokens. */
  api: (as: string, method: string, path: string, body?: unknown) => Promise<{ status: number; body: any }>;
  /** A page of a fresh context, signed in with a dev token (e.g. "site-01"), on the dashboard. */
  signedInPage: (
    as: string,
    options?: BrowserContextOptions,
  ) => Promise<{ context: BrowserContext; page: Page }>;
  /** Enrols a subject at a site through the API, as that site's dev token; answers its id. */
  enrol: (site?: string, arm?: string) => Promise<string>;
  close: () => Promise<void>;
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** The whole product (in-memory dynalite) on 127.0.0.1:<random>, and one browser for the test file. */
export async function startE2E(
  settings: {
    a11yOnLoad?: boolean;
    signIn?: { idleMs?: number };
    studyDirs?: string[];
    /** The reference study's forms folder (default forms/): a variant of it. */
    formsDir?: string;
  } = {},
): Promise<E2E> {
  if (!chromiumPath) throw new Error(`e2e: ${missingBrowser}`);
  await mkdir(ARTIFACTS, { recursive: true });
  // People sign in at the local provider, which must know the app's callback URL, so the port is chosen first.
  const wantedPort = settings.signIn ? await freePort() : 0;
  const env = await startDevEnvironment({
    ...(settings.signIn
      ? {
          publicUrl: `http://127.0.0.1:${wantedPort}`,
          ...(settings.signIn.idleMs ? { sessionIdleMs: settings.signIn.idleMs } : {}),
        }
      : {}),
    ...(settings.studyDirs ? { studyDirs: settings.studyDirs } : {}),
    ...(settings.formsDir ? { formsDir: settings.formsDir } : {}),
  });
  let server: Server | undefined;
  let browser: Browser | undefined;
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const s = serve({ fetch: env.app.fetch, port: wantedPort, hostname: "127.0.0.1" }, (info) =>
        resolve(info.port),
      );
      s.once("error", reject);
      server = s as Server;
    });
    const baseURL = `http://127.0.0.1:${port}`;
    browser = await openBrowser(chromiumPath);
    const b = browser;
    const a11y = new A11yWatch();
    const e2e: E2E = {
      env,
      baseURL,
      browser: b,
      context: async (options = {}) => {
        const context = await b.newContext({ baseURL, viewport: { width: 1200, height: 900 }, ...options });
        context.setDefaultTimeout(10_000);
        context.setDefaultNavigationTimeout(15_000);
        if (settings.a11yOnLoad !== false) a11y.watch(context, baseURL);
        return context;
      },
      assertAccessible: () => a11y.assertNone(),
      a11yChecked: () => a11y.checked,
      api: async (as, method, apiPath, body) => {
        const token = env.tokens[as]?.token;
        if (!token) throw new Error(`no dev token ${as}`);
        const res = await fetch(`${baseURL}/api/v1${apiPath}`, {
          method,
          headers: {
            authorization: `Bearer ${token}`,
            ...(body === undefined ? {} : { "content-type": "application/json" }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        const text = await res.text();
        return { status: res.status, body: text ? JSON.parse(text) : undefined };
      },
      signedInPage: async (as, options) => {
        const token = env.tokens[as]?.token;
        if (!token) throw new Error(`no dev token ${as}`);
        const context = await e2e.context(options);
        const page = await context.newPage();
        await signIn(page, token);
        return { context, page };
      },
      enrol: async (site = "site-01", arm = "rrms") => {
        const res = await e2e.api(site, "POST", `/studies/${STUDY}/subjects`, { site, arm });
        if (res.status !== 201) throw new Error(`enrolment at ${site} answered ${res.status}`);
        return res.body.id;
      },
      close: async () => {
        // Every page any test of the file loaded was checked: a violation no afterEach asked about fails here.
        const violation = await a11y.assertNone().then(
          () => undefined,
          (error: unknown) => error,
        );
        await b.close().catch(() => {});
        await stopServer(server);
        await env.close();
        if (violation) throw violation;
      },
    };
    return e2e;
  } catch (error) {
    await browser?.close().catch(() => {});
    await stopServer(server);
    await env.close();
    throw error;
  }
}

/** The run's shared Chromium when the global setup started one, else a browser of the file's own. */
async function openBrowser(executablePath: string): Promise<Browser> {
  const shared = inject(SHARED_CHROMIUM);
  if (shared) return chromium.connect(shared);
  return chromium.launch({ executablePath, args: LAUNCH_ARGS });
}

async function stopServer(server: Server | undefined): Promise<void> {
  if (!server?.listening) return;
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

/** Signs the page's context in with a dev token through the sign-in page; ends on the dashboard. */
export async function signIn(page: Page, token: string): Promise<void> {
  await page.goto("/signin");
  await page.fill("#f-token", token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.waitForURL(`**/studies/${STUDY}`);
}

export function formUrl(subject: string, event: string, form: string, instance?: number): string {
  const base = `/studies/${STUDY}/subjects/${subject}/events/${event}/forms/${form}`;
  return instance === undefined ? base : `${base}/instances/${instance}`;
}

export interface PageWeight {
  url: string;
  requests: number;
  htmlBytes: number;
  scriptBytes: number;
  /** Inline `<style>` text (part of htmlBytes) and stylesheets fetched separately. */
  inlineCssBytes: number;
  cssBytes: number;
  otherBytes: number;
  /** Bytes the page needed: HTML + scripts + stylesheets + anything else fetched. */
  totalBytes: number;
  /** Bytes over the wire (compressed bodies). */
  transferredBytes: number;
}

/**
 * Loads `url` in `page` and weighs every response it took, by body bytes
 * (the server sends no compression). Use a fresh context so nothing comes
 * from the browser's cache.
 */
export async function weighPage(page: Page, url: string): Promise<PageWeight> {
  const bodies: Promise<{ type: string; bytes: number; wire: number }>[] = [];
  const onResponse = (response: PageResponse) => {
    const type = response.request().resourceType();
    bodies.push(
      Promise.all([
        response.body().catch(() => Buffer.alloc(0)),
        response
          .request()
          .sizes()
          .catch(() => undefined),
      ]).then(([b, sizes]) => ({ type, bytes: b.byteLength, wire: sizes?.responseBodySize ?? b.byteLength })),
    );
  };
  page.on("response", onResponse);
  await page.goto(url, { waitUntil: "load" });
  page.off("response", onResponse);
  const all = await Promise.all(bodies);
  const sum = (type: string) => all.filter((r) => r.type === type).reduce((n, r) => n + r.bytes, 0);
  const inlineCssBytes = await page.evaluate(() =>
    [...document.querySelectorAll("style")].reduce(
      (n, s) => n + new TextEncoder().encode(s.textContent ?? "").byteLength,
      0,
    ),
  );
  const htmlBytes = sum("document");
  const scriptBytes = sum("script");
  const cssBytes = sum("stylesheet");
  const totalBytes = all.reduce((n, r) => n + r.bytes, 0);
  const transferredBytes = all.reduce((n, r) => n + r.wire, 0);
  return {
    url,
    requests: all.length,
    htmlBytes,
    scriptBytes,
    inlineCssBytes,
    cssBytes,
    otherBytes: totalBytes - htmlBytes - scriptBytes - cssBytes,
    totalBytes,
    transferredBytes,
  };
}

/** The WCAG 2.1 A/AA rules the issue asks for (axe-core tags). */
export const WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];

/**
 * Runs axe-core in `page` as it is now and returns one line per violation
 * (rule, impact, the first few offending elements). The source is evaluated
 * through the DevTools protocol, which the app's CSP does not govern, so the
 * page keeps its real CSP while it is checked.
 */
export function a11yViolations(page: Page, label = page.url()): Promise<string[]> {
  // axe refuses a second run on a page while one is going: one at a time per page.
  const run = (axeRuns.get(page) ?? Promise.resolve()).catch(() => {}).then(() => runAxe(page, label));
  axeRuns.set(page, run);
  return run;
}

/** The minified build of the same axe-core (`axe.source` is the unminified one, twice the size to send and parse). */
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

const axeRuns = new WeakMap<Page, Promise<unknown>>();

async function runAxe(page: Page, label: string): Promise<string[]> {
  // axe-core is a large script: sent once per document, and its value (axe itself) left in the page, not sent back.
  if (!(await page.evaluate(() => "axe" in window))) await page.evaluate(`${AXE_SOURCE};undefined`);
  // Only the violations are judged: axe need not gather, nor the page send back, every element that passed.
  const violations = (await page.evaluate(
    (tags) =>
      (window as unknown as { axe: typeof axe }).axe
        .run(document, { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] })
        .then((result) => result.violations),
    WCAG_TAGS,
  )) as axe.Result[];
  return violations.map(
    (v) =>
      `${label}: ${v.id} (${v.impact}) ${v.help}: ${v.nodes
        .slice(0, 3)
        .map((n) => `${n.target.join(" ")} — ${n.failureSummary?.replaceAll("\n", " ") ?? ""}`)
        .join(" | ")}`,
  );
}

/** Fails when axe-core finds any WCAG 2.1 A/AA violation on the page as it is now. */
export async function checkA11y(page: Page, label?: string): Promise<void> {
  const found = await a11yViolations(page, label);
  if (found.length) throw new Error(`accessibility violations:\n${found.join("\n")}`);
}

/** axe-core on every `load` of every page of the watched contexts; violations collected for `assertNone`. */
export class A11yWatch {
  private readonly running = new Set<Promise<void>>();
  private found: string[] = [];
  checked = 0;

  /** `origin`: only the product's own pages are judged (a test may load a stand-in for another site). */
  watch(context: BrowserContext, origin?: string): void {
    context.on("page", (page) => {
      page.on("load", () => {
        if (origin && new URL(page.url()).origin !== origin) return;
        const run = a11yViolations(page)
          .then((v) => {
            this.checked += 1;
            this.found.push(...v);
          })
          // The test moved on (navigated or closed the page) while axe ran: nothing to judge.
          .catch(() => {})
          .finally(() => this.running.delete(run));
        this.running.add(run);
      });
    });
  }

  async assertNone(): Promise<void> {
    while (this.running.size) await Promise.all([...this.running]);
    const found = [...new Set(this.found)];
    this.found = [];
    if (found.length) throw new Error(`accessibility violations (WCAG 2.1 A/AA):\n${found.join("\n")}`);
  }
}
