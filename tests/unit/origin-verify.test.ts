import { describe, expect, it } from "vitest";
import { createApp } from "../../functions/app.ts";
import { eventToRequest, type ProxyEvent } from "../../functions/handlers/lambda-stream.ts";
import { isAccepted } from "../../functions/http/origin-verify.ts";
import { ORIGIN_VERIFY_HEADER } from "../../functions/store/function-env.ts";
import { originVerifySource, originVerifyValues } from "../../functions/store/origin-verify-secret.ts";
import type { Store } from "../../functions/store/store.ts";

/**
 * Only CloudFront may reach the API function (functions/http/origin-verify.ts): a request without the
 * origin header's value is refused before any route, page or store runs, so the x-forwarded-host and
 * x-viewer-address of a request sent straight to the execute-api URL are never trusted.
 */

const CURRENT = "c".repeat(48);
const PREVIOUS = "p".repeat(48);

/** A store any use of which fails the test: a refused request must not reach it. */
const untouchable = new Proxy({} as Store, {
  get: (_target, name) => {
    throw new Error(`the store was used (${String(name)})`);
  },
});

function appWith(accepted: readonly string[]) {
  let checks = 0;
  const app = createApp(untouchable, {
    sessionSecret: "s".repeat(48),
    originVerify: {
      header: ORIGIN_VERIFY_HEADER,
      accepted: async () => {
        checks++;
        return accepted;
      },
    },
  });
  return { app, checks: () => checks };
}

/** A REST proxy event as the execute-api URL passes it on: whatever headers the client chose. */
const directEvent = (path: string, headers: Record<string, string>): ProxyEvent => ({
  httpMethod: "GET",
  path,
  headers: { Host: "abc.execute-api.eu-west-1.amazonaws.com", ...headers },
  multiValueHeaders: null,
  body: null,
  requestContext: {
    domainName: "abc.execute-api.eu-west-1.amazonaws.com",
    identity: { sourceIp: "203.0.113.9" },
  },
});

const refusal = {
  type: "urn:edc:problem:not-through-public-url",
  status: 403,
  title: "Use the study's public URL",
};

describe("the origin check", () => {
  const { app, checks } = appWith([CURRENT, PREVIOUS]);

  it("refuses a request without the header, or with a wrong one, with a 403 problem+json, API and pages alike", async () => {
    for (const [path, headers] of [
      ["/api/v1/openapi.json", {}],
      ["/api/v1/openapi.json", { [ORIGIN_VERIFY_HEADER]: "c".repeat(47) }],
      ["/api/v1/studies/s1/records", { [ORIGIN_VERIFY_HEADER]: `${CURRENT}x` }],
      ["/signin", { [ORIGIN_VERIFY_HEADER]: "" }],
      ["/", { [ORIGIN_VERIFY_HEADER]: CURRENT.toUpperCase() }],
    ] as const) {
      const res = await app.request(path, { headers });
      expect(res.status, `${path} ${JSON.stringify(headers)}`).toBe(403);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
      expect(await res.json()).toEqual({ ...refusal, detail: expect.any(String), instance: path });
      // Still an answer of this app: the browser hardening headers are on it.
      expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    }
  });

  // A path no route answers: past the check it is the app's 404, not the 403 (and loads no route module).
  const UNROUTED = "/api/unrouted";

  it("lets the current value through, and the previous one during a rotation", async () => {
    const before = checks();
    for (const value of [CURRENT, PREVIOUS]) {
      const res = await app.request(UNROUTED, { headers: { [ORIGIN_VERIFY_HEADER]: value } });
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ type: "urn:edc:problem:not-found" });
    }
    expect(checks()).toBe(before + 2);
  });

  it("ignores a forged x-forwarded-host and x-viewer-address at the execute-api URL: refused, no cookie, no redirect, no store", async () => {
    const forged = { "X-Forwarded-Host": "evil.example", "X-Viewer-Address": "192.0.2.66" };
    for (const path of ["/signin", "/", "/api/v1/studies"]) {
      const res = await app.fetch(eventToRequest(directEvent(path, forged)), {
        event: directEvent(path, forged),
      });
      expect(res.status).toBe(403);
      expect(res.headers.getSetCookie()).toEqual([]);
      expect(res.headers.get("location")).toBeNull();
      expect(await res.text()).not.toContain("evil.example");
    }
    // Through CloudFront (the header present) the request goes on to the routes.
    const viaEdge = { ...forged, "X-Origin-Verify": CURRENT };
    const passed = await app.fetch(eventToRequest(directEvent(UNROUTED, viaEdge)), {
      event: directEvent(UNROUTED, viaEdge),
    });
    expect(passed.status).toBe(404);
  });

  it("compares in constant time over digests: any length, no throw, nothing accepted when nothing is configured", () => {
    expect(isAccepted(CURRENT, [CURRENT])).toBe(true);
    expect(isAccepted(PREVIOUS, [CURRENT, PREVIOUS])).toBe(true);
    expect(isAccepted(undefined, [CURRENT])).toBe(false);
    expect(isAccepted("", [CURRENT])).toBe(false);
    expect(isAccepted("x", [CURRENT])).toBe(false);
    expect(isAccepted(`${CURRENT}${CURRENT}`, [CURRENT])).toBe(false);
    expect(isAccepted("", [""])).toBe(false);
    expect(isAccepted(CURRENT, [])).toBe(false);
  });
});

describe("the origin secret", () => {
  it("holds `current` and, during a rotation, `previous`; anything else is a broken deployment", () => {
    expect(originVerifyValues(JSON.stringify({ current: CURRENT }))).toEqual([CURRENT]);
    expect(originVerifyValues(JSON.stringify({ current: CURRENT, previous: PREVIOUS }))).toEqual([
      CURRENT,
      PREVIOUS,
    ]);
    expect(originVerifyValues(JSON.stringify({ current: CURRENT, previous: "" }))).toEqual([CURRENT]);
    expect(() => originVerifyValues(CURRENT)).toThrow(/not JSON/);
    expect(() => originVerifyValues("{}")).toThrow(/no `current`/);
    expect(() => originVerifyValues(JSON.stringify({ current: "short" }))).toThrow(/no `current`/);
  });

  it("is read once, then again in the background when older than its max age; a failed re-read keeps the values", async () => {
    let clock = 0;
    const answers: (string | Error)[] = [
      JSON.stringify({ current: CURRENT }),
      JSON.stringify({ current: PREVIOUS, previous: CURRENT }),
      new Error("throttled"),
    ];
    let reads = 0;
    const read = async () => {
      const answer = answers[Math.min(reads++, answers.length - 1)] as string | Error;
      if (answer instanceof Error) throw answer;
      return answer;
    };
    const values = originVerifySource(read, { maxAgeMs: 1000, now: () => clock });
    expect(await values()).toEqual([CURRENT]);
    clock = 999;
    expect(await values()).toEqual([CURRENT]);
    expect(reads).toBe(1);
    clock = 1000;
    // This request still uses what was read; the re-read's result serves the next ones.
    expect(await values()).toEqual([CURRENT]);
    await Promise.resolve();
    expect(await values()).toEqual([PREVIOUS, CURRENT]);
    expect(reads).toBe(2);
    clock = 2500;
    expect(await values()).toEqual([PREVIOUS, CURRENT]);
    await Promise.resolve();
    expect(reads).toBe(3);
    expect(await values()).toEqual([PREVIOUS, CURRENT]);
  });

  it("a failed first read fails that request only; the next one reads again", async () => {
    let reads = 0;
    const values = originVerifySource(async () => {
      reads++;
      if (reads === 1) throw new Error("AccessDeniedException");
      return JSON.stringify({ current: CURRENT });
    });
    await expect(values()).rejects.toThrow(/AccessDenied/);
    expect(await values()).toEqual([CURRENT]);
    expect(reads).toBe(2);
  });
});
