import { readFileSync } from "node:fs";
import path from "node:path";
import { BaseSequencer, type TestSpecification } from "vitest/node";

/**
 * Files in order of their last measured duration, longest first, so the two
 * workers end together: a long file started late keeps one worker busy while
 * the other has nothing left. Vitest orders by its own cache of durations,
 * but CI starts from a clean clone without one and vitest then orders by file
 * size, which puts a short file of heavy setup (a 60-line memory test, a
 * browser test's waits) near the end. The durations are in
 * file-durations.json (seconds), refreshed from a full run's JSON report by
 * `npm run test:durations`. A file missing from it (a new one) runs first.
 */
const DURATIONS = path.join(import.meta.dirname, "file-durations.json");

export default class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const seconds = JSON.parse(readFileSync(DURATIONS, "utf8")) as Record<string, number>;
    const root = this.ctx.config.root;
    const weight = (spec: TestSpecification) =>
      seconds[path.relative(root, spec.moduleId).split(path.sep).join("/")] ?? Number.POSITIVE_INFINITY;
    return [...files].sort((a, b) => weight(b) - weight(a));
  }
}
