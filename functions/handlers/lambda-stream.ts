import { Readable, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";

/**
 * The API function's own response-streaming adapter: an API Gateway REST (v1)
 * proxy event (or a v2 / function URL event) → a `Request` → the app → the
 * Lambda Node runtime's `awslambda.HttpResponseStream` (a JSON prelude with the
 * status, headers and cookies, 8 NUL bytes, then the body as the app produces
 * it, with backpressure). Not hono's `streamHandle`: when a body fails after its
 * first byte, that one writes "Internal Server Error" into it and ends the
 * stream normally, a truncated 200 that looks complete. Here the stream is
 * destroyed with the error, so the invocation fails and the client's download
 * is aborted, as the local server does (http/streamed-body.ts).
 */

/** What the Lambda Node runtime passes a streaming handler: a writable, marked with its content type. */
export interface LambdaResponseStream extends Writable {
  setContentType(type: string): void;
}

interface AwsLambdaGlobal {
  streamifyResponse(
    handler: (event: unknown, stream: LambdaResponseStream, context: unknown) => Promise<void>,
  ): unknown;
  HttpResponseStream: {
    from(
      stream: LambdaResponseStream,
      prelude: { statusCode: number; headers: Record<string, string>; cookies: string[] },
    ): LambdaResponseStream;
  };
}

/** Only the Lambda Node runtime defines it; the bundle must still load without it (tests import it in plain node). */
declare global {
  var awslambda: AwsLambdaGlobal | undefined;
}

type Values = Record<string, string | undefined> | null | undefined;
type MultiValues = Record<string, (string | undefined)[] | undefined> | null | undefined;

/** The fields of an API Gateway REST (v1) proxy event and of a v2 / function URL event that the adapter reads. */
export interface ProxyEvent {
  version?: string;
  httpMethod?: string;
  path?: string;
  rawPath?: string;
  rawQueryString?: string;
  headers?: Values;
  multiValueHeaders?: MultiValues;
  queryStringParameters?: Values;
  multiValueQueryStringParameters?: MultiValues;
  cookies?: string[];
  body?: string | null;
  isBase64Encoded?: boolean;
  requestContext?: { domainName?: string; http?: { method?: string } } & Record<string, unknown>;
}

interface FetchApp {
  fetch(request: Request, env: Record<string, unknown>): Response | Promise<Response>;
}

/** Pairs of a single-value map and a multi-value one, the multi-value one winning (it keeps repeats). */
function pairs(single: Values, multi: MultiValues): [string, string][] {
  if (multi && Object.keys(multi).length > 0)
    return Object.entries(multi).flatMap(([k, vs]) =>
      (vs ?? []).filter((v): v is string => v !== undefined).map((v): [string, string] => [k, v]),
    );
  return Object.entries(single ?? {}).filter((e): e is [string, string] => e[1] !== undefined);
}

/** The request the event describes, addressed at the public host (`x-forwarded-host`, set by CloudFront) over https. */
export function eventToRequest(event: ProxyEvent): Request {
  const v2 = event.version === "2.0";
  const headers = new Headers();
  for (const [k, v] of pairs(event.headers, v2 ? undefined : event.multiValueHeaders)) headers.append(k, v);
  if (v2 && event.cookies?.length) headers.set("cookie", event.cookies.join("; "));
  const method = (v2 ? event.requestContext?.http?.method : event.httpMethod) ?? "GET";
  const host =
    headers.get("x-forwarded-host")?.split(",")[0]?.trim() ||
    event.requestContext?.domainName ||
    headers.get("host") ||
    "localhost";
  let search: string;
  if (v2) search = event.rawQueryString ?? "";
  else {
    const query = new URLSearchParams();
    for (const [k, v] of pairs(event.queryStringParameters, event.multiValueQueryStringParameters))
      query.append(k, v);
    search = query.toString();
  }
  const path = (v2 ? event.rawPath : event.path) ?? "/";
  const url = new URL(`https://${host}${path}${search ? `?${search}` : ""}`);
  const hasBody = method !== "GET" && method !== "HEAD" && event.body != null;
  return new Request(url, {
    method,
    headers,
    ...(hasBody
      ? { body: event.isBase64Encoded ? Buffer.from(event.body as string, "base64") : (event.body as string) }
      : {}),
  });
}

/** The prelude of a response: its status, its headers, and each Set-Cookie on its own (headers would join them). */
export function responsePrelude(res: Response): {
  statusCode: number;
  headers: Record<string, string>;
  cookies: string[];
} {
  const headers: Record<string, string> = {};
  res.headers.forEach((value, name) => {
    if (name !== "set-cookie") headers[name] = value;
  });
  return { statusCode: res.status, headers, cookies: res.headers.getSetCookie() };
}

/** Answers one invocation: the app's response streamed into the runtime's response stream. */
export async function answerStreaming(
  app: FetchApp,
  runtime: AwsLambdaGlobal,
  event: ProxyEvent,
  responseStream: LambdaResponseStream,
  lambdaContext: unknown,
): Promise<void> {
  const res = await app.fetch(eventToRequest(event), {
    event,
    requestContext: event.requestContext,
    lambdaContext,
  });
  const stream = runtime.HttpResponseStream.from(responseStream, responsePrelude(res));
  // The prelude goes out with the first write: now, even for an empty body, so the status is never held back.
  stream.write("");
  if (!res.body) {
    stream.end();
    return;
  }
  try {
    await pipeline(Readable.fromWeb(res.body as import("node:stream/web").ReadableStream), stream);
  } catch (error) {
    // Past the first byte no status can change: fail the invocation so the client sees an aborted
    // response, never a clean end. The body's own error path already logged the cause.
    if (!stream.destroyed) stream.destroy(error as Error);
  }
}

/**
 * The Lambda handler of `app`: `awslambda` is looked up here, where only the Lambda runtime gives it
 * `streamifyResponse`. The AWS SDK creates a bare `globalThis.awslambda` anywhere (its InvokeStore), so
 * the object alone proves nothing.
 */
export function streamingHandler(app: FetchApp): (...args: unknown[]) => Promise<unknown> {
  const runtime = globalThis.awslambda;
  if (typeof runtime?.streamifyResponse !== "function")
    return async () => {
      throw new Error("This handler streams its responses: it runs in the Lambda Node.js runtime only.");
    };
  return runtime.streamifyResponse((event, responseStream, context) =>
    answerStreaming(app, runtime, event as ProxyEvent, responseStream, context),
  ) as (...args: unknown[]) => Promise<unknown>;
}
