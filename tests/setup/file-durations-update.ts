import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

/**
 * Writes file-durations.json (for longest-first.ts) from a full run's JSON
 * report: `npm run test:durations [-- report.json]` (default
 * tests/artifacts/vitest.json, which `npm test` writes).
 */
const root = path.join(import.meta.dirname, "..", "..");
const report = process.argv[2] ?? path.join(root, "tests", "artifacts", "vitest.json");
const { testResults } = JSON.parse(readFileSync(report, "utf8")) as {
  testResults: { name: string; startTime: number; endTime: number }[];
};
const seconds = Object.fromEntries(
  testResults
    .map(
      (r) =>
        [path.relative(root, r.name).split(path.sep).join("/"), (r.endTime - r.startTime) / 1000] as const,
    )
    .sort(([, a], [, b]) => b - a)
    .map(([file, s]) => [file, Math.round(s * 10) / 10]),
);
writeFileSync(path.join(import.meta.dirname, "file-durations.json"), `${JSON.stringify(seconds, null, 2)}\n`);
console.log(`${Object.keys(seconds).length} files from ${report}`);
