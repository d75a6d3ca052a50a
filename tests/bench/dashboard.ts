import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { loadDefinition } from "../../functions/definition-files.ts";
import { storeDevKey } from "../../functions/dev-environment.ts";
import { startDynalite } from "../../functions/store/dynalite.ts";
import { createClients, ensureTable } from "../../functions/store/dynamo.ts";
import { memoryMacKey } from "../../functions/store/mac-key.ts";
import { ALL_SITES } from "../../functions/store/principal.ts";
import { newToken } from "../../functions/store/tokens.ts";
import { type App, appAt, checkoutAt, ROOT, signIn } from "./checkout-at.ts";
import { buildCasebookPlan, seedSubjects } from "./seed-study.ts";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

const DEFAULT_BEFORE = "3f2162d"; // "Add axe-core …": the dashboard listed every subject on one page.

const arg = (name: string, fallback: string) =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const scales = arg("scales", "60,500").split(",").map(Number);
const runs = Number(arg("runs", "9"));
const beforeRef = arg("before", DEFAULT_BEFORE);

async function measure(app: App, cookie: string, url: string) {
  const start = performance.now();
  const res = await app.request(url, { headers: { cookie } });
  const html = await res.text();
  const ms = performance.now() - start;
  if (res.status !== 200) throw new Error(`${url}: ${res.status}`);
  return {
    ms,
    bytes: Buffer.byteLength(html),
    gzip: gzipSync(html).length,
    rows: html.split("data-subject=").length - 1,
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

async function main() {
  const beforeDir = checkoutAt(beforeRef);
  const dynamo = await startDynalite();
  const { client, doc } = createClients({ endpoint: dynamo.endpoint });
  const tableName = "edc-bench";
  try {
    await ensureTable(client, tableName);
    const definition = await loadDefinition(path.join(ROOT, "forms"));
    const after = await appAt(ROOT, doc, tableName);
    const before = await appAt(beforeDir, doc, tableName);
    const { createStore } = await import("../../functions/store/store.ts");
    const store = createStore({ tableName, doc, macKey: memoryMacKey() });
    const published = await store.publish({ definition, actor: "bench", reason: "bench" });
    if (published.kind !== "published") throw new Error(`publish: ${published.kind}`);
    const token = newToken();
    await storeDevKey(store, token, {
      user: "bench-monitor",
      role: "monitor",
      study: definition.study.id,
      sites: [ALL_SITES],
    });
    const cookies = { before: await signIn(before, token), after: await signIn(after, token) };
    const apps = { before, after };
    const plan = buildCasebookPlan(definition, {
      definitionVersion: published.version,
      maxSubjects: Math.max(...scales),
    });
    const url = `/studies/${definition.study.id}`;
    const results = [];
    let seeded = 0;
    for (const scale of scales) {
      await seedSubjects(doc, tableName, plan, { from: seeded, to: scale });
      seeded = scale;
      const samples = {
        before: [] as Awaited<ReturnType<typeof measure>>[],
        after: [] as Awaited<ReturnType<typeof measure>>[],
      };
      // The first load after seeding (after: the new subjects are read), then alternate which goes first.
      const first = {
        before: await measure(apps.before, cookies.before, url),
        after: await measure(apps.after, cookies.after, url),
      };
      for (let i = 0; i < runs; i++) {
        const order = i % 2 === 0 ? (["before", "after"] as const) : (["after", "before"] as const);
        for (const side of order) samples[side].push(await measure(apps[side], cookies[side], url));
      }
      for (const side of ["before", "after"] as const) {
        const s = samples[side];
        const bytes = median(s.map((x) => x.bytes));
        const rows = median(s.map((x) => x.rows));
        results.push({
          scale,
          side,
          firstLoadMs: Math.round(first[side].ms),
          medianMs: Math.round(median(s.map((x) => x.ms))),
          htmlBytes: bytes,
          gzipBytes: median(s.map((x) => x.gzip)),
          rowsListed: rows,
          bytesPerSubjectListed: Math.round(bytes / rows),
          bytesPerSubjectInStudy: Math.round(bytes / scale),
        });
      }
      console.table(results.filter((r) => r.scale === scale));
    }
    mkdirSync(path.join(ROOT, "tests/artifacts"), { recursive: true });
    writeFileSync(
      path.join(ROOT, "tests/artifacts/dashboard-bench.json"),
      `${JSON.stringify({ before: beforeRef, runs, results }, null, 2)}\n`,
    );
  } finally {
    client.destroy();
    await dynamo.close();
    rmSync(beforeDir, { recursive: true, force: true });
  }
}

await main();
