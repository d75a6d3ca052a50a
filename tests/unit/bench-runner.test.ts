import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { caseNames, formatReport, runCases } from "../bench/run.ts";

// Inside the repository (git-ignored) so the case modules are transformed like any other source.
const root = path.join(import.meta.dirname, "../artifacts");
let dir: string;

const PAIRS = `
let runs = 0;
export default async function pairs() {
  return [{
    name: "counted",
    rounds: 7,
    warmup: 0,
    baseline: { name: "b", run: () => { runs++; return 2; } },
    subject: { name: "s", run: () => { runs++; return 4; } },
  }];
}
export async function sizes() { return { "runs so far": runs }; }
`;

beforeAll(() => {
  mkdirSync(root, { recursive: true });
  dir = mkdtempSync(path.join(root, "bench-cases-"));
  writeFileSync(path.join(dir, "timed.ts"), PAIRS);
  writeFileSync(
    path.join(dir, "weights.ts"),
    `export async function sizes() { return { "page bytes": 1234 }; }`,
  );
  writeFileSync(
    path.join(dir, "broken.ts"),
    `export default async function pairs() { throw new Error("no store"); }`,
  );
  writeFileSync(path.join(dir, "empty.ts"), `export const nothing = 1;`);
  writeFileSync(path.join(dir, "notes.md"), "not a case");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("npm run bench: the case runner", () => {
  it("finds every .ts case of the folder, by name", () => {
    expect(caseNames(dir)).toEqual(["broken", "empty", "timed", "weights"]);
  });

  it("runs pairs alternately for the rounds asked, then sizes, and keeps going past a failing case", async () => {
    const report = await runCases({ dir, rounds: 3 });
    const byName = Object.fromEntries(report.cases.map((c) => [c.case, c]));
    const timed = byName.timed;
    expect(timed?.error).toBeUndefined();
    expect(timed?.pairs).toHaveLength(1);
    expect(timed?.pairs[0]?.baseline.roundsMs).toHaveLength(3); // --rounds overrides the pair's 7
    expect(timed?.pairs[0]?.subject.roundsMs).toHaveLength(3);
    // sizes() ran after the pairs: 3 rounds of each side, no warmup.
    expect(timed?.sizes).toEqual({ "runs so far": 6 });
    expect(byName.weights?.sizes).toEqual({ "page bytes": 1234 });
    expect(byName.weights?.pairs).toEqual([]);
    expect(byName.broken?.error).toContain("no store");
    expect(byName.empty?.error).toContain("neither");
    expect(report.machine.cpus).toBeGreaterThan(0);
    const table = formatReport(report);
    expect(table).toContain("counted");
    expect(table).toContain("page bytes");
    expect(table).toContain("broken  FAILED");
  });

  it("runs only the cases named, and refuses a name that is no case", async () => {
    const report = await runCases({ dir, only: ["weights"] });
    expect(report.cases.map((c) => c.case)).toEqual(["weights"]);
    await expect(runCases({ dir, only: ["weights", "nope"] })).rejects.toThrow(/no such case: nope/);
  });

  it("uses the pair's own rounds when none are forced", async () => {
    const report = await runCases({ dir, only: ["timed"] });
    expect(report.cases[0]?.pairs[0]?.subject.roundsMs).toHaveLength(7);
  });
});
