import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * Browser sessions: a signed cookie naming the token's hash (never the token;
 * empty for a person signed in through the OpenID provider), an absolute
 * expiry and a nonce, which names the server-side session item
 * (store/sessions.ts: whose session it is, last activity, ended). The CSRF token of a session is an HMAC of its nonce,
 * so it needs no storage and changes with every sign-in.
 */

export const SESSION_COOKIE = "edc_session";
export const SESSION_HOURS = 12;

export interface Session {
  tokenHash: string;
  expiresAt: number;
  nonce: string;
}

function mac(secret: string, value: string): string {
  return createHmac("sha256", secret).update(value).digest("base64url");
}

function equal(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function newSession(tokenHash: string, now = Date.now()): Session {
  return {
    tokenHash,
    expiresAt: now + SESSION_HOURS * 3_600_000,
    nonce: randomBytes(16).toString("base64url"),
  };
}

export function sealSession(secret: string, session: Session): string {
  const body = Buffer.from(JSON.stringify([session.tokenHash, session.expiresAt, session.nonce])).toString(
    "base64url",
  );
  return `${body}.${mac(secret, `session:${body}`)}`;
}

export function openSession(
  secret: string,
  cookie: string | undefined,
  now = Date.now(),
): Session | undefined {
  if (!cookie) return undefined;
  const [body, signature, extra] = cookie.split(".");
  if (!body || !signature || extra !== undefined || !equal(signature, mac(secret, `session:${body}`)))
    return undefined;
  try {
    const [tokenHash, expiresAt, nonce] = JSON.parse(Buffer.from(body, "base64url").toString("utf8"));
    if (typeof tokenHash !== "string" || typeof expiresAt !== "number" || typeof nonce !== "string")
      return undefined;
    return expiresAt > now ? { tokenHash, expiresAt, nonce } : undefined;
  } catch {
    return undefined;
  }
}

/** A short-lived value kept tamper-proof in a cookie (the pending OpenID sign-in), signed for one purpose. */
export function sealValue(secret: string, purpose: string, value: unknown): string {
  const body = Buffer.from(JSON.stringify(value)).toString("base64url");
  return `${body}.${mac(secret, `${purpose}:${body}`)}`;
}

export function openValue(secret: string, purpose: string, cookie: string | undefined): unknown {
  const [body, signature, extra] = (cookie ?? "").split(".");
  if (!body || !signature || extra !== undefined || !equal(signature, mac(secret, `${purpose}:${body}`)))
    return undefined;
  try {
    return JSON.parse(Buffer.from(body, "base64url").toString("utf8"));
  } catch {
    return undefined;
  }
}

export function csrfToken(secret: string, session: Session): string {
  return mac(secret, `csrf:${session.nonce}`);
}

export function validCsrf(secret: string, session: Session, submitted: unknown): boolean {
  return typeof submitted === "string" && equal(submitted, csrfToken(secret, session));
}
