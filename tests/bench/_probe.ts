process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadDefinition } from "../../functions/definition-files.ts";
import { startDevEnvironment } from "../../functions/dev-environment.ts";
import { buildCasebookPlan, seedSubjects } from "./seed-study.ts";

const kind = process.argv[2];
const n = Number(process.argv[3]);
const inFlight = Number(process.argv[4]);
const tmp = mkdtempSync(path.join(tmpdir(), "probe-"));
const env = await startDevEnvironment(kind === "disk" ? { dataDir: tmp } : {});
const plan = buildCasebookPlan(await loadDefinition("forms"), { definitionVersion: 1, maxSubjects: 10000 });
const t = performance.now();
const r = await seedSubjects(env.store.db.doc, env.tableName, plan, { from: 0, to: n, inFlight });
const s = (performance.now() - t) / 1000;
console.log(
  kind,
  n,
  inFlight,
  `${r.items} items ${s.toFixed(1)} s ${(r.items / s).toFixed(0)} items/s rss ${(process.memoryUsage().rss / 1e6).toFixed(0)} MB`,
);
await env.close();
rmSync(tmp, { recursive: true, force: true });
process.exit(0);
