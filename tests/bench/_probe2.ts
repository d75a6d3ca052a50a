process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadDefinition } from "../../functions/definition-files.ts";
import { startDevEnvironment } from "../../functions/dev-environment.ts";
import { readProjections } from "../../functions/store/form-instances.ts";
import type { Subject } from "../../functions/store/subjects.ts";
import { buildCasebookPlan, seedSubjects } from "./seed-study.ts";
const gc = (globalThis as { gc?: () => void }).gc as () => void;
const tmp = mkdtempSync(path.join(tmpdir(), "probe-"));
const env = await startDevEnvironment({ dataDir: tmp });
const plan = buildCasebookPlan(await loadDefinition("forms"), { definitionVersion: 1, maxSubjects: 10000 });
const N = 300;
await seedSubjects(env.store.db.doc, env.tableName, plan, { from: 0, to: N, inFlight: 8 });
const subjects: Subject[] = await env.store.listSubjects(env.studyId, ["site-01", "site-02"]);
async function* fixed(db: typeof env.store.db, study: string, subs: Subject[], ahead = 4) {
  const read = (s: Subject) => readProjections(db, study, s.id).then((instances) => ({ subject: s, instances }));
  const pending = subs.slice(0, ahead).map(read);
  for (let i = 0; i < subs.length; i++) {
    const next = subs[i + ahead];
    if (next) pending.push(read(next));
    yield await (pending.shift() as ReturnType<typeof read>);
  }
}
for (const [name, gen] of [["store.casebooks", () => env.store.casebooks(env.studyId, subjects)], ["shift() fix", () => fixed(env.store.db, env.studyId, subjects)]] as const) {
  gc(); const base = process.memoryUsage().heapUsed; let peak = 0; let i = 0;
  for await (const _ of gen()) { if (++i % 50 === 0) { gc(); peak = Math.max(peak, process.memoryUsage().heapUsed - base); } }
  console.log(name, `${N} subjects: live heap grew up to ${(peak / 1048576).toFixed(1)} MB`);
}
await env.close(); rmSync(tmp, { recursive: true, force: true }); process.exit(0);
