import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { CustomFetch } from "openid-client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEV_PEOPLE_FILE, type DevPerson, loadDevPeople } from "../../functions/dev/dev-people.ts";
import { type DevOidcProvider, startOidcProvider } from "../../functions/dev/oidc-provider.ts";
import {
  beginSignIn,
  completeSignIn,
  connectRelyingParty,
  type OidcSettings,
  type PendingSignIn,
  type RelyingParty,
  readPendingSignIn,
  SignInRefused,
} from "../../functions/http/oidc.ts";

const SITES = ["site-01", "site-02"];
const ENGINE = {
  clientId: "edc-engine",
  clientSecret: "engine-secret",
  redirectUri: "http://localhost:3999/signin/done",
};
const OTHER = { clientId: "other-app", redirectUri: "http://localhost:4999/callback" };

let provider: DevOidcProvider;
let people: DevPerson[];
let engine: RelyingParty;

const person = (username: string) => {
  const found = people.find((p) => p.username === username);
  if (!found) throw new Error(`no dev person ${username}`);
  return found;
};

function settings(
  client: { clientId: string; clientSecret?: string; redirectUri: string },
  fetch?: CustomFetch,
) {
  return { issuer: provider.issuer, ...client, ...(fetch ? { fetch } : {}) } satisfies OidcSettings;
}

/** A browser's part of the flow, over plain HTTP: follows redirects by hand and keeps the provider's cookies. */
class Browser {
  private cookies = new Map<string, string>();

  async go(url: string | URL, init: RequestInit = {}): Promise<Response> {
    const cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join("; ");
    const res = await fetch(url, { ...init, redirect: "manual", headers: { ...init.headers, cookie } });
    for (const line of res.headers.getSetCookie()) {
      const [pair = "", ...attributes] = line.split(";");
      const [name = "", value = ""] = pair.split("=");
      const expired = attributes.some((a) => /max-age=0|expires=thu, 01 jan 1970/i.test(a.trim()));
      if (expired || !value) this.cookies.delete(name.trim());
      else this.cookies.set(name.trim(), value);
    }
    return res;
  }

  static next(res: Response, from: string | URL): URL {
    const location = res.headers.get("location");
    if (!location || res.status < 300 || res.status >= 400)
      throw new Error(`expected a redirect, got ${res.status}`);
    return new URL(location, from);
  }
}

/** Authorization request → login form → credentials: the response to the POST, and where the form lives. */
async function submitLogin(rp: RelyingParty, username: string, password: string) {
  const browser = new Browser();
  const { url, pending } = await beginSignIn(rp);
  const formUrl = Browser.next(await browser.go(url), url);
  const page = await browser.go(formUrl);
  expect(page.status).toBe(200);
  const html = await page.text();
  const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1];
  if (!action) throw new Error(`no login form:\n${html}`);
  const posted = await browser.go(new URL(action, formUrl), {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ username, password }).toString(),
  });
  return { browser, pending, html, posted, postedTo: new URL(action, formUrl) };
}

/** The whole browser side of a sign-in, up to the redirect back to the engine's callback. */
async function signIn(rp: RelyingParty, username: string, password: string) {
  const { browser, pending, posted, postedTo } = await submitLogin(rp, username, password);
  let at = Browser.next(posted, postedTo);
  // The provider resumes the authorization (and would ask for consent here, if it asked) before sending the code.
  while (at.origin === new URL(provider.issuer).origin) at = Browser.next(await browser.go(at), at);
  return { pending, callback: at };
}

/** Rewrites the ID token in every token endpoint response, as an attacker between engine and provider would. */
const replacingIdToken =
  (replace: (idToken: string) => string): CustomFetch =>
  async (url, options) => {
    const res = await fetch(url, options as RequestInit);
    if (new URL(url).pathname !== "/token") return res;
    const body = (await res.json()) as { id_token: string };
    return Response.json({ ...body, id_token: replace(body.id_token) }, { status: res.status });
  };

async function refusal(promise: Promise<unknown>): Promise<SignInRefused> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SignInRefused);
  return error as SignInRefused;
}

beforeAll(async () => {
  people = await loadDevPeople(SITES);
  provider = await startOidcProvider({
    people,
    clients: [
      { clientId: ENGINE.clientId, clientSecret: ENGINE.clientSecret, redirectUris: [ENGINE.redirectUri] },
      { clientId: OTHER.clientId, redirectUris: [OTHER.redirectUri] },
    ],
  });
  engine = await connectRelyingParty(settings(ENGINE));
});

afterAll(async () => {
  await provider?.close();
});

describe("dev people", () => {
  it("has a coordinator and an investigator per site, and one of each study-wide role", () => {
    expect(people.map((p) => `${p.username}:${p.role}:${p.sites.join(",")}`)).toEqual([
      "coordinator-site-01:coordinator:site-01",
      "investigator-site-01:investigator:site-01",
      "coordinator-site-02:coordinator:site-02",
      "investigator-site-02:investigator:site-02",
      "monitor:monitor:*",
      "data-manager:data_manager:*",
      "sponsor:sponsor:*",
      "builder:builder:*",
      "admin:admin:*",
    ]);
    expect(new Set(people.map((p) => p.password)).size).toBe(people.length);
    expect(new Set(people.map((p) => p.sub)).size).toBe(people.length);
  });

  it("keeps passwords and subs in dev-people.json and reuses them on the next start", async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), "edc-people-"));
    try {
      const first = await loadDevPeople(SITES, dataDir);
      const file = path.join(dataDir, DEV_PEOPLE_FILE);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(JSON.parse(readFileSync(file, "utf8"))).toEqual(first);
      expect(await loadDevPeople(SITES, dataDir)).toEqual(first);
      // A site added to the study adds its people and keeps everyone else's password.
      const grown = await loadDevPeople([...SITES, "site-03"], dataDir);
      expect(grown.filter((p) => !p.username.endsWith("site-03"))).toEqual(first);
      expect(grown.filter((p) => p.username.endsWith("site-03"))).toHaveLength(2);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe("sign-in through the local OpenID provider", () => {
  it("asks for the authorization code with PKCE S256, state and nonce, and keeps the verifier back", async () => {
    const { url, pending } = await beginSignIn(engine);
    const params = url.searchParams;
    expect(url.origin).toBe(provider.issuer);
    expect(params.get("response_type")).toBe("code");
    expect(params.get("client_id")).toBe(ENGINE.clientId);
    expect(params.get("redirect_uri")).toBe(ENGINE.redirectUri);
    expect(params.get("scope")).toBe("openid profile email");
    expect(params.get("code_challenge_method")).toBe("S256");
    expect(params.get("state")).toBe(pending.state);
    expect(params.get("nonce")).toBe(pending.nonce);
    expect(params.get("code_challenge")).toMatch(/^[\w-]{43}$/);
    expect(url.href).not.toContain(pending.codeVerifier);
  });

  it("signs a dev person in and returns the verified sub, name and email", async () => {
    const coordinator = person("coordinator-site-01");
    const { html } = await submitLogin(engine, "nobody", "x");
    expect(html).toContain('<label for="username">Username</label>');
    expect(html).toContain('<label for="password">Password</label>');

    const { pending, callback } = await signIn(engine, coordinator.username, coordinator.password);
    expect(callback.origin + callback.pathname).toBe(ENGINE.redirectUri);
    expect(callback.searchParams.get("code")).toBeTruthy();
    expect(await completeSignIn(engine, callback.searchParams, pending)).toEqual({
      issuer: provider.issuer,
      sub: coordinator.sub,
      name: coordinator.name,
      email: coordinator.email,
    });
  });

  it("signs in a public client too (PKCE alone, no secret)", async () => {
    const monitor = person("monitor");
    const other = await connectRelyingParty(settings(OTHER));
    const { pending, callback } = await signIn(other, monitor.username, monitor.password);
    expect((await completeSignIn(other, callback.searchParams, pending)).sub).toBe(monitor.sub);
  });

  it("refuses a wrong password and sends no code", async () => {
    const admin = person("admin");
    const { posted } = await submitLogin(engine, admin.username, `${admin.password}x`);
    expect(posted.status).toBe(401);
    expect(posted.headers.get("location")).toBeNull();
    expect(await posted.text()).toContain('role="alert"');
  });

  it("refuses a callback whose state was tampered with", async () => {
    const { username, password } = person("sponsor");
    const { pending, callback } = await signIn(engine, username, password);
    const tampered = new URLSearchParams(callback.searchParams);
    tampered.set("state", `${pending.state}x`);
    expect((await refusal(completeSignIn(engine, tampered, pending))).message).toMatch(/state/);
  });

  it("refuses an ID token whose nonce is not the pending one", async () => {
    const { username, password } = person("builder");
    const { pending, callback } = await signIn(engine, username, password);
    const error = await refusal(
      completeSignIn(engine, callback.searchParams, { ...pending, nonce: "forged" }),
    );
    expect(error.message).toMatch(/nonce/);
  });

  it("refuses a code redeemed with another PKCE verifier", async () => {
    const { username, password } = person("data-manager");
    const { pending, callback } = await signIn(engine, username, password);
    const forged: PendingSignIn = { ...pending, codeVerifier: `${pending.codeVerifier.slice(1)}A` };
    expect((await refusal(completeSignIn(engine, callback.searchParams, forged))).message).toMatch(
      /invalid_grant/,
    );
  });

  it("refuses a genuine ID token issued to another client", async () => {
    const { username, password } = person("investigator-site-02");
    let othersToken = "";
    const capturing = replacingIdToken((t) => {
      othersToken = t;
      return t;
    });
    const other = await connectRelyingParty(settings(OTHER, capturing));
    const theirs = await signIn(other, username, password);
    await completeSignIn(other, theirs.callback.searchParams, theirs.pending);
    expect(othersToken).not.toBe("");

    const swapped = await connectRelyingParty(
      settings(
        ENGINE,
        replacingIdToken(() => othersToken),
      ),
    );
    const ours = await signIn(swapped, username, password);
    // Same provider, same person, same nonce, valid signature: only the audience is wrong.
    const error = await refusal(
      completeSignIn(swapped, ours.callback.searchParams, { ...ours.pending, nonce: theirs.pending.nonce }),
    );
    expect(error.message).toMatch(/aud/);
  });

  it("refuses an ID token whose signature does not verify against the provider's keys", async () => {
    const { username, password } = person("coordinator-site-02");
    const forge = (token: string) => {
      const [header, payload, signature = ""] = token.split(".");
      const flipped = `${signature[0] === "A" ? "B" : "A"}${signature.slice(1)}`;
      return [header, payload, flipped].join(".");
    };
    const tampering = await connectRelyingParty(settings(ENGINE, replacingIdToken(forge)));
    const { pending, callback } = await signIn(tampering, username, password);
    expect((await refusal(completeSignIn(tampering, callback.searchParams, pending))).message).toMatch(
      /signature/,
    );
  });

  it("re-authenticates on request although the provider's session is alive, and says when (auth_time)", async () => {
    const { username, password } = person("investigator-site-01");
    const first = await submitLogin(engine, username, password);
    let at = Browser.next(first.posted, first.postedTo);
    while (at.origin === new URL(provider.issuer).origin) at = Browser.next(await first.browser.go(at), at);
    // Without prompt=login the live session signs the person straight back in…
    const again = await beginSignIn(engine);
    const silent = Browser.next(await first.browser.go(again.url), again.url);
    expect(silent.origin + silent.pathname).toBe(ENGINE.redirectUri);
    // …with it, the provider asks for the password again.
    const { url, pending } = await beginSignIn(engine, Date.now(), { reauthenticate: true });
    expect(url.searchParams.get("prompt")).toBe("login");
    expect(url.searchParams.get("max_age")).toBe("0");
    const asked = Browser.next(await first.browser.go(url), url);
    expect(asked.origin).toBe(new URL(provider.issuer).origin);
    const form = await first.browser.go(asked);
    const action = /<form method="post" action="([^"]+)"/.exec(await form.text())?.[1];
    expect(action).toBeDefined();
    const posted = await first.browser.go(new URL(action ?? "", asked), {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ username, password }).toString(),
    });
    let back = Browser.next(posted, asked);
    while (back.origin === new URL(provider.issuer).origin)
      back = Browser.next(await first.browser.go(back), back);
    const before = Date.now();
    const reauthenticated = await completeSignIn(engine, back.searchParams, pending, Date.now(), {
      maxAgeSeconds: 300,
    });
    expect(reauthenticated.sub).toBe(person("investigator-site-01").sub);
    expect(reauthenticated.authTime).toBeGreaterThanOrEqual(pending.startedAt - 1000);
    expect(reauthenticated.authTime).toBeLessThanOrEqual(before);
  });

  it("reads a pending sign-in back from its JSON, and refuses anything else", async () => {
    const { pending } = await beginSignIn(engine);
    expect(readPendingSignIn(JSON.parse(JSON.stringify(pending)))).toEqual(pending);
    for (const bad of [undefined, null, "x", {}, { ...pending, state: "" }, { ...pending, startedAt: "1" }])
      expect(() => readPendingSignIn(bad)).toThrow(SignInRefused);
  });

  it("refuses a sign-in left pending too long", async () => {
    const { username, password } = person("monitor");
    const { pending, callback } = await signIn(engine, username, password);
    const late = pending.startedAt + 11 * 60 * 1000;
    await refusal(completeSignIn(engine, callback.searchParams, pending, late));
  });
});
