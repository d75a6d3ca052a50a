process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createApp } from "../../functions/api/app.ts";
import { loadDefinition } from "../../functions/definition-files.ts";
import { startDevEnvironment } from "../../functions/dev-environment.ts";
import { readProjections } from "../../functions/store/form-instances.ts";
import { createStore } from "../../functions/store/store.ts";
import type { Subject } from "../../functions/store/subjects.ts";
import { buildCasebookPlan, seedSubjects } from "./seed-study.ts";

const [mode, raw] = process.argv.slice(2);
if (mode === "child") {
  const a = JSON.parse(raw as string);
  const store = createStore({ tableName: a.tableName, endpoint: a.endpoint });
  if (a.fixed) {
    store.casebooks = async function* (study: string, subjects: Subject[]) {
      const read = (s: Subject) => readProjections(store.db, study, s.id).then((instances) => ({ subject: s, instances }));
      const pending = subjects.slice(0, 4).map(read);
      for (let i = 0; i < subjects.length; i++) {
        const next = subjects[i + 4];
        if (next) pending.push(read(next));
        yield await (pending.shift() as ReturnType<typeof read>);
      }
    } as typeof store.casebooks;
  }
  const app = createApp(store, { sessionSecret: "x", feedSettleMs: 2000 });
  const h = { headers: { authorization: `Bearer ${a.token}` } };
  await (await app.request(`/api/v1/studies/${a.study}/records?limit=1`, h)).arrayBuffer();
  let peakHeap = 0; const timer = setInterval(() => { peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed); }, 50);
  const cpu = process.cpuUsage(); const t = performance.now();
  let url: string | undefined = `/api/v1/studies/${a.study}/records?format=csv&limit=${a.limit}`; let bytes = 0;
  while (url) { const res = await app.request(url, h); bytes += (await res.arrayBuffer()).byteLength; url = res.headers.get("link")?.match(/^<([^>]+)>/)?.[1]; }
  clearInterval(timer); const c = process.cpuUsage(cpu);
  console.log(JSON.stringify({ fixed: a.fixed, limit: a.limit, ms: Math.round(performance.now() - t), cpuMs: Math.round((c.user + c.system) / 1000), bytes, peakHeapMB: Math.round(peakHeap / 1048576), maxRssMB: Math.round(process.resourceUsage().maxRSS / 1024) }));
  process.exit(0);
}
const tmp = mkdtempSync(path.join(tmpdir(), "probe-"));
const env = await startDevEnvironment({ dataDir: tmp });
const plan = buildCasebookPlan(await loadDefinition("forms"), { definitionVersion: 1, maxSubjects: 10000 });
await seedSubjects(env.store.db.doc, env.tableName, plan, { from: 0, to: 1000, inFlight: 8 });
for (const limit of [1000, 500]) for (const fixed of [false, true, false, true]) {
  await new Promise<void>((resolve) => {
    const c = spawn(process.execPath, ["--import", "tsx", import.meta.filename, "child", JSON.stringify({ endpoint: env.endpoint, tableName: env.tableName, study: env.studyId, token: env.tokens.monitor?.token, fixed, limit })], { stdio: "inherit" });
    c.on("exit", () => resolve());
  });
}
await env.close(); rmSync(tmp, { recursive: true, force: true }); process.exit(0);
