/**
 * Ratios measured the way a shared machine allows: the two sides of a pair run
 * in turn, round after round, and each side's median is compared. A mean of
 * one side's runs followed by the other's folds the machine's drift into the
 * ratio; alternating spreads it over both.
 */

/** One side of a pair: a unit of work and how many operations it performs. */
export interface Side {
  name: string;
  /** Runs the work once and returns how many operations it performed (1 if omitted). */
  run(): Promise<number | undefined> | number | undefined;
}

/** A measured thing against the baseline it is quoted against. */
export interface Pair {
  name: string;
  /** What the target says, e.g. "≤ 2.5×" (shown beside the measured ratio). */
  target?: string;
  baseline: Side;
  subject: Side;
  setup?(): Promise<void>;
  teardown?(): Promise<void>;
  /** Rounds of one baseline run and one subject run (default 9). */
  rounds?: number;
  /** Untimed runs of each side before measuring (default 1). */
  warmup?: number;
}

export interface SideResult {
  name: string;
  /** Median milliseconds per operation over the rounds. */
  medianMs: number;
  roundsMs: number[];
}

export interface PairResult {
  name: string;
  target?: string;
  baseline: SideResult;
  subject: SideResult;
  /** subject median ÷ baseline median. */
  ratio: number;
}

export function median(values: number[]): number {
  if (values.length === 0) throw new Error("median of nothing");
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

async function timed(side: Side): Promise<number> {
  const start = performance.now();
  const ops = (await side.run()) ?? 1;
  return (performance.now() - start) / ops;
}

/** Runs baseline and subject alternately, `rounds` times each, and compares their medians. */
export async function measurePair(pair: Pair): Promise<PairResult> {
  await pair.setup?.();
  try {
    for (let i = 0; i < (pair.warmup ?? 1); i++) {
      await timed(pair.baseline);
      await timed(pair.subject);
    }
    const base: number[] = [];
    const subj: number[] = [];
    for (let round = 0; round < (pair.rounds ?? 9); round++) {
      // Which side goes first alternates too, so neither always runs on a warmer machine.
      if (round % 2 === 0) {
        base.push(await timed(pair.baseline));
        subj.push(await timed(pair.subject));
      } else {
        subj.push(await timed(pair.subject));
        base.push(await timed(pair.baseline));
      }
    }
    const baseline = { name: pair.baseline.name, medianMs: median(base), roundsMs: base };
    const subject = { name: pair.subject.name, medianMs: median(subj), roundsMs: subj };
    return {
      name: pair.name,
      ...(pair.target ? { target: pair.target } : {}),
      baseline,
      subject,
      ratio: subject.medianMs / baseline.medianMs,
    };
  } finally {
    await pair.teardown?.();
  }
}

/** One line per pair: `name  subject ms  baseline ms  ratio  (target)`. */
export function formatPairs(results: PairResult[]): string {
  return results
    .map(
      (r) =>
        `${r.name.padEnd(40)} ${r.subject.medianMs.toFixed(2).padStart(9)} ms vs ${r.baseline.medianMs
          .toFixed(2)
          .padStart(9)} ms  ${r.ratio.toFixed(2)}×${r.target ? `  (target ${r.target})` : ""}`,
    )
    .join("\n");
}
