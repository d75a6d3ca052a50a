import type { MiddlewareHandler } from "hono";

/** Hono's compress() default: an answer shorter than this is not worth a gzip stream. */
export const COMPRESS_THRESHOLD = 1024;

/**
 * Gives an answer that turns out shorter than `threshold` its length, so that
 * compress() (registered before this, so it looks after this) leaves it as it
 * is. compress() skips a short body only when the answer states its length,
 * which `c.json()` never does: every API answer went through a gzip stream,
 * a save's 370-byte answer came out at 300 bytes, and that stream cost 7 % of
 * a save's CPU. The body is read up to the threshold: one that ends there is
 * sent as those bytes; a longer one (a list, a page, a streamed export) goes
 * on as a stream, those bytes first, and is compressed as before (a JSON
 * export's first bytes wait for its first kilobyte).
 */
export function lengthOfSmallAnswers(threshold = COMPRESS_THRESHOLD): MiddlewareHandler {
  return async (c, next) => {
    await next();
    const res = c.res;
    if (!res.body || res.headers.has("content-length") || res.headers.has("content-encoding")) return;
    if (!/gzip|deflate/.test(c.req.header("accept-encoding") ?? "")) return; // compress() would not touch it
    // API answers only: a page or a file is longer, or is streamed, and should not wait for its first bytes.
    if (!/^application\/(problem\+)?json/.test(res.headers.get("content-type") ?? "")) return;
    const reader = res.body.getReader();
    const head: Uint8Array[] = [];
    let size = 0;
    while (size < threshold) {
      const chunk = await reader.read();
      if (chunk.done) {
        const body = concatenated(head, size);
        const headers = new Headers(res.headers);
        headers.set("content-length", String(size));
        c.res = new Response(body, { status: res.status, statusText: res.statusText, headers });
        return;
      }
      head.push(chunk.value);
      size += chunk.value.byteLength;
    }
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const chunk of head) controller.enqueue(chunk);
      },
      async pull(controller) {
        const chunk = await reader.read();
        if (chunk.done) controller.close();
        else controller.enqueue(chunk.value);
      },
      cancel: (reason) => reader.cancel(reason),
    });
    c.res = new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
}

function concatenated(chunks: Uint8Array[], size: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}
