import { type Context, Hono } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../../http/context.ts";
import { admitPrincipal, landingPage } from "../../http/deidentified-access.ts";
import { problems } from "../../http/problems.ts";
import { hashToken } from "../../store/tokens.ts";
import { sameOriginPath } from "../next-path.ts";
import { page } from "../page.tsx";
import { SignIn } from "../pages/signin.tsx";
import {
  csrfToken,
  newSession,
  openSession,
  SESSION_COOKIE,
  SESSION_HOURS,
  sealSession,
  validCsrf,
} from "../session.ts";

/** One bundled browser script, served at its `path`. */
export interface Script {
  path: string;
  body: string;
}

function serveScript(c: Context<AppEnv>, script: Script) {
  return c.body(script.body, 200, {
    "Content-Type": "text/javascript; charset=utf-8",
    "Cache-Control": "public, max-age=31536000, immutable",
  });
}

function showSignIn(c: Context<AppEnv>) {
  return page(c, "Sign in", <SignIn next={sameOriginPath(c.req.query("next"), new URL(c.req.url).origin)} />);
}

function goHome(c: Context<AppEnv>) {
  return c.redirect(landingPage(c.var.principal));
}

/** What anyone reaches without a session: the scripts, the start page and the sign-in. */
export function publicPages(sessionSecret: string, scripts: Script[]) {
  function start(c: Context<AppEnv>) {
    const session = openSession(sessionSecret, getCookie(c, SESSION_COOKIE));
    return c.redirect(session ? "/home" : "/signin");
  }

  async function signIn(c: Context<AppEnv>) {
    // SameSite cookies do not stop a forged sign-in; a cross-origin post is refused here.
    const origin = c.req.header("origin");
    if (origin && origin !== new URL(c.req.url).origin)
      throw problems.forbidden("Cross-site sign-in refused.");
    const body = await c.req.parseBody();
    const token = typeof body.token === "string" ? body.token.trim() : "";
    const principal = token ? await c.var.store.findToken(token) : undefined;
    if (!principal) {
      return page(c, "Sign in", <SignIn error="That token is not valid, has expired or was revoked." />, {
        status: 401,
      });
    }
    setCookie(c, SESSION_COOKIE, sealSession(sessionSecret, newSession(hashToken(token))), {
      httpOnly: true,
      sameSite: "Lax",
      secure: new URL(c.req.url).protocol === "https:",
      path: "/",
      maxAge: SESSION_HOURS * 3600,
    });
    const next = sameOriginPath(body.next, new URL(c.req.url).origin);
    return c.redirect(next ?? landingPage(principal), 303);
  }

  const pages = new Hono<AppEnv>();
  for (const script of scripts) pages.get(script.path, (c) => serveScript(c, script));
  return pages.get("/", start).get("/signin", showSignIn).post("/signin", signIn);
}

/**
 * Admits the session's principal, or sends a page request to the sign-in; a
 * post must carry the session's CSRF token.
 */
export function requireSession(sessionSecret: string) {
  return createMiddleware<AppEnv>(async function admitSession(c, next) {
    const session = openSession(sessionSecret, getCookie(c, SESSION_COOKIE));
    const [principal, ended] = session
      ? await Promise.all([
          c.var.store.findTokenByHash(session.tokenHash),
          c.var.store.sessionEnded(session.nonce),
        ])
      : [undefined, true];
    if (!session || !principal || ended) {
      if (c.req.method === "GET") return c.redirect(`/signin?next=${encodeURIComponent(c.req.path)}`);
      throw problems.unauthenticated();
    }
    admitPrincipal(c, principal);
    c.set("csrf", csrfToken(sessionSecret, session));
    if (c.req.method !== "GET" && c.req.method !== "HEAD") {
      const body = await c.req.parseBody({ all: true });
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
export function sessionPages(sessionSecret: string) {
  async function signOut(c: Context<AppEnv>) {
    const session = openSession(sessionSecret, getCookie(c, SESSION_COOKIE));
    if (session) await c.var.store.endSession(session.nonce, session.expiresAt);
    deleteCookie(c, SESSION_COOKIE, { path: "/" });
    return c.redirect("/signin", 303);
  }

  return new Hono<AppEnv>().get("/home", goHome).post("/signout", signOut);
}
