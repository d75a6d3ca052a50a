import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevEnvironment, storeDevKey } from "../../functions/dev-environment.ts";
import { keys } from "../../functions/store/keys.ts";
import { memoryMacKey } from "../../functions/store/mac-key.ts";
import { TABLE } from "../../functions/store/table-shape.ts";
import { findToken, hashToken } from "../../functions/store/tokens.ts";
import { BASE, type Product, STUDY, startProduct } from "./harness.ts";
import { Browser } from "./web-client.ts";

/**
 * Issue 11 item 3: API keys belong to a person. A key's scope is cut down to
 * its owner's grant at every use; it always expires; it can be a REDCap-format
 * key; keys made before owners are refused with a message that says what to do.
 */

let product: Product;
const soon = (days = 30) => new Date(Date.now() + days * 86_400_000).toISOString();
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const get = async (path: string, token: string) => product.env.app.request(path, { headers: bearer(token) });
const post = (path: string, token: string, body: unknown) =>
  product.env.app.request(path, {
    method: "POST",
    headers: { ...bearer(token), "content-type": "application/json" },
    body: JSON.stringify(body),
  });
const logOf = async (action: string) =>
  (await product.env.store.readAccessLog(STUDY, { limit: 100_000 })).entries.filter(
    (e) => e.action === action,
  );

/** A person `user` holding `role` at `sites`, and a key of theirs with that scope. */
async function personWithKey(user: string, role: "coordinator" | "sponsor" | "monitor", sites: string[]) {
  const key = await storeDevKey(product.env.store, `key-of-${user}`, { user, role, study: STUDY, sites });
  product.env.tokens[user] = key;
  return key;
}

beforeAll(async () => {
  product = await startProduct();
  await product.enrol("site-01", { site: "site-01", arm: "rrms" });
  await product.enrol("site-02", { site: "site-02", arm: "nmo" });
});
afterAll(() => product.close());

async function subjectSites(token: string): Promise<string[] | number> {
  const res = await get(`${BASE}/subjects`, token);
  if (res.status !== 200) return res.status;
  const body = (await res.json()) as { subjects: { site: string }[] };
  return [...new Set(body.subjects.map((s) => s.site))].sort();
}

describe("a key's scope is cut to its owner's grant at every use", () => {
  it("sees only where the owner still holds the key's role", async () => {
    const key = await personWithKey("ann", "coordinator", ["*"]);
    expect(await subjectSites(key.token)).toEqual(["site-01", "site-02"]);
    await product.env.store.setGrant(
      { study: STUDY, person: key.owner, roles: [{ role: "coordinator", sites: ["site-02"] }] },
      "test",
    );
    expect(await subjectSites(key.token)).toEqual(["site-02"]);
    // The owner now holds another role only: the key's role is gone, and the key admits no one.
    await product.env.store.setGrant(
      { study: STUDY, person: key.owner, roles: [{ role: "sponsor", sites: ["*"] }] },
      "test",
    );
    expect(await subjectSites(key.token)).toBe(401);
  });

  it("stops at once when the person is revoked, on the API, on /api/ and in a session", async () => {
    const key = await personWithKey("ben", "sponsor", ["*"]);
    const browser = new Browser(product);
    await browser.signIn("ben");
    expect((await browser.request("GET", `/studies/${STUDY}/exports`)).status).toBe(200);
    expect(await subjectSites(key.token)).toEqual(["site-01", "site-02"]);
    expect(await product.env.store.revokeGrant(STUDY, key.owner, "test")).toBe(true);
    expect(await subjectSites(key.token)).toBe(401);
    const redcap = await product.env.app.request("/api/", {
      method: "POST",
      body: new URLSearchParams({ token: key.token, content: "arm", format: "json" }),
    });
    expect(redcap.status).toBe(403);
    const page = await browser.request("GET", `/studies/${STUDY}/exports`);
    expect(page.status).toBe(302);
  });

  it("makes a person's own key only within what they hold", async () => {
    const key = await personWithKey("cat", "coordinator", ["site-01"]);
    const beyond = await post(`${BASE}/keys`, key.token, {
      scope: [{ role: "coordinator", sites: ["site-02"] }],
      expiresAt: soon(),
    });
    expect(beyond.status).toBe(422);
    expect(((await beyond.json()) as { errors: { code: string }[] }).errors.map((e) => e.code)).toEqual([
      "not-held",
    ]);
    const made = await post(`${BASE}/keys`, key.token, { expiresAt: soon() });
    expect(made.status).toBe(201);
    const created = (await made.json()) as { token: string; owner: string; kind: string; scope: unknown };
    expect(created).toMatchObject({
      owner: key.owner,
      kind: "personal",
      scope: [{ role: "coordinator", sites: ["site-01"] }],
    });
    expect(await subjectSites(created.token)).toEqual(["site-01"]);
  });
});

describe("revoking a key", () => {
  it("is recorded once when many revocations of one key race: one key-revoke entry, naming who revoked it", async () => {
    const maker = await personWithKey("rae", "coordinator", ["site-01"]);
    const made = await post(`${BASE}/keys`, maker.token, { expiresAt: soon() });
    expect(made.status).toBe(201);
    const { id } = (await made.json()) as { id: string };
    const results = await Promise.all(
      Array.from({ length: 15 }, () =>
        product.env.app.request(`${BASE}/keys/${id}`, { method: "DELETE", headers: bearer(maker.token) }),
      ),
    );
    expect(results.map((r) => r.status)).toEqual(results.map(() => 204));
    const revocations = (await logOf("key-revoke")).filter((e) => e.details.key === id);
    expect(revocations).toHaveLength(1);
    const stored = (await product.env.store.listTokens(STUDY)).find((t) => t.id === id);
    expect(stored?.revokedBy).toBe(revocations[0]?.actor);
    // Once more, later: still 204 and still one entry.
    const again = await product.env.app.request(`${BASE}/keys/${id}`, {
      method: "DELETE",
      headers: bearer(maker.token),
    });
    expect(again.status).toBe(204);
    expect((await logOf("key-revoke")).filter((e) => e.details.key === id)).toHaveLength(1);
  });
});

describe("expiry is mandatory", () => {
  it("refuses a key without expiry, beyond a year, or outliving the key that makes it", async () => {
    const key = await personWithKey("dan", "sponsor", ["*"]);
    expect((await post(`${BASE}/keys`, key.token, {})).status).toBe(400);
    const tooLate = await post(`${BASE}/keys`, key.token, { expiresAt: soon(400) });
    expect(tooLate.status).toBe(422);
    // dev keys live 90 days: a key made with one cannot live longer.
    const outlives = await post(`${BASE}/keys`, key.token, { expiresAt: soon(200) });
    expect(outlives.status).toBe(422);
    expect(((await outlives.json()) as { errors: { code: string }[] }).errors[0]?.code).toBe(
      "outlives-maker",
    );
  });

  it("admits no one once expired", async () => {
    const key = await storeDevKey(product.env.store, "expired-key", {
      user: "eve",
      role: "sponsor",
      study: STUDY,
      sites: ["*"],
      expiresAt: new Date(Date.now() - 1000).toISOString(),
    });
    expect(await subjectSites(key.token)).toBe(401);
  });

  it("is long but finite for the dev keys", () => {
    for (const t of Object.values(product.env.tokens)) {
      const days = (Date.parse(t.expiresAt) - Date.now()) / 86_400_000;
      expect(days).toBeGreaterThan(80);
      expect(days).toBeLessThanOrEqual(90);
    }
  });
});

describe("REDCap-format keys", () => {
  it("are 32 upper-case hexadecimal characters, accepted by a REDCap-style form post on /api/", async () => {
    const key = await personWithKey("fay", "sponsor", ["*"]);
    const made = await post(`${BASE}/keys`, key.token, { expiresAt: soon(), format: "redcap" });
    expect(made.status).toBe(201);
    const { token, format } = (await made.json()) as { token: string; format: string };
    expect(token).toMatch(/^[0-9A-F]{32}$/);
    expect(format).toBe("redcap");
    const res = await product.env.app.request("/api/", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token, content: "arm", format: "json" }).toString(),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as unknown[]).length).toBeGreaterThan(0);
    // The same hashed lookup serves it on /api/v1 too.
    expect(await subjectSites(token)).toEqual(["site-01", "site-02"]);
  });
});

describe("keys made before personal API keys", () => {
  const old = "edc_made-before-owners";
  const message = "This key predates personal API keys: create a new one at /account/keys";
  beforeAll(async () => {
    const hash = hashToken(old);
    await product.env.store.db.doc.send(
      new PutCommand({
        TableName: product.env.tableName,
        Item: {
          PK: keys.token(hash),
          SK: keys.tokenItem,
          type: "token",
          id: hash.slice(0, 12),
          user: "old-sponsor",
          role: "sponsor",
          study: STUDY,
          sites: ["*"],
          createdAt: "2025-01-01T00:00:00.000Z",
          [TABLE.indexes.bySite.partitionKey]: keys.tokenIndex(STUDY),
          [TABLE.indexes.bySite.sortKey]: keys.tokenIndexEntry("2025-01-01T00:00:00.000Z", hash),
        },
      }),
    );
  });

  it("are refused on the API with a 401 problem saying what to do", async () => {
    const res = await get(`${BASE}/subjects`, old);
    expect(res.status).toBe(401);
    expect(res.headers.get("content-type")).toContain("application/problem+json");
    expect(await res.json()).toMatchObject({ status: 401, detail: message });
  });

  it("are refused on /api/ and at the token sign-in with the same message", async () => {
    const redcap = await product.env.app.request("/api/", {
      method: "POST",
      body: new URLSearchParams({ token: old, content: "arm", format: "json" }),
    });
    expect(redcap.status).toBe(401);
    expect(await redcap.json()).toEqual({ error: message });
    const signIn = await product.env.app.request("/signin", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: old }).toString(),
    });
    expect(signIn.status).toBe(401);
    expect(await signIn.text()).toContain(message);
  });

  it("are listed to admins as having no owner", async () => {
    const listed = (await product.env.store.listTokens(STUDY)).find((t) => t.user === "old-sponsor");
    expect(listed).toMatchObject({ scope: [{ role: "sponsor", sites: ["*"] }] });
    expect(listed?.owner).toBeUndefined();
  });
});

describe("last use", () => {
  it("is a day, recorded once a day, with one key-use entry in the access log per day", async () => {
    const key = await personWithKey("gus", "sponsor", ["*"]);
    const { db, macKey } = product.env.store;
    const id = hashToken(key.token).slice(0, 12);
    const entriesOfKey = async () => (await logOf("key-use")).filter((e) => e.details.key === id);
    const lastUsedOn = async () =>
      (await product.env.store.listTokens(STUDY)).find((t) => t.id === id)?.lastUsedOn;
    const day1 = new Date("2026-12-02T08:00:00Z");
    for (const hour of [0, 1, 5]) {
      const found = await findToken(db, macKey, key.token, {
        now: new Date(day1.getTime() + hour * 3_600_000),
      });
      expect(found.principal?.user).toBe("gus");
    }
    expect(await lastUsedOn()).toBe("2026-12-02");
    expect(await entriesOfKey()).toHaveLength(1);
    await findToken(db, macKey, key.token, { now: new Date("2026-12-03T09:00:00Z") });
    await findToken(db, macKey, key.token, { now: new Date("2026-12-03T23:00:00Z") });
    expect(await lastUsedOn()).toBe("2026-12-03");
    const entries = await entriesOfKey();
    expect(entries).toHaveLength(2);
    expect(entries.map((e) => e.details.day)).toEqual(["2026-12-02", "2026-12-03"]);
    expect(entries[0]).toMatchObject({ actor: "gus", details: { owner: key.owner, kind: "personal" } });
  });

  it("logs concurrent first uses of a day once", async () => {
    const key = await personWithKey("hal", "sponsor", ["*"]);
    const id = hashToken(key.token).slice(0, 12);
    const statuses = await Promise.all(
      Array.from({ length: 6 }, () => get(`${BASE}/subjects`, key.token).then((r) => r.status)),
    );
    expect(statuses).toEqual(Array(6).fill(200));
    expect((await logOf("key-use")).filter((e) => e.details.key === id)).toHaveLength(1);
    const listed = (await product.env.store.listTokens(STUDY)).find((t) => t.id === id);
    expect(listed?.lastUsedOn).toBe(new Date().toISOString().slice(0, 10));
  });
});

describe("a person's own keys", () => {
  it("are listed to their owner only, revocable by the owner, and logged when made and revoked", async () => {
    const ida = await personWithKey("ida", "monitor", ["*"]);
    const jon = await personWithKey("jon", "monitor", ["*"]);
    const made = (await (await post(`${BASE}/keys`, ida.token, { expiresAt: soon() })).json()) as {
      id: string;
      token: string;
    };
    const listed = (await (await get(`${BASE}/keys`, ida.token)).json()) as { keys: { id: string }[] };
    expect(listed.keys.map((k) => k.id)).toContain(made.id);
    expect(JSON.stringify(listed)).not.toContain(made.token);
    const others = (await (await get(`${BASE}/keys`, jon.token)).json()) as { keys: { id: string }[] };
    expect(others.keys.map((k) => k.id)).not.toContain(made.id);
    const del = (token: string) =>
      product.env.app.request(`${BASE}/keys/${made.id}`, { method: "DELETE", headers: bearer(token) });
    expect((await del(jon.token)).status).toBe(404);
    expect(await subjectSites(made.token)).toEqual(["site-01", "site-02"]);
    expect((await del(ida.token)).status).toBe(204);
    expect(await subjectSites(made.token)).toBe(401);
    expect((await logOf("key-create")).filter((e) => e.details.key === made.id)).toMatchObject([
      { actor: "ida", details: { owner: ida.owner, kind: "personal", format: "edc" } },
    ]);
    expect((await logOf("key-revoke")).filter((e) => e.details.key === made.id)).toMatchObject([
      { actor: "ida", details: { owner: ida.owner } },
    ]);
  });

  it("stay de-identified when made with a de-identified key", async () => {
    const deid = await storeDevKey(product.env.store, "deid-maker", {
      user: "lea",
      role: "sponsor",
      study: STUDY,
      sites: ["*"],
      deidentified: true,
    });
    const made = await post(`${BASE}/keys`, deid.token, { expiresAt: soon(), deidentified: false });
    expect(made.status).toBe(201);
    const created = (await made.json()) as { token: string; deidentified: boolean };
    expect(created.deidentified).toBe(true);
    expect((await get(`${BASE}/subjects`, created.token)).status).toBe(403);
  });

  it("are made, shown once and revoked on /account/keys", async () => {
    await personWithKey("kim", "sponsor", ["*"]);
    const browser = new Browser(product);
    await browser.signIn("kim");
    const page = await browser.request("GET", "/account/keys");
    expect(page.status).toBe(200);
    const created = await browser.request("POST", "/account/keys", {
      _csrf: browser.csrf(page.html),
      expires: soon(10).slice(0, 10),
      format: "redcap",
    });
    expect(created.status).toBe(200);
    const token = /data-new-token[^>]*>[\s\S]*?<code>([^<]+)<\/code>/.exec(created.html)?.[1] ?? "";
    expect(token).toMatch(/^[0-9A-F]{32}$/);
    expect((await browser.request("GET", "/account/keys")).html).not.toContain(token);
    const id = hashToken(token).slice(0, 12);
    const revoked = await browser.request("POST", `/account/keys/${id}/revoke`, {
      _csrf: browser.csrf(created.html),
    });
    expect(revoked.status).toBe(303);
    expect(await subjectSites(token)).toBe(401);
    const refused = await browser.request("POST", "/account/keys", {
      _csrf: browser.csrf(page.html),
      expires: soon(400).slice(0, 10),
    });
    expect(refused.status).toBe(422);
    expect(refused.html).toContain("The key was not created");
  });

  it("take the expiry as the project's date text, not the browser's locale-dependent date picker", async () => {
    await personWithKey("lou", "sponsor", ["*"]);
    const browser = new Browser(product);
    await browser.signIn("lou");
    const page = await browser.request("GET", "/account/keys");
    expect(page.html).not.toMatch(/type="date"/);
    const day = new Date(soon(10));
    const spelled = `${day.getUTCDate()} ${day.toLocaleString("en-GB", { month: "short", timeZone: "UTC" })} ${day.getUTCFullYear()}`;
    const created = await browser.request("POST", "/account/keys", {
      _csrf: browser.csrf(page.html),
      expires: spelled,
    });
    expect(created.status, created.html).toBe(200);
    expect(created.html).toContain("data-new-token");
    const listed = await browser.request("GET", "/account/keys");
    expect(listed.html).toMatch(/<section class="scroll"[^>]*>\s*<table/);
  });
});

describe("dev keys", () => {
  it("are kept across restarts while valid, and made anew at the next start once expired", async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), "edc-dev-keys-"));
    const macKey = memoryMacKey();
    const first = await startDevEnvironment({ dataDir, macKey, feedSettleMs: 0 });
    const old = first.tokens["site-01"]?.token ?? "";
    await first.store.db.doc.send(
      new UpdateCommand({
        TableName: first.tableName,
        Key: { PK: keys.token(hashToken(old)), SK: keys.tokenItem },
        UpdateExpression: "SET expiresAt = :past",
        ExpressionAttributeValues: { ":past": "2020-01-01T00:00:00.000Z" },
      }),
    );
    await first.close();
    const second = await startDevEnvironment({ dataDir, macKey, feedSettleMs: 0 });
    try {
      const renewed = second.tokens["site-01"]?.token ?? "";
      expect(renewed).not.toBe(old);
      expect((await second.store.checkToken(renewed)).principal?.roles).toEqual([
        { role: "coordinator", sites: ["site-01"] },
      ]);
      expect((await second.store.checkToken(old)).refused).toBe("expired");
    } finally {
      await second.close();
    }
  });
});
