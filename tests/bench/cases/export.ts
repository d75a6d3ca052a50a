/**
 * Flat CSV export at scale (issue 15: "flat CSV ≤ 1.3× a raw Query of the
 * same items, peak memory flat from 1,000 to 10,000 subjects").
 *
 * - The pair: the whole flat CSV through the app (GET …/records?format=csv,
 *   following the Link header to the end) against a raw paged Query of the
 *   same items (each subject's `DATA#` items, the subjects listed through the
 *   by-site index, as many casebooks in flight as the export reads ahead), in
 *   this process, alternately, at the first size.
 * - The sizes: peak RSS, heap and live heap (full GC every 500 ms) of the
 *   export and of the raw read, each in its own child process, at every size.
 *
 * The reference study is seeded straight into dynalite (tests/bench/seed-study.ts:
 * the items one save of every form leaves) once per size and kept under
 * tests/artifacts/bench-data/ (git-ignored), keyed by what the items are made
 * from, so a later run reuses it: 10,000 subjects are ~1.95 M items and take
 * 15–30 min to seed on two shared cores; the first size ~2–3 min.
 *
 * Sizes: BENCH_EXPORT_SUBJECTS=1000,4000,10000 (the default); page size
 * BENCH_EXPORT_LIMIT (default 200, the route's default);
 * BENCH_EXPORT_MEMORY_ONLY=true measures the export's peak memory alone (no
 * raw read, no live-heap run); BENCH_EXPORT_AS_SEEDED=true measures a size whose seeding was stopped as far
 * as it got (the figures are keyed by the subjects actually there).
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { GetCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { loadDefinition } from "../../../functions/definition-files.ts";
import { type DevEnvironment, startDevEnvironment } from "../../../functions/dev-environment.ts";
import { prepareValidators } from "../../../functions/engine/schema-validator.ts";
import { keys } from "../../../functions/store/keys.ts";
import { defaultMacKeyFile, fileMacKey } from "../../../functions/store/mac-key.ts";
import { TABLE } from "../../../functions/store/table-shape.ts";
import { ROOT } from "../checkout-at.ts";
import type { Pair } from "../pairs.ts";
import { seedDirect } from "../seed-fast.ts";
import { buildCasebookPlan, type CasebookPlan } from "../seed-study.ts";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

const SCALE_SCRIPT = path.join(ROOT, "tests/bench/export-scale.ts");
const DATA = path.join(ROOT, "tests/artifacts/bench-data");

export function exportSizes(): number[] {
  return (process.env.BENCH_EXPORT_SUBJECTS ?? "1000,4000,10000").split(",").map(Number);
}
const pageLimit = () => Number(process.env.BENCH_EXPORT_LIMIT ?? "200");

export interface Seeded {
  env: DevEnvironment;
  plan: CasebookPlan;
  token: string;
  subjects: number;
}

/** What the seeded items are made of: a change to any of these makes a new folder. */
function fingerprint(plan: CasebookPlan): string {
  const hash = createHash("sha256").update(JSON.stringify(plan));
  for (const file of [
    "tests/bench/seed-study.ts",
    "tests/bench/seed-fast.ts",
    "functions/store/revision-item.ts",
    "functions/store/revision-seal.ts",
    "functions/store/keys.ts",
    "functions/store/table-shape.ts",
  ])
    hash.update(readFileSync(path.join(ROOT, file)));
  return hash.digest("hex").slice(0, 12);
}

/** A child of export-scale.ts (its seed / export / baseline modes), returning its result line. */
function runChild<T>(mode: string, args: unknown, flags: string[] = []): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [...flags, "--import", "tsx", SCALE_SCRIPT, mode, JSON.stringify(args)],
      { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] },
    );
    let out = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (d: string) => {
      out += d;
    });
    child.on("error", reject);
    child.on("exit", (code) => {
      const line = out.split("\n").find((l) => l.startsWith("@@result "));
      if (code !== 0 || !line) reject(new Error(`${mode} child exited ${code}\n${out}`));
      else resolve(JSON.parse(line.slice("@@result ".length)) as T);
    });
  });
}

const SEED_CHUNK = 1000;

interface Progress {
  subjects: number;
  ms: number;
}

const readProgress = (dir: string): Progress | undefined => {
  const file = path.join(dir, "seeded.json");
  return existsSync(file) ? (JSON.parse(readFileSync(file, "utf8")) as Progress) : undefined;
};

/**
 * A larger size starts from a copy of a smaller one that is complete (its
 * subjects' ids are a width shorter, so the larger plan's own ids never
 * collide with them): 10,000 subjects cost 9,000 seeded, not 10,000.
 */
function startFromSmaller(dataDir: string, subjects: number, family: Family) {
  if (existsSync(dataDir)) return;
  const smaller = family.sizes
    .filter((n) => n < subjects)
    .sort((a, b) => b - a)
    .map((n) => readdirSync(DATA).find((d) => d.startsWith(`${family.name}-${n}-`)))
    .filter((d): d is string => d !== undefined)
    .map((d) => path.join(DATA, d))
    .find((d) => {
      const p = readProgress(d);
      return p !== undefined && Number(path.basename(d).split("-")[1]) === p.subjects;
    });
  if (smaller) cpSync(smaller, dataDir, { recursive: true });
}

/**
 * The reference study with `subjects` subjects, seeded once and reused while
 * its fingerprint holds. Seeding goes a chunk at a time and records how far it
 * got, so a stopped run carries on where it was.
 */
/**
 * Studies seeded for one bench (their folders' prefix) and the sizes it
 * seeds, smaller ones copied into larger: two benches running at once never
 * share a folder (dynalite holds a lock on it).
 */
export interface Family {
  name: string;
  sizes: number[];
}

export async function seededStudy(
  subjects: number,
  family: Family = { name: "export", sizes: exportSizes() },
): Promise<Seeded> {
  const definition = await loadDefinition(path.join(ROOT, "forms"));
  // The plan runs the engine over the definition, as a save would: its validators come with it.
  await prepareValidators(definition);
  // The definition version is known only once published; the first start publishes version 1.
  const probe = buildCasebookPlan(definition, { definitionVersion: 1, maxSubjects: subjects });
  mkdirSync(DATA, { recursive: true });
  const dataDir = path.join(DATA, `${family.name}-${subjects}-${fingerprint(probe)}`);
  startFromSmaller(dataDir, subjects, family);
  let env = await startDevEnvironment({ dataDir });
  try {
    const pointer = await env.store.db.doc.send(
      new GetCommand({
        TableName: env.tableName,
        Key: { PK: keys.study(env.studyId), SK: keys.currentDefinition },
      }),
    );
    const plan = buildCasebookPlan(definition, {
      definitionVersion: Number(pointer.Item?.version ?? 1),
      maxSubjects: subjects,
    });
    let progress = readProgress(dataDir) ?? { subjects: 0, ms: 0 };
    // Measure a size still being seeded as far as it got (the figures then say how many subjects they are of).
    const asSeeded = process.env.BENCH_EXPORT_AS_SEEDED === "true" && progress.subjects > 0;
    if (!asSeeded && progress.subjects < subjects) {
      // Straight into LevelDB (tests/bench/seed-fast.ts), so dynalite must let go of the folder meanwhile.
      const { tableName } = env;
      await env.close();
      // The key the environment made at its first start: the revisions are sealed as its saves would seal them.
      const macKey = fileMacKey(defaultMacKeyFile(dataDir));
      while (progress.subjects < subjects) {
        const to = Math.min(subjects, progress.subjects + SEED_CHUNK);
        process.stderr.write(
          `export: seeding subjects ${progress.subjects}–${to} of ${subjects} into ${path.relative(ROOT, dataDir)}\n`,
        );
        const seed = await seedDirect(path.join(dataDir, "dynamo"), tableName, plan, macKey, {
          from: progress.subjects,
          to,
        });
        progress = { subjects: to, ms: progress.ms + seed.ms };
        writeFileSync(path.join(dataDir, "seeded.json"), `${JSON.stringify(progress)}\n`);
      }
      env = await startDevEnvironment({ dataDir });
    }
    await placeWatermark(env);
    const token = env.tokens.monitor?.token;
    if (!token) throw new Error("the dev environment made no monitor token");
    return { env, plan, token, subjects: progress.subjects };
  } catch (error) {
    await env.close();
    throw error;
  }
}

/**
 * The projection watermark where a running study's passes would have put it
 * (store/projection-watermark.ts). The seeded commits carry the schedule's
 * dates, up to ten years ahead, so the pass runs with its clock past the last
 * of them; it walks every commit and checks its projection like any pass (the
 * seeder wrote each projection with its commit: nothing is repaired). Once per
 * folder: a pass that finds the watermark there returns at once.
 */
async function placeWatermark(env: DevEnvironment) {
  for (;;) {
    const pass = await env.store.advanceProjectionWatermark(env.studyId, {
      settleMs: 0,
      now: Date.parse("2040-01-01T00:00:00Z"),
      maxChanges: 50_000,
    });
    if (pass.repaired.length > 0) throw new Error(`seeded projections behind: ${pass.repaired.join(", ")}`);
    if (pass.caughtUp) return;
  }
}

/** The whole flat CSV, page after page; returns the data rows read. */
export async function exportCsv(s: Seeded, limit: number): Promise<number> {
  let url: string | undefined = `/api/v1/studies/${s.env.studyId}/records?format=csv&limit=${limit}`;
  let rows = 0;
  while (url) {
    const res = await s.env.app.request(url, { headers: { authorization: `Bearer ${s.token}` } });
    if (res.status !== 200) throw new Error(`export page: ${res.status} ${await res.text()}`);
    const text = await res.text();
    rows += text.split("\n").length - 2; // header row, and the empty string after the last newline
    url = res.headers.get("link")?.match(/^<([^>]+)>;\s*rel="next"/)?.[1];
  }
  return rows;
}

/**
 * The minimal read of the same items: subjects through the by-site index, then
 * each casebook's `DATA#` items, and with `revisionKeys` the `REV#` keys too
 * (what the export reads besides, to check each projection against the log).
 */
export async function rawQuery(
  s: Seeded,
  options: { revisionKeys?: boolean } = {},
  ahead = 4,
): Promise<number> {
  const { doc } = s.env.store.db;
  const ids: string[] = [];
  const { name, partitionKey } = TABLE.indexes.bySite;
  for (const site of s.plan.sites) {
    let start: Record<string, unknown> | undefined;
    do {
      const page = await doc.send(
        new QueryCommand({
          TableName: s.env.tableName,
          IndexName: name,
          KeyConditionExpression: "#pk = :pk",
          ExpressionAttributeNames: { "#pk": partitionKey },
          ExpressionAttributeValues: { ":pk": keys.siteIndex(s.env.studyId, site.id) },
          ProjectionExpression: "id",
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? []) ids.push(String(item.id));
      start = page.LastEvaluatedKey;
    } while (start);
  }
  let items = 0;
  let next = 0;
  const query = async (pk: string, prefix: string, projection?: string) => {
    let start: Record<string, unknown> | undefined;
    let n = 0;
    do {
      const page = await doc.send(
        new QueryCommand({
          TableName: s.env.tableName,
          KeyConditionExpression: "PK = :pk AND begins_with(SK, :prefix)",
          ExpressionAttributeValues: { ":pk": pk, ":prefix": prefix },
          ...(projection ? { ProjectionExpression: projection } : {}),
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      n += page.Items?.length ?? 0;
      start = page.LastEvaluatedKey;
    } while (start);
    return n;
  };
  const worker = async () => {
    while (next < ids.length) {
      const pk = keys.subjectPartition(s.env.studyId, ids[next++] as string);
      const [data] = await Promise.all([
        query(pk, keys.projections),
        options.revisionKeys ? query(pk, keys.revisions, "SK") : 0,
      ]);
      items += data;
    }
  };
  await Promise.all(Array.from({ length: ahead }, worker));
  return items;
}

/** Times are per subject, so the ratio reads the same at any size. */
export default async function pairs(): Promise<Pair[]> {
  const subjects = exportSizes()[0] ?? 1000;
  let seeded: Seeded | undefined;
  const limit = pageLimit();
  const ready = () => {
    if (!seeded) throw new Error("setup did not run");
    return seeded;
  };
  const setup = async () => {
    seeded ??= await seededStudy(subjects);
  };
  const csv = {
    name: `GET …/records?format=csv&limit=${limit}, every page`,
    run: async () => {
      const s = ready();
      const rows = await exportCsv(s, limit);
      if (rows !== s.subjects * s.plan.rowsPerSubject) throw new Error(`export wrote ${rows} rows`);
      return s.subjects;
    },
  };
  const raw = (revisionKeys: boolean) => async () => {
    const s = ready();
    const items = await rawQuery(s, { revisionKeys });
    if (items !== s.subjects * s.plan.instancesPerSubject) throw new Error(`raw Query read ${items} items`);
    return s.subjects;
  };
  return [
    {
      name: `export: flat CSV of ${subjects} subjects`,
      target: "≤ 1.3×",
      rounds: 5,
      setup,
      baseline: { name: "raw paged Query of the DATA# items", run: raw(false) },
      subject: csv,
    },
    {
      // The export also reads each casebook's revision keys (a projection may trail a commit whose
      // writer died): against the same reads raw, what is left is the export's own work.
      name: `export vs the same reads raw (DATA# + REV# keys), ${subjects} subjects`,
      rounds: 5,
      setup,
      teardown: async () => {
        await seeded?.env.close();
        seeded = undefined;
      },
      baseline: { name: "raw paged Query of the DATA# items and REV# keys", run: raw(true) },
      subject: csv,
    },
  ];
}

interface ChildMemory {
  ms: number;
  peakRssMB: number;
  peakHeapMB: number;
  maxRssMB: number;
  startRssMB: number;
  peakLiveHeapMB?: number;
}

/**
 * Peak memory of the export and of the raw read at every size, each in a
 * child process (dynalite stays in this one), so a size's figure is the
 * reader's own. The live heap is the export again with a full GC every 500 ms:
 * what it keeps, garbage aside.
 */
export async function sizes(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const size of exportSizes()) {
    const s = await seededStudy(size);
    const { subjects } = s;
    try {
      const connection = { endpoint: s.env.endpoint, tableName: s.env.tableName, study: s.env.studyId };
      const limit = pageLimit();
      const memoryOnly = process.env.BENCH_EXPORT_MEMORY_ONLY === "true";
      const raw = memoryOnly
        ? undefined
        : await runChild<ChildMemory>("baseline", {
            ...connection,
            sites: s.plan.sites.map((site) => site.id),
            ahead: 4,
          });
      const csv = await runChild<ChildMemory & { rows: number }>("export", {
        ...connection,
        token: s.token,
        limit,
        http: false,
      });
      if (csv.rows !== subjects * s.plan.rowsPerSubject) throw new Error(`export wrote ${csv.rows} rows`);
      const live = memoryOnly
        ? undefined
        : await runChild<ChildMemory>(
            "export",
            { ...connection, token: s.token, limit, http: false, live: true },
            ["--expose-gc"],
          );
      const at = `@${subjects}`;
      // As each size finishes: a run stopped before the largest size still leaves the smaller sizes' figures.
      process.stderr.write(
        `export @${subjects}: export ${round(csv.ms / 1000)} s, peak RSS ${round(csv.peakRssMB)} MB, heap ${round(csv.peakHeapMB)} MB` +
          (live ? `, live heap ${round(live.peakLiveHeapMB ?? Number.NaN)} MB` : "") +
          (raw
            ? `; raw Query ${round(raw.ms / 1000)} s, peak RSS ${round(raw.peakRssMB)} MB, heap ${round(raw.peakHeapMB)} MB`
            : "") +
          "\n",
      );
      out[`export peak RSS MB ${at}`] = round(csv.peakRssMB);
      out[`export peak heap MB ${at}`] = round(csv.peakHeapMB);
      out[`export s ${at} (one run)`] = round(csv.ms / 1000);
      if (live) out[`export live heap MB ${at}`] = round(live.peakLiveHeapMB ?? Number.NaN);
      if (raw) {
        out[`raw Query peak RSS MB ${at}`] = round(raw.peakRssMB);
        out[`raw Query peak heap MB ${at}`] = round(raw.peakHeapMB);
        // One run each, not alternated: a rough cross-check of the pair at the larger sizes.
        out[`raw Query s ${at} (one run)`] = round(raw.ms / 1000);
      }
    } finally {
      await s.env.close();
    }
  }
  return out;
}

const round = (n: number) => Math.round(n * 10) / 10;
