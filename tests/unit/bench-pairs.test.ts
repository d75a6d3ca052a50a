import { describe, expect, it } from "vitest";
import { measurePair, median } from "../bench/pairs.ts";

describe("alternating benchmark pairs", () => {
  it("takes the middle value, or the mean of the two middle ones", () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(() => median([])).toThrow();
  });

  it("runs the two sides in turn, alternating which goes first, and divides per operation", async () => {
    const order: string[] = [];
    const result = await measurePair({
      name: "pair",
      warmup: 0,
      rounds: 4,
      baseline: { name: "b", run: () => void order.push("b") },
      subject: {
        name: "s",
        run: () => {
          order.push("s");
          return 10;
        },
      },
    });
    expect(order.join("")).toBe("bssbbssb");
    expect(result.baseline.roundsMs).toHaveLength(4);
    expect(result.subject.roundsMs).toHaveLength(4);
    expect(result.ratio).toBeCloseTo(result.subject.medianMs / result.baseline.medianMs);
  });
});
