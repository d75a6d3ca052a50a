import { execFile } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { DeleteCommand, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevEnvironment } from "../../functions/dev-environment.ts";
import { entryHash, headMessage } from "../../functions/engine/audit-chain.ts";
import {
  type ChainedRevision,
  instanceChainId,
  revisionContent,
} from "../../functions/engine/revision-chain.ts";
import { keys } from "../../functions/store/keys.ts";
import { fileMacKey, memoryMacKey } from "../../functions/store/mac-key.ts";
import {
  appendReview,
  type ReviewRequest,
  readReviewLog,
  reviewChainId,
  reviewContent,
} from "../../functions/store/review-log.ts";
import { createStore } from "../../functions/store/store.ts";
import { type AuditFinding, isInstanceFinding, isReviewFinding } from "../../functions/store/verify-audit.ts";
import { BASE, Product } from "./harness.ts";

/**
 * Someone with write access to the table, and none to the MAC key, rewrites
 * history through the SDK directly. Each change must be reported at the
 * subject, form and revision (or access-log seq) it touched, and nowhere else.
 */

const run = promisify(execFile);
const root = path.join(import.meta.dirname, "../..");
const keyFile = path.join(mkdtempSync(path.join(tmpdir(), "audit-tamper-")), "audit-mac.key");

let product: Product;
let study: string;
beforeAll(async () => {
  product = new Product(
    await startDevEnvironment({ feedSettleMs: 0, macKey: fileMacKey(keyFile, { create: true }) }),
  );
  study = product.env.studyId;
});
afterAll(() => product.close());

async function auditVerifyCli() {
  return run(
    process.execPath,
    [
      "--import",
      "tsx",
      path.join(root, "functions/cli/audit-verify.ts"),
      "--endpoint",
      product.env.endpoint,
      "--table",
      product.env.tableName,
    ],
    { cwd: root, env: { ...process.env, AUDIT_MAC_KEY_FILE: keyFile, AUDIT_MAC_KEY_ID: "" } },
  ).then(
    (r) => ({ code: 0, stdout: r.stdout }),
    (e: { code: number; stdout: string }) => ({ code: e.code, stdout: e.stdout }),
  );
}

/** A subject whose vital signs were saved `revisions` times. */
async function subjectWithRevisions(revisions = 3): Promise<string> {
  const subject = await product.enrol();
  for (let rev = 0; rev < revisions; rev++) {
    const res = await product.save(subject, "screening", "vital_signs", {
      data: { heart_rate: 70 + rev },
      rev,
    });
    if (res.status !== 200) throw new Error(`save: ${JSON.stringify(res.body)}`);
  }
  return subject;
}

const db = () => product.env.store.db;
const revisionKey = (subject: string, rev: number) => ({
  PK: keys.subjectPartition(study, subject),
  SK: keys.revision("screening", "vital_signs", 1, rev),
});
const projectionKey = (subject: string) => ({
  PK: keys.subjectPartition(study, subject),
  SK: keys.data("screening", "vital_signs", 1),
});

async function get(key: Record<string, string>): Promise<Record<string, unknown>> {
  const { Item } = await db().doc.send(new GetCommand({ TableName: db().tableName, Key: key }));
  if (!Item) throw new Error(`no item ${key.SK}`);
  return Item;
}
const put = (item: Record<string, unknown>) =>
  db().doc.send(new PutCommand({ TableName: db().tableName, Item: item }));
const remove = (key: Record<string, string>) =>
  db().doc.send(new DeleteCommand({ TableName: db().tableName, Key: key }));

/** What verification says about one subject: kind and rev of each finding, in rev order. */
async function findingsOf(subject: string): Promise<{ kind: string; rev: number; form: string }[]> {
  const { findings } = await product.env.store.verifyAudit(study);
  return findings
    .filter(isInstanceFinding)
    .filter((f) => f.chain.subject === subject)
    .map((f) => ({ kind: f.kind, rev: f.rev, form: f.chain.form }));
}

async function accessLogFindings(): Promise<{ kind: string; seq: number }[]> {
  const { findings } = await product.env.store.verifyAudit(study);
  return findings
    .flatMap((f): Extract<AuditFinding, { seq: number }>[] => (f.chain === "access-log" ? [f] : []))
    .map((f) => ({ kind: f.kind, seq: f.seq }));
}

const at = (kind: string, rev: number) => ({ kind, rev, form: "vital_signs" });

describe("an untouched store", () => {
  it("verifies clean, and audit:verify exits 0", async () => {
    await subjectWithRevisions(3);
    await product.env.store.appendAccessLog(study, { actor: "dev-monitor", action: "export", details: {} });
    const report = await product.env.store.verifyAudit(study);
    expect(report.findings).toEqual([]);
    // The access log also holds the dev keys' creation and each key's first use of the day.
    const log = (await product.env.store.readAccessLog(study, { limit: 1000 })).entries;
    expect(log.filter((e) => e.action === "export")).toHaveLength(1);
    expect(report.counts).toMatchObject({ chains: 2, entries: 3 + log.length, unchained: 0 });
    const cli = await auditVerifyCli();
    expect(cli.code, cli.stdout).toBe(0);
    expect(cli.stdout).toContain("every chain verifies");
    const api = await product.call("GET", `${BASE}/audit/verify`, { as: "monitor" });
    expect(api.status).toBe(200);
    expect(api.body).toMatchObject({ verified: true, findings: [], counts: { unchained: 0 } });
  });
});

describe("a writer that died between its commit and its projection", () => {
  it("leaves a projection behind the last revision, which is not reported: that revision's own MAC speaks for it", async () => {
    const subject = await subjectWithRevisions(2);
    const { doc, tableName } = db();
    let calls = 0;
    // Reads, the commit, then the process dies before the projection's put.
    const dying = {
      send: ((command: Parameters<typeof doc.send>[0]) => {
        calls += 1;
        if (command instanceof PutCommand && String(command.input.Item?.SK).startsWith("DATA#"))
          return Promise.reject(new Error("process died"));
        return doc.send(command as never);
      }) as typeof doc.send,
    };
    const store = createStore({ tableName, doc: dying, macKey: product.env.store.macKey });
    const definition = await product.env.store.definitions.current(study);
    const sub = await product.env.store.getSubject(study, subject);
    if (!definition || !sub) throw new Error("setup");
    await expect(
      store.saveFormInstance({
        definition,
        subject: sub,
        event: "screening",
        form: "vital_signs",
        instance: 1,
        data: { heart_rate: 99 },
        status: "incomplete",
        rev: 2,
        actor: "dev-site-01",
      }),
    ).rejects.toThrow("process died");
    expect(calls).toBeGreaterThanOrEqual(3);
    expect((await get(projectionKey(subject))).rev).toBe(2);
    expect((await get(revisionKey(subject, 3))).rev).toBe(3);
    expect(await findingsOf(subject)).toEqual([]);
  });
});

describe("a revision rewritten in the table", () => {
  it("reports a value edited in place", async () => {
    const subject = await subjectWithRevisions();
    const item = await get(revisionKey(subject, 2));
    await put({ ...item, data: { heart_rate: 120 } });
    expect(await findingsOf(subject)).toEqual([at("edited", 2)]);
  });

  it("reports a changed author", async () => {
    const subject = await subjectWithRevisions();
    const item = await get(revisionKey(subject, 2));
    await put({ ...item, committedBy: "dev-monitor" });
    expect(await findingsOf(subject)).toEqual([at("edited", 2)]);
  });

  it("reports a changed time", async () => {
    const subject = await subjectWithRevisions();
    const item = await get(revisionKey(subject, 1));
    await put({ ...item, committedAt: "2020-01-01T00:00:00.000Z" });
    expect(await findingsOf(subject)).toEqual([at("edited", 1)]);
  });

  it("reports an edit whose writer recomputed the hash: the MAC does not follow, nor does the next link", async () => {
    const subject = await subjectWithRevisions();
    const item = await get(revisionKey(subject, 2));
    const edited = { ...item, data: { heart_rate: 120 } };
    const hash = entryHash(String(item.previousHash), revisionContent(edited as unknown as ChainedRevision));
    await put({ ...edited, hash });
    expect(await findingsOf(subject)).toEqual([at("forged", 2), at("replaced", 2)]);
  });

  it("reports the latest revision deleted, though the current state reverted with it", async () => {
    const subject = await subjectWithRevisions();
    await remove(revisionKey(subject, 3));
    expect(await findingsOf(subject)).toEqual([at("truncated", 3)]);
  });

  it("reports a middle revision deleted", async () => {
    const subject = await subjectWithRevisions();
    await remove(revisionKey(subject, 2));
    expect(await findingsOf(subject)).toEqual([at("deleted", 2)]);
  });

  it("reports a forged revision by a read-only monitor, chained and hashed, moved into the current state", async () => {
    const subject = await subjectWithRevisions();
    const last = await get(revisionKey(subject, 3));
    const forged = {
      ...last,
      ...revisionKey(subject, 4),
      rev: 4,
      data: { heart_rate: 40 },
      committedBy: "dev-monitor",
      previousHash: last.hash,
    };
    const hash = entryHash(String(last.hash), revisionContent(forged as unknown as ChainedRevision));
    const chainId = instanceChainId({ study, subject, event: "screening", form: "vital_signs", instance: 1 });
    // Signed with a key of the forger's own: the table does not hold the real one.
    const mac = await memoryMacKey().mac(headMessage(chainId, 4, hash));
    await put({ ...forged, hash, mac });
    await put({ ...(await get(projectionKey(subject))), ...forged, ...projectionKey(subject), hash, mac });
    expect(await findingsOf(subject)).toEqual([at("forged", 4), at("head-forged", 4)]);
  });

  it("reports two revisions whose contents were swapped", async () => {
    const subject = await subjectWithRevisions();
    const one = await get(revisionKey(subject, 1));
    const two = await get(revisionKey(subject, 2));
    await put({ ...two, ...revisionKey(subject, 1) });
    await put({ ...one, ...revisionKey(subject, 2) });
    expect(await findingsOf(subject)).toEqual([at("reordered", 1), at("reordered", 2)]);
  });

  it("reports a revision that lost its hash after the chain began, not as data saved before chaining", async () => {
    const subject = await subjectWithRevisions();
    const { previousHash: _p, hash: _h, mac: _m, ...stripped } = await get(revisionKey(subject, 2));
    await put(stripped);
    const findings = await findingsOf(subject);
    expect(findings).toContainEqual(at("edited", 2));
    expect(findings.every((f) => f.rev === 2)).toBe(true);
  });
});

describe("data saved before chaining", () => {
  it("is counted as unchained, not reported, and the chain starts at the next save", async () => {
    const subject = await subjectWithRevisions(2);
    for (const rev of [1, 2]) {
      const { previousHash: _p, hash: _h, mac: _m, ...legacy } = await get(revisionKey(subject, rev));
      await put(legacy);
    }
    const { previousHash: _p, hash: _h, mac: _m, ...legacyProjection } = await get(projectionKey(subject));
    await put(legacyProjection);
    const before = await product.env.store.verifyAudit(study);
    const res = await product.save(subject, "screening", "vital_signs", { data: { heart_rate: 99 }, rev: 2 });
    expect(res.status).toBe(200);
    const after = await product.env.store.verifyAudit(study);
    expect(await findingsOf(subject)).toEqual([]);
    expect(after.counts.unchained - before.counts.unchained).toBe(0);
    expect(before.counts.unchained).toBeGreaterThanOrEqual(2);

    await remove(revisionKey(subject, 1));
    expect(await findingsOf(subject)).toEqual([at("deleted", 1)]);
  });
});

describe("the access log rewritten in the table", () => {
  async function appendThree(): Promise<number> {
    const entries = [];
    for (const action of ["export", "export", "export"]) {
      entries.push(
        await product.env.store.appendAccessLog(study, { actor: "dev-monitor", action, details: {} }),
      );
    }
    return entries[0]?.seq ?? 0;
  }
  const logKey = (seq: number) => ({ PK: keys.accessLog(study), SK: keys.accessLogEntry(seq) });

  it("reports an entry deleted", async () => {
    const first = await appendThree();
    await remove(logKey(first + 1));
    expect(await accessLogFindings()).toEqual([{ kind: "deleted", seq: first + 1 }]);
  });

  it("reports an entry edited", async () => {
    const first = await appendThree();
    const item = await get(logKey(first + 2));
    await put({ ...item, actor: "someone-else" });
    expect(await accessLogFindings()).toContainEqual({ kind: "edited", seq: first + 2 });
  });
});

describe("audit:verify over the tampered store", () => {
  it("prints each finding by subject, form and revision, and exits 1", async () => {
    const subject = await subjectWithRevisions();
    const item = await get(revisionKey(subject, 2));
    await put({ ...item, data: { heart_rate: 150 } });
    const cli = await auditVerifyCli();
    expect(cli.code).toBe(1);
    expect(cli.stdout).toContain(`subject ${subject}, screening/vital_signs #1, rev 2: edited:`);
    expect(cli.stdout).toMatch(/access log, seq \d+: deleted: seq \d+ was deleted/);
    expect(cli.stdout).toMatch(/\d+ findings\.$/m);
    const api = await product.call("GET", `${BASE}/audit/verify`, { as: "monitor" });
    expect(api.body.verified).toBe(false);
    expect(api.body.findings).toContainEqual(
      expect.objectContaining({
        chain: expect.objectContaining({ subject, site: "site-01" }),
        rev: 2,
        kind: "edited",
      }),
    );
    expect((await product.call("GET", `${BASE}/audit/verify`, { as: "site-01" })).status).toBe(403);
  });
});

describe("a review log rewritten in the table", () => {
  const reviewKey = (subject: string | undefined, seq: number) => ({
    PK: subject === undefined ? keys.study(study) : keys.subjectPartition(study, subject),
    SK: keys.reviewEntry(seq),
  });
  type Request = ReviewRequest extends infer R
    ? R extends unknown
      ? Omit<R, "study" | "by">
      : never
    : never;
  const append = (request: Request & { by?: string }) =>
    appendReview(db(), product.env.store.macKey, {
      study,
      by: "dev-monitor",
      ...request,
    } as ReviewRequest);

  /** A subject with a query opened, answered and closed, then its form verified: four entries. */
  async function subjectWithReview(): Promise<string> {
    const subject = await subjectWithRevisions(1);
    const target = { event: "screening", form: "vital_signs", instance: 1, field: "heart_rate" };
    const on = { subject, site: "site-01", target };
    await append({ ...on, action: "query-open", query: "q1", text: "Heart rate 70 at rest?" });
    await append({
      ...on,
      action: "query-answer",
      query: "q1",
      text: "Confirmed in source",
      by: "dev-site-01",
    });
    await append({ ...on, action: "query-close", query: "q1" });
    const covers = [{ event: "screening", form: "vital_signs", instance: 1, rev: 1 }];
    await append({
      ...on,
      target: { event: "screening", form: "vital_signs", instance: 1 },
      action: "verify",
      covers,
    });
    return subject;
  }

  async function reviewFindings(subject: string | undefined): Promise<{ kind: string; seq: number }[]> {
    const { findings } = await product.env.store.verifyAudit(study);
    return findings
      .filter(isReviewFinding)
      .filter((f) => f.chain.subject === subject)
      .map((f) => ({ kind: f.kind, seq: f.seq }));
  }

  it("verifies clean and counts each review log as a chain", async () => {
    const before = await product.env.store.verifyAudit(study);
    const subject = await subjectWithReview();
    const after = await product.env.store.verifyAudit(study);
    expect(await reviewFindings(subject)).toEqual([]);
    // The subject's instance chain and its review log; 1 revision and 4 review entries.
    expect(after.counts.chains - before.counts.chains).toBe(2);
    expect(after.counts.entries - before.counts.entries).toBeGreaterThanOrEqual(5);
  });

  it("reports a query message edited in place", async () => {
    const subject = await subjectWithReview();
    const item = await get(reviewKey(subject, 2));
    await put({ ...item, text: "Not confirmed" });
    expect(await reviewFindings(subject)).toEqual([{ kind: "edited", seq: 2 }]);
  });

  it("reports a changed author of a verification", async () => {
    const subject = await subjectWithReview();
    const item = await get(reviewKey(subject, 4));
    await put({ ...item, by: "someone-else" });
    expect(await reviewFindings(subject)).toEqual([{ kind: "edited", seq: 4 }]);
  });

  it("reports an entry deleted", async () => {
    const subject = await subjectWithReview();
    await remove(reviewKey(subject, 3));
    expect(await reviewFindings(subject)).toEqual([{ kind: "deleted", seq: 3 }]);
  });

  it("reports an edit whose writer recomputed the hash: the MAC does not follow, nor does the next link", async () => {
    const subject = await subjectWithReview();
    const item = await get(reviewKey(subject, 2));
    const edited = { ...item, text: "Not confirmed" };
    await put({ ...edited, hash: entryHash(String(item.previousHash), reviewContent(edited)) });
    expect(await reviewFindings(subject)).toEqual([
      { kind: "forged", seq: 2 },
      { kind: "replaced", seq: 2 },
    ]);
  });

  it("reports a forged entry appended, chained and hashed but MACed with another key", async () => {
    const subject = await subjectWithReview();
    const last = await get(reviewKey(subject, 4));
    const forged = {
      ...last,
      ...reviewKey(subject, 5),
      seq: 5,
      action: "lock",
      target: {},
      previousHash: last.hash,
    };
    delete (forged as Record<string, unknown>).covers;
    const hash = entryHash(String(last.hash), reviewContent(forged));
    const mac = await memoryMacKey().mac(headMessage(reviewChainId(study, subject), 5, hash));
    await put({ ...forged, hash, mac });
    expect(await reviewFindings(subject)).toEqual([{ kind: "forged", seq: 5 }]);
  });

  it("reports two entries whose contents were swapped", async () => {
    const subject = await subjectWithReview();
    const one = await get(reviewKey(subject, 1));
    const two = await get(reviewKey(subject, 2));
    await put({ ...two, ...reviewKey(subject, 1) });
    await put({ ...one, ...reviewKey(subject, 2) });
    expect(await reviewFindings(subject)).toEqual([
      { kind: "reordered", seq: 1 },
      { kind: "reordered", seq: 2 },
    ]);
  });

  it("reports an entry copied from another subject's log as inserted", async () => {
    const from = await subjectWithReview();
    const into = await subjectWithReview();
    const copied = await get(reviewKey(from, 2));
    await put({ ...copied, ...reviewKey(into, 2) });
    // Its own subject betrays it; its MAC names the other chain; neither link around it holds.
    expect(await reviewFindings(into)).toEqual([
      { kind: "replaced", seq: 1 },
      { kind: "forged", seq: 2 },
      { kind: "inserted", seq: 2 },
      { kind: "replaced", seq: 2 },
    ]);
    expect(await reviewFindings(from)).toEqual([]);
  });

  it("reports the study's review log (the freeze) edited, shown to every site's reader", async () => {
    await append({ target: {}, action: "lock", reason: "Database freeze before interim analysis" });
    await append({ target: {}, action: "unlock", reason: "Late query" });
    const entries = await readReviewLog(db(), study);
    const seq = entries.at(-1)?.seq ?? 0;
    expect(await reviewFindings(undefined)).toEqual([]);
    const item = await get(reviewKey(undefined, seq));
    await put({ ...item, reason: "Nothing to see" });
    expect(await reviewFindings(undefined)).toEqual([{ kind: "edited", seq }]);
    const cli = await auditVerifyCli();
    expect(cli.code).toBe(1);
    expect(cli.stdout).toContain(`study review log, seq ${seq}: edited:`);
    const api = await product.call("GET", `${BASE}/audit/verify`, { as: "monitor" });
    expect(api.body.findings).toContainEqual(
      expect.objectContaining({ chain: { review: "study", study }, seq, kind: "edited" }),
    );
    // Put back, so that later tests see only their own findings.
    await put(item);
    expect(await reviewFindings(undefined)).toEqual([]);
  });

  it("lists a subject's review finding by subject in audit:verify and to the subject's site only", async () => {
    const subject = await subjectWithReview();
    const item = await get(reviewKey(subject, 1));
    await put({ ...item, text: "Rewritten" });
    const cli = await auditVerifyCli();
    expect(cli.stdout).toContain(`subject ${subject}, review log, seq 1: edited:`);
    const api = await product.call("GET", `${BASE}/audit/verify`, { as: "monitor" });
    expect(api.body.findings).toContainEqual(
      expect.objectContaining({
        chain: { review: "subject", study, subject, site: "site-01" },
        seq: 1,
        kind: "edited",
      }),
    );
  });
});
