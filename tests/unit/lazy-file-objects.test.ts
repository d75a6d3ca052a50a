import { describe, expect, it } from "vitest";
import { memoryFileObjects } from "../../functions/store/file-objects.ts";
import { lazyFileObjects } from "../../functions/store/lazy-file-objects.ts";

describe("lazyFileObjects", () => {
  it("makes the store at the first operation, once, and answers what it answers", async () => {
    const inner = memoryFileObjects();
    let loads = 0;
    const files = lazyFileObjects(async () => {
      loads++;
      return inner;
    }, false);
    expect(loads).toBe(0);
    const stored = await files.put(new Uint8Array([1, 2, 3]));
    expect(await files.stat(stored.sha256)).toEqual(stored);
    expect(await files.get(stored.sha256)).toEqual(new Uint8Array([1, 2, 3]));
    expect(loads).toBe(1);
    expect(files.direct).toBeUndefined();
  });

  it("tries again after a failed load instead of keeping the failure", async () => {
    let loads = 0;
    const files = lazyFileObjects(async () => {
      loads++;
      if (loads === 1) throw new Error("no network");
      return memoryFileObjects();
    }, false);
    await expect(files.get("0".repeat(64))).rejects.toThrow("no network");
    expect(await files.get("0".repeat(64))).toBeUndefined();
    expect(loads).toBe(2);
  });

  it("offers direct access when told the store has it, and refuses it when the store has none", async () => {
    const files = lazyFileObjects(async () => memoryFileObjects(), true);
    expect(files.direct).toBeDefined();
    await expect(
      files.direct?.downloadUrl("0".repeat(64), { contentType: "a/b", contentDisposition: "inline" }, 60),
    ).rejects.toThrow("no direct access");
  });
});
