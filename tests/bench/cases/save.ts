import path from "node:path";
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { type DevEnvironment, startDevEnvironment } from "../../../functions/dev-environment.ts";
import { keys } from "../../../functions/store/keys.ts";
import { type App, checkoutAt } from "../checkout-at.ts";
import type { Pair, Side } from "../pairs.ts";

/**
 * A save through the whole HTTP app (key, zod, engine, store: its reads, the
 * commit, the projection) against the floor: one raw conditional PutItem of
 * the same revision item on the same dynalite. Also today's save against the
 * save at BEFORE (the commit before the save work), on the same table.
 */

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

/** The commit the speed work started from (issue 15). */
export const BEFORE = "b3db3c7";
/** Saves per timed run: one save is ~1–5 ms, too short to time alone on a loaded machine. */
const BATCH = 20;

/** An EDSS whose values alternate with the revision, so every save changes something. */
export const edss = (rev: number) => ({
  assessment_date: "2024-01-10",
  assessor_blinded: true,
  fs_visual: rev % 2,
  fs_pyramidal: 2,
  edss_total: rev % 2 === 0 ? 3.5 : 4,
});

/** Saves of one EDSS, `BATCH` per run, each from the revision the last one made. */
export async function saveSide(name: string, env: DevEnvironment, app: App): Promise<Side> {
  const token = env.tokens["site-01"]?.token;
  const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  const enrol = await app.request(`/api/v1/studies/${env.studyId}/subjects`, {
    method: "POST",
    headers,
    body: JSON.stringify({ site: "site-01", arm: "rrms" }),
  });
  const subject = ((await enrol.json()) as { id: string }).id;
  const url = `/api/v1/studies/${env.studyId}/subjects/${subject}/events/screening/forms/edss`;
  let rev = 0;
  return {
    name,
    async run() {
      for (let i = 0; i < BATCH; i++) {
        const res = await app.request(url, {
          method: "PUT",
          headers,
          body: JSON.stringify({ data: edss(rev), status: "incomplete", rev }),
        });
        if (res.status !== 200) throw new Error(`${name}: ${res.status} ${await res.text()}`);
        rev += 1;
      }
      return BATCH;
    },
  };
}

/** The revision item a save of the bench's EDSS writes, for the raw sides to put themselves. */
export function revisionItem(env: DevEnvironment, subject: string, rev: number) {
  const committedAt = new Date().toISOString();
  return {
    PK: keys.subjectPartition(env.studyId, subject),
    SK: keys.revision("screening", "edss", 1, rev),
    type: "revision",
    study: env.studyId,
    subject,
    site: "site-01",
    event: "screening",
    form: "edss",
    instance: 1,
    rev,
    status: "incomplete",
    statusFrom: "incomplete",
    data: edss(rev),
    changes: [{ field: "edss_total", old: 3.5, new: 4 }],
    definitionVersion: 1,
    committedAt,
    committedBy: "dev-site-01",
    GSI2PK: keys.feed(env.studyId),
    GSI2SK: `${committedAt}#${subject}`,
  };
}

function rawPutSide(env: DevEnvironment): Side {
  let rev = 0;
  return {
    name: "raw conditional PutItem",
    async run() {
      for (let i = 0; i < BATCH; i++) {
        rev += 1;
        await env.store.db.doc.send(
          new PutCommand({
            TableName: env.tableName,
            Item: revisionItem(env, "raw", rev),
            ConditionExpression: "attribute_not_exists(PK)",
          }),
        );
      }
      return BATCH;
    },
  };
}

/** The app at `root` (a checkout) on the same table, with the same MAC key. */
async function appAt(root: string, env: DevEnvironment): Promise<App> {
  const { createStore } = await import(path.join(root, "functions/store/store.ts"));
  const { createApp } = await import(path.join(root, "functions/app.ts"));
  return createApp(
    createStore({ tableName: env.tableName, doc: env.store.db.doc, macKey: env.store.macKey }),
    { sessionSecret: "bench-secret-bench-secret-bench-00" },
  );
}

export default async function pairs(): Promise<Pair[]> {
  const env = await startDevEnvironment();
  const before = await appAt(checkoutAt(BEFORE), env);
  const now = await saveSide("save through the HTTP app", env, env.app);
  const then = await saveSide(`save at ${BEFORE}`, env, before);
  const raw = rawPutSide(env);
  let open = 3;
  // The three pairs share one dynalite: the last to finish closes it.
  const teardown = async () => {
    open -= 1;
    if (open === 0) await env.close();
  };
  return [
    { name: "save vs raw PutItem", target: "≤ 2.5×", baseline: raw, subject: now, teardown },
    { name: `save at ${BEFORE} vs raw PutItem`, baseline: raw, subject: then, teardown },
    { name: `save now vs at ${BEFORE}`, target: "< 1×", baseline: then, subject: now, teardown },
  ];
}
