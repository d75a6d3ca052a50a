import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { ROOT } from "../checkout-at.ts";
import type { Pair } from "../pairs.ts";

/**
 * The test suite's own speed (issue 15): a sample of unit and integration
 * files run by vitest as the suite runs them (each worker loading the modules
 * once: `isolate: false` in vitest.config.ts) against the old way (`--isolate`:
 * a fresh process, and every import again, per file). Wall time per run of the
 * sample; the CPU seconds of each run are logged beside it, the steadier figure
 * on a shared machine.
 */

const SAMPLE = [
  "tests/unit/odm.test.ts",
  "tests/unit/piping.test.ts",
  "tests/unit/flat.test.ts",
  "tests/unit/schedule.test.ts",
  "tests/integration/missing-codes.test.ts",
  "tests/integration/review-log.test.ts",
  "tests/integration/piping.test.ts",
  "tests/integration/soft-checks.test.ts",
];

const run = promisify(execFile);

/** A loaded machine must not turn the comparison into a timeout: it measures time, it asserts none. */
const LOADED = ["--testTimeout=180000", "--hookTimeout=180000"];

/** Runs the sample once; answers CPU seconds (user + system, the workers included) and fails if a test did. */
export async function runSample(extraArgs: string[]): Promise<{ cpuSeconds: number }> {
  const { stderr } = await run(
    "/usr/bin/time",
    ["-f", "cpu %U %S", "npx", "vitest", "run", ...SAMPLE, "--reporter=dot", ...LOADED, ...extraArgs],
    { cwd: ROOT, env: { ...process.env, CI: "true" }, maxBuffer: 64 * 1024 * 1024 },
  );
  const cpu = /cpu ([\d.]+) ([\d.]+)\s*$/.exec(stderr);
  if (!cpu) throw new Error(`no CPU time in: ${stderr.slice(-500)}`);
  return { cpuSeconds: Number(cpu[1]) + Number(cpu[2]) };
}

export default async function pairs(): Promise<Pair[]> {
  const log = (side: string, cpu: number) => console.log(`suite sample, ${side}: ${cpu.toFixed(1)} s CPU`);
  return [
    {
      name: `suite sample (${SAMPLE.length} files)`,
      rounds: 3,
      warmup: 0,
      baseline: {
        name: "a process per file (--isolate)",
        run: async () => {
          log("isolated", (await runSample(["--isolate"])).cpuSeconds);
          return 1;
        },
      },
      subject: {
        name: "modules once per worker",
        run: async () => {
          log("shared", (await runSample([])).cpuSeconds);
          return 1;
        },
      },
    },
  ];
}
