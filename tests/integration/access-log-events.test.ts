import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DevEnvironment } from "../../functions/dev-environment.ts";
import { type AccessLogEntry, DEPLOYMENT_LOG } from "../../functions/store/access-log.ts";
import { HttpBrowser, serveProduct } from "./http-browser.ts";

/**
 * Every kind of access event appends exactly one entry to the right log, with
 * the right actor, action and details, over real HTTP (so the source address
 * is the socket's) and through the local OpenID provider's real login form.
 */

const STUDY = "hucmsc-ms-nmo";
const ADMIN_KEY = "test-admin-key-for-the-access-log";
const UA = "access-log-test/1.0";
let env: DevEnvironment;
let base: string;

/** The session's CSRF token, from a page of the app. */
async function csrfOf(browser: HttpBrowser): Promise<string> {
  const html = await (await browser.follow(`${base}/home`)).res.text();
  const match = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!match?.[1]) throw new Error("no CSRF token");
  return match[1];
}

async function pasteKey(token: string) {
  const browser = new HttpBrowser({ "user-agent": UA });
  const res = await browser.go(`${base}/signin`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token }).toString(),
  });
  return { browser, res };
}

async function signInAtProvider(username: string) {
  const person = env.signIn?.people.find((p) => p.username === username);
  if (!person) throw new Error(`no dev person ${username}`);
  const browser = new HttpBrowser({ "user-agent": UA });
  const form = await browser.follow(`${base}/auth/login`);
  const action = /<form method="post" action="([^"]+)"/.exec(await form.res.text())?.[1] ?? "";
  const landed = await browser.follow(new URL(action, form.at), {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ username, password: person.password }).toString(),
  });
  return { browser, landed };
}

async function api(method: string, path: string, options: { key?: string; body?: unknown } = {}) {
  const res = await fetch(`${base}/api/v1/studies/${STUDY}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${options.key ?? ADMIN_KEY}`,
      "user-agent": UA,
      ...(options.body ? { "content-type": "application/json" } : {}),
    },
    ...(options.body ? { body: JSON.stringify(options.body) } : {}),
  });
  const text = await res.text();
  const json = res.headers.get("content-type")?.includes("json") && text ? JSON.parse(text) : text;
  return { status: res.status, body: json as any, headers: res.headers };
}

async function logOf(study: string): Promise<AccessLogEntry[]> {
  return (await env.store.readAccessLog(study, { limit: 100_000 })).entries;
}

/** The entries `act` appended to the study's log (and the deployment's). */
async function appended(act: () => Promise<unknown>, study = STUDY): Promise<AccessLogEntry[]> {
  const before = (await logOf(study)).length;
  await act();
  // A key's first use of the day is logged too (tests/integration/api-keys.test.ts); not the event here.
  return (await logOf(study)).slice(before).filter((e) => e.action !== "key-use");
}

const token = (name: string) => {
  const t = env.tokens[name];
  if (!t) throw new Error(`no dev token ${name}`);
  return t.token;
};

async function personIdOf(username: string): Promise<string> {
  const { body } = await api("GET", "/people");
  const found = body.people.find((p: { email?: string }) => p.email === `${username}@example.org`);
  if (!found) throw new Error(`${username} not listed`);
  return found.id;
}

let close: () => Promise<void>;
beforeAll(async () => {
  ({ env, base, close } = await serveProduct(ADMIN_KEY));
});

afterAll(() => close());

describe("the access log records", () => {
  it("a sign-in by pasting a key, with how, from where and with what", async () => {
    const [entry, ...more] = await appended(() => pasteKey(token("site-01")));
    expect(more).toEqual([]);
    expect(entry).toMatchObject({
      actor: "dev-site-01",
      action: "sign-in",
      details: { method: "api-key" },
      userAgent: UA,
    });
    expect(entry?.ip).toMatch(/^(127\.0\.0\.1|::1|::ffff:127\.0\.0\.1)$/);
  });

  it("a failed paste in the deployment's log, naming the key's public id, never the key", async () => {
    const wrong = "edc_not-a-key-anyone-was-given";
    const studyBefore = (await logOf(STUDY)).length;
    const [entry, ...more] = await appended(async () => {
      const { res } = await pasteKey(wrong);
      expect(res.status).toBe(401);
    }, DEPLOYMENT_LOG);
    expect(more).toEqual([]);
    expect(entry).toMatchObject({ action: "sign-in-failed", details: { method: "api-key" }, userAgent: UA });
    expect(entry?.actor).toMatch(/^key [0-9a-f]{12}$/);
    expect(JSON.stringify(entry)).not.toContain(wrong);
    expect((await logOf(STUDY)).length).toBe(studyBefore);
  });

  it("a person's sign-in through the provider, with their id", async () => {
    const id = await personIdOf("monitor");
    const [entry, ...more] = await appended(async () => {
      const { landed } = await signInAtProvider("monitor");
      expect(landed.res.status).toBe(200);
    });
    expect(more).toEqual([]);
    expect(entry).toMatchObject({
      actor: "monitor@example.org",
      person: id,
      action: "sign-in",
      details: { method: "oidc" },
    });
  });

  it("a refusal at the callback as a failed sign-in by someone unknown", async () => {
    const [entry, ...more] = await appended(async () => {
      const res = await new HttpBrowser({ "user-agent": UA }).go(
        `${base}/auth/callback?code=forged&state=forged`,
      );
      expect(res.status).toBe(400);
    }, DEPLOYMENT_LOG);
    expect(more).toEqual([]);
    expect(entry).toMatchObject({ actor: "unknown", action: "sign-in-failed", details: { method: "oidc" } });
    expect(String(entry?.details.reason)).toContain("no sign-in was started");
  });

  it("a grant and a revocation, by whom and of whom; a revoked person's sign-in then fails", async () => {
    const id = await personIdOf("sponsor");
    const [granted, ...moreGranted] = await appended(async () => {
      const res = await api("PUT", `/people/${id}/grant`, {
        body: { roles: [{ role: "sponsor", sites: ["site-02"] }] },
      });
      expect(res.status).toBe(200);
    });
    expect(moreGranted).toEqual([]);
    expect(granted).toMatchObject({
      actor: "test-admin",
      action: "grant-change",
      details: { person: id, roles: [{ role: "sponsor", sites: ["site-02"] }], deidentified: false },
      userAgent: UA,
    });
    const [revoked, ...moreRevoked] = await appended(async () => {
      expect((await api("DELETE", `/people/${id}/grant`)).status).toBe(204);
    });
    expect(moreRevoked).toEqual([]);
    expect(revoked).toMatchObject({ actor: "test-admin", action: "revoke", details: { person: id } });
    const [refused, ...moreRefused] = await appended(async () => {
      const { landed } = await signInAtProvider("sponsor");
      expect(landed.res.status).toBe(403);
    }, DEPLOYMENT_LOG);
    expect(moreRefused).toEqual([]);
    expect(refused).toMatchObject({
      actor: "sponsor@example.org",
      person: id,
      action: "sign-in-failed",
      details: { method: "oidc", reason: "no role at any study" },
    });
    const [regranted] = await appended(() =>
      api("PUT", `/people/${id}/grant`, { body: { roles: [{ role: "sponsor", sites: ["*"] }] } }),
    );
    expect(regranted?.action).toBe("grant");
  });

  it("a sign-out", async () => {
    const { browser } = await pasteKey(token("monitor"));
    const csrf = await csrfOf(browser);
    const [entry, ...more] = await appended(() =>
      browser.go(`${base}/signout`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ _csrf: csrf }).toString(),
      }),
    );
    expect(more).toEqual([]);
    expect(entry).toMatchObject({ actor: "dev-monitor", action: "sign-out", details: {} });
  });

  it("an idle session ended by the server, once however many requests notice it", async () => {
    const { browser } = await pasteKey(token("site-01"));
    const cookie = browser.cookie(base, "edc_session") ?? "";
    const [, , nonce] = JSON.parse(Buffer.from(cookie.split(".")[0] ?? "", "base64url").toString());
    await env.store.touchSession(nonce, Date.now() - 31 * 60_000);
    const entries = await appended(async () => {
      const [a, b] = await Promise.all([browser.go(`${base}/home`), browser.go(`${base}/home`)]);
      expect(a.headers.get("location")).toContain("idle=1");
      expect(b.status).toBe(302);
    });
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({
      actor: "dev-site-01",
      action: "session-timeout",
      details: { reason: "idle", idleMinutes: 30 },
    });
  });

  it("a records export page: format, filters with subjects counted not named, sites, subject count", async () => {
    const subject = (
      await api("POST", "/subjects", { key: token("site-01"), body: { site: "site-01", arm: "rrms" } })
    ).body.id as string;
    const [entry, ...more] = await appended(async () => {
      const res = await api("GET", `/records?format=json&forms=demographics&subjects=${subject}&limit=10`, {
        key: token("monitor"),
      });
      expect(res.status).toBe(200);
    });
    expect(more).toEqual([]);
    expect(entry).toMatchObject({
      actor: "dev-monitor",
      action: "export-records",
      details: {
        format: "json",
        filters: { rawOrLabel: "raw", forms: ["demographics"], subjectsCount: 1 },
        sites: ["site-01", "site-02"],
        deidentified: false,
        continued: false,
        subjects: 1,
      },
    });
    expect(JSON.stringify(entry)).not.toContain(subject);
  });

  it("a change-feed pull: cursor in and out, how many changes", async () => {
    const first = await appended(async () => {
      const res = await api("GET", "/changes?limit=1000", { key: token("monitor") });
      expect(res.status).toBe(200);
    });
    expect(first).toHaveLength(1);
    expect(first[0]).toMatchObject({
      actor: "dev-monitor",
      action: "export-changes",
      details: { cursorIn: null, more: false, deidentified: false },
    });
    const cursor = first[0]?.details.cursorOut as string;
    const [second] = await appended(() =>
      api("GET", `/changes?cursor=${encodeURIComponent(cursor)}`, { key: token("monitor") }),
    );
    expect(second?.details).toMatchObject({ cursorIn: cursor, cursorOut: cursor, count: 0 });
  });

  it("an ODM export and a REDCap export, one entry each", async () => {
    const [odm, ...moreOdm] = await appended(() => api("GET", "/odm?audit=true", { key: token("monitor") }));
    expect(moreOdm).toEqual([]);
    expect(odm).toMatchObject({
      action: "export-odm",
      details: { filters: { clinicalData: true, audit: true, includeEnteredInError: false } },
    });
    const [redcap, ...moreRedcap] = await appended(async () => {
      const res = await fetch(`${base}/api/`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({ token: token("monitor"), content: "record", format: "json" }).toString(),
      });
      expect(res.status).toBe(200);
      await res.text();
    });
    expect(moreRedcap).toEqual([]);
    expect(redcap).toMatchObject({
      actor: "dev-monitor",
      action: "export-redcap",
      details: { content: "record", format: "json", deidentified: false },
    });
  });

  it("and both logs verify clean after all of it", async () => {
    const study = await env.store.verifyAudit(STUDY);
    expect(study.findings).toEqual([]);
    const deployment = await env.store.verifyAudit(DEPLOYMENT_LOG);
    expect(deployment.findings).toEqual([]);
    expect(deployment.counts.entries).toBeGreaterThanOrEqual(3);
  });
});

describe("reading the access log", () => {
  it("pages through the API past one page, each entry once, in order", async () => {
    for (let i = 0; i < 120; i++)
      await env.store.appendAccessLog(STUDY, { actor: "filler", action: "test-filler", details: { i } });
    const seqs: number[] = [];
    let after: number | undefined;
    let pages = 0;
    do {
      const res = await api("GET", `/access-log?limit=50${after !== undefined ? `&after=${after}` : ""}`, {
        key: token("monitor"),
      });
      expect(res.status).toBe(200);
      expect(res.body.entries.length).toBeLessThanOrEqual(50);
      expect(res.body.entries.every((e: object) => !("mac" in e))).toBe(true);
      seqs.push(...res.body.entries.map((e: { seq: number }) => e.seq));
      after = res.body.next;
      pages += 1;
    } while (after !== undefined);
    const total = (await logOf(STUDY)).length;
    expect(total).toBeGreaterThan(120);
    expect(pages).toBeGreaterThanOrEqual(3);
    expect(seqs).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    const filtered = await api("GET", "/access-log?action=sign-out", { key: token("monitor") });
    expect(filtered.body.entries.map((e: { action: string }) => e.action)).toEqual(["sign-out"]);
  });

  it("answers 400 to a bad cursor and 403 to a coordinator", async () => {
    expect((await api("GET", "/access-log?after=-1", { key: token("monitor") })).status).toBe(400);
    const refused = await api("GET", "/access-log", { key: token("site-01") });
    expect(refused.status).toBe(403);
    expect(refused.headers.get("content-type")).toContain("application/problem+json");
  });

  it("shows admins the page, newest first, filtered and paged; refuses it to coordinators", async () => {
    const { browser } = await pasteKey(ADMIN_KEY);
    const page = await browser.follow(`${base}/studies/${STUDY}/access-log?action=test-filler`);
    expect(page.res.status).toBe(200);
    const html = await page.res.text();
    expect(html).toContain("<caption>");
    expect(html).toContain('<th scope="col">Action</th>');
    // A phone scrolls the wide table inside its own region, not the whole page.
    expect(html).toMatch(/<section class="scroll"[^>]*>\s*<table/);
    const rows = [...html.matchAll(/data-seq="(\d+)"/g)].map((m) => Number(m[1]));
    expect(rows).toHaveLength(50);
    expect(rows).toEqual([...rows].sort((a, b) => b - a));
    const older = /href="([^"]*before=\d+[^"]*)">Older entries/.exec(html)?.[1]?.replaceAll("&amp;", "&");
    expect(older).toBeDefined();
    const next = await (await browser.follow(new URL(older ?? "", base))).res.text();
    const olderRows = [...next.matchAll(/data-seq="(\d+)"/g)].map((m) => Number(m[1]));
    expect(Math.max(...olderRows)).toBeLessThan(Math.min(...rows));
    expect(next.match(/<td>test-filler<\/td>/g)).toHaveLength(olderRows.length);

    const coordinator = (await pasteKey(token("site-01"))).browser;
    const refused = await coordinator.go(`${base}/studies/${STUDY}/access-log`);
    expect(refused.status).toBe(403);
  });
});
