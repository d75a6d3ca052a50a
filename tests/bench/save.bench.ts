import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, bench, describe } from "vitest";
import { startDevEnvironment } from "../../functions/dev-environment.ts";
import { keys } from "../../functions/store/keys.ts";

/**
 * A save through the whole HTTP app (auth, zod, engine, store: two reads, the
 * commit, the projection) against the floor: one raw PutItem of the same
 * revision item on the same dynalite. The ratio is the price of the engine.
 */
const env = await startDevEnvironment();
afterAll(() => env.close());
const token = env.tokens["site-01"]?.token;
const enrol = await env.app.request(`/api/v1/studies/${env.studyId}/subjects`, {
  method: "POST",
  headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
  body: JSON.stringify({ site: "site-01", arm: "rrms" }),
});
const subject = ((await enrol.json()) as { id: string }).id;
const path = `/api/v1/studies/${env.studyId}/subjects/${subject}/events/screening/forms/edss`;

let appRev = 0;
let rawRev = 0;
const data = (rev: number) => ({
  assessment_date: "2024-01-10",
  assessor_blinded: true,
  fs_visual: rev % 2,
  fs_pyramidal: 2,
  edss_total: rev % 2 === 0 ? 3.5 : 4,
});

describe("save one EDSS form", () => {
  bench(
    "PUT through the whole HTTP app",
    async () => {
      const res = await env.app.request(path, {
        method: "PUT",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify({ data: data(appRev), status: "incomplete", rev: appRev }),
      });
      if (res.status !== 200) throw new Error(`save failed: ${res.status} ${await res.text()}`);
      appRev += 1;
    },
    { time: 3000 },
  );

  bench(
    "raw conditional PutItem of the same revision item",
    async () => {
      rawRev += 1;
      await env.store.db.doc.send(
        new PutCommand({
          TableName: env.tableName,
          Item: {
            PK: keys.subjectPartition(env.studyId, "raw"),
            SK: keys.revision("screening", "edss", 1, rawRev),
            type: "revision",
            study: env.studyId,
            subject: "raw",
            site: "site-01",
            event: "screening",
            form: "edss",
            instance: 1,
            rev: rawRev,
            status: "incomplete",
            statusFrom: "incomplete",
            data: data(rawRev),
            changes: [{ field: "edss_total", old: 3.5, new: 4 }],
            definitionVersion: 1,
            committedAt: new Date().toISOString(),
            committedBy: "dev-site-01",
            GSI2PK: keys.feed(env.studyId),
            GSI2SK: `${new Date().toISOString()}#raw`,
          },
          ConditionExpression: "attribute_not_exists(PK)",
        }),
      );
    },
    { time: 3000 },
  );
});
