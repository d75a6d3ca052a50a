import { type Context, Hono } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { createMiddleware } from "hono/factory";
import { logAccess, logFailedSignIn } from "../../http/access-events.ts";
import type { AppEnv } from "../../http/context.ts";
import { admitPrincipal, landingPage, studyOfPath } from "../../http/deidentified-access.ts";
import {
  beginSignIn,
  completeSignIn,
  endSessionUrl,
  IdentityProviderUnavailable,
  type RelyingParty,
  readPendingSignIn,
  SIGN_IN_WINDOW_MS,
  SignInRefused,
} from "../../http/oidc.ts";
import { principalOfGrant } from "../../http/people.ts";
import { requirePermission } from "../../http/permissions.ts";
import { KEY_PREDATES, problems } from "../../http/problems.ts";
import { requestSource } from "../../http/request-source.ts";
import { DEFAULT_SIGNING_WINDOW_MS, reauthenticationRefusal } from "../../http/signing.ts";
import { personId, personLabel } from "../../store/people.ts";
import type { Principal } from "../../store/principal.ts";
import type { StoredSession } from "../../store/sessions.ts";
import type { Store } from "../../store/store.ts";
import { hashToken } from "../../store/tokens.ts";
import { readFormBody } from "../form-body.ts";
import { sameOriginPath } from "../next-path.ts";
import { page } from "../page.tsx";
import { SignIn } from "../pages/signin.tsx";
import { SigningOut } from "../pages/signing-out.tsx";
import {
  csrfToken,
  newSession,
  openSession,
  openValue,
  SESSION_COOKIE,
  SESSION_HOURS,
  sealSession,
  sealValue,
  validCsrf,
} from "../session.ts";

/** One bundled browser script, served at its `path`. */
export interface Script {
  path: string;
  body: string;
}

export interface SessionOptions {
  /** Signs cookies and CSRF tokens; asked for by the requests that need it (a Lambda reads it at first use, not at init). */
  sessionSecret: () => Promise<string>;
  /** A session unused this long is ended server-side. */
  idleMs: number;
  /** The OpenID provider people sign in at, by callback URL; without one only API keys sign in. */
  relyingParty?: (redirectUri: string) => Promise<RelyingParty>;
  /** How old a re-authentication may be when it is used to sign (default 5 minutes). */
  signingWindowMs?: number;
}

const SIGN_IN_COOKIE = "edc_signin";
const SIGN_IN_PURPOSE = "oidc-sign-in";
/** Activity is written at most this often (or a quarter of the idle timeout, when shorter). */
const TOUCH_EVERY_MS = 60_000;

function serveScript(c: Context<AppEnv>, script: Script) {
  return c.body(script.body, 200, {
    "Content-Type": "text/javascript; charset=utf-8",
    "Cache-Control": "public, max-age=31536000, immutable",
  });
}

function goHome(c: Context<AppEnv>) {
  return c.redirect(landingPage(c.var.principal));
}

const secure = (c: Context<AppEnv>) => new URL(c.req.url).protocol === "https:";
const callbackUrl = (c: Context<AppEnv>) => new URL("/auth/callback", c.req.url).toString();

/** Whom a live session speaks for now: the key's holder, or the person with the grant as it stands. */
async function principalOf(store: Store, session: StoredSession): Promise<Principal | undefined> {
  if (session.tokenHash) return (await store.findTokenByHash(session.tokenHash)).principal;
  if (!session.person || !session.study) return undefined;
  const grant = await store.findGrant(session.study, session.person);
  return grant && principalOfGrant(grant, session.user ?? session.person);
}

async function openBrowserSession(
  c: Context<AppEnv>,
  options: SessionOptions,
  owner: Pick<StoredSession, "tokenHash" | "person" | "study" | "user">,
): Promise<void> {
  const now = Date.now();
  const session = newSession(owner.tokenHash ?? "", now);
  await c.var.store.startSession({
    nonce: session.nonce,
    ...owner,
    lastSeenAt: now,
    expiresAt: session.expiresAt,
  });
  setCookie(c, SESSION_COOKIE, sealSession(await options.sessionSecret(), session), {
    httpOnly: true,
    sameSite: "Lax",
    secure: secure(c),
    path: "/",
    maxAge: SESSION_HOURS * 3600,
  });
}

/** What anyone reaches without a session: the scripts, the start page and the sign-in. */
export function publicPages(options: SessionOptions, scripts: readonly Script[]) {
  const { sessionSecret } = options;

  async function start(c: Context<AppEnv>) {
    const session = openSession(await sessionSecret(), getCookie(c, SESSION_COOKIE));
    return c.redirect(session ? "/home" : "/signin");
  }

  function showSignIn(c: Context<AppEnv>) {
    const next = sameOriginPath(c.req.query("next"), new URL(c.req.url).origin);
    const idle = c.req.query("idle") === "1";
    return page(
      c,
      "Sign in",
      <SignIn
        next={next}
        withProvider={options.relyingParty !== undefined}
        {...(idle ? { notice: "You were signed out after a period without activity. Sign in again." } : {})}
      />,
    );
  }

  async function signIn(c: Context<AppEnv>) {
    // SameSite cookies do not stop a forged sign-in; a cross-origin post is refused here.
    const origin = c.req.header("origin");
    if (origin && origin !== new URL(c.req.url).origin)
      throw problems.forbidden("Cross-site sign-in refused.");
    const body = await readFormBody(c);
    const token = typeof body.token === "string" ? body.token.trim() : "";
    const found = token ? await c.var.store.findToken(token, requestSource(c)) : undefined;
    const principal = found?.principal;
    if (!principal) {
      // The key's public id (the start of its hash, as the key list shows it), never the key.
      const claimed = token ? `key ${hashToken(token).slice(0, 12)}` : "no key";
      await logFailedSignIn(c, claimed, { method: "api-key" });
      return page(
        c,
        "Sign in",
        <SignIn
          error={
            found?.refused === "predates"
              ? `${KEY_PREDATES}.`
              : "That token is not valid, has expired or was revoked."
          }
          withProvider={options.relyingParty !== undefined}
        />,
        { status: 401 },
      );
    }
    await openBrowserSession(c, options, { tokenHash: hashToken(token) });
    await logAccess(c, "sign-in", { method: "api-key" }, principal);
    const next = sameOriginPath(body.next, new URL(c.req.url).origin);
    return c.redirect(next ?? landingPage(principal), 303);
  }

  async function relyingParty(c: Context<AppEnv>): Promise<RelyingParty> {
    if (!options.relyingParty) throw problems.notFound(c.req.path);
    try {
      return await options.relyingParty(callbackUrl(c));
    } catch (error) {
      if (error instanceof IdentityProviderUnavailable) throw problems.badGateway(error.message);
      throw error;
    }
  }

  /** To the provider; state, nonce and PKCE verifier wait in a signed cookie that lives as long as the attempt. */
  async function startProviderSignIn(c: Context<AppEnv>) {
    const rp = await relyingParty(c);
    const { url, pending } = await beginSignIn(rp);
    const next = sameOriginPath(c.req.query("next"), new URL(c.req.url).origin);
    setCookie(c, SIGN_IN_COOKIE, sealValue(await sessionSecret(), SIGN_IN_PURPOSE, { ...pending, next }), {
      httpOnly: true,
      sameSite: "Lax",
      secure: secure(c),
      path: "/auth",
      maxAge: SIGN_IN_WINDOW_MS / 1000,
    });
    return c.redirect(url.toString());
  }

  async function finishProviderSignIn(c: Context<AppEnv>) {
    const rp = await relyingParty(c);
    const kept = openValue(await sessionSecret(), SIGN_IN_PURPOSE, getCookie(c, SIGN_IN_COOKIE));
    deleteCookie(c, SIGN_IN_COOKIE, { path: "/auth" });
    if ((kept as { reauth?: unknown } | undefined)?.reauth === true)
      return finishReauthentication(c, rp, kept);
    let person: Awaited<ReturnType<typeof completeSignIn>>;
    try {
      person = await completeSignIn(rp, new URL(c.req.url).searchParams, readPendingSignIn(kept));
    } catch (error) {
      if (error instanceof SignInRefused) {
        // No ID token was accepted: nobody is known, only the provider's or the check's reason.
        await logFailedSignIn(c, "unknown", { method: "oidc", reason: error.message });
        return page(c, "Sign in", <SignIn error={`Sign-in failed: ${error.message}.`} withProvider />, {
          status: 400,
        });
      }
      if (error instanceof IdentityProviderUnavailable) throw problems.badGateway(error.message);
      throw error;
    }
    const stored = await c.var.store.upsertPerson(person);
    // One study per session: a person granted at several starts at the study of the page asked for, else the first.
    const next = sameOriginPath((kept as { next?: unknown } | undefined)?.next, new URL(c.req.url).origin);
    const wanted = next ? studyOfPath(new URL(next, c.req.url).pathname) : undefined;
    const grants = await c.var.store.grantsOfPerson(stored.id);
    const grant = grants.find((g) => g.study === wanted) ?? grants[0];
    const principal = grant && principalOfGrant(grant, personLabel(stored));
    if (!grant || !principal) {
      await logFailedSignIn(
        c,
        personLabel(stored),
        { method: "oidc", reason: "no role at any study" },
        stored.id,
      );
      return page(
        c,
        "Sign in",
        <SignIn
          error={`You are signed in at the provider as ${personLabel(stored)}, but hold no role at any study here. Ask a study administrator to grant you one.`}
          withProvider
        />,
        { status: 403 },
      );
    }
    await openBrowserSession(c, options, {
      person: stored.id,
      study: grant.study,
      user: personLabel(stored),
    });
    await logAccess(c, "sign-in", { method: "oidc" }, principal);
    return c.redirect(next ?? landingPage(principal), 303);
  }

  /**
   * Back from a re-authentication asked for to sign: it must be the session's
   * own person, authenticated after the request was sent and within the
   * signing window (`auth_time`); then the session may sign once.
   */
  async function finishReauthentication(c: Context<AppEnv>, rp: RelyingParty, kept: unknown) {
    const windowMs = options.signingWindowMs ?? DEFAULT_SIGNING_WINDOW_MS;
    const next = sameOriginPath((kept as { next?: unknown }).next, new URL(c.req.url).origin) ?? "/home";
    const session = openSession(await sessionSecret(), getCookie(c, SESSION_COOKIE));
    const stored = session ? await c.var.store.readSession(session.nonce) : undefined;
    if (!session || !stored || stored.ended || !stored.person) throw problems.signedOut();
    let person: Awaited<ReturnType<typeof completeSignIn>>;
    try {
      const pending = readPendingSignIn(kept);
      person = await completeSignIn(rp, new URL(c.req.url).searchParams, pending, Date.now(), {
        maxAgeSeconds: Math.ceil(windowMs / 1000),
      });
      const refusal = reauthenticationRefusal(person.authTime, pending.startedAt, Date.now(), windowMs);
      if (refusal) throw new SignInRefused(refusal);
    } catch (error) {
      if (error instanceof SignInRefused) {
        await logFailedSignIn(
          c,
          stored.user ?? stored.person,
          { method: "oidc-reauthentication", reason: error.message },
          stored.person,
        );
        throw problems.reauthenticationRequired(`The re-authentication was not accepted: ${error.message}.`);
      }
      if (error instanceof IdentityProviderUnavailable) throw problems.badGateway(error.message);
      throw error;
    }
    if (personId(person.issuer, person.sub) !== stored.person) {
      await logFailedSignIn(
        c,
        person.email ?? person.sub,
        { method: "oidc-reauthentication", reason: "another person" },
        personId(person.issuer, person.sub),
      );
      throw problems.reauthenticationRequired(
        "You authenticated as someone else than the person signed in here. Only the signed-in person can sign.",
      );
    }
    if (!(await c.var.store.allowSigning(stored.nonce, person.authTime as number)))
      throw problems.signedOut();
    return c.redirect(next, 303);
  }

  const pages = new Hono<AppEnv>();
  for (const script of scripts) pages.get(script.path, (c) => serveScript(c, script));
  return pages
    .get("/", start)
    .get("/signin", showSignIn)
    .post("/signin", signIn)
    .get("/auth/login", startProviderSignIn)
    .get("/auth/callback", finishProviderSignIn);
}

/** Ends a session the server found timed out, and logs it once (only the request that ended it). */
async function endTimedOutSession(
  c: Context<AppEnv>,
  stored: StoredSession,
  details: Record<string, unknown>,
): Promise<void> {
  if (!(await c.var.store.endSession(stored.nonce))) return;
  const principal = await principalOf(c.var.store, stored);
  if (principal) await logAccess(c, "session-timeout", details, principal);
}

/**
 * A cookie past its absolute expiry (browsers usually drop it first): its
 * session is ended and logged if it was still open. A cookie that is not
 * ours, or whose session ended already, costs nothing more.
 */
async function endExpiredSession(c: Context<AppEnv>, secret: string, cookie: string | undefined) {
  const expired = openSession(secret, cookie, 0);
  if (!expired) return;
  const stored = await c.var.store.readSession(expired.nonce);
  if (stored && !stored.ended) await endTimedOutSession(c, stored, { reason: "absolute" });
}

/**
 * Admits the session's principal, or sends a page request to the sign-in; a
 * post must carry the session's CSRF token. The session item is read on every
 * request and the grant with it, so an ended session or a revoked grant stops
 * at once; a session idle too long is ended here.
 */
export function requireSession(options: SessionOptions) {
  const { idleMs } = options;
  const touchEvery = Math.min(TOUCH_EVERY_MS, idleMs / 4);
  return createMiddleware<AppEnv>(async function admitSession(c, next) {
    const sessionSecret = await options.sessionSecret();
    const now = Date.now();
    const cookie = getCookie(c, SESSION_COOKIE);
    const session = openSession(sessionSecret, cookie, now);
    if (!session) await endExpiredSession(c, sessionSecret, cookie);
    const stored = session ? await c.var.store.readSession(session.nonce) : undefined;
    const idle = stored !== undefined && !stored.ended && now - stored.lastSeenAt > idleMs;
    if (idle && stored) await endTimedOutSession(c, stored, { reason: "idle", idleMinutes: idleMs / 60_000 });
    const live = session && stored && !stored.ended && !idle ? stored : undefined;
    const principal = live ? await principalOf(c.var.store, live) : undefined;
    if (!session || !live || !principal) {
      if (c.req.method === "GET")
        return c.redirect(`/signin?next=${encodeURIComponent(c.req.path)}${idle ? "&idle=1" : ""}`);
      throw problems.signedOut();
    }
    if (now - live.lastSeenAt > touchEvery) await c.var.store.touchSession(live.nonce, now);
    admitPrincipal(c, principal);
    c.set("csrf", csrfToken(sessionSecret, session));
    c.set("session", session.nonce);
    if (c.req.method !== "GET" && c.req.method !== "HEAD") {
      const body = await readFormBody(c, { all: true });
      if (!validCsrf(sessionSecret, session, body._csrf)) {
        throw problems.forbidden(
          "The form has expired or did not come from this site. Reload the page and try again.",
        );
      }
    }
    await next();
  });
}

/** The signed-in user's way home and way out (behind `requireSession`). */
export function sessionPages(options: SessionOptions) {
  async function signOut(c: Context<AppEnv>) {
    const session = openSession(await options.sessionSecret(), getCookie(c, SESSION_COOKIE));
    if (session && (await c.var.store.endSession(session.nonce))) await logAccess(c, "sign-out", {});
    deleteCookie(c, SESSION_COOKIE, { path: "/" });
    const signedIn = new URL("/signin", c.req.url).toString();
    // A person also leaves the provider's session, or "Sign in" would let them straight back in.
    if (c.var.principal.person && options.relyingParty) {
      const rp = await options.relyingParty(callbackUrl(c)).catch(() => undefined);
      const url = rp && endSessionUrl(rp, signedIn);
      // Not a redirect: CSP `form-action 'self'` stops a form post redirected to another origin.
      if (url) return c.html(<SigningOut to={url.toString()} />);
    }
    return c.redirect("/signin", 303);
  }

  /** To the provider again to prove presence before a signature (behind `requireSession`). */
  async function startReauthentication(c: Context<AppEnv>) {
    requirePermission(c.var.principal, "sign");
    const next = sameOriginPath(c.req.query("next"), new URL(c.req.url).origin);
    // A key's session has nobody to re-authenticate: back to the signature page, which says so.
    if (!c.var.principal.person) return c.redirect(next ?? "/home");
    if (!options.relyingParty) throw problems.notFound(c.req.path);
    let rp: RelyingParty;
    try {
      rp = await options.relyingParty(callbackUrl(c));
    } catch (error) {
      if (error instanceof IdentityProviderUnavailable) throw problems.badGateway(error.message);
      throw error;
    }
    const { url, pending } = await beginSignIn(rp, Date.now(), { reauthenticate: true });
    setCookie(
      c,
      SIGN_IN_COOKIE,
      sealValue(await options.sessionSecret(), SIGN_IN_PURPOSE, { ...pending, next, reauth: true }),
      {
        httpOnly: true,
        sameSite: "Lax",
        secure: secure(c),
        path: "/auth",
        maxAge: SIGN_IN_WINDOW_MS / 1000,
      },
    );
    return c.redirect(url.toString());
  }

  return new Hono<AppEnv>()
    .get("/home", goHome)
    .post("/signout", signOut)
    .get("/auth/reauthenticate", startReauthentication);
}
