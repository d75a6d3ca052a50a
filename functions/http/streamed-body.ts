import type { Context } from "hono";
import { logUnexpected } from "./problems.ts";

/**
 * A response body streamed from text chunks, read from the source only as
 * the client takes them. The status is sent with the first bytes, so a
 * failure after that cannot become a 500 any more; instead of ending the
 * body normally (what `hono/streaming` does, leaving a short file that looks
 * complete), the body is errored: the local server destroys the connection
 * (the chunked body never ends, so HTTP clients fail the download), and in
 * Lambda the streaming handler destroys its response stream, so the
 * invocation fails and the client's response is cut off before its end
 * (handlers/lambda-stream.ts). The cause is logged once, through the app's one
 * error path; the transport only sees a generic error, never its message.
 */
export function streamedBody(c: Context, chunks: AsyncIterable<string>): Response {
  const encoder = new TextEncoder();
  const source = chunks[Symbol.asyncIterator]();
  return c.body(
    new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const next = await source.next();
          if (next.done) controller.close();
          else controller.enqueue(encoder.encode(next.value));
        } catch (error) {
          logUnexpected(c.req.path, error);
          controller.error(new Error("The export failed after it started; the body is incomplete."));
        }
      },
      // The client went away: stop reading the store.
      async cancel() {
        await source.return?.();
      },
    }),
  );
}
