import type { Context } from "hono";
import type { ParseBodyOptions } from "hono/utils/body";
import type { AppEnv } from "../http/context.ts";
import { problems } from "../http/problems.ts";

/**
 * The posted form, read where a post is first read (sign-in, and the session
 * check's CSRF token before every signed-in post). A body its content type
 * does not describe (multipart without its boundary or parts) makes the
 * runtime's FormData parser throw a TypeError: that is the client's malformed
 * request, so it is a 400 page, not a 500. Hono keeps the body read, so the
 * handler's own parseBody reads it again without the network.
 */
export async function readFormBody(c: Context<AppEnv>, options?: Partial<ParseBodyOptions>) {
  try {
    return await c.req.parseBody(options);
  } catch (error) {
    if (error instanceof TypeError)
      throw problems.badRequest(
        "The form could not be read: send it as the page does (its fields, encoded).",
      );
    throw error;
  }
}
