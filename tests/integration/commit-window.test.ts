import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevEnvironment } from "../../functions/dev-environment.ts";
import { type MacKey, memoryMacKey } from "../../functions/store/mac-key.ts";
import { BASE, Product } from "./harness.ts";

/**
 * A stalled writer (here: a MAC key that answers late, between the stamp and the put) must not land a
 * feed entry older than the change feed's settled point: past its commit window the write is refused.
 */
const WINDOW_MS = 1_000;
let stallMs = 0;
const real = memoryMacKey();
const stallingKey: MacKey = {
  id: real.id,
  mac: async (message) => {
    if (stallMs > 0) await sleep(stallMs);
    return real.mac(message);
  },
  verify: (message, mac) => real.verify(message, mac),
};

let product: Product;
beforeAll(async () => {
  product = new Product(await startDevEnvironment({ macKey: stallingKey, commitWindowMs: WINDOW_MS }));
});
afterAll(() => product.close());

async function stalled<T>(run: () => Promise<T>): Promise<T> {
  stallMs = WINDOW_MS + 200;
  try {
    return await run();
  } finally {
    stallMs = 0;
  }
}

const feedItems = async () => (await product.snapshot()).filter((item) => item.includes('"GSI2PK":"FEED#'));

describe("the commit window", () => {
  it("saves as usual when the writer is not stalled", async () => {
    const subject = await product.enrol();
    const saved = await product.save(subject, "screening", "vital_signs", { data: { heart_rate: 70 } });
    expect(saved.status).toBe(200);
    expect(saved.body.rev).toBe(1);
  });

  it("refuses a save stalled past the window (503, Retry-After) and writes nothing: no revision, projection or feed entry", async () => {
    const subject = await product.enrol();
    const before = await product.snapshot();
    const feedBefore = await feedItems();
    const refused = await stalled(async () =>
      product.env.app.request(product.formPath(subject, "screening", "vital_signs", 1), {
        method: "PUT",
        headers: { authorization: `Bearer ${product.token("site-01")}`, "content-type": "application/json" },
        body: JSON.stringify({ status: "incomplete", rev: 0, data: { heart_rate: 71 } }),
      }),
    );
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("1");
    expect(refused.headers.get("content-type")).toContain("application/problem+json");
    expect((await refused.json()).type).toBe("urn:edc:problem:commit-window-passed");
    expect(await product.snapshot()).toEqual(before);
    expect(await feedItems()).toEqual(feedBefore);
    // The client's retry then succeeds, from the same revision.
    const retried = await product.save(subject, "screening", "vital_signs", { data: { heart_rate: 71 } });
    expect(retried.status).toBe(200);
    expect(retried.body.rev).toBe(1);
  });

  it("refuses a review-log append stalled past the window and writes nothing", async () => {
    const subject = await product.enrol();
    expect(
      (await product.save(subject, "screening", "vital_signs", { data: { heart_rate: 72 } })).status,
    ).toBe(200);
    const before = await product.snapshot();
    const path = `${BASE}/subjects/${subject}/queries`;
    const body = {
      target: { event: "screening", form: "vital_signs", field: "heart_rate" },
      text: "Source says 27",
    };
    const refused = await stalled(() => product.call("POST", path, { as: "monitor", body }));
    expect(refused.status).toBe(503);
    expect(await product.snapshot()).toEqual(before);
    expect((await product.call("POST", path, { as: "monitor", body })).status).toBe(201);
  });
});
