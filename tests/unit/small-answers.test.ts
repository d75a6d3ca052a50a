import { gunzipSync } from "node:zlib";
import { Hono } from "hono";
import { compress } from "hono/compress";
import { describe, expect, it } from "vitest";
import { lengthOfSmallAnswers } from "../../functions/http/small-answers.ts";

const THRESHOLD = 64;

/** An app whose answers come as many small chunks, as a streamed export's do. */
function app(chunks: string[], type = "application/json") {
  const a = new Hono();
  a.use("*", compress({ threshold: THRESHOLD }));
  a.use("*", lengthOfSmallAnswers(THRESHOLD));
  a.get("/", () => {
    const encoder = new TextEncoder();
    let i = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        const chunk = chunks[i++];
        if (chunk === undefined) controller.close();
        else controller.enqueue(encoder.encode(chunk));
      },
    });
    return new Response(body, { status: 201, headers: { "content-type": type, "x-kept": "yes" } });
  });
  return a;
}

const get = (a: Hono, encoding = "gzip") => a.request("/", { headers: { "accept-encoding": encoding } });

describe("lengthOfSmallAnswers", () => {
  it("sends chunks that end under the threshold as they are, with their length, status and headers", async () => {
    const res = await get(app(['{"a":', "1,", '"b":2}']));
    expect(res.status).toBe(201);
    expect(res.headers.get("content-encoding")).toBeNull();
    expect(res.headers.get("content-length")).toBe("13");
    expect(res.headers.get("x-kept")).toBe("yes");
    expect(await res.text()).toBe('{"a":1,"b":2}');
  });

  it("gzips a body longer than the threshold, the bytes read ahead first and the rest in order", async () => {
    const chunks = Array.from({ length: 40 }, (_, i) => `"${String(i).padStart(4, "0")}",`);
    const res = await get(app(["[", ...chunks, '"end"]']));
    expect(res.headers.get("content-encoding")).toBe("gzip");
    expect(res.headers.get("content-length")).toBeNull();
    expect(gunzipSync(Buffer.from(await res.arrayBuffer())).toString()).toBe(`[${chunks.join("")}"end"]`);
  });

  it("leaves what it should not touch: a page, or a client that takes no compression", async () => {
    const page = await get(app(["<p>hi</p>"], "text/html"));
    expect(page.headers.get("content-length")).toBeNull();
    const identity = await get(app(['{"a":1}']), "identity");
    expect(identity.headers.get("content-length")).toBeNull();
    expect(await identity.text()).toBe('{"a":1}');
  });
});
