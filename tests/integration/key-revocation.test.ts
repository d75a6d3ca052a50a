import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../../functions/app.ts";
import { KEY_CACHE_TTL_MS } from "../../functions/store/key-cache.ts";
import { createStore } from "../../functions/store/store.ts";
import { hashToken } from "../../functions/store/tokens.ts";
import { BASE, type Product, startProduct } from "./harness.ts";

/**
 * Resolved keys are cached per process (key-cache.ts). Two processes on one
 * table, as two Lambda instances are: a revocation through one stops the key
 * there at once, and in the other within KEY_CACHE_TTL_MS (the documented
 * bound), never later.
 */

let product: Product;
let now = Date.now();
const clock = () => now;

function instance() {
  const env = product.env;
  const store = createStore({
    tableName: env.tableName,
    doc: env.store.db.doc,
    macKey: env.store.macKey,
    clock,
  });
  return { store, app: createApp(store, { sessionSecret: "key-revocation" }) };
}

beforeAll(async () => {
  product = await startProduct();
});
afterAll(() => product.close());

async function statusOf(app: ReturnType<typeof createApp>, token: string): Promise<number> {
  const res = await app.request(`${BASE}/subjects`, { headers: { authorization: `Bearer ${token}` } });
  return res.status;
}

const keyId = (token: string) => hashToken(token).slice(0, 12);

describe("a key revoked while two processes hold it resolved", () => {
  it("stops at once in the revoking process and within the cache's time in the other", async () => {
    const token = product.token("site-01");
    const a = instance();
    const b = instance();
    expect(await statusOf(a.app, token)).toBe(200);
    expect(await statusOf(b.app, token)).toBe(200);

    await a.store.revokeToken(product.env.studyId, keyId(token), "test");
    expect(await statusOf(a.app, token)).toBe(401);
    // The other process still holds what it read less than the cache's time ago: the documented window.
    now += KEY_CACHE_TTL_MS - 1;
    expect(await statusOf(b.app, token)).toBe(200);
    now += 1;
    expect(await statusOf(b.app, token)).toBe(401);
    // A fresh process never admits it.
    expect(await statusOf(instance().app, token)).toBe(401);
  });

  it("an owner's grant revoked stops their keys at once in the revoking process", async () => {
    const token = product.token("site-02");
    const a = instance();
    expect(await statusOf(a.app, token)).toBe(200);
    const owner = product.env.tokens["site-02"]?.owner;
    if (!owner) throw new Error("dev key without owner");
    await a.store.revokeGrant(product.env.studyId, owner, "test");
    expect(await statusOf(a.app, token)).toBe(401);
  });
});
