import type { Context } from "hono";
import type { AccessOrigin } from "../store/access-log.ts";
import type { Principal } from "../store/principal.ts";

/**
 * Where a request came from, as the access log records it. In AWS, requests
 * reach the function through CloudFront, whose viewer-request function sets
 * `x-viewer-address` to the viewer's IP (overwriting a client's value), while
 * the Lambda event's `sourceIp` is the CloudFront edge; so the header wins,
 * but only when the request came through a Lambda event (locally any client
 * could send it; in AWS a request that did not come through CloudFront is
 * refused before this runs, http/origin-verify.ts). Without it, the event's
 * `sourceIp`; the first hop of `x-forwarded-for` is what a proxy in front of the local server
 * reports; the socket address is the last resort (the local server, no proxy).
 */
interface TransportEnv {
  event?: { requestContext?: { http?: { sourceIp?: unknown }; identity?: { sourceIp?: unknown } } };
  incoming?: { socket?: { remoteAddress?: unknown } };
}

const text = (value: unknown) => (typeof value === "string" && value !== "" ? value : undefined);

/** A header value as logged: bounded, so a client cannot fill the log with one request. */
const bounded = (value: string | undefined) => value?.slice(0, 512);

export function sourceIp(c: Context): string | undefined {
  const env = (c.env ?? {}) as TransportEnv;
  const context = env.event?.requestContext;
  const viewer = env.event ? text(c.req.header("x-viewer-address")?.trim()) : undefined;
  return bounded(
    viewer ??
      text(context?.http?.sourceIp) ??
      text(context?.identity?.sourceIp) ??
      text(c.req.header("x-forwarded-for")?.split(",")[0]?.trim()) ??
      text(env.incoming?.socket?.remoteAddress),
  );
}

/** The request's source, and the person behind the principal when one is known. */
export function requestOrigin(c: Context, principal?: Pick<Principal, "person">): AccessOrigin {
  const ip = sourceIp(c);
  const userAgent = bounded(text(c.req.header("user-agent")));
  return {
    ...(principal?.person ? { person: principal.person } : {}),
    ...(ip ? { ip } : {}),
    ...(userAgent ? { userAgent } : {}),
  };
}
