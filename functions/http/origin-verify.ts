import { createHash, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { problemResponse, problems } from "./problems.ts";

/**
 * In AWS the REST API's execute-api URL stays reachable beside the CloudFront distribution, and there a
 * client could send its own `x-forwarded-host` (the public host: cookies, CSRF origin checks, OpenID
 * callbacks) and `x-viewer-address` (the access log's address), which only CloudFront's viewer function
 * may set. CloudFront adds a secret header to every request it forwards; a request without its value is
 * refused before anything reads it or the store, so only the distribution's requests are trusted.
 */
export interface OriginVerifySettings {
  /** The header CloudFront adds (ORIGIN_VERIFY_HEADER). */
  readonly header: string;
  /** The values accepted now: the current one and, during a rotation, the previous one. */
  readonly accepted: () => Promise<readonly string[]>;
}

const digest = (value: string) => createHash("sha256").update(value, "utf8").digest();

/**
 * Compared in constant time: SHA-256 digests have one length whatever was sent, so neither the length
 * nor the first differing byte of a guess shows in the answer's timing. Every accepted value is compared.
 */
export function isAccepted(presented: string | undefined, accepted: readonly string[]): boolean {
  const sent = digest(presented ?? "");
  let matched = false;
  for (const value of accepted) if (value !== "" && timingSafeEqual(sent, digest(value))) matched = true;
  return presented !== undefined && matched;
}

/** The app's first check (functions/app.ts): a 403 problem+json unless the request came through CloudFront. */
export function verifyOrigin(settings: OriginVerifySettings): MiddlewareHandler {
  return async (c, next) => {
    if (!isAccepted(c.req.header(settings.header), await settings.accepted()))
      return problemResponse(c, problems.notThroughPublicUrl());
    await next();
  };
}
