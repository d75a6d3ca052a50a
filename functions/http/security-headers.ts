import { createHash } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { secureHeaders } from "hono/secure-headers";

/** A year; with includeSubDomains, what HSTS preload lists ask for. */
const HSTS = "max-age=31536000; includeSubDomains";

/**
 * Browser security headers on every answer: pages, API answers, exports and
 * errors alike (they all may carry PHI or be framed). Scripts are same-origin
 * files only; data for them travels in `<script type="application/json">`
 * blocks, which CSP does not run. No 'unsafe-eval' on any page: form pages
 * load their instrument's precompiled checks, and the builder's editor checks
 * drafts with meta-schema checks precompiled when its script is built.
 */
const browserHeaders = (styleHash: string, scriptSrc: string[]) =>
  secureHeaders({
    contentSecurityPolicy: {
      defaultSrc: ["'none'"],
      scriptSrc,
      styleSrc: [styleHash],
      imgSrc: ["'self'"],
      // Same-origin fetches only: the exports page's job list reads its own page again (web/client/export-jobs.ts).
      connectSrc: ["'self'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
      baseUri: ["'none'"],
    },
    xFrameOptions: "DENY",
    // not no-referrer: browsers then send `Origin: null` on form posts, and sign-in checks Origin.
    referrerPolicy: "same-origin",
    // Only over https (below): in AWS, where the Lambda adapter builds https URLs; never on localhost.
    strictTransportSecurity: false,
  });

/** `styles` is the one inline stylesheet (web/layout.tsx), allowed by its hash rather than by 'unsafe-inline'. */
export function securityHeaders(styles: string): MiddlewareHandler {
  const headers = browserHeaders(`'sha256-${createHash("sha256").update(styles).digest("base64")}'`, [
    "'self'",
  ]);
  return async (c, next) => {
    await headers(c, async () => {
      await next();
      // PHI must not stay in browser or proxy caches; only content-hashed scripts say otherwise.
      if (!c.res.headers.has("Cache-Control")) c.res.headers.set("Cache-Control", "no-store");
      if (new URL(c.req.url).protocol === "https:") c.res.headers.set("Strict-Transport-Security", HSTS);
    });
  };
}
