import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";

/**
 * A simulated Lambda Node.js runtime behind API Gateway (REST API, Lambda
 * proxy integration), for the real API bundle in a fresh `node` process:
 *
 * - `awslambdaGlobal()` is the `awslambda` global as the runtime defines it:
 *   `streamifyResponse` marks a handler as streaming, and
 *   `HttpResponseStream.from(stream, prelude)` sets the content type and, on
 *   the first write, writes the JSON prelude and 8 NUL bytes before the body
 *   (the `application/vnd.awslambda.http-integration-response` format the
 *   gateway reads);
 * - `serveInvocation` turns an HTTP request into a REST (v1) proxy event (the
 *   stage prefix stripped, `requestContext.domainName`, `identity.sourceIp`),
 *   invokes the handler and decodes prelude + body back into an HTTP response.
 *   `streaming`: bytes go to the client as the function writes them, with
 *   backpressure; a stream destroyed mid-way aborts the client's response.
 *   `buffered`: the whole output is collected and, past Lambda's 6 MB payload
 *   cap, the invocation fails and the gateway answers 502, never a short 200;
 * - `startLambdaRuntime` runs tests/helpers/lambda-runtime-child.ts (a node
 *   process that installs the global, imports the bundle and serves HTTP).
 */

export type RuntimeMode = "streaming" | "buffered";

/** Lambda's synchronous response payload limit: the most a buffered invocation may return. */
export const BUFFERED_PAYLOAD_LIMIT = 6_291_456;
const PRELUDE_CONTENT_TYPE = "application/vnd.awslambda.http-integration-response";
const DELIMITER_LENGTH = 8;
const STREAMING = Symbol.for("aws.lambda.runtime.handler.streaming");

/** The function's side of the response: what the runtime hands a streaming handler. */
export class RuntimeResponseStream extends Writable {
  contentType = "application/octet-stream";
  _onBeforeFirstWrite?: (write: (chunk: string | Uint8Array) => void) => void;
  #started = false;

  setContentType(type: string): void {
    this.contentType = type;
  }

  override write(chunk: unknown, ...rest: unknown[]): boolean {
    if (!this.#started) {
      this.#started = true;
      this._onBeforeFirstWrite?.((c) => super.write(c));
    }
    return (super.write as (...a: unknown[]) => boolean)(chunk, ...rest);
  }
}

export function awslambdaGlobal() {
  return {
    streamifyResponse<F extends object>(handler: F): F {
      Object.assign(handler, { [STREAMING]: "response" });
      return handler;
    },
    HttpResponseStream: {
      from(stream: RuntimeResponseStream, prelude: Record<string, unknown>) {
        stream.setContentType(PRELUDE_CONTENT_TYPE);
        // JSON never holds a NUL byte: the first one ends the prelude.
        const json = JSON.stringify(prelude);
        stream._onBeforeFirstWrite = (write) => {
          write(json);
          write(new Uint8Array(DELIMITER_LENGTH));
        };
        return stream;
      },
    },
  };
}

export interface GatewayOptions {
  stage: string;
  domainName: string;
}

/** The REST API proxy event API Gateway makes of a request (binary media types: multipart and octet-stream). */
export function restEvent(req: IncomingMessage, body: Buffer, gateway: GatewayOptions) {
  const url = new URL(req.url ?? "/", "http://gateway");
  const stagePrefix = `/${gateway.stage}`;
  const path = url.pathname.startsWith(`${stagePrefix}/`) ? url.pathname.slice(stagePrefix.length) : "/";
  const multiValueHeaders: Record<string, string[]> = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i] as string;
    // The gateway's own host, as API Gateway passes it on.
    const value = name.toLowerCase() === "host" ? gateway.domainName : (req.rawHeaders[i + 1] as string);
    multiValueHeaders[name] = [...(multiValueHeaders[name] ?? []), value];
  }
  const multiValueQueryStringParameters: Record<string, string[]> = {};
  for (const [k, v] of url.searchParams)
    multiValueQueryStringParameters[k] = [...(multiValueQueryStringParameters[k] ?? []), v];
  const last = (m: Record<string, string[]>) =>
    Object.fromEntries(Object.entries(m).map(([k, vs]) => [k, vs[vs.length - 1] as string]));
  const hasQuery = Object.keys(multiValueQueryStringParameters).length > 0;
  const binary = /^(multipart\/form-data|application\/octet-stream)/.test(req.headers["content-type"] ?? "");
  return {
    resource: "/{proxy+}",
    path,
    httpMethod: req.method,
    headers: last(multiValueHeaders),
    multiValueHeaders,
    queryStringParameters: hasQuery ? last(multiValueQueryStringParameters) : null,
    multiValueQueryStringParameters: hasQuery ? multiValueQueryStringParameters : null,
    pathParameters: { proxy: path.slice(1) },
    stageVariables: null,
    requestContext: {
      resourcePath: "/{proxy+}",
      httpMethod: req.method,
      path: `${stagePrefix}${path}`,
      stage: gateway.stage,
      domainName: gateway.domainName,
      apiId: gateway.domainName.split(".")[0],
      requestId: `req-${Math.random().toString(36).slice(2)}`,
      requestTimeEpoch: Date.now(),
      protocol: "HTTP/1.1",
      identity: { sourceIp: req.socket.remoteAddress, userAgent: req.headers["user-agent"] ?? null },
    },
    body: body.length === 0 ? null : binary ? body.toString("base64") : body.toString("utf8"),
    isBase64Encoded: body.length > 0 && binary,
  };
}

interface Prelude {
  statusCode?: number;
  headers?: Record<string, string>;
  multiValueHeaders?: Record<string, string[]>;
  cookies?: string[];
}

function writeHead(res: ServerResponse, prelude: Prelude): void {
  const headers: Record<string, string | string[]> = { ...prelude.headers };
  for (const [k, vs] of Object.entries(prelude.multiValueHeaders ?? {})) headers[k] = vs;
  if (prelude.cookies?.length) headers["set-cookie"] = prelude.cookies;
  res.writeHead(prelude.statusCode ?? 200, headers);
}

/** API Gateway's answer when the integration fails before a response started. */
function gatewayError(res: ServerResponse): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(502, { "content-type": "application/json" });
  res.end(JSON.stringify({ message: "Internal server error" }));
}

/** Splits the function's output into prelude and body, and passes the body on. */
class PreludeDecoder {
  #head: Buffer[] = [];
  prelude?: Prelude;

  /** The body bytes in `chunk`, once the prelude is complete (undefined before). */
  push(chunk: Buffer): Buffer | undefined {
    if (this.prelude) return chunk;
    this.#head.push(chunk);
    const all = Buffer.concat(this.#head);
    const end = all.indexOf(0);
    if (end === -1 || all.length < end + DELIMITER_LENGTH) return undefined;
    if (!all.subarray(end, end + DELIMITER_LENGTH).equals(Buffer.alloc(DELIMITER_LENGTH)))
      throw new Error("the prelude is not followed by 8 NUL bytes");
    this.prelude = JSON.parse(all.subarray(0, end).toString("utf8")) as Prelude;
    return all.subarray(end + DELIMITER_LENGTH);
  }
}

type StreamingHandler = (event: unknown, stream: RuntimeResponseStream, context: unknown) => Promise<unknown>;

/** One invocation of a streaming handler for one HTTP request, answered as API Gateway would. */
export async function serveInvocation(
  handler: StreamingHandler,
  req: IncomingMessage,
  res: ServerResponse,
  options: GatewayOptions & { mode: RuntimeMode },
): Promise<void> {
  if (!(handler as unknown as Record<symbol, unknown>)[STREAMING])
    throw new Error("the handler is not wrapped in awslambda.streamifyResponse");
  const parts: Buffer[] = [];
  for await (const part of req) parts.push(part as Buffer);
  const event = restEvent(req, Buffer.concat(parts), options);
  const context = { awsRequestId: event.requestContext.requestId, getRemainingTimeInMillis: () => 900_000 };
  const decoder = new PreludeDecoder();
  const buffered: Buffer[] = [];
  let payload = 0;
  const stream = new RuntimeResponseStream({
    write(chunk: Buffer, _encoding, done) {
      payload += chunk.length;
      if (options.mode === "buffered") {
        // Lambda refuses a buffered response past its payload limit: the invocation fails.
        if (payload > BUFFERED_PAYLOAD_LIMIT)
          return done(new Error(`Response payload size exceeded maximum allowed payload size`));
        buffered.push(chunk);
        return done();
      }
      const body = decoder.push(chunk);
      if (body === undefined) return done();
      if (!res.headersSent) writeHead(res, decoder.prelude as Prelude);
      if (body.length === 0 || res.write(body)) return done();
      res.once("drain", () => done());
    },
    final(done) {
      if (options.mode === "buffered") {
        const body = decoder.push(Buffer.concat(buffered));
        if (body === undefined) return done(new Error("no prelude"));
        writeHead(res, decoder.prelude as Prelude);
        res.end(body);
      } else res.end();
      done();
    },
  });
  // The runtime, not the function, owns the stream's errors: they end the invocation, never the process.
  stream.on("error", () => {});
  // The client went away: the function's writes fail from now on.
  res.on("close", () => {
    if (!res.writableFinished) stream.destroy(new Error("the client closed the connection"));
  });
  const finished = new Promise<boolean>((resolve) => {
    stream.on("finish", () => resolve(true));
    stream.on("close", () => resolve(stream.writableFinished));
  });
  try {
    await handler(event, stream, context);
  } catch {
    if (!stream.destroyed) stream.destroy();
  }
  if (!(await finished)) gatewayError(res);
}

const CHILD = fileURLToPath(new URL("./lambda-runtime-child.ts", import.meta.url));

export interface LambdaRuntime {
  url: string;
  /** What the function wrote to stdout and stderr so far (its log lines). */
  logs(): string;
  close(): Promise<void>;
}

/** The bundle's `index.mjs` served by a simulated runtime in a fresh node process. */
export async function startLambdaRuntime(options: {
  bundleDir: string;
  mode: RuntimeMode;
  env: NodeJS.ProcessEnv;
  stage?: string;
  domainName?: string;
}): Promise<LambdaRuntime> {
  const stage = options.stage ?? "prod";
  const child: ChildProcess = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      CHILD,
      path.join(options.bundleDir, "index.mjs"),
      options.mode,
      stage,
      options.domainName ?? "abc123def4.execute-api.eu-west-1.amazonaws.com",
    ],
    { env: { PATH: process.env.PATH, ...options.env }, cwd: path.dirname(CHILD), stdio: "pipe" },
  );
  let output = "";
  child.stdout?.on("data", (d) => {
    output += d;
  });
  child.stderr?.on("data", (d) => {
    output += d;
  });
  const port = await new Promise<number>((resolve, reject) => {
    const onData = () => {
      const found = /@@lambda-runtime-port=(\d+)@@/.exec(output);
      if (found) resolve(Number(found[1]));
    };
    child.stdout?.on("data", onData);
    child.once("exit", (code) => reject(new Error(`the runtime exited (${code}): ${output}`)));
  });
  return {
    url: `http://127.0.0.1:${port}/${stage}`,
    logs: () => output,
    close: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill();
      }),
  };
}

/**
 * The API function's bundle, built by CDK's own asset staging from the stack's
 * `apiFunctionProps()` (infra/split-bundling.ts, local esbuild): the same
 * files a deployment uploads, without synthesizing the whole stack.
 */
export async function buildApiBundle(): Promise<{ dir: string; remove: () => void }> {
  const { App, Stack } = await import("aws-cdk-lib");
  const { apiFunctionProps } = await import("../../infra/stack.ts");
  const outdir = mkdtempSync(path.join(tmpdir(), "edc-api-bundle-"));
  const stack = new Stack(new App({ outdir }), "ApiBundle");
  apiFunctionProps().code.bind(stack);
  const [asset] = readdirSync(outdir).filter((name) => name.startsWith("asset."));
  if (!asset) throw new Error(`no asset staged in ${outdir}`);
  return { dir: path.join(outdir, asset), remove: () => rmSync(outdir, { recursive: true, force: true }) };
}
