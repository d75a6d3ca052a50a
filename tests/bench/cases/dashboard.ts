import path from "node:path";
import { gzipSync } from "node:zlib";
import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import { loadDefinition } from "../../../functions/definition-files.ts";
import { storeDevKey } from "../../../functions/dev-environment.ts";
import { startDynalite } from "../../../functions/store/dynalite.ts";
import { createClients, ensureTable } from "../../../functions/store/dynamo.ts";
import { keys } from "../../../functions/store/keys.ts";
import { memoryMacKey } from "../../../functions/store/mac-key.ts";
import { ALL_SITES } from "../../../functions/store/principal.ts";
import { createStore } from "../../../functions/store/store.ts";
import { newToken } from "../../../functions/store/tokens.ts";
import { appAt, checkoutAt, ROOT, signIn } from "../checkout-at.ts";
import type { Pair } from "../pairs.ts";
import { buildCasebookPlan, seedSubjects } from "../seed-study.ts";

/**
 * The dashboard's first page (a monitor: every site) at 60, 500 and 5,000
 * subjects: against a raw Query of 50 summary items on the same store, and
 * against the dashboard of b3db3c7 (one casebook Query per subject, cached
 * per process) where that finishes in reasonable time (≤ 500 subjects unless
 * DASHBOARD_BEFORE_MAX says otherwise). Store reads and HTML bytes per
 * subject are printed by `sizes` (the bench runner's size figures).
 */

const BEFORE = "b3db3c7";
const SCALES = (process.env.DASHBOARD_SCALES ?? "60,500,5000").split(",").map(Number);
const BEFORE_MAX = Number(process.env.DASHBOARD_BEFORE_MAX ?? 500);

/** One study in one dynalite, seeded up to the largest scale as the pairs ask for it. */
async function bench() {
  const dynamo = await startDynalite();
  const { client, doc } = createClients({ endpoint: dynamo.endpoint });
  const tableName = "edc-bench";
  await ensureTable(client, tableName);
  let reads = 0;
  const counted = {
    send: ((command: { constructor: { name: string } }) => {
      if (/^(Get|Query|Scan|BatchGet)Command$/.test(command.constructor.name)) reads += 1;
      return doc.send(command as never);
    }) as typeof doc.send,
  };
  const definition = await loadDefinition(path.join(ROOT, "forms"));
  const store = createStore({ tableName, doc, macKey: memoryMacKey() });
  const published = await store.publish({ definition, actor: "bench", reason: "bench" });
  if (published.kind !== "published") throw new Error(`publish: ${published.kind}`);
  const token = newToken();
  await storeDevKey(store, token, {
    user: "bench-monitor",
    role: "monitor",
    study: definition.study.id,
    sites: [ALL_SITES],
  });
  const beforeDir = checkoutAt(BEFORE);
  const apps = {
    after: await appAt(ROOT, counted, tableName),
    before: await appAt(beforeDir, doc, tableName),
  };
  const cookies = { after: await signIn(apps.after, token), before: await signIn(apps.before, token) };
  const plan = buildCasebookPlan(definition, {
    definitionVersion: published.version,
    maxSubjects: Math.max(...SCALES),
  });
  let seeded = 0;
  const url = `/studies/${definition.study.id}`;
  const load = async (side: "before" | "after") => {
    const res = await apps[side].request(url, { headers: { cookie: cookies[side] } });
    const html = await res.text();
    if (res.status !== 200) throw new Error(`${side}: ${res.status}`);
    return html;
  };
  return {
    seedTo: async (n: number) => {
      if (n > seeded) await seedSubjects(doc, tableName, plan, { from: seeded, to: n });
      seeded = Math.max(seeded, n);
    },
    load,
    rawQuery: () =>
      doc.send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: "PK = :pk",
          ExpressionAttributeValues: { ":pk": keys.summaries(definition.study.id) },
          Limit: 50,
        }),
      ),
    /** Store reads, HTML bytes (raw and gzip) per subject listed, for one load of the side's first page. */
    figures: async (side: "before" | "after") => {
      const start = reads;
      const html = await load(side);
      const rows = html.split("data-subject=").length - 1;
      return {
        side,
        reads: side === "after" ? reads - start : undefined,
        rows,
        rawBytesPerSubject: Math.round(Buffer.byteLength(html) / rows),
        gzipBytesPerSubject: Math.round(gzipSync(html).length / rows),
      };
    },
    close: async () => {
      client.destroy();
      await dynamo.close();
    },
  };
}

let shared: Awaited<ReturnType<typeof bench>> | undefined;
const ready = async () => {
  shared ??= await bench();
  return shared;
};

/** Non-timing figures: per scale, store reads and bytes per subject of the first page, before and after. */
export async function sizes() {
  const b = await ready();
  const out = [];
  for (const scale of SCALES) {
    await b.seedTo(scale);
    out.push({ scale, ...(await b.figures("after")) });
    if (scale <= BEFORE_MAX) out.push({ scale, ...(await b.figures("before")) });
  }
  return out;
}

export default async function pairs(): Promise<Pair[]> {
  return SCALES.flatMap((scale): Pair[] => [
    {
      name: `dashboard first page, ${scale} subjects, vs a raw Query of 50 summaries`,
      target: "≤ 2 store reads",
      setup: async () => (await ready()).seedTo(scale),
      baseline: { name: "raw Query, 50 items", run: async () => void (await (await ready()).rawQuery()) },
      subject: { name: "dashboard (after)", run: async () => void (await (await ready()).load("after")) },
    },
    ...(scale <= BEFORE_MAX
      ? [
          {
            name: `dashboard first page, ${scale} subjects, ${BEFORE} vs now`,
            setup: async () => (await ready()).seedTo(scale),
            baseline: {
              name: `dashboard (${BEFORE})`,
              run: async () => void (await (await ready()).load("before")),
            },
            subject: {
              name: "dashboard (after)",
              run: async () => void (await (await ready()).load("after")),
            },
          } satisfies Pair,
        ]
      : []),
  ]);
}

/** Closes the shared dynalite (the runner calls it after the last pair, if it looks for one). */
export async function close() {
  await shared?.close();
  shared = undefined;
}
