import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { CommitWindowPassed } from "../store/commit-window.ts";

/**
 * The one catalogue of errors the API answers with, as RFC 9457
 * problem+json. Each has a stable `type`; routes throw a ProblemError and the
 * app's error handler writes it.
 */

export interface FieldProblem {
  /** JSON pointer: into the form's data for field errors, into the request body otherwise. */
  pointer: string;
  code: string;
  message: string;
}

export class ProblemError extends Error {
  override name = "ProblemError";
  constructor(
    readonly status: ContentfulStatusCode,
    readonly slug: string,
    readonly title: string,
    readonly detail?: string,
    readonly extra: Record<string, unknown> = {},
    /** Response headers the problem needs (e.g. Retry-After). */
    readonly headers: Record<string, string> = {},
  ) {
    super(detail ?? title);
  }

  toJSON(instance?: string) {
    return {
      type: `urn:edc:problem:${this.slug}`,
      title: this.title,
      status: this.status,
      ...(this.detail ? { detail: this.detail } : {}),
      ...(instance ? { instance } : {}),
      ...this.extra,
    };
  }
}

/** Keys made before keys had an owner and an expiry are refused with this, wherever they are sent. */
export const KEY_PREDATES = "This key predates personal API keys: create a new one at /account/keys";

export const problems = {
  badRequest: (detail: string, errors?: FieldProblem[]) =>
    new ProblemError(400, "bad-request", "The request is malformed", detail, errors ? { errors } : {}),
  unauthenticated: () =>
    new ProblemError(
      401,
      "unauthenticated",
      "A valid bearer token is required",
      "Send Authorization: Bearer <token>.",
    ),
  /** A browser's session ended under a page it was posting from: the person, not a client, reads this. */
  signedOut: () =>
    new ProblemError(
      401,
      "signed-out",
      "You are signed out",
      "Your session has ended: you signed out, it was left idle too long, or your access was revoked. What you sent from this page was not saved.",
    ),
  keyPredates: () =>
    new ProblemError(401, "key-predates", "This API key is no longer accepted", KEY_PREDATES),
  forbidden: (detail: string) => new ProblemError(403, "forbidden", "Not allowed for this token", detail),
  /** The execute-api URL reached directly, not through the distribution (http/origin-verify.ts). */
  notThroughPublicUrl: () =>
    new ProblemError(
      403,
      "not-through-public-url",
      "Use the study's public URL",
      "This address answers only requests forwarded by the study's public URL (the ApiUrl of the deployment).",
    ),
  identifiedOnly: () =>
    new ProblemError(
      403,
      "identified-only",
      "Not available to a de-identified token",
      "This answer would identify subjects; a de-identified token reads the de-identified exports only.",
    ),
  notFound: (what: string) => new ProblemError(404, "not-found", "Not found", `${what} does not exist.`),
  conflict: (detail: string, extra: Record<string, unknown>) =>
    new ProblemError(409, "stale-revision", "The form was changed by someone else", detail, extra),
  enteredInError: (detail: string) =>
    new ProblemError(409, "entered-in-error", "The form instance is marked as entered in error", detail),
  notEnteredInError: () =>
    new ProblemError(
      409,
      "not-entered-in-error",
      "The form instance is not marked as entered in error",
      "Only an instance marked as entered in error can be restored.",
    ),
  notMarkable: (detail: string) =>
    new ProblemError(
      422,
      "not-markable",
      "Only log instances and unscheduled visits can be entered in error",
      detail,
    ),
  /** A signature needs a re-authentication at the provider, fresh and unused. */
  reauthenticationRequired: (detail: string) =>
    new ProblemError(401, "reauthentication-required", "Authenticate again to sign", detail),
  /** An API key (or a key's browser session) cannot re-authenticate, so it cannot sign. */
  signatureNeedsPerson: () =>
    new ProblemError(
      403,
      "signature-needs-person",
      "Only a person can sign",
      "A signature needs the signer to authenticate again at the identity provider at the moment of signing, which an API key cannot do. Sign in as yourself on the site pages to sign.",
    ),
  nothingToSign: (detail: string) =>
    new ProblemError(422, "nothing-to-sign", "There is nothing to sign here", detail),
  statusTransition: (detail: string) =>
    new ProblemError(409, "status-transition", "The subject cannot take this status now", detail),
  /** A lock or the study's freeze holds what the request would change (engine/locks.ts). */
  locked: (detail: string, extra: Record<string, unknown> = {}) =>
    new ProblemError(423, "locked", "Locked", detail, extra),
  alreadyLocked: (detail: string) => new ProblemError(409, "already-locked", "Already locked", detail),
  notLocked: (detail: string) => new ProblemError(409, "not-locked", "Not locked", detail),
  subjectExists: (id: string) =>
    new ProblemError(409, "subject-exists", "Subject already enrolled", `Subject ${id} already exists.`),
  tooLarge: (limit: number) =>
    new ProblemError(413, "too-large", "Request body too large", `The body must be at most ${limit} bytes.`),
  unsupportedMediaType: () =>
    new ProblemError(415, "unsupported-media-type", "Send application/json", "The body must be JSON."),
  /** Soft checks the values fail, not yet confirmed: nothing was saved; send them back in `confirmWarnings`. */
  unconfirmedWarnings: (detail: string, warnings: { pointer: string; rule: string; message: string }[]) =>
    new ProblemError(422, "unconfirmed-warnings", "The values need confirming", detail, { warnings }),
  invalid: (detail: string, errors: FieldProblem[]) =>
    new ProblemError(422, "validation", "The submitted data is not valid", detail, { errors }),
  badGateway: (detail: string) =>
    new ProblemError(502, "bad-gateway", "The identity provider could not be reached", detail),
  internal: () => new ProblemError(500, "internal", "Internal error", "The error was logged."),
  commitWindowPassed: () =>
    new ProblemError(
      503,
      "commit-window-passed",
      "Try again",
      "The server took too long to store this change, so it was not stored. Send it again.",
      {},
      { "Retry-After": "1" },
    ),
} as const;

/** The problem as the answer: problem+json, its `instance` the request's path. */
export function problemResponse(c: Context, problem: ProblemError): Response {
  return c.body(JSON.stringify(problem.toJSON(c.req.path)), problem.status, {
    ...problem.headers,
    "Content-Type": "application/problem+json",
  });
}

/** An error the caller is answered with as a problem; undefined for an unexpected one (logged, 500). */
export function knownProblem(error: unknown): ProblemError | undefined {
  if (error instanceof ProblemError) return error;
  if (error instanceof CommitWindowPassed) return problems.commitWindowPassed();
  return undefined;
}

/** An unexpected error: logged as one JSON line (CloudWatch), never shown to the caller. */
export function logUnexpected(path: string, error: unknown): void {
  console.error(
    JSON.stringify({ level: "error", path, error: String(error), stack: (error as Error).stack }),
  );
}
