import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type DevEnvironment, storeDevKey } from "../../functions/dev-environment.ts";
import { HttpBrowser, serveProduct } from "./http-browser.ts";

/**
 * Electronic signatures over HTTP with the local OpenID provider: the
 * investigator re-authenticates (prompt=login, max_age=0) right before
 * signing, the signature covers exactly the revisions shown, and a later
 * change invalidates it visibly. The signing window is short here (WINDOW_MS)
 * so that "too old" can be waited for.
 */

const STUDY = "hucmsc-ms-nmo";
const ADMIN_KEY = "test-admin-key";
const INVESTIGATOR_KEY = "test-investigator-key";
const WINDOW_MS = 6_000;
let env: DevEnvironment;
let base: string;
let close: () => Promise<void>;
let subject: string;

const person = (username: string) => {
  const found = env.signIn?.people.find((p) => p.username === username);
  if (!found) throw new Error(`no dev person ${username}`);
  return found;
};

/** The provider's login form, wherever the browser was sent to it; answers where the app lands the person. */
async function logInAtProvider(browser: HttpBrowser, start: string, username: string) {
  const form = await browser.follow(start);
  expect(form.at.origin).toBe(new URL(env.signIn?.issuer ?? "").origin);
  const html = await form.res.text();
  const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1];
  if (!action) throw new Error(`no login form at ${form.at}:\n${html}`);
  return browser.follow(new URL(action, form.at), {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ username, password: person(username).password }).toString(),
  });
}

async function signIn(username: string) {
  const browser = new HttpBrowser();
  const landed = await logInAtProvider(browser, `${base}/auth/login`, username);
  expect(landed.res.status).toBe(200);
  return browser;
}

async function api(method: string, path: string, body?: unknown, key = ADMIN_KEY) {
  const res = await env.app.request(`/api/v1/studies/${STUDY}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body ? { "content-type": "application/json" } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as any };
}

const site01 = () => env.tokens["site-01"]?.token ?? "";
const signPath = (query = "") => `${base}/studies/${STUDY}/subjects/${subject}/sign${query}`;

/** The sign page's hidden fields, to post back what it showed. */
function signForm(html: string) {
  const csrf = /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? "";
  const covers = /name="covers" value="([^"]*)"/.exec(html)?.[1];
  return { csrf, covers };
}

async function post(browser: HttpBrowser, url: string, form: Record<string, string>) {
  return browser.go(url, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", origin: base },
    body: new URLSearchParams(form).toString(),
  });
}

/** Through the provider again from the sign page: answers the sign page the browser comes back to. */
async function reauthenticate(browser: HttpBrowser, username: string, query = "") {
  const next = new URL(signPath(query));
  const back = await logInAtProvider(
    browser,
    `${base}/auth/reauthenticate?next=${encodeURIComponent(next.pathname + next.search)}`,
    username,
  );
  return { status: back.res.status, at: back.at, html: await back.res.text() };
}

const signatures = async () =>
  (await api("GET", `/subjects/${subject}/signatures`, undefined, INVESTIGATOR_KEY)).body.signatures;

beforeAll(async () => {
  ({ env, base, close } = await serveProduct(ADMIN_KEY, { signingWindowMs: WINDOW_MS }));
  await storeDevKey(env.store, INVESTIGATOR_KEY, {
    user: "test-investigator-key",
    role: "investigator",
    study: STUDY,
    sites: ["site-01"],
  });
  const enrolled = await api("POST", "/subjects", { site: "site-01", arm: "rrms" }, site01());
  subject = enrolled.body.id;
  const saved = await api(
    "PUT",
    `/subjects/${subject}/events/screening/forms/demographics`,
    { data: { initials: "ABC" }, status: "incomplete", rev: 0 },
    site01(),
  );
  expect(saved.status, JSON.stringify(saved.body)).toBe(200);
});

afterAll(() => close());

describe("signing with re-authentication", () => {
  it("signs the casebook after a fresh re-authentication, once, and shows it valid", async () => {
    const investigator = person("investigator-site-01");
    const browser = await signIn(investigator.username);
    const first = await browser.go(signPath());
    const page = await first.text();
    expect(first.status).toBe(200);
    expect(page).toContain("Authenticate again to sign");
    expect(page).toContain(investigator.name);
    expect(signForm(page).covers).toBeUndefined();

    // A post without a re-authentication is refused, whatever it says.
    const { csrf } = signForm(page);
    const early = await post(browser, signPath(), {
      _csrf: csrf,
      confirm: "yes",
      covers: "screening/demographics/1@1",
    });
    expect(early.status).toBe(401);
    expect(await early.text()).toContain("Authenticate again to sign");

    // The provider asks for the password again although its session is alive (prompt=login).
    const back = await reauthenticate(browser, investigator.username);
    expect(back.status).toBe(200);
    expect(back.at.pathname).toBe(`/studies/${STUDY}/subjects/${subject}/sign`);
    const form = signForm(back.html);
    expect(form.covers).toBe("screening/demographics/1@1");

    const unconfirmed = await post(browser, signPath(), { _csrf: form.csrf, covers: form.covers ?? "" });
    expect(unconfirmed.status).toBe(422);
    const signed = await post(browser, signPath(), {
      _csrf: form.csrf,
      confirm: "yes",
      covers: form.covers ?? "",
    });
    expect(signed.status).toBe(303);

    const [signature] = await signatures();
    expect(signature).toMatchObject({
      target: {},
      name: investigator.name,
      meaning: "I attest that the data in this casebook are accurate and complete.",
      signedBy: investigator.email,
      valid: true,
      covers: [{ event: "screening", form: "demographics", instance: 1, rev: 1 }],
    });
    expect(signature.covers[0].hash).toMatch(/\w{20,}/);
    expect(Date.parse(signature.signedAt) - Date.parse(signature.authenticatedAt)).toBeLessThan(
      WINDOW_MS + 1000,
    );

    const casebook = await (await browser.go(`${base}/studies/${STUDY}/subjects/${subject}`)).text();
    expect(casebook).toContain(
      `Signed by ${investigator.name} on ${signature.signedAt.replace("T", " ").slice(0, 16)} UTC: I attest`,
    );

    // The permission was used up: another signature needs another re-authentication.
    const again = await post(browser, signPath(), {
      _csrf: form.csrf,
      confirm: "yes",
      covers: form.covers ?? "",
    });
    expect(again.status).toBe(401);
    expect(await signatures()).toHaveLength(1);
  });

  it("invalidates the signature when a signed form changes, visibly, naming the change", async () => {
    const saved = await api(
      "PUT",
      `/subjects/${subject}/events/screening/forms/demographics`,
      { data: { initials: "ABD" }, status: "incomplete", rev: 1 },
      site01(),
    );
    expect(saved.status).toBe(200);
    const [signature] = await signatures();
    expect(signature.valid).toBe(false);
    expect(signature.invalidatedBy).toMatchObject({
      event: "screening",
      form: "demographics",
      instance: 1,
      rev: 2,
      by: "dev-site-01",
      kind: "changed",
    });
    const browser = await signIn("investigator-site-01");
    const casebook = await (await browser.go(`${base}/studies/${STUDY}/subjects/${subject}`)).text();
    expect(casebook).toContain(
      `Signature invalidated by change on ${signature.invalidatedBy.at.replace("T", " ").slice(0, 16)} UTC`,
    );
    const formPage = await (
      await browser.go(`${base}/studies/${STUDY}/subjects/${subject}/events/screening/forms/demographics`)
    ).text();
    expect(formPage).toContain("Signature invalidated by change on");
    expect(formPage).toContain("Sign this form…");
  });

  it("signs one form, and the form page shows it", async () => {
    const browser = await signIn("investigator-site-01");
    const query = "?event=screening&form=demographics&instance=1";
    const back = await reauthenticate(browser, "investigator-site-01", query);
    const form = signForm(back.html);
    expect(form.covers).toBe("screening/demographics/1@2");
    expect(back.html).toContain("I attest that the data in this form are accurate and complete.");
    const signed = await post(browser, signPath(query), {
      _csrf: form.csrf,
      confirm: "yes",
      covers: form.covers ?? "",
    });
    expect(signed.status).toBe(303);
    expect(signed.headers.get("location")).toContain("/events/screening/forms/demographics/instances/1");
    const formPage = await (
      await browser.go(`${base}/studies/${STUDY}/subjects/${subject}/events/screening/forms/demographics`)
    ).text();
    expect(formPage).toMatch(/Signed by [^<]+ on [\d-]+ [\d:]+ UTC: I attest that the data in this form/);
    expect((await signatures()).map((s: { valid: boolean }) => s.valid)).toEqual([false, true]);
  });

  it("refuses a re-authentication older than the signing window", async () => {
    const browser = await signIn("investigator-site-01");
    const back = await reauthenticate(browser, "investigator-site-01");
    const form = signForm(back.html);
    expect(form.covers).toBeDefined();
    // The post arrives WINDOW_MS + 1.5 s later by the server's clock (in this process), without waiting that long.
    vi.useFakeTimers({ toFake: ["Date"], shouldAdvanceTime: true });
    vi.setSystemTime(Date.now() + WINDOW_MS + 1500);
    const late = await post(browser, signPath(), {
      _csrf: form.csrf,
      confirm: "yes",
      covers: form.covers ?? "",
    }).finally(() => vi.useRealTimers());
    expect(late.status).toBe(401);
    expect(await late.text()).toContain("more than 6 seconds old");
    expect(await signatures()).toHaveLength(2);
  }, 30_000);

  it("refuses a post whose covers are not what stands now", async () => {
    const browser = await signIn("investigator-site-01");
    const back = await reauthenticate(browser, "investigator-site-01");
    const form = signForm(back.html);
    const stale = await post(browser, signPath(), {
      _csrf: form.csrf,
      confirm: "yes",
      covers: "screening/demographics/1@1",
    });
    expect(stale.status).toBe(409);
    expect(await signatures()).toHaveLength(2);
    // Not a dead end: the sign page again, with what stands now, signable with the same authentication.
    const html = await stale.text();
    expect(html).toContain("was saved since the page was shown");
    const again = signForm(html);
    expect(again.covers).toBe(form.covers);
    const signed = await post(browser, signPath(), {
      _csrf: again.csrf,
      confirm: "yes",
      covers: again.covers ?? "",
    });
    expect(signed.status).toBe(303);
    expect(await signatures()).toHaveLength(3);
  });

  it("refuses a re-authentication by another person than the one signed in", async () => {
    const browser = await signIn("investigator-site-01");
    const before = (await signatures()).length;
    const switched = await reauthenticate(browser, "investigator-site-02");
    // The provider ends its session of the first person before it lets another in (a self-submitting form).
    const action = /<form method="post" action="([^"]+)"/.exec(switched.html)?.[1] ?? "";
    const fields = [...switched.html.matchAll(/name="(\w+)" value="([^"]*)"/g)].map((m) => [m[1], m[2]]);
    const back = await browser.follow(new URL(action, switched.at), {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(Object.fromEntries(fields)).toString(),
    });
    expect(back.at.pathname).toBe("/auth/callback");
    expect(back.res.status).toBe(401);
    expect(await back.res.text()).toContain("someone else");
    expect(await signatures()).toHaveLength(before);
  });

  it("lets no API key and no other role sign", async () => {
    const keyed = new HttpBrowser();
    const signedIn = await keyed.go(`${base}/signin`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", origin: base },
      body: new URLSearchParams({ token: INVESTIGATOR_KEY }).toString(),
    });
    expect(signedIn.status).toBe(303);
    const page = await keyed.go(signPath());
    const html = await page.text();
    expect(html).toContain("signed in with an API key");
    const refused = await post(keyed, signPath(), {
      _csrf: signForm(html).csrf,
      confirm: "yes",
      covers: "x",
    });
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain("Only a person can sign");

    const coordinator = await signIn("coordinator-site-01");
    expect((await coordinator.go(signPath())).status).toBe(403);
    expect((await coordinator.go(`${base}/auth/reauthenticate?next=/home`)).status).toBe(403);
    // The API reads signatures and cannot make one.
    const viaApi = await api("POST", `/subjects/${subject}/signatures`, {}, INVESTIGATOR_KEY);
    expect(viaApi.status).toBe(404);
  });
});
