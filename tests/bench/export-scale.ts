/**
 * Flat CSV export at scale: `npm run bench:export [-- --subjects=1000 --scales=1,5 --limits=500,200
 * --live-limit=500 --store=disk|memory --http --in-flight=8]`.
 *
 * Seeds the reference study (every event × form of forms/study.json, one
 * unscheduled visit, a few log instances: 97 form instances, 195 items a
 * subject) straight into a temp dynalite, growing the same table from one
 * scale to the next, then for each scale measures, in child processes so
 * their memory is their own:
 *
 * - export: GET /api/v1/studies/{study}/records?format=csv&limit=… through the
 *   real app, following the Link header to the end, counting bytes and rows;
 * - baseline: the minimal read of the same items with the DocumentClient (the
 *   subjects through the by-site index, then a Query of each partition's
 *   `DATA#` items, 4 subjects in flight like the export);
 *
 * each with its peak RSS and heap (sampled every 50 ms, and the kernel's
 * maxRSS), and once more with a full GC every 500 ms for the live heap (what
 * the export really keeps, garbage aside). dynalite runs in this (parent)
 * process, so the children measure only themselves. Writes
 * tests/artifacts/export-bench.json. Not part of `npm test`.
 *
 * dynalite writes ~1.5–2.2k items/s on 2 cores, so the default 1× and 5× of
 * 1,000 subjects take ~20 min (seeding ~11 min); 10× (1.95 M items) would
 * seed for ~15–22 min more.
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { GetCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { createApp } from "../../functions/app.ts";
import { loadDefinition } from "../../functions/definition-files.ts";
import { startDevEnvironment } from "../../functions/dev-environment.ts";
import { createClients } from "../../functions/store/dynamo.ts";
import { keys } from "../../functions/store/keys.ts";
import { memoryMacKey } from "../../functions/store/mac-key.ts";
import { createStore } from "../../functions/store/store.ts";
import { TABLE } from "../../functions/store/table-shape.ts";
import { buildCasebookPlan, type CasebookPlan, seedSubjects } from "./seed-study.ts";

// The SDK warns once per process that it will want Node 22 from 2027; children inherit this.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.join(HERE, "../..");
const MB = 1024 * 1024;

interface Connection {
  endpoint: string;
  tableName: string;
  study: string;
}

interface Memory {
  /** RSS and heap when the measured work started (modules loaded, clients made). */
  startRssMB: number;
  startHeapMB: number;
  /** Highest of the 50 ms samples. */
  peakRssMB: number;
  peakHeapMB: number;
  /** The kernel's peak RSS over the whole child process. */
  maxRssMB: number;
  /** CPU of the child during the measured work. */
  cpuMs: number;
  /** With --expose-gc (the live-heap run only): the highest heapUsed right after a full GC, every 500 ms. */
  peakLiveHeapMB?: number;
}

interface ExportResult extends Memory {
  limit: number;
  transport: "in-process" | "http";
  ms: number;
  bytes: number;
  rows: number;
  pages: number;
  /** Summed time from request to response headers: the page's subject listing before the first byte. */
  headersMs: number;
  slowestHeadersMs: number;
}

interface BaselineResult extends Memory {
  ms: number;
  subjects: number;
  items: number;
  listMs: number;
}

// ---------------------------------------------------------------- children

function memorySampler(options: { live?: boolean } = {}) {
  const gc = options.live ? (globalThis as { gc?: () => void }).gc : undefined;
  if (options.live && !gc) throw new Error("the live-heap run needs --expose-gc");
  gc?.();
  const first = process.memoryUsage();
  const cpu = process.cpuUsage();
  let peakRss = first.rss;
  let peakHeap = first.heapUsed;
  let peakLive = first.heapUsed;
  const sample = () => {
    const m = process.memoryUsage();
    if (m.rss > peakRss) peakRss = m.rss;
    if (m.heapUsed > peakHeap) peakHeap = m.heapUsed;
  };
  const timer = setInterval(sample, 50);
  const liveTimer =
    gc &&
    setInterval(() => {
      gc();
      peakLive = Math.max(peakLive, process.memoryUsage().heapUsed);
    }, 500);
  return {
    stop(): Memory {
      clearInterval(timer);
      if (liveTimer) clearInterval(liveTimer);
      sample();
      const used = process.cpuUsage(cpu);
      return {
        startRssMB: first.rss / MB,
        startHeapMB: first.heapUsed / MB,
        peakRssMB: peakRss / MB,
        peakHeapMB: peakHeap / MB,
        maxRssMB: process.resourceUsage().maxRSS / 1024,
        cpuMs: (used.user + used.system) / 1000,
        ...(gc ? { peakLiveHeapMB: peakLive / MB } : {}),
      };
    },
  };
}

function countNewlines(chunk: Uint8Array): number {
  let n = 0;
  for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) n += 1;
  return n;
}

async function casebookPlan(definitionVersion: number, maxSubjects: number): Promise<CasebookPlan> {
  const definition = await loadDefinition(path.join(ROOT, "forms"));
  return buildCasebookPlan(definition, { definitionVersion, maxSubjects });
}

async function childSeed(
  args: Connection & {
    definitionVersion: number;
    maxSubjects: number;
    from: number;
    to: number;
    inFlight: number;
  },
) {
  const { doc } = createClients({ endpoint: args.endpoint });
  // Deterministic: the same plan as the parent's.
  const plan = await casebookPlan(args.definitionVersion, args.maxSubjects);
  const started = performance.now();
  const out = await seedSubjects(doc, args.tableName, plan, {
    from: args.from,
    to: args.to,
    inFlight: args.inFlight,
    onProgress: (n) => {
      if (n % 1000 === 0) {
        const s = (performance.now() - started) / 1000;
        process.stderr.write(`  seeded ${n}/${args.to - args.from} subjects, ${s.toFixed(0)} s\n`);
      }
    },
  });
  return { ...out, ms: performance.now() - started };
}

async function childExport(
  args: Connection & { token: string; limit: number; http: boolean; live?: boolean },
): Promise<ExportResult> {
  // This child only reads: the key is never used.
  const store = createStore({ tableName: args.tableName, endpoint: args.endpoint, macKey: memoryMacKey() });
  const app = createApp(store, { sessionSecret: "export-bench", feedSettleMs: 2_000 });
  let base = "";
  let server: { close: (cb?: () => void) => void } | undefined;
  if (args.http) {
    const { serve } = await import("@hono/node-server");
    const { port } = await new Promise<{ port: number }>((resolve) => {
      server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, (info) => resolve(info));
    });
    base = `http://127.0.0.1:${port}`;
  }
  const get = (url: string) => {
    const init = { headers: { authorization: `Bearer ${args.token}` } };
    return args.http ? fetch(base + url, init) : Promise.resolve(app.request(url, init));
  };
  // Warm: definition cache, token lookup, module JIT. One subject, not counted.
  await (await get(`/api/v1/studies/${args.study}/records?format=csv&limit=1`)).arrayBuffer();

  const memory = memorySampler({ live: args.live });
  const started = performance.now();
  let url: string | undefined = `/api/v1/studies/${args.study}/records?format=csv&limit=${args.limit}`;
  let bytes = 0;
  let lines = 0;
  let pages = 0;
  let headersMs = 0;
  let slowestHeadersMs = 0;
  while (url) {
    const asked = performance.now();
    const res = await get(url);
    const waited = performance.now() - asked;
    headersMs += waited;
    slowestHeadersMs = Math.max(slowestHeadersMs, waited);
    if (res.status !== 200 || !res.body)
      throw new Error(`export page failed: ${res.status} ${await res.text()}`);
    const reader = res.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      bytes += value.byteLength;
      lines += countNewlines(value);
    }
    pages += 1;
    url = res.headers.get("link")?.match(/^<([^>]+)>;\s*rel="next"/)?.[1];
  }
  const ms = performance.now() - started;
  const mem = memory.stop();
  server?.close();
  return {
    limit: args.limit,
    transport: args.http ? "http" : "in-process",
    ms,
    bytes,
    rows: lines - pages, // each page starts with the header row
    pages,
    headersMs,
    slowestHeadersMs,
    ...mem,
  };
}

async function childBaseline(args: Connection & { sites: string[]; ahead: number }): Promise<BaselineResult> {
  const { doc } = createClients({ endpoint: args.endpoint });
  const query = async (input: ConstructorParameters<typeof QueryCommand>[0], each: (n: number) => void) => {
    let start: Record<string, unknown> | undefined;
    do {
      const page = await doc.send(new QueryCommand({ ...input, ExclusiveStartKey: start }));
      each(page.Items?.length ?? 0);
      start = page.LastEvaluatedKey;
    } while (start);
  };
  // Warm the client (connection, credentials).
  await doc.send(new GetCommand({ TableName: args.tableName, Key: { PK: "warm", SK: "warm" } }));

  const memory = memorySampler();
  const started = performance.now();
  const ids: string[] = [];
  const { name, partitionKey } = TABLE.indexes.bySite;
  for (const site of args.sites) {
    let start: Record<string, unknown> | undefined;
    do {
      const page = await doc.send(
        new QueryCommand({
          TableName: args.tableName,
          IndexName: name,
          KeyConditionExpression: "#pk = :pk",
          ExpressionAttributeNames: { "#pk": partitionKey },
          ExpressionAttributeValues: { ":pk": keys.siteIndex(args.study, site) },
          ProjectionExpression: "id",
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? []) ids.push(String(item.id));
      start = page.LastEvaluatedKey;
    } while (start);
  }
  const listMs = performance.now() - started;
  let items = 0;
  let next = 0;
  const worker = async () => {
    while (next < ids.length) {
      const id = ids[next++] as string;
      await query(
        {
          TableName: args.tableName,
          KeyConditionExpression: "PK = :pk AND begins_with(SK, :prefix)",
          ExpressionAttributeValues: { ":pk": keys.subjectPartition(args.study, id), ":prefix": "DATA#" },
          ConsistentRead: true,
        },
        (n) => {
          items += n;
        },
      );
    }
  };
  await Promise.all(Array.from({ length: args.ahead }, worker));
  const ms = performance.now() - started;
  return { ms, subjects: ids.length, items, listMs, ...memory.stop() };
}

// ---------------------------------------------------------------- parent

const RESULT = "@@result ";

/** Runs a child; also returns the CPU this (dynalite's) process spent meanwhile. */
function runChild<T>(
  mode: string,
  args: unknown,
  flags: string[] = [],
): Promise<T & { dynaliteCpuMs: number }> {
  const cpu = process.cpuUsage();
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [...flags, "--import", "tsx", fileURLToPath(import.meta.url), mode, JSON.stringify(args)],
      { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] },
    );
    let out = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (d: string) => {
      out += d;
    });
    child.on("error", reject);
    child.on("exit", (code) => {
      const line = out.split("\n").find((l) => l.startsWith(RESULT));
      if (code !== 0 || !line) reject(new Error(`${mode} child exited ${code}\n${out}`));
      else {
        const used = process.cpuUsage(cpu);
        resolve({
          ...(JSON.parse(line.slice(RESULT.length)) as T),
          dynaliteCpuMs: (used.user + used.system) / 1000,
        });
      }
    });
  });
}

function option(name: string, fallback: string): string {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  if (arg) return arg.slice(name.length + 3);
  return process.argv.includes(`--${name}`) ? "true" : fallback;
}

const fmt = (n: number, digits = 0) =>
  n.toLocaleString("en-GB", { minimumFractionDigits: digits, maximumFractionDigits: digits });

async function main() {
  const subjectsPerScale = Number(option("subjects", "1000"));
  const scales = option("scales", "1,5").split(",").map(Number);
  const limits = option("limits", "500,200").split(",").map(Number);
  const liveLimit = Number(option("live-limit", String(limits[0] ?? 500)));
  const storeKind = option("store", "disk") as "disk" | "memory";
  const http = option("http", "false") === "true";
  const inFlight = Number(option("in-flight", "8"));
  const maxSubjects = subjectsPerScale * Math.max(...scales);

  const tmp = mkdtempSync(path.join(tmpdir(), "edc-export-bench-"));
  let env: Awaited<ReturnType<typeof startDevEnvironment>> | undefined;
  const cleanUp = () => rmSync(tmp, { recursive: true, force: true });
  process.once("SIGINT", () => {
    cleanUp();
    process.exit(130);
  });
  try {
    env = await startDevEnvironment(storeKind === "disk" ? { dataDir: tmp } : {});
    const pointer = await env.store.db.doc.send(
      new GetCommand({
        TableName: env.tableName,
        Key: { PK: keys.study(env.studyId), SK: keys.currentDefinition },
      }),
    );
    const definitionVersion = Number(pointer.Item?.version ?? 1);
    const plan = await casebookPlan(definitionVersion, maxSubjects);
    const connection: Connection = { endpoint: env.endpoint, tableName: env.tableName, study: env.studyId };
    const token = env.tokens.monitor?.token as string;
    console.log(
      `casebook: ${plan.instancesPerSubject} form instances (${plan.slots.filter((s) => s.event === "logs").length} of them logs), ${plan.itemsPerSubject} items, ${plan.rowsPerSubject} CSV rows per subject; ` +
        `dynalite ${storeKind === "disk" ? "on disk" : "in memory"} in this process; export ${http ? "over loopback HTTP" : "in-process (app.request)"} in a child`,
    );
    if (Object.keys(plan.notComplete).length > 0)
      console.log("templates the engine left incomplete:", plan.notComplete);

    const results = [];
    let seeded = 0;
    let seedMsTotal = 0;
    for (const scale of scales) {
      const target = subjectsPerScale * scale;
      const expectedRows = target * plan.rowsPerSubject;
      console.log(
        `\n== ${scale}×: ${fmt(target)} subjects, ${fmt(target * plan.instancesPerSubject)} form instances`,
      );
      const seed = await runChild<{ items: number; instances: number; requests: number; ms: number }>(
        "seed",
        {
          ...connection,
          definitionVersion,
          maxSubjects,
          from: seeded,
          to: target,
          inFlight,
        },
      );
      seedMsTotal += seed.ms;
      console.log(
        `seeded ${fmt(target - seeded)} subjects (${fmt(seed.instances)} instances, ${fmt(seed.items)} items) in ${fmt(seed.ms / 1000, 1)} s: ${fmt(seed.items / (seed.ms / 1000))} items/s`,
      );
      seeded = target;

      const baseline = await runChild<BaselineResult>("baseline", {
        ...connection,
        sites: plan.sites.map((s) => s.id),
        ahead: 4,
      });
      if (baseline.items !== target * plan.instancesPerSubject)
        throw new Error("baseline read a wrong item count");
      console.log(
        `raw Query: ${fmt(baseline.items)} DATA# items of ${fmt(baseline.subjects)} subjects in ${fmt(baseline.ms / 1000, 2)} s; peak RSS ${fmt(baseline.peakRssMB)} MB, heap ${fmt(baseline.peakHeapMB)} MB`,
      );

      const exports = [];
      for (const limit of limits) {
        const e = await runChild<ExportResult>("export", { ...connection, token, limit, http });
        if (e.rows !== expectedRows)
          throw new Error(`export limit=${limit}: ${e.rows} rows, expected ${expectedRows}`);
        console.log(
          `export limit=${limit}: ${fmt(e.rows)} rows, ${fmt(e.bytes / MB, 1)} MB, ${e.pages} pages in ${fmt(e.ms / 1000, 2)} s (${fmt(e.headersMs / 1000, 2)} s before first bytes); peak RSS ${fmt(e.peakRssMB)} MB, heap ${fmt(e.peakHeapMB)} MB`,
        );
        exports.push({
          ...e,
          rowsPerSec: e.rows / (e.ms / 1000),
          mbPerSec: e.bytes / MB / (e.ms / 1000),
          ratioToBaseline: e.ms / baseline.ms,
        });
      }
      // Again with a full GC every 500 ms: what the export really keeps, as opposed to garbage not yet collected.
      const live = await runChild<ExportResult>(
        "export",
        { ...connection, token, limit: liveLimit, http, live: true },
        ["--expose-gc"],
      );
      console.log(
        `live heap (limit=${liveLimit}, GC every 500 ms): peak ${fmt(live.peakLiveHeapMB ?? 0)} MB after GC, ${fmt(live.startHeapMB)} MB at start`,
      );
      results.push({
        scale,
        subjects: target,
        instances: target * plan.instancesPerSubject,
        items: 1 + target * plan.itemsPerSubject,
        rows: expectedRows,
        seed: { subjectsAdded: seed.items / plan.itemsPerSubject, ...seed, cumulativeMs: seedMsTotal },
        baseline: { ...baseline, itemsPerSec: baseline.items / (baseline.ms / 1000) },
        exports,
        liveHeap: {
          limit: liveLimit,
          ms: live.ms,
          startHeapMB: live.startHeapMB,
          peakLiveHeapMB: live.peakLiveHeapMB,
        },
      });
    }

    const header = [
      "scale",
      "subjects",
      "instances",
      "seed s",
      "read",
      "s",
      "rows/s",
      "MB/s",
      "× raw",
      "headers s",
      "CPU child/dynalite s",
      "RSS start→peak MB",
      "heap start→peak MB",
      "live heap MB",
    ];
    const lines = [header];
    for (const r of results) {
      const b = r.baseline;
      lines.push([
        `${r.scale}×`,
        fmt(r.subjects),
        fmt(r.instances),
        r.seed.cumulativeMs === r.seed.ms
          ? fmt(r.seed.ms / 1000, 1)
          : `+${fmt(r.seed.ms / 1000, 1)} = ${fmt(r.seed.cumulativeMs / 1000, 1)}`,
        "raw Query",
        fmt(b.ms / 1000, 2),
        `${fmt(b.itemsPerSec)} items/s`,
        "",
        "1.00",
        "",
        `${fmt(b.cpuMs / 1000, 1)}/${fmt(b.dynaliteCpuMs / 1000, 1)}`,
        `${fmt(b.startRssMB)}→${fmt(b.peakRssMB)}`,
        `${fmt(b.startHeapMB)}→${fmt(b.peakHeapMB)}`,
        "",
      ]);
      for (const e of r.exports) {
        lines.push([
          "",
          "",
          "",
          "",
          `CSV limit=${e.limit}`,
          fmt(e.ms / 1000, 2),
          fmt(e.rowsPerSec),
          fmt(e.mbPerSec, 2),
          fmt(e.ratioToBaseline, 2),
          fmt(e.headersMs / 1000, 2),
          `${fmt(e.cpuMs / 1000, 1)}/${fmt(e.dynaliteCpuMs / 1000, 1)}`,
          `${fmt(e.startRssMB)}→${fmt(e.peakRssMB)}`,
          `${fmt(e.startHeapMB)}→${fmt(e.peakHeapMB)}`,
          e.limit === r.liveHeap.limit ? fmt(r.liveHeap.peakLiveHeapMB ?? 0) : "",
        ]);
      }
    }
    const widths = header.map((_, i) => Math.max(...lines.map((l) => (l[i] ?? "").length)));
    console.log("");
    for (const l of lines) console.log(l.map((c, i) => c.padEnd(widths[i] ?? 0)).join(" | "));

    const artifact = {
      generatedAt: new Date().toISOString(),
      node: process.version,
      cpus: cpus().length,
      store: storeKind,
      transport: http ? "http" : "in-process",
      casebook: {
        instancesPerSubject: plan.instancesPerSubject,
        itemsPerSubject: plan.itemsPerSubject,
        rowsPerSubject: plan.rowsPerSubject,
      },
      subjectsPerScale,
      results,
    };
    mkdirSync(path.join(ROOT, "tests/artifacts"), { recursive: true });
    writeFileSync(
      path.join(ROOT, "tests/artifacts/export-bench.json"),
      `${JSON.stringify(artifact, null, 2)}\n`,
    );
    console.log("\nwrote tests/artifacts/export-bench.json");
  } finally {
    await env?.close();
    cleanUp();
  }
}

const [mode, raw] = process.argv.slice(2);
const children: Record<string, (args: never) => Promise<unknown>> = {
  seed: childSeed,
  export: childExport,
  baseline: childBaseline,
};
const child = mode ? children[mode] : undefined;
if (child) {
  const result = await child(JSON.parse(raw ?? "{}") as never);
  process.stdout.write(`${RESULT}${JSON.stringify(result)}\n`);
  process.exit(0);
} else {
  await main();
  process.exit(0);
}
