import type { Context } from "hono";
import type { UseSource } from "../store/tokens.ts";

/**
 * Where a request came from, for the access log: the client address the
 * proxy in front (API Gateway, CloudFront) reports first, and the user agent.
 * Either may be absent; neither is trusted for anything but the record.
 */
export function requestSource(c: Context): UseSource {
  const ip = c.req.header("x-forwarded-for")?.split(",")[0]?.trim();
  const userAgent = c.req.header("user-agent");
  return { ...(ip ? { ip } : {}), ...(userAgent ? { userAgent } : {}) };
}
