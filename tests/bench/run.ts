/**
 * `npm run bench [-- --only=export,audit-chain --rounds=5 --out=path]`: every
 * case of tests/bench/cases/*.ts, one after the other. A case module exports
 *
 * - `default async function pairs(): Promise<Pair[]>`: timed pairs, each run
 *   by measurePair (the two sides in turn, several rounds, medians, ratio);
 * - and/or `sizes(): Promise<Record<string, number>>`: bytes, counts, memory.
 *
 * Writes tests/artifacts/bench.json (git-ignored: figures belong to the
 * machine and the moment they were measured on, which the file records) and
 * prints a short table. Not part of `npm test`: nothing here asserts a time.
 */
import { readdirSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { cpus, loadavg } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { measurePair, type Pair, type PairResult } from "./pairs.ts";

export interface CaseModule {
  default?: () => Promise<Pair[]>;
  sizes?: () => Promise<Record<string, number>>;
}

export interface CaseResult {
  case: string;
  pairs: PairResult[];
  sizes?: Record<string, number>;
  /** The case failed: what it threw (the other cases still ran). */
  error?: string;
}

export interface BenchReport {
  measuredAt: string;
  machine: { node: string; cpus: number; model: string; loadAverageAtStart: number[] };
  rounds?: number;
  cases: CaseResult[];
}

export interface RunOptions {
  /** The folder of case modules. */
  dir: string;
  /** Case names (file names without .ts) to run; all when absent. */
  only?: string[];
  /** Overrides every pair's own rounds. */
  rounds?: number;
  log?: (line: string) => void;
}

/** The case files of `dir`, by name, in name order. */
export function caseNames(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts"))
    .map((f) => f.slice(0, -".ts".length))
    .sort();
}

export async function runCases(options: RunOptions): Promise<BenchReport> {
  const log = options.log ?? (() => {});
  const names = caseNames(options.dir);
  const unknown = (options.only ?? []).filter((n) => !names.includes(n));
  if (unknown.length > 0) throw new Error(`no such case: ${unknown.join(", ")} (cases: ${names.join(", ")})`);
  const chosen = options.only ? names.filter((n) => options.only?.includes(n)) : names;
  const report: BenchReport = {
    measuredAt: new Date().toISOString(),
    machine: {
      node: process.version,
      cpus: cpus().length,
      model: cpus()[0]?.model ?? "unknown",
      loadAverageAtStart: loadavg().map((n) => Math.round(n * 100) / 100),
    },
    ...(options.rounds ? { rounds: options.rounds } : {}),
    cases: [],
  };
  for (const name of chosen) {
    const result: CaseResult = { case: name, pairs: [] };
    report.cases.push(result);
    try {
      const mod = (await import(pathToFileURL(path.join(options.dir, `${name}.ts`)).href)) as CaseModule;
      if (!mod.default && !mod.sizes) throw new Error("exports neither a default pairs() nor sizes()");
      for (const pair of (await mod.default?.()) ?? []) {
        log(`${name}: ${pair.name}…`);
        const measured = await measurePair(options.rounds ? { ...pair, rounds: options.rounds } : pair);
        result.pairs.push(measured);
        log(formatPair(measured));
      }
      if (mod.sizes) {
        log(`${name}: sizes…`);
        result.sizes = await mod.sizes();
        for (const [key, value] of Object.entries(result.sizes)) log(formatSize(key, value));
      }
    } catch (error) {
      result.error = error instanceof Error ? (error.stack ?? error.message) : String(error);
      log(`${name}: FAILED ${result.error}`);
    }
  }
  return report;
}

export function formatPair(r: PairResult): string {
  const ms = (n: number) => `${n < 1 ? n.toFixed(4) : n.toFixed(2)} ms`.padStart(12);
  return `  ${r.name.padEnd(52)} ${ms(r.subject.medianMs)} vs ${ms(r.baseline.medianMs)}  ${r.ratio
    .toFixed(2)
    .padStart(6)}×${r.target ? `  (target ${r.target})` : ""}`;
}

function formatSize(key: string, value: number): string {
  return `  ${key.padEnd(52)} ${value.toLocaleString("en-GB").padStart(12)}`;
}

/** The short table: per case, each pair (subject vs baseline median per operation, ratio) and each size. */
export function formatReport(report: BenchReport): string {
  const lines = [
    `measured ${report.measuredAt} on ${report.machine.cpus} × ${report.machine.model}, node ${report.machine.node}, load ${report.machine.loadAverageAtStart.join(" ")}`,
  ];
  for (const c of report.cases) {
    lines.push(`${c.case}${c.error ? "  FAILED (see bench.json)" : ""}`);
    for (const p of c.pairs) lines.push(formatPair(p));
    for (const [key, value] of Object.entries(c.sizes ?? {})) lines.push(formatSize(key, value));
  }
  return lines.join("\n");
}

function option(args: string[], name: string): string | undefined {
  return args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
}

async function main(args: string[]) {
  const root = path.join(import.meta.dirname, "../..");
  const only = option(args, "only")?.split(",").filter(Boolean);
  const rounds = option(args, "rounds");
  if (rounds !== undefined && !(Number.isInteger(Number(rounds)) && Number(rounds) > 0))
    throw new Error(`--rounds=${rounds}: a whole number above 0`);
  const out = option(args, "out") ?? path.join(root, "tests/artifacts/bench.json");
  const report = await runCases({
    dir: option(args, "cases") ?? path.join(import.meta.dirname, "cases"),
    ...(only ? { only } : {}),
    ...(rounds ? { rounds: Number(rounds) } : {}),
    log: (line) => process.stderr.write(`${line}\n`),
  });
  await mkdir(path.dirname(out), { recursive: true });
  await writeFile(out, `${JSON.stringify(report, null, 2)}\n`);
  console.log(formatReport(report));
  console.log(`\nwrote ${path.relative(process.cwd(), out)}`);
  return report.cases.some((c) => c.error) ? 1 : 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  process.exit(await main(process.argv.slice(2)));
}
