import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { sourceIp } from "../../functions/http/request-origin.ts";

const app = new Hono().get("/", (c) => c.text(sourceIp(c) ?? "none"));
const ipOf = async (headers: Record<string, string>, env?: unknown) =>
  (await app.request("/", { headers }, env as never)).text();
const lambdaEvent = (sourceIp: string) => ({ event: { requestContext: { identity: { sourceIp } } } });

describe("sourceIp", () => {
  it("behind CloudFront takes the viewer's address, not the edge's sourceIp", async () => {
    expect(await ipOf({ "x-viewer-address": "198.51.100.7" }, lambdaEvent("130.176.0.1"))).toBe(
      "198.51.100.7",
    );
  });

  it("without x-viewer-address (the execute-api URL reached directly) takes the event's sourceIp", async () => {
    expect(await ipOf({ "x-forwarded-for": "192.0.2.9" }, lambdaEvent("203.0.113.4"))).toBe("203.0.113.4");
  });

  it("locally ignores x-viewer-address (any client could send it) and keeps x-forwarded-for, then the socket", async () => {
    expect(await ipOf({ "x-viewer-address": "198.51.100.7", "x-forwarded-for": "192.0.2.9, 10.0.0.1" })).toBe(
      "192.0.2.9",
    );
    expect(
      await ipOf(
        { "x-viewer-address": "198.51.100.7" },
        { incoming: { socket: { remoteAddress: "127.0.0.1" } } },
      ),
    ).toBe("127.0.0.1");
  });
});
