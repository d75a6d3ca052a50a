import { rmSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { startDevEnvironment } from "../../functions/dev-environment.ts";
import type { StudyDefinition } from "../../functions/engine/definition.ts";
import { keys } from "../../functions/store/keys.ts";
import { memoryMacKey } from "../../functions/store/mac-key.ts";
import type { Revision } from "../../functions/store/revision-item.ts";
import { sealRevision } from "../../functions/store/revision-seal.ts";
import type { Subject } from "../../functions/store/subjects.ts";
import { checkoutAt } from "./checkout-at.ts";

const { values } = parseArgs({
  options: {
    subjects: { type: "string", default: "50" },
    revisions: { type: "string", default: "200" },
    rounds: { type: "string", default: "15" },
    "per-round": { type: "string", default: "40" },
    before: { type: "string", default: "0575d09" },
  },
});
const SUBJECTS = Number(values.subjects);
const REVISIONS = Number(values.revisions);
const ROUNDS = Number(values.rounds);
const PER_ROUND = Number(values["per-round"]);

const macKey = memoryMacKey();
const env = await startDevEnvironment({ macKey });
const { store } = env;
const definition = (await store.definitions.current(env.studyId)) as StudyDefinition;
const beforeDir = checkoutAt(values.before);
const { createStore: createStoreBefore } = await import(path.join(beforeDir, "functions/store/store.ts"));
// The same table and client: only the engine differs.
const before: Pick<typeof store, "saveFormInstance"> = createStoreBefore({
  tableName: env.tableName,
  doc: store.db.doc,
});

async function enrol(): Promise<Subject> {
  const outcome = await store.enrolSubject({
    study: env.studyId,
    site: "site-01",
    siteCode: "01",
    arm: "rrms",
    actor: "bench",
  });
  if (outcome.kind !== "enrolled") throw new Error("enrol");
  return outcome.subject;
}

const data = (rev: number) => ({ heart_rate: 60 + (rev % 40), systolic_bp: 110 + (rev % 20) });

async function save(subject: Subject, rev: number, through = store): Promise<void> {
  const result = await through.saveFormInstance({
    definition,
    subject,
    event: "screening",
    form: "vital_signs",
    instance: 1,
    data: data(rev),
    status: "incomplete",
    rev,
    actor: "bench",
  });
  if (result.kind !== "saved") throw new Error(`save: ${result.kind}`);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
};
const ms = (x: number) => `${x.toFixed(3)} ms`;

// 1. Save cost, alternating rounds.
const saved = await enrol();
const unchained = await enrol();
let savedRev = 0;
let beforeRev = 0;
let rawRev = 0;
let template: Revision | undefined;
const times = { save: [] as number[], before: [] as number[], raw: [] as number[], seal: [] as number[] };
async function beforeRound() {
  for (let i = 0; i < PER_ROUND; i++) {
    const t = performance.now();
    await save(unchained, beforeRev, before as typeof store);
    times.before.push(performance.now() - t);
    beforeRev += 1;
  }
}
async function saveRound() {
  for (let i = 0; i < PER_ROUND; i++) {
    const t = performance.now();
    await save(saved, savedRev);
    times.save.push(performance.now() - t);
    savedRev += 1;
  }
  template ??= await store.readLatestRevision({
    study: env.studyId,
    subject: saved.id,
    event: "screening",
    form: "vital_signs",
    instance: 1,
  });
}
async function rawRound() {
  const base = template as Revision;
  for (let i = 0; i < PER_ROUND; i++) {
    rawRev += 1;
    const item = {
      ...base,
      PK: keys.subjectPartition(env.studyId, "raw"),
      SK: keys.revision("screening", "vital_signs", 1, rawRev),
      type: "revision",
      subject: "raw",
      rev: rawRev,
      data: data(rawRev),
      GSI2PK: keys.feed(env.studyId),
      GSI2SK: `${new Date().toISOString()}#raw#${rawRev}`,
    };
    const t = performance.now();
    await store.db.doc.send(
      new PutCommand({
        TableName: env.tableName,
        Item: item,
        ConditionExpression: "attribute_not_exists(PK)",
      }),
    );
    times.raw.push(performance.now() - t);
  }
}
async function sealRound() {
  const base = template as Revision;
  for (let i = 0; i < PER_ROUND; i++) {
    const t = performance.now();
    await sealRevision(macKey, { ...base, rev: base.rev + 1, data: data(i) }, base);
    times.seal.push(performance.now() - t);
  }
}
await saveRound(); // warm-up, and the template
await beforeRound();
await rawRound();
await sealRound();
for (const list of Object.values(times)) list.length = 0;
for (let round = 0; round < ROUNDS; round++) {
  const order = [saveRound, beforeRound, rawRound, sealRound];
  for (const run of round % 2 === 0 ? order : order.reverse()) await run();
}
console.log(`Save, ${ROUNDS} alternating rounds of ${PER_ROUND} each, medians per operation:`);
console.log(`  save through the store (chained: hash + MAC): ${ms(median(times.save))}`);
console.log(`  save through the store at ${values.before} (no chain):  ${ms(median(times.before))}`);
console.log(`  raw conditional PutItem (the floor):          ${ms(median(times.raw))}`);
console.log(`  seal alone (revisionContent + hash + HMAC):   ${ms(median(times.seal))}`);
console.log(
  `  the seal is ${((100 * median(times.seal)) / median(times.save)).toFixed(1)}% of a save; save/raw = ${(median(times.save) / median(times.raw)).toFixed(2)}`,
);

// 2. Verify a study of SUBJECTS × REVISIONS revisions.
const seedStart = performance.now();
const subjects = await Promise.all(Array.from({ length: SUBJECTS }, enrol));
for (let i = 0; i < subjects.length; i += 8) {
  await Promise.all(
    subjects.slice(i, i + 8).map(async (subject) => {
      for (let rev = 0; rev < REVISIONS; rev++) await save(subject, rev);
    }),
  );
}
console.log(
  `\nSeeded ${SUBJECTS * REVISIONS} revisions (${SUBJECTS} subjects × ${REVISIONS}) through the store in ${((performance.now() - seedStart) / 1000).toFixed(1)} s`,
);
const verifyTimes: number[] = [];
let report: Awaited<ReturnType<typeof store.verifyAudit>> | undefined;
for (let i = 0; i < 3; i++) {
  const t = performance.now();
  report = await store.verifyAudit(env.studyId);
  verifyTimes.push(performance.now() - t);
}
if (!report || report.findings.length > 0)
  throw new Error(`an untouched study must verify clean: ${JSON.stringify(report?.findings.slice(0, 3))}`);
console.log(
  `Verified ${report.counts.entries} entries in ${report.counts.chains} chains, clean: median of 3 runs ${(median(verifyTimes) / 1000).toFixed(2)} s (${verifyTimes.map((t) => (t / 1000).toFixed(2)).join(", ")})`,
);
await env.close();
rmSync(beforeDir, { recursive: true, force: true });
