import { BatchGetCommand, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { type DevEnvironment, startDevEnvironment } from "../../../functions/dev-environment.ts";
import { keys } from "../../../functions/store/keys.ts";
import { type App, appAt, checkoutAt } from "../checkout-at.ts";
import type { Pair, Side } from "../pairs.ts";
import { edss, revisionItem, saveSide } from "./save.ts";

/**
 * What a save cannot go below, against one raw conditional PutItem on the
 * same dynalite: (a) the store calls a correct save needs and nothing else —
 * one read (the chain head and the lock states), the conditional commit, then
 * the projection and the summary at once — with no HTTP, validation or
 * hashing; (b) a request through the same app stack (body limit, compression,
 * security headers, key, zod, resolution) that is refused before any store
 * call. Then the real save against the same PutItem, now and at SESSION (this
 * session's starting commit), and the two saves against each other.
 */

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

/** Where this session's save work started (issue 15, second pass). */
export const SESSION = "d56b89b";
const BATCH = 20;

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

/**
 * The store calls of one save of `subject`'s EDSS at `rev` and nothing else:
 * read (the instance and the lock states), the conditional commit, then the
 * projection and the summary at once. The summary item must exist (`rawSummary`).
 */
export async function rawSave(env: DevEnvironment, subject: string, rev: number): Promise<void> {
  const pk = keys.subjectPartition(env.studyId, subject);
  await env.store.db.doc.send(
    new BatchGetCommand({
      RequestItems: {
        [env.tableName]: {
          Keys: [
            { PK: pk, SK: keys.data("screening", "edss", 1) },
            { PK: pk, SK: keys.lockState },
            { PK: keys.study(env.studyId), SK: keys.lockState },
          ],
          ConsistentRead: true,
        },
      },
    }),
  );
  const item = revisionItem(env, subject, rev);
  await env.store.db.doc.send(
    new PutCommand({
      TableName: env.tableName,
      Item: item,
      ConditionExpression: "attribute_not_exists(PK)",
    }),
  );
  await Promise.all([
    env.store.db.doc.send(
      new PutCommand({
        TableName: env.tableName,
        Item: { ...item, SK: keys.data("screening", "edss", 1), type: "current" },
        ConditionExpression: "attribute_not_exists(PK) OR rev < :rev",
        ExpressionAttributeValues: { ":rev": rev },
      }),
    ),
    env.store.db.doc.send(
      new UpdateCommand({
        TableName: env.tableName,
        Key: summaryKey(env, subject),
        UpdateExpression: "SET #i = :v",
        ConditionExpression: "attribute_exists(PK) AND (attribute_not_exists(#i) OR #i.#rev < :rev)",
        ExpressionAttributeNames: { "#i": keys.data("screening", "edss", 1), "#rev": "rev" },
        ExpressionAttributeValues: { ":v": { rev, s: "incomplete", d: {} }, ":rev": rev },
      }),
    ),
  ]);
}

const summaryKey = (env: DevEnvironment, subject: string) => ({
  PK: keys.summaries(env.studyId),
  SK: keys.summary("site-01", subject),
});

/** The summary item `rawSave` updates, as enrolment makes it. */
export async function rawSummary(env: DevEnvironment, subject: string): Promise<void> {
  await env.store.db.doc.send(
    new PutCommand({ TableName: env.tableName, Item: { ...summaryKey(env, subject), type: "summary" } }),
  );
}

function rawSequenceSide(env: DevEnvironment): Side {
  const subject = "raw-sequence";
  let rev = 0;
  return {
    name: "raw read, conditional put, put ∥ update",
    async run() {
      if (rev === 0) await rawSummary(env, subject);
      for (let i = 0; i < BATCH; i++) await rawSave(env, subject, ++rev);
      return BATCH;
    },
  };
}

/** A request the app refuses before its first store call (an unknown event): the stack's own cost. */
function refusedRequestSide(env: DevEnvironment, subject: string): Side {
  const token = env.tokens["site-01"]?.token;
  const headers = { authorization: `Bearer ${token}`, "content-type": "application/json" };
  const url = `/api/v1/studies/${env.studyId}/subjects/${subject}/events/no-such-event/forms/edss`;
  return {
    name: "request refused before any store call",
    async run() {
      for (let i = 0; i < BATCH; i++) {
        const res = await env.app.request(url, {
          method: "PUT",
          headers,
          body: JSON.stringify({ data: edss(i), status: "incomplete", rev: 0 }),
        });
        if (res.status !== 404) throw new Error(`refused request: ${res.status} ${await res.text()}`);
      }
      return BATCH;
    },
  };
}

async function enrol(env: DevEnvironment, app: App): Promise<string> {
  const res = await app.request(`/api/v1/studies/${env.studyId}/subjects`, {
    method: "POST",
    headers: { authorization: `Bearer ${env.tokens["site-01"]?.token}`, "content-type": "application/json" },
    body: JSON.stringify({ site: "site-01", arm: "rrms" }),
  });
  return ((await res.json()) as { id: string }).id;
}

export default async function pairs(): Promise<Pair[]> {
  const env = await startDevEnvironment();
  // The commit's app over the same table; its MAC key differs, which only its own chains see.
  const then = await saveSide(
    `save at ${SESSION}`,
    env,
    await appAt(checkoutAt(SESSION), env.store.db.doc, env.tableName),
  );
  const now = await saveSide("save through the HTTP app", env, env.app);
  const raw = rawPutSide(env);
  const pairs: Pair[] = [
    { name: "raw save sequence vs raw PutItem", baseline: raw, subject: rawSequenceSide(env) },
    {
      name: "refused request vs raw PutItem",
      baseline: raw,
      subject: refusedRequestSide(env, await enrol(env, env.app)),
    },
    { name: "save vs raw PutItem", target: "≤ 2.5×", baseline: raw, subject: now },
    { name: `save at ${SESSION} vs raw PutItem`, baseline: raw, subject: then },
    { name: `save now vs at ${SESSION}`, target: "< 1×", baseline: then, subject: now },
  ];
  let open = pairs.length;
  // The pairs share one dynalite: the last to finish closes it.
  const teardown = async () => {
    open -= 1;
    if (open === 0) await env.close();
  };
  return pairs.map((p) => ({ ...p, teardown }));
}
