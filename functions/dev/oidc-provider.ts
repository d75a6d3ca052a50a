import { createHash, generateKeyPairSync, randomBytes, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import Provider, { type ClientMetadata, type Configuration, type KoaContextWithOIDC } from "oidc-provider";
import type { DevPerson } from "./dev-people.ts";
import { loginPage, logoutPage } from "./login-page.ts";

/**
 * A real OpenID provider (panva's certified `oidc-provider`) for `npm start`
 * and the tests, so the engine signs people in locally exactly as it will at
 * Cognito or an institution's IdP. Development only: nothing under
 * functions/handlers may import this folder.
 */

export interface DevOidcClient {
  clientId: string;
  /** Without one the client is public and authenticates with PKCE alone. */
  clientSecret?: string;
  redirectUris: string[];
  postLogoutRedirectUris?: string[];
}

export interface DevOidcProvider {
  issuer: string;
  close: () => Promise<void>;
}

export const DEV_SCOPES = "openid profile email";

const INTERACTION = /^\/interaction\/([\w-]+)(\/login)?$/;
const MAX_FORM_BYTES = 4096;
const SIGN_IN_EXPIRED =
  "<!doctype html><html lang=en><title>Sign-in expired</title><p>This sign-in has expired or was started elsewhere. Start signing in again.</p>";

const digest = (s: string) => createHash("sha256").update(s).digest();
const samePassword = (given: string, expected: string) => timingSafeEqual(digest(given), digest(expected));

function clientMetadata(c: DevOidcClient): ClientMetadata {
  return {
    client_id: c.clientId,
    ...(c.clientSecret
      ? { client_secret: c.clientSecret, token_endpoint_auth_method: "client_secret_basic" }
      : { token_endpoint_auth_method: "none" }),
    redirect_uris: c.redirectUris,
    post_logout_redirect_uris: c.postLogoutRedirectUris ?? [],
    grant_types: ["authorization_code"],
    response_types: ["code"],
  };
}

function configuration(people: readonly DevPerson[], clients: readonly DevOidcClient[]): Configuration {
  const bySub = new Map(people.map((p) => [p.sub, p]));
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return {
    clients: clients.map(clientMetadata),
    // Signing keys and cookie keys live as long as the process: an ID token is only read at the callback.
    jwks: { keys: [{ ...privateKey.export({ format: "jwk" }), use: "sig", alg: "RS256" }] as never },
    cookies: { keys: [randomBytes(32).toString("base64url")] },
    pkce: { required: () => true },
    // Seconds. Short-lived artefacts: the engine keeps its own session once the code is redeemed.
    ttl: {
      AuthorizationCode: 60,
      AccessToken: 600,
      IdToken: 600,
      Interaction: 3600,
      Session: 8 * 3600,
      Grant: 8 * 3600,
    },
    claims: { openid: ["sub"], profile: ["name"], email: ["email", "email_verified"] },
    // The engine reads name and email from the ID token; it never calls userinfo.
    conformIdTokenClaims: false,
    findAccount: (_ctx, sub) => {
      const person = bySub.get(sub);
      if (!person) return undefined;
      return {
        accountId: sub,
        claims: () => ({ sub, name: person.name, email: person.email, email_verified: true }),
      };
    },
    // Every client here is the engine itself (first party): no consent screen, as at an institution's IdP.
    loadExistingGrant: async (ctx: KoaContextWithOIDC) => {
      const { client, session, provider, result } = ctx.oidc;
      if (!client || !session?.accountId) return undefined;
      const grantId = result?.consent?.grantId ?? session.grantIdFor(client.clientId);
      if (grantId) return provider.Grant.find(grantId);
      const grant = new provider.Grant({ clientId: client.clientId, accountId: session.accountId });
      grant.addOIDCScope(DEV_SCOPES);
      await grant.save();
      return grant;
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: {
        enabled: true,
        // The default page fails WCAG (no lang, low-contrast buttons); people meet this one at every sign-out.
        logoutSource: (ctx, form) => {
          ctx.type = "html";
          ctx.body = logoutPage(form);
        },
      },
    },
  };
}

async function formBody(req: IncomingMessage): Promise<URLSearchParams | undefined> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_FORM_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
}

function sendHtml(res: ServerResponse, status: number, html: string): void {
  res.writeHead(status, {
    "content-type": "text/html; charset=utf-8",
    "cache-control": "no-store",
    "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
  });
  res.end(html);
}

/** The login step of an interaction; the provider itself handles everything else. */
async function interaction(
  provider: Provider,
  people: readonly DevPerson[],
  req: IncomingMessage,
  res: ServerResponse,
  uid: string,
  posted: boolean,
): Promise<void> {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid || details.prompt.name !== "login") {
    sendHtml(res, 400, SIGN_IN_EXPIRED);
    return;
  }
  const action = `/interaction/${uid}/login`;
  if (!posted) return sendHtml(res, 200, loginPage({ action }));
  const form = await formBody(req);
  const username = form?.get("username") ?? "";
  const person = people.find((p) => p.username === username);
  if (!person || !samePassword(form?.get("password") ?? "", person.password))
    return sendHtml(res, 401, loginPage({ action, username, refused: true }));
  await provider.interactionFinished(
    req,
    res,
    { login: { accountId: person.sub } },
    { mergeWithLastSubmission: false },
  );
}

/**
 * Starts the provider on `port` (0 for any free one). The issuer is
 * `http://<host>:<port>` unless given, e.g. when a proxy fronts it.
 */
export async function startOidcProvider(options: {
  people: readonly DevPerson[];
  clients: readonly DevOidcClient[];
  port?: number;
  host?: string;
  issuer?: string;
}): Promise<DevOidcProvider> {
  const host = options.host ?? "localhost";
  let handle: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.writeHead(503).end();
  const server = createServer((req, res) => handle(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  const issuer = options.issuer ?? `http://${host}:${port}`;
  const provider = new Provider(issuer, configuration(options.people, options.clients));
  const oidc = provider.callback();
  handle = (req, res) => {
    const match = INTERACTION.exec((req.url ?? "/").split("?")[0] ?? "/");
    const posted = req.method === "POST" && match?.[2] !== undefined;
    if (!match?.[1] || (req.method !== "GET" && !posted)) return void oidc(req, res);
    interaction(provider, options.people, req, res, match[1], posted).catch(() => {
      // An expired or foreign interaction cookie: the person starts again from the engine.
      if (!res.headersSent) sendHtml(res, 400, SIGN_IN_EXPIRED);
    });
  };
  return {
    issuer,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
