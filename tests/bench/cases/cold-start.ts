import { createHmac } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { App, Stack } from "aws-cdk-lib";
import { Function as LambdaFunction } from "aws-cdk-lib/aws-lambda";
import { NodejsFunction } from "aws-cdk-lib/aws-lambda-nodejs";
import { startDevEnvironment } from "../../../functions/dev-environment.ts";
import { memoryMacKey } from "../../../functions/store/mac-key.ts";
import { bundledFunctionProps, REPO_ROOT, splitFunctionProps } from "../../../infra/stack.ts";
import { bundleBytes } from "../../helpers/bundle-chunks.ts";
import { loadedByFirstEvent, coldStart as runColdStart } from "../../helpers/cold-start-child.ts";
import { checkoutAt } from "../checkout-at.ts";
import { formatPairs, measurePair, median, type Pair, type Side } from "../pairs.ts";

const ROUNDS = Number(process.env.COLD_START_ROUNDS ?? 9);
const BEFORE = process.env.COLD_START_BEFORE;
const LEGACY_BEFORE = process.env.COLD_START_BEFORE_LEGACY === "1";
const SPLIT_BEFORE = process.env.COLD_START_BEFORE_SPLIT === "1";
const SESSION_SECRET = "cold-start-session-secret-cold-start-00";
const AUDIT_KEY = Buffer.from("5a".repeat(32), "hex");

interface Bundle {
  name: string;
  dir: string;
  /** The function's NODE_OPTIONS as the stack sets it ("" when none). */
  nodeOptions: string;
}

const CDK_CONTEXT = (
  JSON.parse(readFileSync(path.join(REPO_ROOT, "cdk.json"), "utf8")) as { context: Record<string, unknown> }
).context;

/**
 * Bundles each entry exactly as infra/stack.ts does: the API now split
 * (`apiFunctionProps`), the rest through NodejsFunction's local esbuild.
 */
function bundle(
  entries: { name: string; entry: string; sourceMaps: boolean; allZodLocales?: boolean; split?: boolean }[],
  outdir: string,
): Bundle[] {
  const app = new App({ outdir, context: CDK_CONTEXT });
  const stack = new Stack(app, "ColdStart");
  const fns = entries.map(({ name, entry, sourceMaps, allZodLocales, split }) => ({
    name,
    fn: split
      ? new LambdaFunction(stack, name.replace(/\W/g, ""), splitFunctionProps(entry, { sourceMaps }))
      : new NodejsFunction(
          stack,
          name.replace(/\W/g, ""),
          bundledFunctionProps(entry, { sourceMaps, ...(allZodLocales ? { allZodLocales } : {}) }),
        ),
    nodeOptions: sourceMaps ? "--enable-source-maps" : "",
  }));
  const template = app.synth().getStackByName("ColdStart").template as {
    Resources: Record<string, { Properties?: { Code?: { S3Key?: string } } }>;
  };
  return fns.map(({ name, fn, nodeOptions }) => {
    const id = stack.getLogicalId(fn.node.defaultChild as never);
    const key = template.Resources[id]?.Properties?.Code?.S3Key;
    if (!key) throw new Error(`no asset for ${name}`);
    return { name, dir: path.join(outdir, `asset.${key.replace(/\.zip$/, "")}`), nodeOptions };
  });
}

/** Secrets Manager and KMS on one local port: what a deployed API reaches at init and on a save. */
function fakeAws(): Promise<Server> {
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => {
      body += chunk;
    });
    req.on("end", () => {
      const target = String(req.headers["x-amz-target"] ?? "");
      const input = JSON.parse(body || "{}") as { KeyId?: string; Message?: string };
      res.setHeader("content-type", "application/x-amz-json-1.1");
      if (target.endsWith("GetSecretValue")) {
        res.end(JSON.stringify({ SecretString: SESSION_SECRET }));
      } else if (target.endsWith("GenerateMac")) {
        const mac = createHmac("sha256", AUDIT_KEY)
          .update(Buffer.from(input.Message ?? "", "base64"))
          .digest("base64");
        res.end(JSON.stringify({ Mac: mac, KeyId: input.KeyId, MacAlgorithm: "HMAC_SHA_256" }));
      } else {
        res.statusCode = 400;
        res.end(JSON.stringify({ __type: "UnknownOperationException" }));
      }
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

function httpEvent(method: string, rawPath: string, headers: Record<string, string>, body: unknown) {
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath,
    rawQueryString: "",
    headers: { host: "api.example.test", "content-type": "application/json", ...headers },
    requestContext: {
      accountId: "123456789012",
      apiId: "api",
      domainName: "api.example.test",
      domainPrefix: "api",
      http: { method, path: rawPath, protocol: "HTTP/1.1", sourceIp: "127.0.0.1", userAgent: "bench" },
      requestId: "req-1",
      routeKey: "$default",
      stage: "$default",
      time: "01/Jan/2025:00:00:00 +0000",
      timeEpoch: 1735689600000,
    },
    body: JSON.stringify(body),
    isBase64Encoded: false,
  };
}

interface ChildTiming {
  initMs: number;
  firstMs: number;
}

/** The environment, seeded: the study published, one site token, subjects enrolled to save into. */
interface Fixture {
  env: Awaited<ReturnType<typeof startDevEnvironment>>;
  aws: Server;
  token: string;
  subjects: string[];
  close(): Promise<void>;
}

async function startFixture(subjectCount: number): Promise<Fixture> {
  const env = await startDevEnvironment({ macKey: memoryMacKey(AUDIT_KEY) });
  const aws = await fakeAws();
  const token = env.tokens["site-01"]?.token;
  if (!token) throw new Error("no site-01 token");
  const subjects: string[] = [];
  for (let i = 0; i < subjectCount; i++) {
    const res = await env.app.request(`/api/v1/studies/${env.studyId}/subjects`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ site: "site-01", arm: "rrms" }),
    });
    subjects.push(((await res.json()) as { id: string }).id);
  }
  return {
    env,
    aws,
    token,
    subjects,
    close: async () => {
      await new Promise((resolve) => aws.close(resolve));
      await env.close();
    },
  };
}

function childEnv(fixture: Fixture, bundle: Bundle): NodeJS.ProcessEnv {
  const aws = `http://127.0.0.1:${(fixture.aws.address() as AddressInfo).port}`;
  return {
    PATH: process.env.PATH,
    NODE_OPTIONS: bundle.nodeOptions,
    TABLE_NAME: fixture.env.tableName,
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: "local",
    AWS_SECRET_ACCESS_KEY: "local",
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    AWS_ENDPOINT_URL_DYNAMODB: fixture.env.endpoint,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: aws,
    AWS_ENDPOINT_URL_KMS: aws,
    SESSION_SECRET_ARN: "arn:aws:secretsmanager:us-east-1:123456789012:secret:session",
    AUDIT_MAC_KEY_ID: "arn:aws:kms:us-east-1:123456789012:key/audit",
    FILES_BUCKET: "edc-files",
  };
}

async function coldStart(bundle: Bundle, env: NodeJS.ProcessEnv, event: unknown): Promise<ChildTiming> {
  const out = await runColdStart(bundle.dir, env, event);
  if (out.status !== 200) throw new Error(`${bundle.name}: ${out.status} ${out.body}`);
  return out;
}

/** A first save: PUT a form with an API token, for an enrolled subject. */
function saveEvent(f: Fixture, subject: string) {
  return httpEvent(
    "PUT",
    `/api/v1/studies/${f.env.studyId}/subjects/${subject}/events/screening/forms/edss`,
    { authorization: `Bearer ${f.token}` },
    {
      data: { assessment_date: "2024-01-10", assessor_blinded: true, fs_visual: 1, edss_total: 3.5 },
      status: "incomplete",
      rev: 0,
    },
  );
}

/** The bare function's one request: a PutItem. */
const bareEvent = (subject: string) =>
  httpEvent("PUT", `/save/${subject}`, {}, { data: { edss_total: 3.5 } });

/** One side: a fresh process per run; what the child reports is kept for the detail table. */
function side(bundle: Bundle, fixture: () => Fixture, kind: "api" | "bare", timings: ChildTiming[]): Side {
  let next = 0;
  return {
    name: bundle.name,
    async run() {
      const f = fixture();
      const subject = kind === "api" ? f.subjects.shift() : `s${next++}-${Date.now()}`;
      if (!subject) throw new Error("out of enrolled subjects");
      const event = kind === "api" ? saveEvent(f, subject) : bareEvent(subject);
      timings.push(await coldStart(bundle, childEnv(f, bundle), event));
      return 1;
    },
  };
}

interface Built {
  api: Bundle;
  bare: Bundle;
  bareOneFile: Bundle;
  before?: Bundle;
  cleanup(): void;
}

let built: Promise<Built> | undefined;
function buildAll(): Promise<Built> {
  built ??= (async () => {
    const outdir = mkdtempSync(path.join(tmpdir(), "edc-cold-start-"));
    const beforeDir = BEFORE ? checkoutAt(BEFORE) : undefined;
    const bundles = bundle(
      [
        { name: "API now", entry: "functions/handlers/api.ts", sourceMaps: false, split: true },
        {
          name: "bare Hono",
          entry: "tests/bench/cold-start/bare-hono-handler.ts",
          sourceMaps: false,
          split: true,
        },
        {
          name: "bare Hono, one file",
          entry: "tests/bench/cold-start/bare-hono-handler.ts",
          sourceMaps: false,
        },
        ...(beforeDir
          ? [
              {
                name: `API at ${BEFORE}`,
                entry: path.join(beforeDir, "functions/handlers/api.ts"),
                // Before the split: the API as the stack shipped it at d56b89b (one file, no maps, English zod);
                // COLD_START_BEFORE_LEGACY=1 for b3db3c7's settings (maps on, every zod locale).
                sourceMaps: LEGACY_BEFORE,
                allZodLocales: LEGACY_BEFORE,
                split: SPLIT_BEFORE,
              },
            ]
          : []),
      ],
      outdir,
    );
    const [api, bare, bareOneFile, before] = bundles as [Bundle, Bundle, Bundle, Bundle | undefined];
    return {
      api,
      bare,
      bareOneFile,
      ...(before ? { before } : {}),
      cleanup: () => {
        rmSync(outdir, { recursive: true, force: true });
        if (beforeDir) rmSync(beforeDir, { recursive: true, force: true });
      },
    };
  })();
  return built;
}

/**
 * Bundle sizes, minified: what a cold start loads (index.mjs and the chunks it
 * imports statically: the ≤ 800 KB target) and the whole asset (every chunk).
 */
export async function sizes(): Promise<Record<string, number>> {
  const { api, bare, bareOneFile, before } = await buildAll();
  const firstRequest = await loadedByFirstRequest();
  const whole = (b: Bundle) => statSync(path.join(b.dir, "index.mjs")).size;
  const split = bundleBytes(api.dir);
  return {
    "API bytes loaded at init": split.initLoaded,
    "API asset bytes (every chunk)": split.total,
    "API asset files": split.files,
    "API bytes loaded by init + first save": firstRequest.api,
    "bare Hono bytes loaded by init + first request": firstRequest.bare,
    ...(firstRequest.before !== undefined
      ? { [`API bytes loaded by init + first save at ${BEFORE}`]: firstRequest.before }
      : {}),
    "bare Hono bytes loaded at init": bundleBytes(bare.dir).initLoaded,
    "bare Hono one-file bundle bytes": whole(bareOneFile),
    ...(before && SPLIT_BEFORE
      ? { [`API bytes loaded at init at ${BEFORE}`]: bundleBytes(before.dir).initLoaded }
      : {}),
    ...(before && !SPLIT_BEFORE
      ? { [`API bundle bytes at ${BEFORE} (one file, all loaded at init)`]: whole(before) }
      : {}),
  };
}

let firstRequestBytes: Promise<{ api: number; bare: number; before?: number }> | undefined;
/** What a cold start and its first request load, each side once, untimed (tests/helpers/cold-start-child.ts). */
function loadedByFirstRequest(): Promise<{ api: number; bare: number; before?: number }> {
  firstRequestBytes ??= (async () => {
    const { api, bare, before } = await buildAll();
    const f = await startFixture(2);
    try {
      const subject = f.subjects[0] as string;
      const saved = await loadedByFirstEvent(api.dir, childEnv(f, api), saveEvent(f, subject));
      if (saved.result.status !== 200)
        throw new Error(`first save: ${saved.result.status} ${saved.result.body}`);
      const bareRun = await loadedByFirstEvent(bare.dir, childEnv(f, bare), bareEvent(`bytes-${Date.now()}`));
      const beforeRun =
        before &&
        (await loadedByFirstEvent(before.dir, childEnv(f, before), saveEvent(f, f.subjects[1] as string)));
      return { api: saved.bytes, bare: bareRun.bytes, ...(beforeRun ? { before: beforeRun.bytes } : {}) };
    } finally {
      await f.close();
    }
  })();
  return firstRequestBytes;
}

/** What each child reported, per side and pair, for the detail table. */
export const childTimings = new Map<string, ChildTiming[]>();

function pairOf(name: string, target: string | undefined, baseline: Bundle, subject: Bundle): Pair {
  let fixture: Fixture | undefined;
  const current = () => {
    if (!fixture) throw new Error("fixture not started");
    return fixture;
  };
  const kindOf = (b: Bundle) => (b.name.startsWith("bare Hono") ? "bare" : "api");
  const baseTimings: ChildTiming[] = [];
  const subjTimings: ChildTiming[] = [];
  childTimings.set(`${name} / ${baseline.name}`, baseTimings);
  childTimings.set(`${name} / ${subject.name}`, subjTimings);
  return {
    name,
    ...(target ? { target } : {}),
    rounds: ROUNDS,
    setup: async () => {
      fixture = await startFixture(2 * (ROUNDS + 1) + 2);
    },
    teardown: async () => {
      await fixture?.close();
    },
    baseline: side(baseline, current, kindOf(baseline), baseTimings),
    subject: side(subject, current, kindOf(subject), subjTimings),
  };
}

export default async function pairs(): Promise<Pair[]> {
  const { api, bare, bareOneFile, before } = await buildAll();
  return [
    pairOf("cold start, whole process: init + first save", "≤ 2×", bare, api),
    pairOf("cold start, whole process: vs bare Hono in one file", undefined, bareOneFile, api),
    ...(before ? [pairOf(`cold start, whole process: API now vs ${BEFORE}`, undefined, before, api)] : []),
  ];
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  const results = [];
  for (const pair of await pairs()) results.push(await measurePair(pair));
  console.log(formatPairs(results));
  console.log("\nin-process medians (warm-up dropped):   init ms   first request ms   init + first ms");
  for (const [name, timings] of childTimings) {
    const kept = timings.slice(1);
    const init = median(kept.map((t) => t.initMs));
    const first = median(kept.map((t) => t.firstMs));
    const both = median(kept.map((t) => t.initMs + t.firstMs));
    console.log(
      `${name.padEnd(60)} ${init.toFixed(1).padStart(8)} ${first.toFixed(1).padStart(12)} ${both.toFixed(1).padStart(14)}`,
    );
  }
  console.log("\nsizes:", await sizes());
  const out = path.join(REPO_ROOT, "tests/artifacts/cold-start.json");
  writeFileSync(
    out,
    JSON.stringify(
      { results, childTimings: Object.fromEntries(childTimings), sizes: await sizes() },
      null,
      2,
    ),
  );
  (await buildAll()).cleanup();
}
