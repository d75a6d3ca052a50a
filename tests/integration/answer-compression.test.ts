import type { AddressInfo } from "node:net";
import { gunzipSync } from "node:zlib";
import { type ServerType, serve } from "@hono/node-server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DevEnvironment, startDevEnvironment } from "../../functions/dev-environment.ts";
import { COMPRESS_THRESHOLD } from "../../functions/http/small-answers.ts";

/** Over real HTTP, as a browser or a sponsor's client asks: gzip accepted. */
let env: DevEnvironment;
let server: ServerType;
let base: string;
beforeAll(async () => {
  env = await startDevEnvironment();
  server = serve({ fetch: env.app.fetch, port: 0, hostname: "127.0.0.1" });
  await new Promise((resolve) => server.once("listening", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/studies/${env.studyId}`;
});
afterAll(async () => {
  server.close();
  await env.close();
});

const headers = () => ({
  authorization: `Bearer ${env.tokens["site-01"]?.token}`,
  "content-type": "application/json",
  "accept-encoding": "gzip, deflate",
});

describe("answers and compression", () => {
  it("sends a short API answer as it is, with its length, and a long one gzipped", async () => {
    const enrolled = await fetch(`${base}/subjects`, {
      method: "POST",
      headers: headers(),
      body: JSON.stringify({ site: "site-01", arm: "rrms" }),
    });
    expect(enrolled.status).toBe(201);
    expect(enrolled.headers.get("content-encoding")).toBeNull();
    const text = await enrolled.text();
    expect(enrolled.headers.get("content-length")).toBe(String(Buffer.byteLength(text)));
    const { id } = JSON.parse(text) as { id: string };

    const saved = await fetch(`${base}/subjects/${id}/events/screening/forms/edss`, {
      method: "PUT",
      headers: headers(),
      body: JSON.stringify({
        data: { assessment_date: "2024-01-10", edss_total: 3.5 },
        status: "incomplete",
        rev: 0,
      }),
    });
    const answer = await saved.text();
    expect(saved.status, answer).toBe(200);
    expect(Buffer.byteLength(answer)).toBeLessThan(COMPRESS_THRESHOLD);
    expect(saved.headers.get("content-encoding")).toBeNull();
    expect(JSON.parse(answer)).toMatchObject({ rev: 1 });

    // A refusal is an answer like any other (problem+json).
    const stale = await fetch(`${base}/subjects/${id}/events/screening/forms/edss`, {
      method: "PUT",
      headers: headers(),
      body: JSON.stringify({
        data: { assessment_date: "2024-01-10", edss_total: 4 },
        status: "incomplete",
        rev: 0,
      }),
    });
    expect(stale.status).toBe(409);
    expect(stale.headers.get("content-encoding")).toBeNull();
    expect(await stale.json()).toMatchObject({ status: 409 });

    const openapi = await fetch(`${base.replace(/\/studies\/.*$/, "")}/openapi.json`, { headers: headers() });
    expect(openapi.headers.get("content-encoding")).toBe("gzip");
    const spec = (await openapi.json()) as { openapi: string };
    expect(spec.openapi).toMatch(/^3\./);
  });

  it("still gzips a long JSON answer, every byte in order", async () => {
    // The subject list grows past the threshold with a few subjects.
    for (let i = 0; i < 12; i++) {
      const res = await fetch(`${base}/subjects`, {
        method: "POST",
        headers: headers(),
        body: JSON.stringify({ site: "site-01", arm: "rrms" }),
      });
      expect(res.status).toBe(201);
    }
    const raw = await fetch(`${base}/subjects`, { headers: { ...headers(), "accept-encoding": "identity" } });
    const plain = await raw.text();
    expect(Buffer.byteLength(plain)).toBeGreaterThan(COMPRESS_THRESHOLD);
    const zipped = await env.app.request(`/api/v1/studies/${env.studyId}/subjects`, { headers: headers() });
    expect(zipped.headers.get("content-encoding")).toBe("gzip");
    expect(gunzipSync(Buffer.from(await zipped.arrayBuffer())).toString()).toBe(plain);
  });
});
