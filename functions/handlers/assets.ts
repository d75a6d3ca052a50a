import { gzipSync } from "node:zlib";
import { SCRIPTS } from "../web/scripts.generated.ts";

/**
 * The browser scripts in AWS: their own small function behind the same REST
 * API (`GET /assets/{proxy+}`, buffered), so they stay same-origin for the CSP's
 * 'self' while the API function's bundle — and its cold start — does without
 * them. Content-hashed paths: cached for a year. Compressed once, here, since
 * API Gateway does not compress.
 */

/** A REST API (v1) proxy event: `path` without the stage; header names as the client (CloudFront) sent them. */
interface ProxyEvent {
  path?: string;
  headers?: Record<string, string | undefined> | null;
}

const served = new Map<string, { body: string; gzip: string }>(
  Object.values(SCRIPTS).map((s) => [s.path, { body: s.body, gzip: gzipSync(s.body).toString("base64") }]),
);

const COMMON = {
  "Content-Type": "text/javascript; charset=utf-8",
  "Cache-Control": "public, max-age=31536000, immutable",
  "X-Content-Type-Options": "nosniff",
  Vary: "Accept-Encoding",
};

function header(event: ProxyEvent, name: string): string | undefined {
  for (const [key, value] of Object.entries(event.headers ?? {}))
    if (key.toLowerCase() === name) return value;
  return undefined;
}

export async function handler(event: ProxyEvent) {
  const script = served.get(event.path ?? "");
  if (!script)
    return {
      statusCode: 404,
      headers: { "Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store" },
      body: "Not found",
    };
  const acceptsGzip = /\bgzip\b/.test(header(event, "accept-encoding") ?? "");
  return acceptsGzip
    ? {
        statusCode: 200,
        headers: { ...COMMON, "Content-Encoding": "gzip" },
        body: script.gzip,
        isBase64Encoded: true,
      }
    : { statusCode: 200, headers: COMMON, body: script.body };
}
