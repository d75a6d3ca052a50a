import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Hono } from "hono";
import { setCookie } from "hono/cookie";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { eventToRequest, type ProxyEvent, streamingHandler } from "../../functions/handlers/lambda-stream.ts";
import { streamedBody } from "../../functions/http/streamed-body.ts";
import { awslambdaGlobal, serveInvocation } from "../helpers/lambda-runtime.ts";

/**
 * The API function's streaming adapter (functions/handlers/lambda-stream.ts):
 * its event → Request mapping on plain objects, then a small app through the
 * simulated runtime and gateway (tests/helpers/lambda-runtime.ts) in process.
 * The real bundle, its routes and the 1,000-subject export go through the same
 * runtime in tests/infra/streaming-lambda.test.ts.
 */

const restEvent = (over: Partial<ProxyEvent>): ProxyEvent => ({
  httpMethod: "GET",
  path: "/api/",
  headers: { Host: "abc.execute-api.eu-west-1.amazonaws.com" },
  multiValueHeaders: { Host: ["abc.execute-api.eu-west-1.amazonaws.com"] },
  queryStringParameters: null,
  multiValueQueryStringParameters: null,
  body: null,
  isBase64Encoded: false,
  requestContext: {
    domainName: "abc.execute-api.eu-west-1.amazonaws.com",
    identity: { sourceIp: "203.0.113.9" },
  },
  ...over,
});

describe("eventToRequest", () => {
  it("builds the URL from the REST event: path without the stage, repeated query keys kept, https", () => {
    const req = eventToRequest(
      restEvent({
        path: "/api/v1/studies/s1/records",
        queryStringParameters: { "fields[1]": "age", a: "2" },
        multiValueQueryStringParameters: { "fields[0]": ["record_id"], "fields[1]": ["age"], a: ["1", "2"] },
      }),
    );
    const url = new URL(req.url);
    expect(url.origin).toBe("https://abc.execute-api.eu-west-1.amazonaws.com");
    expect(url.pathname).toBe("/api/v1/studies/s1/records");
    expect([...url.searchParams]).toEqual([
      ["fields[0]", "record_id"],
      ["fields[1]", "age"],
      ["a", "1"],
      ["a", "2"],
    ]);
  });

  it("addresses the public host from x-forwarded-host (CloudFront), and keeps every value of a repeated header", () => {
    const req = eventToRequest(
      restEvent({
        multiValueHeaders: {
          Host: ["abc.execute-api.eu-west-1.amazonaws.com"],
          "X-Forwarded-Host": ["edc.example.org"],
          Accept: ["text/html", "application/json"],
        },
      }),
    );
    expect(new URL(req.url).origin).toBe("https://edc.example.org");
    expect(req.headers.get("accept")).toBe("text/html, application/json");
  });

  it("decodes a base64 body byte for byte, and passes a text body as it is", async () => {
    const bytes = Buffer.from([0, 255, 1, 254, 0x89, 0x50, 0x4e, 0x47]);
    const binary = eventToRequest(
      restEvent({ httpMethod: "POST", body: bytes.toString("base64"), isBase64Encoded: true }),
    );
    expect(Buffer.from(await binary.arrayBuffer())).toEqual(bytes);
    const text = eventToRequest(restEvent({ httpMethod: "POST", body: "token=t&content=record" }));
    expect(await text.text()).toBe("token=t&content=record");
    expect(eventToRequest(restEvent({ httpMethod: "HEAD", body: "ignored" })).body).toBeNull();
  });

  it("reads the v2 / function URL shape too: raw path and query, cookies", () => {
    const req = eventToRequest({
      version: "2.0",
      rawPath: "/signin",
      rawQueryString: "next=%2Fhome&a=1&a=2",
      headers: { host: "xyz.lambda-url.eu-west-1.on.aws" },
      cookies: ["a=1", "b=2"],
      requestContext: { domainName: "xyz.lambda-url.eu-west-1.on.aws", http: { method: "POST" } },
      body: "x=1",
      isBase64Encoded: false,
    });
    expect(req.method).toBe("POST");
    expect(req.url).toBe("https://xyz.lambda-url.eu-west-1.on.aws/signin?next=%2Fhome&a=1&a=2");
    expect(req.headers.get("cookie")).toBe("a=1; b=2");
  });
});

describe("streamingHandler", () => {
  it("loads without the Lambda runtime's global, or with the bare one the AWS SDK makes, and refuses to run there", async () => {
    const before = globalThis.awslambda;
    try {
      // Undefined in a plain process; `{ InvokeStore }` once the SDK's invoke store has loaded.
      for (const global of [undefined, { InvokeStore: {} }]) {
        globalThis.awslambda = global as typeof globalThis.awslambda;
        const handler = streamingHandler(new Hono());
        await expect(handler({}, {}, {})).rejects.toThrow(/Lambda Node.js runtime only/);
      }
    } finally {
      globalThis.awslambda = before;
    }
  });
});

describe("through the simulated runtime and REST gateway", () => {
  const app = new Hono<{ Bindings: { event: ProxyEvent } }>();
  app.get("/cookies", (c) => {
    setCookie(c, "edc_session", "one", { path: "/", httpOnly: true });
    setCookie(c, "edc_sign_in", "two", { path: "/auth" });
    return c.text("ok");
  });
  app.all("/echo", async (c) => {
    const body = Buffer.from(await c.req.arrayBuffer());
    c.header("x-method", c.req.method);
    return c.json({
      url: c.req.url,
      queries: c.req.queries(),
      sha256: createHash("sha256").update(body).digest("hex"),
      sourceIp: c.env.event.requestContext?.identity,
    });
  });
  app.get("/fails-midway", (c) =>
    streamedBody(
      c,
      (async function* () {
        yield "a,b\n";
        yield "1,2\n";
        throw new Error("ProvisionedThroughputExceededException: throttled");
      })(),
    ),
  );
  app.get("/empty", (c) => c.body(null, 204));

  let server: Server;
  let base: string;
  beforeAll(async () => {
    globalThis.awslambda = awslambdaGlobal() as never;
    const handler = streamingHandler(app);
    globalThis.awslambda = undefined;
    server = createServer((req, res) => {
      void serveInvocation(handler as never, req, res, {
        mode: "streaming",
        stage: "prod",
        domainName: "abc.execute-api.eu-west-1.amazonaws.com",
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/prod`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("sends every Set-Cookie on its own (the prelude's cookies)", async () => {
    const res = await fetch(`${base}/cookies`);
    expect(res.status).toBe(200);
    expect(res.headers.getSetCookie()).toEqual([
      "edc_session=one; Path=/; HttpOnly",
      "edc_sign_in=two; Path=/auth",
    ]);
  });

  it("passes the method, the query arrays, a binary body and the caller's address", async () => {
    const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const res = await fetch(`${base}/echo?fields[0]=record_id&fields[1]=age&fields[1]=sex`, {
      method: "POST",
      headers: { "content-type": "application/octet-stream", "x-forwarded-host": "edc.example.org" },
      body: bytes,
    });
    expect(res.headers.get("x-method")).toBe("POST");
    const echoed = (await res.json()) as Record<string, unknown>;
    expect(echoed.url).toBe(
      "https://edc.example.org/echo?fields%5B0%5D=record_id&fields%5B1%5D=age&fields%5B1%5D=sex",
    );
    expect(echoed.queries).toEqual({ "fields[0]": ["record_id"], "fields[1]": ["age", "sex"] });
    expect(echoed.sha256).toBe(createHash("sha256").update(bytes).digest("hex"));
    expect(echoed.sourceIp).toMatchObject({ sourceIp: "127.0.0.1" });
    const head = await fetch(`${base}/echo`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("x-method")).toBe("HEAD");
    expect(await head.text()).toBe("");
  });

  it("answers an empty body with its status (the prelude is written even without a byte of body)", async () => {
    const res = await fetch(`${base}/empty`);
    expect(res.status).toBe(204);
  });

  it("a body failing after its first bytes: the client's download is aborted, never ended cleanly; logged once", async () => {
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const res = await fetch(`${base}/fails-midway`);
      expect(res.status).toBe(200);
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      let received = "";
      const read = async () => {
        for (let next = await reader.read(); !next.done; next = await reader.read())
          received += Buffer.from(next.value).toString();
      };
      await expect(read()).rejects.toThrow();
      expect(received).toBe("a,b\n1,2\n");
      const lines = logged.mock.calls.map((call) => String(call[0]));
      expect(lines.filter((l) => l.includes("ProvisionedThroughputExceededException"))).toHaveLength(1);
    } finally {
      logged.mockRestore();
    }
  });
});
