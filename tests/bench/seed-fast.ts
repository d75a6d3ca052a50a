/**
 * Seeds full casebooks straight into the table, as the saves would have left
 * them, fast: `npm run bench:seed -- --subjects=1000 [--store=memory|disk]
 * [--in-flight=16] [--verify]` seeds a fresh dev environment and prints the
 * rate (and with --verify runs the audit verification over what it wrote).
 *
 * Every item comes from the store's own builders: the subject item
 * (`subjectItem`), for each form instance revision 1 sealed onto its chain's
 * genesis with the environment's MAC key (`sealRevision`, so `verifyAudit`
 * finds every chain intact), its revision item (`revisionItem`, with its feed
 * keys) and its projection (`projectionItem`), and the subject's dashboard
 * summary (`summaryItem`). The values are tests/bench/seed-study.ts's plan
 * (the reference study's every event × form, a few log instances).
 *
 * Written with BatchWriteItem, 25 items a request, `inFlight` requests at
 * once, unprocessed items retried; items are built a few subjects ahead of
 * the writes, never the whole study at once, so memory stays flat.
 */
import { createRequire } from "node:module";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { BatchWriteCommand, GetCommand } from "@aws-sdk/lib-dynamodb";
import type { MacKey } from "../../functions/store/mac-key.ts";
import { projectionItem, revisionItem } from "../../functions/store/revision-item.ts";
import { sealRevision } from "../../functions/store/revision-seal.ts";
import { summaryItem } from "../../functions/store/subject-summary-item.ts";
import { subjectItem } from "../../functions/store/subjects.ts";
import { type CasebookPlan, casebookOf } from "./seed-study.ts";

/** Every item of subject number n's casebook, its revisions sealed with `macKey`. */
export async function sealedCasebookItems(
  plan: CasebookPlan,
  n: number,
  macKey: MacKey,
): Promise<Record<string, unknown>[]> {
  const { subject, revisions } = casebookOf(plan, n);
  // Revision 1 of each instance: the chain starts at its genesis (no previous revision).
  const sealed = await Promise.all(revisions.map((r) => sealRevision(macKey, r, undefined)));
  return [
    subjectItem(subject),
    ...sealed.flatMap((r) => [revisionItem(r), projectionItem(r)]),
    summaryItem(subject, sealed, plan.summaryDates),
  ];
}

export interface SeedResult {
  subjects: number;
  items: number;
  requests: number;
  /** BatchWriteItem requests that came back with unprocessed items. */
  retries: number;
  ms: number;
}

/** Writes subjects [from, to) of the plan. */
export async function seedFast(
  doc: Pick<DynamoDBDocumentClient, "send">,
  tableName: string,
  plan: CasebookPlan,
  macKey: MacKey,
  range: { from: number; to: number; inFlight?: number; onProgress?: (subjects: number) => void },
): Promise<SeedResult> {
  const started = performance.now();
  const inFlight = range.inFlight ?? 16;
  let next = range.from;
  const buffer: Record<string, unknown>[] = [];
  let items = 0;
  let requests = 0;
  let retries = 0;
  let done = 0;
  // One builder at a time: two workers must not take the same subject while one awaits its seals.
  let building: Promise<void> = Promise.resolve();
  const take = async (): Promise<Record<string, unknown>[] | undefined> => {
    const turn = building.then(async () => {
      while (buffer.length < 25 && next < range.to) {
        const n = next++;
        buffer.push(...(await sealedCasebookItems(plan, n, macKey)));
        done += 1;
        if (done % 100 === 0) range.onProgress?.(done);
      }
    });
    building = turn;
    await turn;
    if (buffer.length === 0) return undefined;
    return buffer.splice(0, 25);
  };
  const worker = async () => {
    for (let batch = await take(); batch; batch = await take()) {
      let pending = batch.map((Item) => ({ PutRequest: { Item } }));
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt > 10) throw new Error("BatchWriteItem kept returning unprocessed items");
        requests += 1;
        const out = await doc.send(new BatchWriteCommand({ RequestItems: { [tableName]: pending } }));
        pending = (out.UnprocessedItems?.[tableName] ?? []) as typeof pending;
        if (pending.length > 0) {
          retries += 1;
          await new Promise((r) => setTimeout(r, 20 * 2 ** attempt));
        }
      }
      items += batch.length;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return { subjects: range.to - range.from, items, requests, retries, ms: performance.now() - started };
}

/**
 * The same items written straight into a closed dynalite's LevelDB folder
 * (`<dataDir>/dynamo`), in dynalite's own layout (its `createKey` and
 * `getIndexActions`, so its queries and indexes find them as if put through
 * BatchWriteItem), in large LevelDB batches: no HTTP, no per-item lock and
 * read-before-write. Only for subjects not yet in the table (nothing is
 * overwritten, so no index entry is left behind). dynalite must not be
 * running on the folder (LevelDB allows one opener; it would say so).
 */
export async function seedDirect(
  dynamoDir: string,
  tableName: string,
  plan: CasebookPlan,
  macKey: MacKey,
  range: { from: number; to: number; subjectsPerBatch?: number; onProgress?: (subjects: number) => void },
): Promise<SeedResult> {
  const started = performance.now();
  const fromDynalite = createRequire(createRequire(import.meta.url).resolve("dynalite"));
  const { Level } = fromDynalite("level") as typeof import("level");
  const dynaliteDb = fromDynalite("./db") as DynaliteDb;
  const level = new Level<string, unknown>(dynamoDir, { valueEncoding: "json" });
  await level.open();
  let items = 0;
  let requests = 0;
  try {
    const table = (await level.get(`table~${tableName}`)) as DynaliteTable | undefined;
    if (!table) throw new Error(`no table ${tableName} in ${dynamoDir}`);
    const perBatch = range.subjectsPerBatch ?? 50;
    for (let first = range.from; first < range.to; first += perBatch) {
      const ops: { type: "put"; key: string; value: unknown }[] = [];
      const last = Math.min(range.to, first + perBatch);
      for (let n = first; n < last; n++) {
        for (const plain of await sealedCasebookItems(plan, n, macKey)) {
          const item = toAttributeMap(plain);
          ops.push({
            type: "put",
            key: `item-${tableName}~${dynaliteDb.createKey(item, table)}`,
            value: item,
          });
          for (const [kind, indexes] of [
            ["local", table.LocalSecondaryIndexes],
            ["global", table.GlobalSecondaryIndexes],
          ] as const) {
            for (const put of dynaliteDb.getIndexActions(indexes ?? [], undefined, item, table).puts)
              ops.push({
                type: "put",
                key: `index-${kind}~${tableName}~${put.index}~${put.key}`,
                value: put.item,
              });
          }
          items += 1;
        }
      }
      await level.batch(ops);
      requests += 1;
      range.onProgress?.(last - range.from);
    }
  } finally {
    await level.close();
  }
  return { subjects: range.to - range.from, items, requests, retries: 0, ms: performance.now() - started };
}

/**
 * What the DocumentClient's `marshall` makes of an item with the store's
 * options (functions/store/dynamo.ts: undefined values dropped, empty strings
 * kept), for the plain JSON values the builders make, several times faster
 * (the SDK's generic marshalling was a third of the seeder's time). The
 * seeder's test checks it against `marshall` on whole casebooks.
 */
export function toAttributeMap(item: Record<string, unknown>): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  for (const key in item) {
    const value = item[key];
    if (value !== undefined) out[key] = toAttribute(value);
  }
  return out;
}

type AttributeValue =
  | { S: string }
  | { N: string }
  | { BOOL: boolean }
  | { NULL: true }
  | { L: AttributeValue[] }
  | { M: Record<string, AttributeValue> };

function toAttribute(value: unknown): AttributeValue {
  switch (typeof value) {
    case "string":
      return { S: value };
    case "number":
      if (!Number.isFinite(value)) throw new Error(`${value} is not a number DynamoDB stores`);
      return { N: String(value) };
    case "boolean":
      return { BOOL: value };
    case "object":
      if (value === null) return { NULL: true };
      if (Array.isArray(value)) {
        const list: AttributeValue[] = [];
        for (const v of value) if (v !== undefined) list.push(toAttribute(v));
        return { L: list };
      }
      if (Object.getPrototypeOf(value) === Object.prototype)
        return { M: toAttributeMap(value as Record<string, unknown>) };
  }
  throw new Error(`the seeder cannot write ${Object.prototype.toString.call(value)}`);
}

interface DynaliteTable {
  LocalSecondaryIndexes?: unknown[];
  GlobalSecondaryIndexes?: unknown[];
}

/** The two functions of dynalite's db module the direct writer uses. */
interface DynaliteDb {
  createKey(item: Record<string, unknown>, table: DynaliteTable): string;
  getIndexActions(
    indexes: unknown[],
    existing: undefined,
    item: Record<string, unknown>,
    table: DynaliteTable,
  ): { puts: { index: string; key: string; item: unknown }[] };
}

// ---------------------------------------------------------------- command line

async function main() {
  const path = await import("node:path");
  const { mkdtempSync, rmSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const { loadDefinition } = await import("../../functions/definition-files.ts");
  const { startDevEnvironment } = await import("../../functions/dev-environment.ts");
  const { keys } = await import("../../functions/store/keys.ts");
  const { memoryMacKey } = await import("../../functions/store/mac-key.ts");
  const { buildCasebookPlan } = await import("./seed-study.ts");
  const { ROOT } = await import("./checkout-at.ts");
  const arg = (name: string, fallback: string) =>
    process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ??
    (process.argv.includes(`--${name}`) ? "true" : fallback);
  const subjects = Number(arg("subjects", "1000"));
  const inFlight = Number(arg("in-flight", "16"));
  // direct: straight into LevelDB (on disk only); batch: BatchWriteItem through dynalite.
  const mode = arg("mode", "direct");
  const store = mode === "direct" ? "disk" : arg("store", "memory");
  const dir = store === "disk" ? mkdtempSync(path.join(tmpdir(), "edc-seed-fast-")) : undefined;
  const macKey = memoryMacKey();
  const start = () => startDevEnvironment(dir ? { dataDir: dir, macKey } : { macKey });
  let env = await start();
  try {
    const pointer = await env.store.db.doc.send(
      new GetCommand({
        TableName: env.tableName,
        Key: { PK: keys.study(env.studyId), SK: keys.currentDefinition },
      }),
    );
    const definition = await loadDefinition(path.join(ROOT, "forms"));
    const plan = buildCasebookPlan(definition, {
      definitionVersion: Number(pointer.Item?.version ?? 1),
      maxSubjects: subjects,
    });
    const onProgress = (n: number) => {
      if (n % 1000 === 0) process.stderr.write(`  ${n} subjects\n`);
    };
    let out: SeedResult;
    if (mode === "direct" && dir) {
      const { tableName } = env;
      await env.close();
      out = await seedDirect(path.join(dir, "dynamo"), tableName, plan, macKey, {
        from: 0,
        to: subjects,
        onProgress,
      });
      env = await start();
    } else {
      out = await seedFast(env.store.db.doc, env.tableName, plan, macKey, {
        from: 0,
        to: subjects,
        inFlight,
        onProgress,
      });
    }
    const s = out.ms / 1000;
    console.log(
      `seeded ${out.subjects} subjects (${out.items} items, ${plan.instancesPerSubject} sealed revisions each) ` +
        `${mode === "direct" ? "straight into LevelDB" : `with BatchWriteItem (${inFlight} in flight) into dynalite ${store === "disk" ? "on disk" : "in memory"}`} ` +
        `in ${s.toFixed(1)} s: ${Math.round(out.subjects / s)} subjects/s, ${Math.round(out.items / s)} items/s`,
    );
    if (arg("verify", "false") === "true") {
      const started = performance.now();
      const report = await env.store.verifyAudit(env.studyId);
      console.log(
        `verifyAudit: ${report.counts.subjects} subjects, ${report.counts.chains} chains, ${report.counts.entries} entries, ` +
          `${report.counts.unchained} unchained, ${report.findings.length} findings in ${((performance.now() - started) / 1000).toFixed(1)} s`,
      );
      if (report.findings.length > 0 || report.counts.unchained > 0) process.exitCode = 1;
    }
  } finally {
    await env.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
