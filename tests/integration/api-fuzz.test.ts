import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONTENTS } from "../../functions/api/redcap-params.ts";
import { storeDevKey } from "../../functions/dev-environment.ts";
import { appRoutes } from "../helpers/app-routes.ts";
import { BASE, failedSignIns, type Product, STUDY, startProduct } from "./harness.ts";
import { Browser } from "./web-client.ts";

/**
 * Property-based fuzz over every route the app serves: the OpenAPI document
 * gives /api/v1 (parameters and bodies), the app's route table gives the web
 * pages and REDCap's `POST /api/`. Requests are built from valid values and
 * then mutated. Whatever comes in, the app answers below 500, answers at all,
 * and a refused request writes nothing. Bounded by runs and by time; a failure
 * prints fast-check's seed and path, which replay it exactly.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Schema = Record<string, any>;

interface Request {
  method: string;
  path: string;
  query: [string, string][];
  headers: Record<string, string>;
  body?: string;
}

let product: Product;
let doc: Schema;
let webRoutes: { method: string; path: string }[];
let valid: Record<string, string[]>;
let cookies: string[];
let csrfs: string[];

const TIME_LIMIT_MS = Number(process.env.FUZZ_MS ?? 30_000);
const NASTY = [
  "",
  " ",
  "..",
  "../..",
  "%",
  "%00",
  "%2F",
  "__proto__",
  "constructor",
  "toString",
  "\u0000",
  "\r\nX-Injected: 1",
  "/\\evil.example",
  "😀",
  "'; DROP TABLE",
  "<script>alert(1)</script>",
  "9".repeat(400),
  "a".repeat(5000),
  "-1",
  "0",
  "1e309",
  "NaN",
  "null",
  "true",
  "[]",
  "{}",
];

beforeAll(async () => {
  product = await startProduct();
  const subject = await product.enrol();
  await product.save(subject, "screening", "edss", { data: { edss_total: 2 } });
  doc = await (await product.env.app.request("/api/v1/openapi.json")).json();
  // Service keys are the admins'; the fuzzer calls as one too.
  product.env.tokens.admin = await storeDevKey(product.env.store, "fuzz-admin-key", {
    user: "fuzz-admin",
    role: "admin",
    study: STUDY,
    sites: ["*"],
  });
  const tokenList = await product.call("GET", `${BASE}/tokens`, { as: "admin" });
  valid = {
    study: [STUDY],
    subject: [subject, "01-999", "02-001"],
    event: ["screening", "logs", "baseline", "unscheduled"],
    form: ["edss", "demographics", "adverse_event", "vital_signs"],
    instance: ["1", "2"],
    version: ["1", "current"],
    kind: ["arms", "events", "form-event-mapping", "instruments", "export-field-names"],
    id: (tokenList.body?.tokens ?? tokenList.body ?? []).map((t: { id: string }) => t.id).slice(0, 2),
  };
  const seen = new Set<string>();
  webRoutes = [];
  for (const r of appRoutes(product.env.app)) {
    if (r.method === "ALL" || r.path.includes("*") || r.path.startsWith("/api/v1/")) continue;
    const key = `${r.method} ${r.path}`;
    if (!seen.has(key)) webRoutes.push({ method: r.method, path: r.path });
    seen.add(key);
  }
  cookies = [];
  csrfs = [];
  for (const who of ["site-01", "builder", "sponsor"]) {
    const browser = new Browser(product);
    await browser.signIn(who);
    const home = await browser.request("GET", `/studies/${STUDY}`);
    cookies.push(browser.cookie);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(home.html)?.[1];
    if (csrf) csrfs.push(csrf);
  }
});
afterAll(() => product?.close());

/** A value for a JSON Schema, valid most of the time; `mutate` then breaks it. */
function fromSchema(schema: Schema | undefined, depth = 0): fc.Arbitrary<Json> {
  if (!schema || depth > 4) return fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>;
  if (schema.$ref) return fromSchema(resolveRef(schema.$ref), depth + 1);
  if (schema.enum) return fc.constantFrom(...(schema.enum as Json[]));
  if (schema.const !== undefined) return fc.constant(schema.const as Json);
  const options = schema.anyOf ?? schema.oneOf;
  if (options) return fc.oneof(...options.map((s: Schema) => fromSchema(s, depth + 1))) as fc.Arbitrary<Json>;
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case "object": {
      const props = Object.entries<Schema>(schema.properties ?? {});
      const record: Record<string, fc.Arbitrary<Json>> = {};
      for (const [k, s] of props) record[k] = fromSchema(s, depth + 1);
      const required = (schema.required ?? []) as string[];
      const base = fc.record(record, { requiredKeys: required.filter((k) => k in record) });
      return schema.additionalProperties && props.length === 0
        ? (fc.dictionary(fc.string({ maxLength: 12 }), fromSchema(schema.additionalProperties, depth + 1), {
            maxKeys: 4,
          }) as fc.Arbitrary<Json>)
        : (base as fc.Arbitrary<Json>);
    }
    case "array":
      return fc.array(fromSchema(schema.items, depth + 1), { maxLength: 4 });
    case "integer":
      return fc.integer({ min: schema.minimum ?? -5, max: Math.min(schema.maximum ?? 50, 1e6) });
    case "number":
      return fc.double({ noNaN: true, min: -1e6, max: 1e6 });
    case "boolean":
      return fc.boolean();
    case "string":
      return fc.oneof(
        schema.example ? fc.constant(String(schema.example)) : fc.string({ minLength: 1, maxLength: 12 }),
        fc.string({ minLength: 1, maxLength: 20 }),
      );
    default:
      return fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>;
  }
}

function resolveRef(ref: string): Schema {
  return ref
    .replace(/^#\//, "")
    .split("/")
    .reduce<Schema>((node, key) => node?.[key], doc);
}

/** Breaks a value the way careless and hostile clients do. */
function mutate(value: fc.Arbitrary<Json>): fc.Arbitrary<Json> {
  return fc.oneof(
    { weight: 4, arbitrary: value },
    value.chain((v) =>
      fc.oneof(
        fc.constant(v === null || typeof v !== "object" || Array.isArray(v) ? v : dropOneKey(v)),
        fc
          .tuple(
            fc.constantFrom("__proto__", "constructor", "extra", "data", ""),
            fc.jsonValue({ maxDepth: 2 }),
          )
          .map(([k, x]) => (v && typeof v === "object" && !Array.isArray(v) ? { ...v, [k]: x as Json } : v)),
      ),
    ),
    fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json>,
    fc.constantFrom<Json>(null, [], "x".repeat(70_000), { data: { edss_total: 1e308 } }),
  );
}

function dropOneKey(v: { [key: string]: Json }): Json {
  const keys = Object.keys(v);
  if (keys.length === 0) return v;
  const { [keys[0] as string]: _, ...rest } = v;
  return rest;
}

const pathValue = (name: string) =>
  fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...(valid[name]?.length ? valid[name] : ["x"])) },
    { weight: 2, arbitrary: fc.constantFrom(...NASTY) },
    { weight: 1, arbitrary: fc.string({ maxLength: 30, unit: "binary" }) },
  );

const queryValue = (schema: Schema | undefined) =>
  fc.oneof(
    { weight: 4, arbitrary: fromSchema(schema).map((v) => (typeof v === "string" ? v : JSON.stringify(v))) },
    { weight: 1, arbitrary: fc.constantFrom(...NASTY) },
  );

const token = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom<string | undefined>(
      "builder",
      "monitor",
      "sponsor",
      "site-01",
      "site-02",
      "admin",
    ),
  },
  { weight: 1, arbitrary: fc.constantFrom<string | undefined>(undefined, "garbage") },
);

function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{(\w+)\}|:(\w+)/g, (_, a, b) => encodeURIComponent(values[a ?? b] ?? ""));
}

function paramValues(template: string): fc.Arbitrary<Record<string, string>> {
  const names = [...template.matchAll(/\{(\w+)\}|:(\w+)/g)].map((m) => (m[1] ?? m[2]) as string);
  const record: Record<string, fc.Arbitrary<string>> = {};
  for (const n of names) record[n] = pathValue(n);
  return fc.record(record);
}

/** /api/v1 requests from the OpenAPI document. */
function apiRequests(): fc.Arbitrary<Request> {
  const ops: fc.Arbitrary<Request>[] = [];
  for (const [template, item] of Object.entries<Schema>(doc.paths)) {
    for (const [method, op] of Object.entries<Schema>(item)) {
      const queries = ((op.parameters ?? []) as Schema[]).filter((p) => p.in === "query");
      const bodySchema = op.requestBody?.content?.["application/json"]?.schema;
      ops.push(
        fc
          .record({
            params: paramValues(template),
            query: fc
              .subarray(queries)
              .chain((chosen) =>
                fc.tuple(
                  ...chosen.map((q) => queryValue(q.schema).map((v) => [q.name, v] as [string, string])),
                ),
              ),
            extraQuery: fc.option(
              fc.tuple(fc.constantFrom("limit", "cursor", "x"), fc.constantFrom(...NASTY)),
            ),
            as: token,
            body: bodySchema
              ? mutate(fromSchema(bodySchema)).map((b) => JSON.stringify(b))
              : fc.constant(undefined),
            contentType: fc.constantFrom("application/json", "application/json", "text/plain", ""),
          })
          .map(({ params, query, extraQuery, as, body, contentType }) => ({
            method: method.toUpperCase(),
            path: `/api/v1${fill(template, params)}`,
            query: extraQuery ? [...query, extraQuery] : query,
            headers: {
              ...(as ? { authorization: `Bearer ${as === "garbage" ? "x" : product.token(as)}` } : {}),
              ...(body !== undefined && contentType ? { "content-type": contentType } : {}),
            },
            body,
          })),
      );
    }
  }
  return fc.oneof(...ops);
}

/** Web pages and form posts from the app's route table, with and without a session. */
function webRequests(): fc.Arbitrary<Request> {
  const field = fc.oneof(
    fc.constantFrom("_csrf", "_rev", "_status", "_reason", "token", "next", "site", "arm", "subjectId"),
    fc.constantFrom("edss_total", "initials", "__proto__", "files", "study.json"),
    fc.string({ maxLength: 10 }),
  );
  return fc
    .record({
      route: fc.constantFrom(...webRoutes),
      params: fc.constant(null),
      session: fc.integer({ min: -1, max: cookies.length - 1 }),
      withCsrf: fc.boolean(),
      form: fc.array(fc.tuple(field, fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom(...NASTY))), {
        maxLength: 6,
      }),
      query: fc.array(
        fc.tuple(fc.constantFrom("next", "format", "deidentify", "x"), fc.constantFrom(...NASTY)),
        {
          maxLength: 2,
        },
      ),
    })
    .chain((r) => paramValues(r.route.path).map((params) => ({ ...r, params })))
    .map(({ route, params, session, withCsrf, form, query }) => {
      const body = new URLSearchParams(form);
      if (withCsrf && session >= 0 && csrfs[session]) body.set("_csrf", csrfs[session]);
      if (route.path === "/signin" && route.method === "POST") body.set("token", product.token("site-02"));
      return {
        method: route.method,
        path: fill(route.path, params ?? {}),
        query,
        headers: {
          ...(session >= 0 ? { cookie: cookies[session] as string } : {}),
          ...(route.method === "POST" ? { "content-type": "application/x-www-form-urlencoded" } : {}),
        },
        body: route.method === "POST" ? body.toString() : undefined,
      };
    });
}

/** REDCap's `POST /api/`, form-encoded, valid parameters mixed with nonsense. */
function redcapRequests(): fc.Arbitrary<Request> {
  const names = [
    "content",
    "format",
    "type",
    "action",
    "data",
    "records",
    "records[0]",
    "fields[]",
    "forms",
    "events",
    "arms[0]",
    "rawOrLabel",
    "filterLogic",
    "dateRangeBegin",
    "dateRangeEnd",
    "returnFormat",
    "exportDataAccessGroups",
  ];
  const content = fc.constantFrom(...CONTENTS);
  const values = fc.oneof(
    content,
    fc.constantFrom("json", "csv", "xml", "flat", "eav", "export", "import", "raw", "label"),
    fc.constantFrom("[edss_total] > 1", "[x] = '1' or (", "2020-01-01 00:00:00", "screening_arm_1", "edss"),
    fc.constantFrom(...NASTY),
    fc.string({ maxLength: 20 }),
  );
  return fc
    .record({
      content: fc.option(content, { freq: 8 }),
      format: fc.option(fc.constantFrom("json", "csv"), { freq: 5 }),
      pairs: fc.array(fc.tuple(fc.constantFrom(...names), values), { maxLength: 4 }),
      as: token,
    })
    .map(({ content, format, pairs, as }) => {
      const body = new URLSearchParams(pairs);
      if (content && !body.has("content")) body.set("content", content);
      if (format && !body.has("format")) body.set("format", format);
      if (as) body.set("token", as === "garbage" ? "0".repeat(32) : product.token(as));
      return {
        method: "POST",
        path: "/api/",
        query: [],
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: body.toString(),
      };
    });
}

async function send(request: Request): Promise<{ status: number; text: string }> {
  const search = new URLSearchParams(request.query).toString();
  const url = `${request.path}${search ? `?${search}` : ""}`;
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within 15 s: ${request.method} ${url}`)), 15_000);
  });
  try {
    return await Promise.race([
      (async () => {
        const res = await product.env.app.request(url, {
          method: request.method,
          headers: request.headers,
          body: request.body,
          redirect: "manual",
        });
        return { status: res.status, text: await res.text() };
      })(),
      hang,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

const statuses = new Map<string, number>();

/**
 * The table as the last refused request left it, or undefined after any other
 * request: a refused request was just shown to write nothing, so its "after" is
 * the next request's "before" and one scan per refusal suffices, not two.
 */
let unchangedSince: string[] | undefined;

async function checkOne(request: Request): Promise<void> {
  const before = unchangedSince ?? (await product.snapshot(failedSignIns));
  unchangedSince = undefined;
  const { status, text } = await send(request);
  const kind = request.path.startsWith("/api/v1/") ? "api" : request.path === "/api/" ? "redcap" : "web";
  const key = `${kind} ${status}`;
  statuses.set(key, (statuses.get(key) ?? 0) + 1);
  const label = `${request.method} ${request.path.slice(0, 200)} → ${status}: ${text.slice(0, 300)}`;
  expect(status, label).toBeLessThan(500);
  if (status >= 400) {
    const after = await product.snapshot(failedSignIns);
    expect(after, `a refused request wrote: ${label}`).toEqual(before);
    unchangedSince = after;
  }
}

describe("fuzz from the OpenAPI document and the route table", () => {
  it("covers every route the app serves", () => {
    const documented = Object.keys(doc.paths).length;
    expect(documented).toBeGreaterThan(10);
    expect(webRoutes.some((r) => r.path === "/api/")).toBe(true);
    expect(webRoutes.some((r) => r.path.includes("/forms/:form") && r.method === "POST")).toBe(true);
  });

  it("answers every random or mutated request below 500, promptly, writing nothing when it refuses", async () => {
    const requests = fc.oneof(
      { weight: 5, arbitrary: apiRequests() },
      { weight: 3, arbitrary: webRequests() },
      { weight: 2, arbitrary: redcapRequests() },
    );
    await fc.assert(fc.asyncProperty(requests, checkOne), {
      numRuns: 2_000,
      interruptAfterTimeLimit: TIME_LIMIT_MS,
      markInterruptAsFailure: false,
      // Replays a failure: fast-check prints both.
      ...(process.env.FUZZ_SEED ? { seed: Number(process.env.FUZZ_SEED) } : {}),
      ...(process.env.FUZZ_PATH ? { path: process.env.FUZZ_PATH } : {}),
    });
    console.info(
      `fuzz: ${[...statuses.values()].reduce((n, c) => n + c, 0)} requests; answers by kind and status:`,
      Object.fromEntries([...statuses].sort()),
    );
    // The fuzz must get past authentication and validation, not only bounce off them.
    for (const kind of ["api", "web", "redcap"])
      expect(
        [...statuses].some(([k]) => k.startsWith(`${kind} 2`)),
        `${kind} never succeeded`,
      ).toBe(true);
  }, 120_000);
});
