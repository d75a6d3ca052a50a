import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { problems } from "./problems.ts";

/**
 * The largest request body each class of route reads, in bytes. Every route
 * goes through `limitBodies` before anything parses a body, so an
 * unauthenticated client cannot make the server read more than this.
 */
export const BODY_LIMITS = {
  /** Sign-in: a token and a path, from anyone. */
  signIn: 16 * 1024,
  /** The study builder: whole definition files, and the draft bundle posted back form-encoded. */
  builder: 2 * 1024 * 1024,
  /** A record import job's rows: Lambda's synchronous payload cap (6 MB), the most one request can carry. */
  recordImports: 6 * 1024 * 1024,
  /**
   * One uploaded file: base64 in JSON, a direct upload's raw bytes locally, or a multipart part of REDCap's
   * `content=file` import on `/api/`: Lambda's synchronous payload cap (in AWS a large file goes to a presigned URL).
   */
  fileUpload: 6 * 1024 * 1024,
  /** A form page posted as multipart/form-data: its file and signature fields' bytes ride along (the same cap). */
  formWithFiles: 6 * 1024 * 1024,
  /** Everything else: JSON API bodies, form and enrolment posts. */
  default: 256 * 1024,
} as const;

export type BodyClass = keyof typeof BODY_LIMITS;

const FORM_PAGE = /^\/studies\/[^/]+\/subjects\/[^/]+\/events\/[^/]+\/forms\/[^/]+(\/instances\/[^/]+)?$/;

export function bodyClass(path: string, contentType = ""): BodyClass {
  if (path === "/signin") return "signIn";
  if (path === "/api/") return "fileUpload";
  if (/^\/studies\/[^/]+\/builder(\/|$)/.test(path)) return "builder";
  if (/^\/api\/v1\/studies\/[^/]+\/record-imports\/?$/.test(path)) return "recordImports";
  if (
    /^\/api\/v1\/studies\/[^/]+\/subjects\/[^/]+\/events\/[^/]+\/forms\/[^/]+\/instances\/[^/]+\/files\/[^/]+$/.test(
      path,
    )
  )
    return "fileUpload";
  if (/^\/api\/v1\/uploads\/[^/]+$/.test(path)) return "fileUpload";
  // Only a multipart post can carry files: a form posted url-encoded keeps the default limit.
  if (FORM_PAGE.test(path) && /^multipart\/form-data\b/i.test(contentType)) return "formWithFiles";
  return "default";
}

// hono's bodyLimit trusts a Content-Length (the runtime stops reading there) and otherwise
// counts the streamed bytes, stopping at the limit; either way nothing past it is parsed.
const limiters = Object.fromEntries(
  Object.entries(BODY_LIMITS).map(([name, bytes]) => [
    name,
    bodyLimit({
      maxSize: bytes,
      onError: () => {
        throw problems.tooLarge(bytes);
      },
    }),
  ]),
) as Record<BodyClass, MiddlewareHandler>;

/** 413 for a body over its route's limit: problem+json on the API, an error page on the site. */
export const limitBodies: MiddlewareHandler = (c, next) =>
  limiters[bodyClass(c.req.path, c.req.header("content-type"))](c, next);
