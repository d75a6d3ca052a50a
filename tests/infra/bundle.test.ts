import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { gunzipSync } from "node:zlib";
import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import { App } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { storeDevKey } from "../../functions/dev-environment.ts";
import { startDynalite } from "../../functions/store/dynalite.ts";
import { createClients, ensureTable } from "../../functions/store/dynamo.ts";
import { ORIGIN_VERIFY_HEADER } from "../../functions/store/function-env.ts";
import { keys } from "../../functions/store/keys.ts";
import { fileMacKey } from "../../functions/store/mac-key.ts";
import { createStore } from "../../functions/store/store.ts";
import { newToken } from "../../functions/store/tokens.ts";
import { SCRIPTS } from "../../functions/web/scripts.generated.ts";
import { hashDirectory } from "../../infra/forms-hash.ts";
import { EdcStack, REPO_ROOT, SOURCE_MAPS_CONTEXT } from "../../infra/stack.ts";
import { bundleBytes, bundleFiles, bundleSources, initLoadedFiles } from "../helpers/bundle-chunks.ts";
import { loadedByFirstEvent } from "../helpers/cold-start-child.ts";
import { type LambdaRuntime, startLambdaRuntime } from "../helpers/lambda-runtime.ts";

/**
 * The ceiling on what the API function loads at a cold start (index.mjs and
 * the chunks it imports statically; infra/split-bundling.ts), minified:
 * 2,674,610 bytes at b3db3c7; 1,741,441 in one file at d56b89b; 1,089,618
 * with the pages, exports, REDCap, S3, KMS, Secrets Manager and the publish
 * path behind `import()`; ~788,500 once validator code is stored at publish
 * (no ajv, ajv-formats, fast-uri or RE2 at init); 436,020 with each /api/v1
 * route family behind `import()` (no zod, zod-to-openapi or route schemas at
 * init; api/route-families.ts) and the site's error page too (no hono/jsx).
 * The target was 800 KB.
 */
const API_INIT_CEILING = 450_000;

/**
 * The ceiling on what a cold start and its first save load (the chunks the
 * save's `import()`s reach as well; V8's coverage lists them,
 * tests/helpers/cold-start-child.ts): 608,254 bytes with the save's body
 * checked without zod (api/save-body.ts), where the save's route family had
 * brought zod, @hono/zod-openapi and zod-to-openapi (902,542 at 4182334 in
 * the cold-start bench, 668,653 there now). The audit MAC key is a file here:
 * in AWS (and in the bench) a first save also loads the KMS client's chunk.
 */
const API_FIRST_SAVE_CEILING = 625_000;

/**
 * The one synth that bundles for real (local esbuild, no Docker), then runs
 * the two bundles the way Lambda would — a fresh `node` process importing
 * `index.mjs` and calling `handler` — against an in-process dynalite.
 */

const run = promisify(execFile);
const CDK_CONTEXT = (
  JSON.parse(readFileSync(path.join(REPO_ROOT, "cdk.json"), "utf8")) as {
    context: Record<string, unknown>;
  }
).context;
const STUDY_ID = (
  JSON.parse(readFileSync(path.join(REPO_ROOT, "forms", "study.json"), "utf8")) as { id: string }
).id;

let outdir: string;
let template: Template;
let dynalite: Awaited<ReturnType<typeof startDynalite>>;
const TABLE_NAME = "edc-bundle-test";

beforeAll(async () => {
  outdir = mkdtempSync(path.join(tmpdir(), "edc-cdk-bundle-"));
  // With source maps (off by default): the map's source list is how these tests see what went into a
  // bundle; a map changes neither what is bundled nor index.mjs beyond its last comment line.
  const app = new App({ outdir, context: { ...CDK_CONTEXT, [SOURCE_MAPS_CONTEXT]: true } });
  new EdcStack(app, "EdcBundle", { stage: "test" });
  const assembly = app.synth();
  template = Template.fromJSON(assembly.getStackByName("EdcBundle").template as Record<string, unknown>);
  dynalite = await startDynalite();
  await ensureTable(createClients({ endpoint: dynalite.endpoint }).client, TABLE_NAME);
}, 240_000);

afterAll(async () => {
  await dynalite?.close();
  if (outdir) rmSync(outdir, { recursive: true, force: true });
});

/** The directory of the bundled asset of the function whose Description starts with `prefix`. */
function assetDir(prefix: string): string {
  const fns = template.findResources("AWS::Lambda::Function", {
    Properties: { Description: Match.stringLikeRegexp(`^${prefix}`) },
  });
  const [fn] = Object.values(fns) as { Properties: { Code: { S3Key: string } } }[];
  if (!fn) throw new Error(`no function ${prefix}`);
  const dir = path.join(outdir, `asset.${fn.Properties.Code.S3Key.replace(/\.zip$/, "")}`);
  expect(existsSync(dir), dir).toBe(true);
  return dir;
}

const RESULT_MARK = "@@handler-result@@";

/** The API bundle streams its responses: it runs in the simulated Lambda runtime behind a REST gateway. */
let api: Promise<LambdaRuntime> | undefined;
const apiRuntime = () => {
  api ??= startLambdaRuntime({ bundleDir: assetDir("EDC API"), mode: "streaming", env: functionEnv() });
  return api;
};
afterAll(async () => (await api)?.close());

const auditMacKeyFile = path.join(mkdtempSync(path.join(tmpdir(), "bundle-mac-")), "audit-mac.key");
writeFileSync(auditMacKeyFile, `${"5a".repeat(32)}\n`, { mode: 0o600 });

/** Imports a bundle in a fresh Node process (ESM, like the Lambda runtime) and calls its handler once. */
async function invoke(bundleDir: string, event: unknown): Promise<unknown> {
  const script =
    "const [file, event] = process.argv.slice(1);" +
    "const { handler } = await import(file);" +
    "const result = await handler(JSON.parse(event), {});" +
    `process.stdout.write("\\n${RESULT_MARK}" + JSON.stringify(result));`;
  const { stdout } = await run(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      script,
      pathToFileURL(path.join(bundleDir, "index.mjs")).href,
      JSON.stringify(event),
    ],
    { env: functionEnv(), cwd: tmpdir(), timeout: 30_000 },
  );
  // The handler's own log lines come first; the result is the marked last line.
  return JSON.parse(stdout.slice(stdout.lastIndexOf(RESULT_MARK) + RESULT_MARK.length));
}

function functionEnv(): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    NODE_OPTIONS: "--enable-source-maps",
    TABLE_NAME,
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: "local",
    AWS_SECRET_ACCESS_KEY: "local",
    AWS_ENDPOINT_URL_DYNAMODB: dynalite.endpoint,
    SESSION_SECRET: "bundle-test-secret",
    // In AWS the stack names a KMS key (AUDIT_MAC_KEY_ID); here a key file stands in for it.
    AUDIT_MAC_KEY_FILE: auditMacKeyFile,
  };
}

/** A REST API (v1) proxy event as the stage passes it on: `path` without the stage, header names as sent. */
function restEvent(path: string, headers: Record<string, string> = {}, method = "GET", body: unknown = null) {
  return {
    resource: "/assets/{proxy+}",
    path,
    httpMethod: method,
    headers: { Host: "abc123.execute-api.eu-west-1.amazonaws.com", ...headers },
    multiValueHeaders: {},
    queryStringParameters: null,
    requestContext: { stage: "edc", path: `/edc${path}`, requestId: "req-1" },
    body: body === null ? null : JSON.stringify(body),
    isBase64Encoded: false,
  };
}

describe("real bundling (esbuild, no Docker)", () => {
  it("bundles the API function as minified ESM chunks with source maps; a cold start loads under its ceiling", () => {
    const dir = assetDir("EDC API");
    const { initLoaded, total, files } = bundleBytes(dir);
    console.info(`API bundle: ${initLoaded} bytes loaded at init, ${total} bytes in ${files} files`);
    expect(initLoaded).toBeGreaterThan(100 * 1024);
    expect(initLoaded).toBeLessThanOrEqual(API_INIT_CEILING);
    // Split for real: most of what the API can do is left for the request that needs it.
    expect(total - initLoaded).toBeGreaterThan(500 * 1024);
    for (const file of bundleFiles(dir)) {
      expect(existsSync(`${file}.map`), file).toBe(true);
      // Each chunk has its own module-scoped `require` for the CommonJS dependencies in it.
      expect(readFileSync(file, "utf8").slice(0, 200), file).toContain("createRequire");
    }
  });

  it("loads none of the pages, the error page, API routes, zod, exports, REDCap, S3, KMS, Secrets Manager, ajv or RE2 code at a cold start", () => {
    const dir = assetDir("EDC API");
    const atInit = initLoadedFiles(dir).flatMap((file) => {
      const { sources } = JSON.parse(readFileSync(`${file}.map`, "utf8")) as { sources: string[] };
      return sources;
    });
    const lazy = atInit.filter((s) =>
      /functions\/web\/(routes\/|pages\/|error-page|layout)|node_modules\/hono\/dist\/jsx\/|functions\/api\/(routes\/|schemas\.ts|router\.ts)|node_modules\/(zod|@asteasolutions\/zod-to-openapi|@hono\/zod-openapi)\/|infra\/zod-english|functions\/http\/oidc\.ts|functions\/exports\/(csv|records|changes|odm-export)\.ts|functions\/engine\/redcap\/to-redcap|functions\/engine\/impact\.ts|node_modules\/(@aws-sdk\/(client-s3|client-kms|client-secrets-manager|s3-request-presigner)|csv-parse|csv-stringify|openid-client|oauth4webapi|ajv-formats|fast-uri|re2js)\/|node_modules\/ajv\/dist\/(?!runtime\/)/.test(
        s,
      ),
    );
    expect(lazy).toEqual([]);
    // They are in the bundle, for the request that needs them.
    const all = bundleSources(dir);
    for (const part of [
      "functions/web/routes.tsx",
      "functions/api/routes/form-instances.ts",
      "zod/",
      "functions/exports/csv.ts",
      "@aws-sdk/client-s3/",
      "openid-client/",
      "re2js/",
    ])
      expect(
        all.some((s) => s.includes(part)),
        part,
      ).toBe(true);
  });

  it("leaves the dev-only parts out of both Lambda bundles: no local OpenID provider, dynalite, local S3 server, test helpers", () => {
    for (const asset of ["EDC API", "EDC forms publish", "EDC bulk export jobs"]) {
      // Every chunk's map: a dev-only module must be in none of them.
      const sources = bundleSources(assetDir(asset));
      expect(sources.length).toBeGreaterThan(50);
      const devOnly = sources.filter((s) =>
        /node_modules\/(oidc-provider|dynalite|leveldown|memdown|playwright-core|vitest|s3rver)\/|functions\/dev\/|dev-environment|functions\/local\.ts|\btests\//.test(
          s,
        ),
      );
      expect(devOnly, asset).toEqual([]);
    }
    // zod speaks English only (infra/zod-english.js): no other locale is bundled.
    for (const asset of ["EDC API", "EDC forms publish", "EDC record import jobs"]) {
      const sources = bundleSources(assetDir(asset));
      const locales = sources.filter((s) => /zod\/v4\/locales\//.test(s));
      expect(
        locales.every((s) => s.endsWith("/en.js")),
        asset,
      ).toBe(true);
    }
    // The API bundle does carry the relying party: what a deployed sign-in needs.
    const api = bundleSources(assetDir("EDC API"));
    expect(api.some((s) => s.includes("functions/http/oidc.ts"))).toBe(true);
    // And the S3 file store (wired when FILES_BUCKET is set), without the local S3 server the tests use.
    expect(api.some((s) => s.includes("functions/store/s3-file-objects.ts"))).toBe(true);
  });

  it("leaves the browser scripts out of the API bundle: their own function serves them, gzipped", async () => {
    const api = bundleFiles(assetDir("EDC API"))
      .map((file) => readFileSync(file, "utf8"))
      .join("\n");
    expect(bundleSources(assetDir("EDC API")).filter((s) => s.includes("scripts.generated"))).toEqual([]);
    for (const script of Object.values(SCRIPTS)) {
      // The page names each script (its content-hashed path); the body is not in the bundle.
      expect(api).toContain(script.path);
      // A sample from inside the body (a short script's whole body): an empty slice would be "in" anything.
      const sample = script.body.length > 1200 ? script.body.slice(1000, 1200) : script.body;
      expect(api.includes(sample), script.path).toBe(false);
    }
    const dir = assetDir("EDC browser scripts");
    const size = statSync(path.join(dir, "index.mjs")).size;
    console.info(`assets bundle index.mjs: ${(size / 1024).toFixed(0)} KiB`);
    const form = (await invoke(dir, restEvent(SCRIPTS.form.path))) as {
      statusCode: number;
      headers: Record<string, string>;
      body: string;
    };
    expect(form.statusCode).toBe(200);
    expect(form.body).toBe(SCRIPTS.form.body);
    expect(form.headers["Cache-Control"]).toBe("public, max-age=31536000, immutable");
    const gzipped = (await invoke(
      dir,
      // CloudFront's caching policy normalizes Accept-Encoding; its name arrives in any case.
      restEvent(SCRIPTS.form.path, { "Accept-Encoding": "br,gzip" }),
    )) as { headers: Record<string, string>; body: string; isBase64Encoded: boolean };
    expect(gzipped.headers["Content-Encoding"]).toBe("gzip");
    expect(gunzipSync(Buffer.from(gzipped.body, "base64")).toString()).toBe(SCRIPTS.form.body);
    expect(((await invoke(dir, restEvent("/assets/nope.js"))) as { statusCode: number }).statusCode).toBe(
      404,
    );
  });

  it("ships an exact copy of forms/ next to the publish handler", () => {
    const dir = assetDir("EDC forms publish");
    expect(hashDirectory(path.join(dir, "forms"))).toBe(hashDirectory(path.join(REPO_ROOT, "forms")));
  });

  it("the bundled publish handler publishes forms/ once, then reports it unchanged", async () => {
    const dir = assetDir("EDC forms publish");
    const created = await invoke(dir, { RequestType: "Create", ResourceProperties: { FormsHash: "h" } });
    expect(created).toMatchObject({
      PhysicalResourceId: `forms-${STUDY_ID}`,
      Data: { Version: 1, Changed: true },
    });
    const updated = await invoke(dir, {
      RequestType: "Update",
      PhysicalResourceId: `forms-${STUDY_ID}`,
      ResourceProperties: { FormsHash: "h" },
    });
    expect(updated).toMatchObject({
      PhysicalResourceId: `forms-${STUDY_ID}`,
      Data: { Version: 1, Changed: false },
    });
    // The bundled publish generated each instrument's validator code (the generator imported lazily) and stored it.
    const { Items = [] } = await createClients({ endpoint: dynalite.endpoint }).doc.send(
      new QueryCommand({
        TableName: TABLE_NAME,
        KeyConditionExpression: "PK = :pk AND begins_with(SK, :prefix)",
        ExpressionAttributeValues: { ":pk": keys.study(STUDY_ID), ":prefix": keys.validators(1) },
      }),
    );
    const instruments = readdirSync(path.join(REPO_ROOT, "forms", "instruments")).filter((f) =>
      f.endsWith(".json"),
    );
    expect(Items.map((i) => `${i.instrument}.json`).sort()).toEqual(instruments.sort());
  });

  // After the publish above: the study is in the table.
  it("a cold start and its first save load under their ceiling, without zod", async () => {
    const dir = assetDir("EDC API");
    const store = createStore({
      tableName: TABLE_NAME,
      endpoint: dynalite.endpoint,
      macKey: fileMacKey(auditMacKeyFile),
    });
    const { token } = await storeDevKey(store, newToken(), {
      user: "bundle-save",
      role: "coordinator",
      study: STUDY_ID,
      sites: ["site-01"],
    });
    const enrolled = await store.enrolSubject({
      study: STUDY_ID,
      site: "site-01",
      siteCode: "01",
      arm: "rrms",
      actor: "bundle-test",
    });
    if (enrolled.kind !== "enrolled") throw new Error("not enrolled");
    const save = restEvent(
      `/api/v1/studies/${STUDY_ID}/subjects/${enrolled.subject.id}/events/screening/forms/edss`,
      { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      "PUT",
      { data: { edss_total: 3.5 }, status: "incomplete", rev: 0 },
    );
    const { result, files, bytes } = await loadedByFirstEvent(dir, functionEnv(), save);
    expect(result.status, result.body).toBe(200);
    console.info(`API cold start + first save: ${bytes} bytes loaded in ${files.length} files`);
    expect(bytes).toBeLessThanOrEqual(API_FIRST_SAVE_CEILING);
    const sources = files.flatMap(
      (file) => (JSON.parse(readFileSync(`${file}.map`, "utf8")) as { sources: string[] }).sources,
    );
    expect(sources.some((s) => s.includes("functions/api/routes/form-instance-saves.ts"))).toBe(true);
    expect(
      sources.filter((s) =>
        /node_modules\/(zod|@asteasolutions\/zod-to-openapi|@hono\/zod-openapi)\/|functions\/api\/(schemas|router)\.ts/.test(
          s,
        ),
      ),
    ).toEqual([]);
  });

  it("the bundled API handler serves the OpenAPI document and rejects an unknown token via the table", async () => {
    const api = await apiRuntime();
    const doc = await fetch(`${api.url}/api/v1/openapi.json`);
    expect(doc.status).toBe(200);
    expect(await doc.json()).toMatchObject({ openapi: "3.1.0" });
    const denied = await fetch(`${api.url}/api/v1/studies/${STUDY_ID}`, {
      headers: { authorization: "Bearer not-a-real-token" },
    });
    expect(denied.status).toBe(401);
    expect(denied.headers.get("content-type")).toContain("application/problem+json");
  });

  it("the bundled API handler loads its chunks on demand: a page, the REDCap endpoint and a route family answer from a fresh process", async () => {
    const api = await apiRuntime();
    const signIn = await fetch(`${api.url}/signin`);
    expect(signIn.status).toBe(200);
    expect(signIn.headers.get("content-type")).toContain("text/html");
    expect(signIn.headers.get("content-security-policy")).toContain("script-src 'self'");
    const redcap = await fetch(`${api.url}/api/`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "token=not-a-real-token&content=project&format=json",
    });
    expect(redcap.status).toBe(403);
    expect(await redcap.text()).toContain("You do not have permissions to use the API");
    // A route family (api/route-families.ts), its schemas extended for OpenAPI before they are built.
    const upload = await fetch(`${api.url}/api/v1/uploads/not-an-upload`, {
      method: "PUT",
      headers: { "content-type": "application/octet-stream" },
    });
    expect(upload.status).toBe(404);
    expect(upload.headers.get("content-type")).toContain("application/problem+json");
  });

  it("the bundled API handler refuses requests without CloudFront's origin header, reading its secret from Secrets Manager", async () => {
    const ORIGIN_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:origin";
    const origin = "o".repeat(48);
    const asked: string[] = [];
    const secrets: Server = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk) => {
        body += chunk;
      });
      req.on("end", () => {
        asked.push(`${req.headers["x-amz-target"]} ${(JSON.parse(body) as { SecretId: string }).SecretId}`);
        res.setHeader("content-type", "application/x-amz-json-1.1");
        res.end(JSON.stringify({ SecretString: JSON.stringify({ current: origin }) }));
      });
    });
    await new Promise<void>((resolve) => secrets.listen(0, "127.0.0.1", resolve));
    const guarded = await startLambdaRuntime({
      bundleDir: assetDir("EDC API"),
      mode: "streaming",
      env: {
        ...functionEnv(),
        ORIGIN_VERIFY_SECRET_ARN: ORIGIN_ARN,
        AWS_ENDPOINT_URL_SECRETS_MANAGER: `http://127.0.0.1:${(secrets.address() as AddressInfo).port}`,
      },
    });
    try {
      // The execute-api URL reached directly: whatever host it claims, a 403 problem+json.
      for (const headers of [{}, { [ORIGIN_VERIFY_HEADER]: "o".repeat(47) }] as Record<string, string>[]) {
        const refused = await fetch(`${guarded.url}/signin`, {
          headers: { ...headers, "x-forwarded-host": "evil.example" },
        });
        expect(refused.status).toBe(403);
        expect(refused.headers.get("content-type")).toBe("application/problem+json");
        expect(await refused.json()).toMatchObject({ type: "urn:edc:problem:not-through-public-url" });
      }
      // What CloudFront forwards: on to the routes (a path none answers: the app's 404).
      const passed = await fetch(`${guarded.url}/api/unrouted`, {
        headers: { [ORIGIN_VERIFY_HEADER]: origin },
      });
      expect(passed.status).toBe(404);
      expect(asked).toEqual([`secretsmanager.GetSecretValue ${ORIGIN_ARN}`]);
    } finally {
      await guarded.close();
      await new Promise((resolve) => secrets.close(resolve));
    }
  });
});
