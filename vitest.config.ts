import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores are the budget. A third worker fills the time browser tests spend waiting on
    // human-speed typing and timers (e2e is half the suite's time and mostly idle CPU).
    maxWorkers: 3,
    benchmark: { include: ["tests/bench/**/*.bench.ts"] },
  },
});
