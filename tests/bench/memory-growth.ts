/**
 * Memory growth of the local server under sustained saves: `npm run bench:memory [-- --saves=3000 --runs=3
 * --subjects=10 --store=disk|memory]`.
 *
 * Each run is a child process (its memory is its own) that starts the product
 * as `npm start` does (in-process dynalite on a temp data folder, or in memory),
 * enrols a few subjects and saves their EDSS form round-robin through the real
 * app, `--saves` times after 200 saves of warm-up. After the warm-up and after
 * every 1,000 saves it forces a full GC and samples heap, off-heap buffers and
 * RSS. Growth per 1,000 saves is (last sample − first) / thousands.
 *
 * Runs alternate "before" (dynalite's LevelDB iterators left open, as before
 * the fix in functions/store/dynalite-iterators.ts) and "after"; medians per
 * mode. Writes tests/artifacts/memory-bench.json. Not part of `npm test`.
 */
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startDevEnvironment } from "../../functions/dev-environment.ts";
import { closeIteratorsWhenDestroyed } from "../../functions/store/dynalite-iterators.ts";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.join(HERE, "../..");
const MB = 1024 * 1024;
const RESULT = "RESULT ";

type Mode = "before" | "after";
interface Sample {
  saves: number;
  heapMB: number;
  externalMB: number;
  rssMB: number;
}
interface RunResult {
  mode: Mode;
  samples: Sample[];
  perThousand: { heapMB: number; externalMB: number; rssMB: number };
  savesPerSecond: number;
}

function option(name: string, fallback: string): string {
  const arg = process.argv.find((a) => a.startsWith(`--${name}=`));
  return arg ? arg.slice(name.length + 3) : fallback;
}

function sample(saves: number): Sample {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error("run with node --expose-gc");
  gc();
  gc();
  const m = process.memoryUsage();
  return { saves, heapMB: m.heapUsed / MB, externalMB: m.external / MB, rssMB: m.rss / MB };
}

async function child(mode: Mode, saves: number, subjects: number, disk: boolean): Promise<RunResult> {
  const dataDir = disk ? mkdtempSync(path.join(tmpdir(), "edc-memory-bench-")) : undefined;
  const env = await startDevEnvironment({ dataDir });
  closeIteratorsWhenDestroyed(mode === "after");
  try {
    const base = `/api/v1/studies/${env.studyId}/subjects`;
    const headers = {
      authorization: `Bearer ${env.tokens["site-01"]?.token}`,
      "content-type": "application/json",
    };
    const revs = new Map<string, number>();
    for (let i = 0; i < subjects; i++) {
      const res = await env.app.request(base, {
        method: "POST",
        headers,
        body: JSON.stringify({ site: "site-01", arm: "rrms" }),
      });
      revs.set(((await res.json()) as { id: string }).id, 0);
    }
    const ids = [...revs.keys()];
    let done = 0;
    const save = async () => {
      const id = ids[done % ids.length] as string;
      const rev = revs.get(id) ?? 0;
      const res = await env.app.request(`${base}/${id}/events/screening/forms/edss`, {
        method: "PUT",
        headers,
        // Always a change (1 … 4.5 in half steps), with a reason once the form has data.
        body: JSON.stringify({
          data: { edss_total: 1 + (rev % 8) / 2 },
          status: "incomplete",
          rev,
          reason: "bench",
        }),
      });
      if (res.status !== 200) throw new Error(`save answered ${res.status}: ${await res.text()}`);
      revs.set(id, ((await res.json()) as { rev: number }).rev);
      done++;
    };
    for (let i = 0; i < 200; i++) await save();
    done = 0;
    const samples = [sample(0)];
    const started = performance.now();
    while (done < saves) {
      await save();
      if (done % 1000 === 0 || done === saves) samples.push(sample(done));
    }
    const seconds = (performance.now() - started) / 1000;
    const first = samples[0] as Sample;
    const last = samples[samples.length - 1] as Sample;
    const k = saves / 1000;
    return {
      mode,
      samples,
      perThousand: {
        heapMB: (last.heapMB - first.heapMB) / k,
        externalMB: (last.externalMB - first.externalMB) / k,
        rssMB: (last.rssMB - first.rssMB) / k,
      },
      savesPerSecond: saves / seconds,
    };
  } finally {
    await env.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }
}

function runChild(mode: Mode, args: string[]): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const proc = spawn(
      process.execPath,
      [
        "--expose-gc",
        "--import",
        "tsx",
        fileURLToPath(import.meta.url),
        "--child",
        `--mode=${mode}`,
        ...args,
      ],
      { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] },
    );
    let out = "";
    proc.stdout.setEncoding("utf8");
    proc.stdout.on("data", (d: string) => {
      out += d;
    });
    proc.on("error", reject);
    proc.on("exit", (code) => {
      const line = out.split("\n").find((l) => l.startsWith(RESULT));
      if (code !== 0 || !line) reject(new Error(`${mode} child exited ${code}\n${out}`));
      else resolve(JSON.parse(line.slice(RESULT.length)) as RunResult);
    });
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

const saves = Number(option("saves", "3000"));
const subjects = Number(option("subjects", "10"));
const disk = option("store", "disk") !== "memory";

if (process.argv.includes("--child")) {
  const result = await child(option("mode", "after") as Mode, saves, subjects, disk);
  console.log(RESULT + JSON.stringify(result));
} else {
  const runs = Number(option("runs", "3"));
  const args = [`--saves=${saves}`, `--subjects=${subjects}`, `--store=${disk ? "disk" : "memory"}`];
  const results: RunResult[] = [];
  for (let run = 1; run <= runs; run++) {
    for (const mode of ["before", "after"] as const) {
      const r = await runChild(mode, args);
      results.push(r);
      const p = r.perThousand;
      console.log(
        `run ${run} ${mode.padEnd(6)} per 1,000 saves: heap ${p.heapMB.toFixed(2)} MB, buffers ${p.externalMB.toFixed(2)} MB, RSS ${p.rssMB.toFixed(1)} MB (${r.savesPerSecond.toFixed(0)} saves/s)`,
      );
    }
  }
  const summary = Object.fromEntries(
    (["before", "after"] as const).map((mode) => {
      const mine = results.filter((r) => r.mode === mode);
      return [
        mode,
        {
          heapMBPerThousandSaves: median(mine.map((r) => r.perThousand.heapMB)),
          externalMBPerThousandSaves: median(mine.map((r) => r.perThousand.externalMB)),
          rssMBPerThousandSaves: median(mine.map((r) => r.perThousand.rssMB)),
          savesPerSecond: median(mine.map((r) => r.savesPerSecond)),
        },
      ];
    }),
  );
  console.log(`\nmedians over ${runs} runs of ${saves} saves (${disk ? "disk" : "memory"} store):`);
  console.table(summary);
  mkdirSync(path.join(ROOT, "tests/artifacts"), { recursive: true });
  writeFileSync(
    path.join(ROOT, "tests/artifacts/memory-bench.json"),
    `${JSON.stringify({ saves, subjects, store: disk ? "disk" : "memory", summary, results }, null, 2)}\n`,
  );
}
