import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Each integration file starts its own in-process dynalite; two cores are the budget.
    maxWorkers: 2,
    // One Chromium for the run, shared by the browser test files (tests/e2e/browser.ts).
    globalSetup: ["tests/e2e/shared-chromium.ts"],
    benchmark: { include: ["tests/bench/**/*.bench.ts"] },
  },
});
