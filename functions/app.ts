import type { Context, Handler, MiddlewareHandler } from "hono";
import { Hono } from "hono";
import { compress } from "hono/compress";
import { createMiddleware } from "hono/factory";
import { HTTPException } from "hono/http-exception";
import { apiRoutes, redcapRoutes } from "./api/routes.ts";
import { BODY_LIMITS, limitBodies } from "./http/body-limits.ts";
import {
  type AppEnv,
  DEFAULT_EXPORT_JOBS,
  DEFAULT_IMPORT_JOBS,
  type ExportJobSettings,
  type ImportJobSettings,
} from "./http/context.ts";
import type { OidcSettings } from "./http/oidc.ts";
import { type OriginVerifySettings, verifyOrigin } from "./http/origin-verify.ts";
import { knownProblem, logUnexpected, problemResponse, problems } from "./http/problems.ts";
import { securityHeaders } from "./http/security-headers.ts";
import { COMPRESS_THRESHOLD, lengthOfSmallAnswers } from "./http/small-answers.ts";
import type { FileObjects } from "./store/file-objects.ts";
import type { Store } from "./store/store.ts";
import type { Script } from "./web/routes/session.tsx";
import { SCRIPT_PATHS } from "./web/script-paths.generated.ts";
import { STYLES } from "./web/styles.ts";

export const MAX_BODY_BYTES = BODY_LIMITS.default;

export interface AppOptions {
  /**
   * Signs browser session cookies; generated and kept locally. In AWS a
   * function that reads it at first use (started by the first origin check,
   * handlers/api-options.ts, beside the origin secret).
   */
  sessionSecret: string | (() => Promise<string>);
  /** Commits younger than this are left for the next pull of the change feed. Default 60 s. */
  feedSettleMs?: number;
  /** A browser session unused this long is ended (SESSION_IDLE_MINUTES). Default 30 minutes. */
  sessionIdleMs?: number;
  /** The OpenID provider people sign in at; without one only API keys sign in on the pages. */
  oidc?: Omit<OidcSettings, "redirectUri">;
  /** How old a re-authentication may be when it is used to sign (SIGNING_WINDOW_MINUTES). Default 5 minutes. */
  signingWindowMs?: number;
  /** Batch size, the REDCap endpoint's bound and how a record import job is started. */
  importJobs?: Partial<ImportJobSettings>;
  /** Where bulk export jobs write their files and how a job is started. */
  exportJobs?: Partial<ExportJobSettings>;
  /**
   * The local server's answer to its own export download URLs (dev/folder-export-target.ts),
   * mounted at `path` outside /api/ (the URL is its own credential); absent in AWS, where S3 answers them.
   */
  localDownloads?: { path: string; handler: Handler };
  /** The object store for file and signature fields (a folder locally, S3 in AWS). */
  files?: FileObjects;
  /**
   * The browser scripts' bodies, served at their paths: locally and in tests.
   * In AWS the assets function serves them (handlers/assets.ts), so the API
   * function's bundle does not carry them.
   */
  assets?: readonly Script[];
  /**
   * In AWS only (handlers/api-options.ts), never the local server: every request must carry the header
   * CloudFront adds, or it is refused before anything else runs (http/origin-verify.ts).
   */
  originVerify?: OriginVerifySettings;
}

export const DEFAULT_IDLE_MS = 30 * 60_000;
export { signingWindowMs } from "./http/signing.ts";

/** SESSION_IDLE_MINUTES as milliseconds (fractions allowed); anything unusable is the default. */
export function sessionIdleMs(minutes: string | undefined): number {
  const n = Number(minutes);
  return minutes && Number.isFinite(n) && n > 0 ? n * 60_000 : DEFAULT_IDLE_MS;
}

function secretSource(secret: AppOptions["sessionSecret"]): () => Promise<string> {
  if (typeof secret !== "string") return secret;
  const value = Promise.resolve(secret);
  return () => value;
}

const pageNotFound = (c: Context) =>
  c.html('<!doctype html><title>Not found</title><p>This page does not exist. <a href="/">Home</a></p>', 404);

/**
 * The site pages (and the OpenID relying party they sign in with), imported by
 * the first request that is not for the API: a cold start that serves an API
 * call never loads them (docs/architecture.md, "Cold start"). The pages are
 * their own Hono app, handed the request after the outer app's headers,
 * compression and body limits; it sets the same variables.
 */
function lazySitePages(provideVariables: MiddlewareHandler<AppEnv>, options: AppOptions): Handler<AppEnv> {
  let pages: Promise<Hono<AppEnv>> | undefined;
  const load = async () => {
    const [{ createWebRoutes }, oidc] = await Promise.all([
      import("./web/routes.tsx"),
      options.oidc ? import("./http/oidc.ts") : undefined,
    ]);
    const site = new Hono<AppEnv>();
    site.use("*", provideVariables);
    site.route(
      "/",
      createWebRoutes({
        sessionSecret: secretSource(options.sessionSecret),
        idleMs: options.sessionIdleMs ?? DEFAULT_IDLE_MS,
        ...(options.signingWindowMs !== undefined ? { signingWindowMs: options.signingWindowMs } : {}),
        ...(options.oidc && oidc ? { relyingParty: oidc.relyingParties(options.oidc) } : {}),
        scripts: SCRIPT_PATHS,
        assets: options.assets ?? [],
      }),
    );
    site.notFound(pageNotFound);
    site.onError(async (error, c) => (await import("./web/error-page.tsx")).webErrorPage(c, error));
    return site;
  };
  return async (c, next) => {
    if (c.req.path.startsWith("/api/")) return next();
    if (!pages) {
      pages = load();
      // A failed import is not kept: the next request tries again.
      pages.catch(() => {
        pages = undefined;
      });
    }
    return (await pages).fetch(c.req.raw, c.env);
  };
}

/**
 * The composition root: the HTTP API, the REDCap endpoint and the site pages,
 * the same in Lambda, the local server and the tests (`app.request()`). Only
 * this module knows both api/ and web/; what they share lives in http/.
 */
export function createApp(store: Store, options: AppOptions) {
  const app = new Hono<AppEnv>();
  const importJobs = { ...DEFAULT_IMPORT_JOBS, ...options.importJobs };
  const exportJobs = { ...DEFAULT_EXPORT_JOBS, ...options.exportJobs };

  app.use("*", securityHeaders(STYLES));
  // First of all (the security headers only decorate the answer): no store, page or route sees a request
  // that did not come through the distribution, nor trusts its x-forwarded-host / x-viewer-address.
  if (options.originVerify) app.use("*", verifyOrigin(options.originVerify));
  const provideVariables = createMiddleware<AppEnv>(async (c, next) => {
    c.set("store", store);
    c.set("feedSettleMs", options.feedSettleMs ?? 60_000);
    c.set("importJobs", importJobs);
    c.set("exportJobs", exportJobs);
    if (options.files) c.set("files", options.files);
    await next();
  });
  app.use("*", provideVariables);
  // Sites are often on slow connections: pages, validators and exports are sent compressed.
  app.use("*", compress({ threshold: COMPRESS_THRESHOLD }));
  app.use("*", lengthOfSmallAnswers(COMPRESS_THRESHOLD));
  app.use("*", limitBodies);
  if (options.localDownloads) app.get(`${options.localDownloads.path}/*`, options.localDownloads.handler);
  app.route("/api/v1", apiRoutes());
  app.route("/", redcapRoutes);
  app.all("*", lazySitePages(provideVariables, options));

  app.notFound((c) =>
    c.req.path.startsWith("/api/")
      ? problemResponse(c, problems.notFound(`${c.req.method} ${c.req.path}`))
      : pageNotFound(c),
  );
  app.onError((error, c) => {
    // Errors thrown before a page route runs (e.g. the body limit) still answer as a page.
    // The page (hono/jsx and the layout) is imported by the first error it shows, not at a cold start.
    if (!c.req.path.startsWith("/api/"))
      return import("./web/error-page.tsx").then((m) => m.webErrorPage(c, error));
    const known = knownProblem(error);
    if (known) return problemResponse(c, known);
    if (error instanceof HTTPException && error.status < 500) {
      return problemResponse(c, problems.badRequest(error.message));
    }
    logUnexpected(c.req.path, error);
    return problemResponse(c, problems.internal());
  });
  return app;
}

export type App = ReturnType<typeof createApp>;
