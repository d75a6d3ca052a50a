import { describe, expect, it } from "vitest";
import { chunkInstances } from "../../functions/store/import-jobs.ts";

/** A job's rows are stored one batch per item: DynamoDB refuses an item over 400 KB. */
describe("chunkInstances", () => {
  it("cuts at the batch size, keeping the order", () => {
    const chunks = chunkInstances(
      Array.from({ length: 45 }, (_, i) => ({ i })),
      20,
    );
    expect(chunks.map((c) => c.length)).toEqual([20, 20, 5]);
    expect(chunks.flat().map((x) => x.i)).toEqual(Array.from({ length: 45 }, (_, i) => i));
  });

  it("cuts earlier when the batch's JSON would pass 300 KB, so every chunk item stays under the cap", () => {
    const big = Array.from({ length: 10 }, (_, i) => ({ i, text: "x".repeat(100_000) }));
    const chunks = chunkInstances(big, 200);
    expect(chunks.length).toBeGreaterThan(3);
    for (const chunk of chunks) expect(Buffer.byteLength(JSON.stringify(chunk))).toBeLessThan(400_000);
    expect(chunks.flat()).toHaveLength(10);
  });
});
