import type { PutCommand, PutCommandOutput } from "@aws-sdk/lib-dynamodb";
import type { Db } from "./dynamo.ts";

/**
 * The commit window: what makes the change feed's settle window sound, whatever the functions' timeouts.
 *
 * The feed (and every incremental reader: warehouse increments, the projection watermark) delivers only
 * entries stamped before `now − settle window` (60 s in AWS), so an entry that became visible more than a
 * settle window after its stamp would be behind a reader's cursor and missed forever. Functions now run up
 * to 15 min, so a writer stalled between stamping and its put cannot be ruled out by a timeout. Instead,
 * every feed-visible write (a revision, a review-log entry, any chained append) is sent only within
 * COMMIT_WINDOW_MS of taking its stamp, measured on the monotonic clock from when the stamp was taken (its
 * value may be injected by tests): past it, the write is refused before it is sent; and the send carries an
 * abort signal for what is left of the window, so the SDK's retries stop in time.
 *
 * Invariant: COMMIT_WINDOW_MS + the feed index's propagation lag (seconds at worst) < settle window (60 s).
 * This is the one place it is enforced; docs/architecture.md "## Exports" states it.
 */
export const COMMIT_WINDOW_MS = 15_000;

/** A feed-visible write's commit time, and when (monotonic clock, ms) it was taken. */
export interface CommitStamp {
  at: string;
  takenAt: number;
}

/** Stamps a write now; `now` (tests) only sets the stamp's value, never when the window starts. */
export function takeStamp(now?: Date): CommitStamp {
  return { at: (now ?? new Date()).toISOString(), takenAt: performance.now() };
}

/** A write refused (or abandoned) because its commit window passed: retryable, nothing was written by us. */
export class CommitWindowPassed extends Error {
  override name = "CommitWindowPassed";
  constructor(readonly windowMs: number) {
    super(`the write was not sent within ${windowMs} ms of its commit stamp; try again`);
  }
}

/** Sends a put stamped with `stamp`, only inside the stamp's commit window (see above). */
export async function sendWithinWindow(
  db: Db,
  stamp: CommitStamp,
  command: PutCommand,
): Promise<PutCommandOutput> {
  const windowMs = db.commitWindowMs ?? COMMIT_WINDOW_MS;
  const left = stamp.takenAt + windowMs - performance.now();
  if (left <= 0) throw new CommitWindowPassed(windowMs);
  const abortSignal = AbortSignal.timeout(Math.ceil(left));
  try {
    return await db.doc.send(command, { abortSignal });
  } catch (error) {
    // The put may have reached the table before the abort, i.e. inside the window: a retry then finds it
    // (a revision's key or a chain's seq is taken) and answers as for any lost race.
    if (abortSignal.aborted) throw new CommitWindowPassed(windowMs);
    throw error;
  }
}
