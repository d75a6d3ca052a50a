/**
 * What exact exports cost (issue 8, item 13): reading each subject's current
 * state from the projections alone (cheap, may trail a commit whose writer
 * died) against the reads that check them against the revision log.
 * `node --import tsx tests/bench/casebook-read-cost.ts [--subjects=200 --revisions=1,3 --runs=5]`.
 *
 * Seeds the reference casebook (97 form instances a subject, tests/bench/seed-study.ts) into an
 * in-memory dynalite, optionally with extra revisions per instance, then reads every subject's
 * casebook 4 in flight (as the export does) with each strategy, alternating, and prints medians.
 */
import { BatchWriteCommand } from "@aws-sdk/lib-dynamodb";
import { loadDefinition } from "../../functions/definition-files.ts";
import { startDynalite } from "../../functions/store/dynalite.ts";
import { createClients, type Db, ensureTable, queryAll } from "../../functions/store/dynamo.ts";
import { readCasebook, readCurrentState, readProjections } from "../../functions/store/form-instances.ts";
import { keys } from "../../functions/store/keys.ts";
import { buildCasebookPlan, casebookItems, subjectOf } from "./seed-study.ts";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
const arg = (name: string, fallback: string) =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? fallback;
const SUBJECTS = Number(arg("subjects", "200"));
const REVISIONS = arg("revisions", "1,3").split(",").map(Number);
const RUNS = Number(arg("runs", "5"));

const STRATEGIES: Record<string, (db: Db, study: string, subject: string) => Promise<unknown>> = {
  "projections only (before)": readProjections,
  "whole partition (readCasebook)": readCasebook,
  "projections + revision keys (readCurrentState)": readCurrentState,
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

async function readAll(db: Db, study: string, ids: string[], read: (typeof STRATEGIES)[string]) {
  let next = 0;
  const worker = async () => {
    while (next < ids.length) await read(db, study, ids[next++] as string);
  };
  const started = performance.now();
  await Promise.all([worker(), worker(), worker(), worker()]);
  return performance.now() - started;
}

const definition = await loadDefinition("forms");
for (const revisions of REVISIONS) {
  const dynamo = await startDynalite({});
  const { client, doc } = createClients({ endpoint: dynamo.endpoint });
  const tableName = "bench";
  await ensureTable(client, tableName);
  // Counts what each strategy receives (items, JSON bytes): the client's share of the cost.
  let received = { items: 0, bytes: 0 };
  const counting = {
    send: (async (command: never) => {
      const out = (await doc.send(command)) as { Items?: unknown[]; Item?: unknown };
      const items = out.Items ?? (out.Item ? [out.Item] : []);
      received.items += items.length;
      received.bytes += JSON.stringify(items).length;
      return out;
    }) as typeof doc.send,
  };
  const db: Db = { doc: counting, tableName };
  const plan = buildCasebookPlan(definition, { definitionVersion: 1, maxSubjects: SUBJECTS });
  const items: Record<string, unknown>[] = [];
  for (let n = 0; n < SUBJECTS; n++) {
    for (const item of casebookItems(plan, n)) {
      items.push(item);
      // Earlier revisions of the same instance (older numbers; the seeded one stays the latest).
      if (item.type === "revision")
        for (let r = 2; r <= revisions; r++) {
          const sk = String(item.SK).replace(/#000001$/, "#000000") + String(r - 1);
          const { GSI2PK: _p, GSI2SK: _s, ...rest } = item as Record<string, unknown>;
          items.push({ ...rest, SK: sk, rev: r - 1 });
        }
    }
  }
  for (let i = 0; i < items.length; i += 25 * 8) {
    await Promise.all(
      Array.from({ length: 8 }, (_, j) => items.slice(i + j * 25, i + (j + 1) * 25))
        .filter((b) => b.length > 0)
        .map((b) =>
          doc.send(
            new BatchWriteCommand({
              RequestItems: { [tableName]: b.map((Item) => ({ PutRequest: { Item } })) },
            }),
          ),
        ),
    );
  }
  const ids = Array.from({ length: SUBJECTS }, (_, n) => subjectOf(plan, n).id);
  const check = await queryAll(db, {
    KeyConditionExpression: "PK = :pk",
    ExpressionAttributeValues: { ":pk": keys.subjectPartition(plan.study, ids[0] as string) },
  });
  console.log(
    `\n${SUBJECTS} subjects, ${revisions} revision(s) per instance, ${check.length} items a subject`,
  );
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(STRATEGIES).map((k) => [k, []]));
  for (const [name, read] of Object.entries(STRATEGIES)) {
    received = { items: 0, bytes: 0 };
    await read(db, plan.study, ids[0] as string);
    console.log(
      `  ${name.padEnd(48)} receives ${received.items} items, ${(received.bytes / 1024).toFixed(0)} KB a subject`,
    );
  }
  await readAll(db, plan.study, ids.slice(0, 20), readProjections); // warm
  for (let run = 0; run < RUNS; run++) {
    for (const [name, read] of Object.entries(STRATEGIES))
      times[name]?.push(await readAll(db, plan.study, ids, read));
  }
  for (const [name, xs] of Object.entries(times))
    console.log(
      `  ${name.padEnd(48)} median ${median(xs).toFixed(0)} ms  (${xs.map((x) => x.toFixed(0)).join(", ")})`,
    );
  client.destroy();
  await dynamo.close();
}
