import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { serve } from "@hono/node-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadDefinition } from "../../functions/definition-files.ts";
import { type DevEnvironment, startDevEnvironment } from "../../functions/dev-environment.ts";
import { memoryMacKey } from "../../functions/store/mac-key.ts";
import { seedDirect } from "../bench/seed-fast.ts";
import { buildCasebookPlan } from "../bench/seed-study.ts";
import {
  BUFFERED_PAYLOAD_LIMIT,
  buildApiBundle,
  type LambdaRuntime,
  startLambdaRuntime,
} from "../helpers/lambda-runtime.ts";

/**
 * The acceptance, without AWS: a REDCap `content=record` export of a
 * 1,000-subject study, larger than Lambda's 6 MB buffered payload, answered by
 * the local server (the app on @hono/node-server, as `npm start` serves it)
 * and by the real API bundle in the simulated streaming runtime behind a
 * simulated REST gateway (tests/helpers/lambda-runtime.ts), against the same
 * dynalite: byte for byte the same. The buffered runtime refuses it (502),
 * never a short 200. Then a store failing mid-export through the streaming
 * runtime, and the request shapes the pages and REDCap clients send.
 *
 * The casebooks are seeded straight into dynalite's LevelDB with two forms
 * per subject (two event rows): REDCap's JSON carries every field on every
 * row, so 2,000 rows are ~8.5 MB while the seeding writes 5 items a subject.
 */

const SUBJECTS = 1000;
const macKey = memoryMacKey();
let dataDir: string;
let env: DevEnvironment;
let local: { url: string; close: () => Promise<void> };
let dynamoProxy: DynamoProxy;
let streaming: LambdaRuntime;
let buffered: LambdaRuntime;
let removeBundle: () => void;
let token: string;
let seedMs: number;

/** dynalite behind a pass-through proxy that can throttle the Lambda's reads from a given moment. */
interface DynamoProxy {
  endpoint: string;
  /** From now, let `queries` more Query calls through, then refuse every Query as throttled. */
  throttleQueriesAfter(queries: number): void;
  stopThrottling(): void;
  close(): Promise<void>;
}

async function startDynamoProxy(target: string): Promise<DynamoProxy> {
  let allowed = Number.POSITIVE_INFINITY;
  const server: Server = createServer((req, res) => {
    const isQuery = req.headers["x-amz-target"] === "DynamoDB_20120810.Query";
    if (isQuery && allowed-- <= 0) {
      req.resume();
      res.writeHead(400, { "content-type": "application/x-amz-json-1.0" });
      res.end(
        JSON.stringify({
          __type: "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
          message: "The level of configured provisioned throughput for the table was exceeded.",
        }),
      );
      return;
    }
    const to = new URL(target);
    const forward = httpRequest(
      { host: to.hostname, port: to.port, path: req.url, method: req.method, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 500, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on("error", () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    throttleQueriesAfter: (queries) => {
      allowed = queries;
    },
    stopThrottling: () => {
      allowed = Number.POSITIVE_INFINITY;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

beforeAll(async () => {
  const bundle = buildApiBundle();
  dataDir = mkdtempSync(path.join(tmpdir(), "edc-streaming-lambda-"));
  const first = await startDevEnvironment({ dataDir, macKey });
  const { tableName } = first;
  await first.close();
  const plan = buildCasebookPlan(await loadDefinition("forms"), {
    definitionVersion: 1,
    maxSubjects: SUBJECTS,
  });
  // The first form of the first two events: two rows a subject in REDCap's flat records.
  const events = [...new Set(plan.slots.map((s) => s.event))].slice(0, 2);
  plan.slots = events.map((e) => plan.slots.find((s) => s.event === e) as (typeof plan.slots)[number]);
  plan.instancesPerSubject = plan.slots.length;
  plan.itemsPerSubject = 1 + 2 * plan.slots.length;
  const seeded = await seedDirect(path.join(dataDir, "dynamo"), tableName, plan, macKey, {
    from: 0,
    to: SUBJECTS,
  });
  seedMs = seeded.ms;
  env = await startDevEnvironment({ dataDir, macKey });
  token = env.tokens.monitor?.token as string;
  const server = serve({ fetch: env.app.fetch, port: 0, hostname: "127.0.0.1" });
  await new Promise((resolve) => server.once("listening", resolve));
  local = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  dynamoProxy = await startDynamoProxy(env.endpoint);
  const keyFile = path.join(dataDir, "audit-mac.key");
  writeFileSync(keyFile, `${"5a".repeat(32)}\n`, { mode: 0o600 });
  const { dir, remove } = await bundle;
  removeBundle = remove;
  const lambdaEnv = {
    TABLE_NAME: tableName,
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: "local",
    AWS_SECRET_ACCESS_KEY: "local",
    AWS_ENDPOINT_URL_DYNAMODB: dynamoProxy.endpoint,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    SESSION_SECRET: "streaming-lambda-test",
    AUDIT_MAC_KEY_FILE: keyFile,
  };
  [streaming, buffered] = await Promise.all([
    startLambdaRuntime({ bundleDir: dir, mode: "streaming", env: lambdaEnv }),
    startLambdaRuntime({ bundleDir: dir, mode: "buffered", env: lambdaEnv }),
  ]);
}, 240_000);

afterAll(async () => {
  await streaming?.close();
  await buffered?.close();
  await local?.close();
  await dynamoProxy?.close();
  await env?.close();
  removeBundle?.();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

/** REDCap's records export as a client posts it; identity, so the bytes on the wire are the export's own. */
const exportRecords = (base: string, format: "json" | "csv", extra = "") =>
  fetch(`${base}/api/`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", "accept-encoding": "identity" },
    body: `token=${token}&content=record&format=${format}&type=flat${extra}`,
  });

const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

describe("REDCap content=record of 1,000 subjects (> 6 MB)", () => {
  it("streams from the Lambda bundle byte for byte as the local server answers it", async () => {
    let started = performance.now();
    const fromLocal = await exportRecords(local.url, "json");
    const localBody = Buffer.from(await fromLocal.arrayBuffer());
    const localMs = performance.now() - started;
    started = performance.now();
    const fromLambda = await exportRecords(streaming.url, "json");
    const lambdaBody = Buffer.from(await fromLambda.arrayBuffer());
    const lambdaMs = performance.now() - started;
    console.info(
      `1,000 subjects seeded straight into LevelDB in ${(seedMs / 1000).toFixed(1)} s; content=record JSON: ` +
        `local ${localBody.length} bytes in ${(localMs / 1000).toFixed(1)} s, streaming Lambda ` +
        `${lambdaBody.length} bytes in ${(lambdaMs / 1000).toFixed(1)} s, SHA-256 ${sha256(lambdaBody)}`,
    );
    expect(fromLocal.status).toBe(200);
    expect(fromLambda.status).toBe(200);
    expect(fromLambda.headers.get("content-type")).toBe(fromLocal.headers.get("content-type"));
    expect(localBody.length).toBeGreaterThan(BUFFERED_PAYLOAD_LIMIT);
    expect(lambdaBody.length).toBe(localBody.length);
    expect(sha256(lambdaBody)).toBe(sha256(localBody));
    const rows = JSON.parse(lambdaBody.toString("utf8")) as { record_id?: unknown }[];
    expect(rows).toHaveLength(2 * SUBJECTS);
  }, 240_000);

  it("through the buffered runtime (Lambda's 6 MB cap): refused with a 502, never a short 200", async () => {
    const res = await exportRecords(buffered.url, "json");
    expect(res.status).toBe(502);
    expect(await res.json()).toEqual({ message: "Internal server error" });
  }, 120_000);
});

describe("a store failing mid-export, through the streaming runtime", () => {
  it("aborts the client's download after the first rows, and the function logs the cause once", async () => {
    const logsBefore = streaming.logs().length;
    // The token, the definition and the subject listing pass; a few casebooks later, every read is throttled.
    dynamoProxy.throttleQueriesAfter(40);
    try {
      const res = await exportRecords(streaming.url, "csv");
      expect(res.status).toBe(200);
      const reader = (res.body as ReadableStream<Uint8Array>).getReader();
      let received = 0;
      const read = async () => {
        for (let next = await reader.read(); !next.done; next = await reader.read())
          received += next.value.length;
      };
      await expect(read()).rejects.toThrow();
      expect(received).toBeGreaterThan(0);
    } finally {
      dynamoProxy.stopThrottling();
    }
    const errors = streaming
      .logs()
      .slice(logsBefore)
      .split("\n")
      .filter((line) => line.includes('"level":"error"'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain("ProvisionedThroughputExceededException");
  }, 60_000);
});

describe("requests as the pages and REDCap clients send them, through the bundle", () => {
  it("fields[0]/fields[1] and records[0] select as they do on the local server", async () => {
    const extra = "&fields[0]=consent_date&fields[1]=consent_version&records[0]=01-001&records[1]=02-001";
    const [a, b] = await Promise.all([
      exportRecords(local.url, "csv", extra),
      exportRecords(streaming.url, "csv", extra),
    ]);
    const [fromLocal, fromLambda] = [await a.text(), await b.text()];
    expect(a.status).toBe(200);
    expect(fromLocal).toMatch(/consent_date,consent_version/);
    expect(fromLocal).toMatch(/^01-001,/m);
    expect(fromLocal).toMatch(/^02-001,/m);
    expect(fromLocal).not.toMatch(/^01-002,/m);
    expect(b.status).toBe(a.status);
    expect(fromLambda).toBe(fromLocal);
  });

  it("signs in with a key at the public host (x-forwarded-host): the origin check and the Secure session cookie", async () => {
    const signIn = (headers: Record<string, string>) =>
      fetch(`${streaming.url}/signin`, {
        method: "POST",
        redirect: "manual",
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          origin: "https://edc.example.org",
          ...headers,
        },
        body: `token=${token}`,
      });
    const atPublicHost = await signIn({ "x-forwarded-host": "edc.example.org" });
    expect(atPublicHost.status).toBe(303);
    const [cookie] = atPublicHost.headers.getSetCookie();
    expect(cookie).toMatch(/; Secure/);
    expect(cookie).toMatch(/HttpOnly/);
    // Without it the request's URL is the gateway's own host, and the browser's origin is another site.
    expect((await signIn({})).status).toBe(403);
    const head = await fetch(`${streaming.url}/signin`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");
  });
});
