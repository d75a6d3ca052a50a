import { defineConfig } from "vitest/config";
import LongestFirst from "./tests/setup/longest-first.ts";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Each integration file starts its own in-process dynalite (its own table); two cores are the budget.
    maxWorkers: 2,
    // A worker runs file after file in one process, its modules (the AWS SDK, the app, compiled meta-schemas)
    // loaded once, instead of a new process importing everything again for each of ~150 files: about half the
    // suite's CPU time was that. Files share no state but those modules: each starts its own product.
    isolate: false,
    // One Chromium for the run, shared by the browser test files (tests/e2e/browser.ts).
    globalSetup: ["tests/e2e/shared-chromium.ts"],
    // Instruments built in memory get their validator code on first use (functions/engine/schema-validator.ts).
    setupFiles: ["tests/setup/generate-validators.ts"],
    // Longest files first (their durations recorded in tests/setup/file-durations.json), so both workers end together.
    sequence: { sequencer: LongestFirst },
  },
});
