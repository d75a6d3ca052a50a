import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { GetCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { marshall } from "@aws-sdk/util-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadDefinition } from "../../functions/definition-files.ts";
import { type DevEnvironment, startDevEnvironment } from "../../functions/dev-environment.ts";
import { keys } from "../../functions/store/keys.ts";
import { memoryMacKey } from "../../functions/store/mac-key.ts";
import { TABLE } from "../../functions/store/table-shape.ts";
import { sealedCasebookItems, seedDirect, seedFast, toAttributeMap } from "../bench/seed-fast.ts";
import { buildCasebookPlan, type CasebookPlan, subjectOf } from "../bench/seed-study.ts";

/**
 * The benches' seeder (tests/bench/seed-fast.ts) on a few subjects: what it
 * writes straight into LevelDB must read back exactly as what BatchWriteItem
 * puts, through the table and both indexes, and pass the audit verification
 * like casebooks saved through the API.
 */

const SUBJECTS = 3;
const macKey = memoryMacKey();
let dir: string;
let direct: DevEnvironment;
let batched: DevEnvironment;
let plan: CasebookPlan;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), "edc-seed-fast-test-"));
  const definition = await loadDefinition("forms");
  const first = await startDevEnvironment({ dataDir: dir, macKey });
  plan = buildCasebookPlan(definition, { definitionVersion: 1, maxSubjects: SUBJECTS });
  const { tableName } = first;
  await first.close();
  await seedDirect(path.join(dir, "dynamo"), tableName, plan, macKey, { from: 0, to: SUBJECTS });
  direct = await startDevEnvironment({ dataDir: dir, macKey });
  batched = await startDevEnvironment({ macKey });
  await seedFast(batched.store.db.doc, batched.tableName, plan, macKey, { from: 0, to: SUBJECTS });
}, 120_000);

afterAll(async () => {
  await direct?.close();
  await batched?.close();
  rmSync(dir, { recursive: true, force: true });
});

const partition = (env: DevEnvironment, pk: string) =>
  env.store.db.doc.send(
    new QueryCommand({
      TableName: env.tableName,
      KeyConditionExpression: "PK = :pk",
      ExpressionAttributeValues: { ":pk": pk },
    }),
  );

describe("seed-fast", () => {
  it("marshals items exactly as the DocumentClient does", async () => {
    for (let n = 0; n < SUBJECTS; n++) {
      for (const item of await sealedCasebookItems(plan, n, macKey)) {
        expect(toAttributeMap(item)).toEqual(marshall(item, { removeUndefinedValues: true }));
      }
    }
  });

  it("writes straight into LevelDB what BatchWriteItem writes", async () => {
    for (let n = 0; n < SUBJECTS; n++) {
      const pk = keys.subjectPartition(plan.study, subjectOf(plan, n).id);
      const [a, b] = await Promise.all([partition(direct, pk), partition(batched, pk)]);
      expect(a.Items?.length).toBe(plan.itemsPerSubject);
      expect(a.Items).toEqual(b.Items);
    }
    const summaries = keys.summaries(plan.study);
    const [a, b] = await Promise.all([partition(direct, summaries), partition(batched, summaries)]);
    expect(a.Items?.length).toBe(SUBJECTS);
    expect(a.Items).toEqual(b.Items);
  });

  it("fills both indexes: subjects by site, revisions in the feed", async () => {
    const site = subjectOf(plan, 0).site;
    const bySite = await direct.store.db.doc.send(
      new QueryCommand({
        TableName: direct.tableName,
        IndexName: TABLE.indexes.bySite.name,
        KeyConditionExpression: "#pk = :pk",
        ExpressionAttributeNames: { "#pk": TABLE.indexes.bySite.partitionKey },
        ExpressionAttributeValues: { ":pk": keys.siteIndex(plan.study, site) },
      }),
    );
    const atSite = Array.from({ length: SUBJECTS }, (_, n) => subjectOf(plan, n)).filter(
      (s) => s.site === site,
    );
    expect(bySite.Items?.map((i) => i.id)).toEqual(atSite.map((s) => s.id));
    const feed = await direct.store.db.doc.send(
      new QueryCommand({
        TableName: direct.tableName,
        IndexName: TABLE.indexes.feed.name,
        KeyConditionExpression: "#pk = :pk",
        ExpressionAttributeNames: { "#pk": TABLE.indexes.feed.partitionKey },
        ExpressionAttributeValues: { ":pk": keys.feed(plan.study) },
      }),
    );
    expect(feed.Items?.length).toBe(SUBJECTS * plan.instancesPerSubject);
  });

  it("seals every revision so the audit verification finds every chain intact", async () => {
    const report = await direct.store.verifyAudit(plan.study);
    expect(report.findings).toEqual([]);
    expect(report.counts.subjects).toBe(SUBJECTS);
    expect(report.counts.unchained).toBe(0);
    expect(report.counts.chains).toBeGreaterThanOrEqual(SUBJECTS * plan.instancesPerSubject);
  });

  it("exports every row of the seeded casebooks", async () => {
    const token = direct.tokens.monitor?.token;
    const res = await direct.app.request(`/api/v1/studies/${plan.study}/records?format=csv`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(200);
    const lines = (await res.text()).trimEnd().split("\n");
    expect(lines.length - 1).toBe(SUBJECTS * plan.rowsPerSubject);
  });

  it("leaves the definition the environment published untouched", async () => {
    const { Item } = await direct.store.db.doc.send(
      new GetCommand({
        TableName: direct.tableName,
        Key: { PK: keys.study(plan.study), SK: keys.currentDefinition },
      }),
    );
    expect(Item?.version).toBe(plan.definitionVersion);
  });
});
