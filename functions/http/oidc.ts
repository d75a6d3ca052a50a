import * as client from "openid-client";

/**
 * The engine as an OpenID Connect relying party: authorization code flow with
 * PKCE (S256), state and nonce, and an ID token verified against the issuer's
 * JWKS. Any conformant provider plugs in by issuer URL and client id: Cognito,
 * an institution's IdP, or the local provider of functions/dev.
 *
 * Two requests make a sign-in: `beginSignIn` gives the URL to send the browser
 * to and a `PendingSignIn` the caller must keep tamper-proof until the callback
 * (the web keeps it in a short-lived signed cookie); `completeSignIn` checks the
 * callback against it and returns who signed in.
 */

export interface OidcSettings {
  /** The issuer identifier, e.g. `https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc`. */
  issuer: string;
  clientId: string;
  /**
   * A confidential client's secret; without one the client is public and
   * relies on PKCE. A function is asked at the first connection (a Lambda
   * reads it then, not at every cold start).
   */
  clientSecret?: string | (() => Promise<string>);
  /** The engine's callback URL, exactly as registered at the provider. */
  redirectUri: string;
  /** Default `openid profile email`. */
  scope?: string;
  /** Replaces the global fetch for every call to the provider (outbound proxies, tests). */
  fetch?: client.CustomFetch;
}

export interface RelyingParty {
  readonly settings: OidcSettings;
  readonly config: client.Configuration;
}

/** What must survive, unaltered, from the redirect to the callback. */
export interface PendingSignIn {
  state: string;
  nonce: string;
  codeVerifier: string;
  /** Epoch milliseconds. */
  startedAt: number;
}

export interface SignedInPerson {
  issuer: string;
  sub: string;
  name?: string;
  email?: string;
  /** When the person last authenticated at the provider (`auth_time`, epoch ms), when the token says. */
  authTime?: number;
}

/** The provider or the callback did not prove a sign-in: a 4xx, and the person starts again. */
export class SignInRefused extends Error {
  override name = "SignInRefused";
}

/** The provider could not be reached or answered out of protocol: a 502, nobody's fault at the browser. */
export class IdentityProviderUnavailable extends Error {
  override name = "IdentityProviderUnavailable";
}

/** A sign-in left pending longer than this is refused even if its cookie still holds it. */
export const SIGN_IN_WINDOW_MS = 10 * 60 * 1000;
const DEFAULT_SCOPE = "openid profile email";

/** Back from wherever the caller kept it (a cookie): anything malformed is a refusal, not a crash. */
export function readPendingSignIn(value: unknown): PendingSignIn {
  const { state, nonce, codeVerifier, startedAt } = (value ?? {}) as Record<string, unknown>;
  const word = (v: unknown): v is string => typeof v === "string" && /^[\w-]{16,128}$/.test(v);
  if (!word(state) || !word(nonce) || !word(codeVerifier) || !Number.isSafeInteger(startedAt))
    throw new SignInRefused("no sign-in was started from this browser; start again");
  return { state, nonce, codeVerifier, startedAt: startedAt as number };
}

/** Plain HTTP only for a provider on this machine; openid-client refuses it everywhere else anyway. */
function isLoopback(url: URL): boolean {
  return url.protocol === "http:" && ["localhost", "127.0.0.1", "[::1]"].includes(url.hostname);
}

/** Fetches the provider's discovery document once; keep the result for the life of the process. */
export async function connectRelyingParty(settings: OidcSettings): Promise<RelyingParty> {
  const issuer = new URL(settings.issuer);
  const execute = [client.enableNonRepudiationChecks];
  if (isLoopback(issuer)) execute.push(client.allowInsecureRequests);
  const secret =
    typeof settings.clientSecret === "function" ? await settings.clientSecret() : settings.clientSecret;
  try {
    const config = await client.discovery(
      issuer,
      settings.clientId,
      secret,
      secret ? client.ClientSecretBasic(secret) : client.None(),
      { execute, ...(settings.fetch ? { [client.customFetch]: settings.fetch } : {}) },
    );
    return { settings, config };
  } catch (error) {
    throw new IdentityProviderUnavailable(`OpenID provider ${settings.issuer} could not be discovered`, {
      cause: error,
    });
  }
}

/**
 * `reauthenticate` asks the provider to authenticate the person again now,
 * whatever session it holds (`prompt=login`, `max_age=0`): a signature needs
 * that proof of presence, and the callback then checks `auth_time`.
 */
export async function beginSignIn(
  rp: RelyingParty,
  now = Date.now(),
  options: { reauthenticate?: boolean } = {},
): Promise<{ url: URL; pending: PendingSignIn }> {
  const pending: PendingSignIn = {
    state: client.randomState(),
    nonce: client.randomNonce(),
    codeVerifier: client.randomPKCECodeVerifier(),
    startedAt: now,
  };
  const url = client.buildAuthorizationUrl(rp.config, {
    redirect_uri: rp.settings.redirectUri,
    scope: rp.settings.scope ?? DEFAULT_SCOPE,
    response_type: "code",
    state: pending.state,
    nonce: pending.nonce,
    code_challenge: await client.calculatePKCECodeChallenge(pending.codeVerifier),
    code_challenge_method: "S256",
    ...(options.reauthenticate ? { prompt: "login", max_age: "0" } : {}),
  });
  return { url, pending };
}

/** Errors that mean "the provider answered, and this is not a valid sign-in". */
const PROVIDER_FAULTS = new Set(["OAUTH_RESPONSE_IS_NOT_CONFORM", "OAUTH_RESPONSE_IS_NOT_JSON"]);

/** openid-client's own message is generic ("unexpected JWT claim value"); the cause names the claim. */
const detail = (error: Error) =>
  error.cause instanceof Error ? `${error.message}: ${error.cause.message}` : error.message;

function classify(error: unknown): Error {
  if (error instanceof client.AuthorizationResponseError)
    return new SignInRefused(`the provider refused the sign-in: ${error.error}`, { cause: error });
  if (error instanceof client.ResponseBodyError)
    return new SignInRefused(`the provider refused the code: ${error.error}`, { cause: error });
  if (error instanceof client.ClientError && !PROVIDER_FAULTS.has(error.code ?? ""))
    return new SignInRefused(`the sign-in response failed a check: ${detail(error)}`, { cause: error });
  return new IdentityProviderUnavailable("the OpenID provider could not complete the sign-in", {
    cause: error,
  });
}

/**
 * Handles the provider's redirect back: `callbackParams` is the query string
 * the browser arrived with. Checks state and issuer, redeems the code with the
 * PKCE verifier, and verifies the ID token (signature against the JWKS,
 * issuer, audience, nonce, expiry) before trusting a single claim.
 */
export async function completeSignIn(
  rp: RelyingParty,
  callbackParams: URLSearchParams,
  pending: PendingSignIn,
  now = Date.now(),
  /** For a re-authentication: `auth_time` must be present and at most this old (seconds). */
  options: { maxAgeSeconds?: number } = {},
): Promise<SignedInPerson> {
  if (!(now - pending.startedAt >= 0 && now - pending.startedAt <= SIGN_IN_WINDOW_MS))
    throw new SignInRefused("the sign-in took too long; start again");
  // The registered redirect URI, not the request's own URL: behind a gateway the two differ, and the provider compares.
  const callback = new URL(rp.settings.redirectUri);
  callback.search = callbackParams.toString();
  let claims: client.IDToken | undefined;
  try {
    const tokens = await client.authorizationCodeGrant(rp.config, callback, {
      pkceCodeVerifier: pending.codeVerifier,
      expectedState: pending.state,
      expectedNonce: pending.nonce,
      idTokenExpected: true,
      ...(options.maxAgeSeconds !== undefined ? { maxAge: options.maxAgeSeconds } : {}),
    });
    claims = tokens.claims();
  } catch (error) {
    throw classify(error);
  }
  if (!claims) throw new SignInRefused("the provider sent no ID token");
  return {
    issuer: claims.iss,
    sub: claims.sub,
    ...(typeof claims.name === "string" ? { name: claims.name } : {}),
    ...(typeof claims.email === "string" ? { email: claims.email } : {}),
    ...(typeof claims.auth_time === "number" ? { authTime: claims.auth_time * 1000 } : {}),
  };
}

/**
 * One relying party per callback URL, connected at first use and kept: a
 * Lambda or the local server learns its public origin from the first
 * sign-in request, and discovery is not paid at start-up. A failed discovery
 * is forgotten, so the next sign-in tries again.
 */
export function relyingParties(
  settings: Omit<OidcSettings, "redirectUri">,
): (redirectUri: string) => Promise<RelyingParty> {
  const connected = new Map<string, Promise<RelyingParty>>();
  return (redirectUri) => {
    let rp = connected.get(redirectUri);
    if (!rp) {
      rp = connectRelyingParty({ ...settings, redirectUri });
      rp.catch(() => connected.delete(redirectUri));
      connected.set(redirectUri, rp);
    }
    return rp;
  };
}

/** Where to send the browser at sign-out so the provider ends its session too, when it offers that. */
export function endSessionUrl(rp: RelyingParty, afterSignOut: string): URL | undefined {
  if (!rp.config.serverMetadata().end_session_endpoint) return undefined;
  return client.buildEndSessionUrl(rp.config, {
    client_id: rp.settings.clientId,
    post_logout_redirect_uri: afterSignOut,
  });
}
