import { gzipSync } from "node:zlib";
import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import { keys } from "../../../functions/store/keys.ts";
import { appAt, checkoutAt, ROOT, signIn } from "../checkout-at.ts";
import type { Pair } from "../pairs.ts";
import { seededStudy } from "./export.ts";

/**
 * The dashboard's first page (a monitor: every site) at 60, 500 and 5,000
 * subjects: against a raw Query of 50 summary items on the same store, and
 * against the dashboard of b3db3c7 (one casebook Query per subject, cached
 * per process) where that finishes in reasonable time (≤ 500 subjects unless
 * DASHBOARD_BEFORE_MAX says otherwise). Store reads and HTML bytes per
 * subject are printed by `sizes` (the bench runner's size figures).
 *
 * Each scale is its own study on disk, seeded once with sealed casebooks
 * (tests/bench/seed-fast.ts, through the export case's `seededStudy`) and
 * kept under tests/artifacts/bench-data/dashboard-<n>-…, a smaller one copied
 * into a larger: 5,000 subjects are ~1 M items.
 */

const BEFORE = "b3db3c7";
const SCALES = (process.env.DASHBOARD_SCALES ?? "60,500,5000").split(",").map(Number);
const BEFORE_MAX = Number(process.env.DASHBOARD_BEFORE_MAX ?? 500);

let beforeDir: string | undefined;

/** One scale's study: the apps now and at b3db3c7 over its table, signed in as the monitor. */
async function bench(scale: number) {
  const seeded = await seededStudy(scale, { name: "dashboard", sizes: SCALES });
  const { env } = seeded;
  const { doc } = env.store.db;
  const tableName = env.tableName;
  let reads = 0;
  const counted = {
    send: ((command: { constructor: { name: string } }) => {
      if (/^(Get|Query|Scan|BatchGet)Command$/.test(command.constructor.name)) reads += 1;
      return doc.send(command as never);
    }) as typeof doc.send,
  };
  const withBefore = scale <= BEFORE_MAX;
  beforeDir ??= withBefore ? checkoutAt(BEFORE) : undefined;
  const apps = {
    after: await appAt(ROOT, counted, tableName),
    before: withBefore && beforeDir ? await appAt(beforeDir, doc, tableName) : undefined,
  };
  const cookies = {
    after: await signIn(apps.after, seeded.token),
    before: apps.before ? await signIn(apps.before, seeded.token) : "",
  };
  const url = `/studies/${env.studyId}`;
  const load = async (side: "before" | "after") => {
    const app = apps[side];
    if (!app) throw new Error(`no ${side} app at ${scale} subjects`);
    const res = await app.request(url, { headers: { cookie: cookies[side] } });
    const html = await res.text();
    if (res.status !== 200) throw new Error(`${side}: ${res.status}`);
    return html;
  };
  return {
    scale,
    subjects: seeded.subjects,
    load,
    rawQuery: () =>
      doc.send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: "PK = :pk",
          ExpressionAttributeValues: { ":pk": keys.summaries(env.studyId) },
          Limit: 50,
        }),
      ),
    /** Store reads, HTML bytes (raw and gzip) per subject listed, for one load of the side's first page. */
    figures: async (side: "before" | "after") => {
      // A warm process, as the pairs measure it: the session, definition and token lookups are cached then.
      await load(side);
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
    close: () => env.close(),
  };
}

/** The study of the scale asked for; the previous one is closed first (one dynalite at a time). */
let shared: Awaited<ReturnType<typeof bench>> | undefined;
const ready = async (scale: number) => {
  if (shared?.scale !== scale) {
    await shared?.close();
    shared = undefined;
    shared = await bench(scale);
  }
  return shared;
};

/** Non-timing figures: per scale, store reads and bytes per subject of the first page, before and after. */
export async function sizes() {
  const out = [];
  for (const scale of SCALES) {
    const b = await ready(scale);
    out.push({ scale: b.subjects, ...(await b.figures("after")) });
    if (scale <= BEFORE_MAX) out.push({ scale: b.subjects, ...(await b.figures("before")) });
  }
  return out;
}

export default async function pairs(): Promise<Pair[]> {
  return SCALES.flatMap((scale): Pair[] => [
    {
      name: `dashboard first page, ${scale} subjects, vs a raw Query of 50 summaries`,
      target: "≤ 2 store reads",
      setup: async () => void (await ready(scale)),
      baseline: {
        name: "raw Query, 50 items",
        run: async () => void (await (await ready(scale)).rawQuery()),
      },
      subject: {
        name: "dashboard (after)",
        run: async () => void (await (await ready(scale)).load("after")),
      },
    },
    ...(scale <= BEFORE_MAX
      ? [
          {
            name: `dashboard first page, ${scale} subjects, ${BEFORE} vs now`,
            setup: async () => void (await ready(scale)),
            baseline: {
              name: `dashboard (${BEFORE})`,
              run: async () => void (await (await ready(scale)).load("before")),
            },
            subject: {
              name: "dashboard (after)",
              run: async () => void (await (await ready(scale)).load("after")),
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
