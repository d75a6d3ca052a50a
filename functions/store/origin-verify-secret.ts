/**
 * The origin secret as the stack generates it: JSON `{"current": "…"}`, CloudFront sending `current`
 * (a dynamic reference to that field). During a rotation it holds `{"current": new, "previous": old}`
 * and both are accepted, so edges still sending the old value while the distribution deploys are not
 * refused (docs/architecture.md, "Serving in AWS: streamed responses").
 */
export function originVerifyValues(secretString: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(secretString);
  } catch {
    throw new Error("the origin secret is not JSON");
  }
  const { current, previous } = (parsed ?? {}) as { current?: unknown; previous?: unknown };
  // A secret that would accept nothing (or anything) is a broken deployment: every request fails loudly.
  if (typeof current !== "string" || current.length < 32)
    throw new Error("the origin secret has no `current` value of 32 characters or more");
  return typeof previous === "string" && previous.length >= 32 ? [current, previous] : [current];
}

/** How long an instance uses what it read before reading the secret again (in the background). */
export const ORIGIN_VERIFY_MAX_AGE_MS = 5 * 60_000;

/**
 * The accepted values, read at the first request and kept; once they are older than `maxAgeMs` the next
 * request still uses them and starts one re-read, so a rotation reaches a running instance within
 * minutes without any request waiting for Secrets Manager after the first. A failed first read is not
 * kept (that request fails, the next reads again); a failed re-read keeps the values it had.
 */
export function originVerifySource(
  read: () => Promise<string>,
  options: { maxAgeMs?: number; now?: () => number } = {},
): () => Promise<readonly string[]> {
  const maxAgeMs = options.maxAgeMs ?? ORIGIN_VERIFY_MAX_AGE_MS;
  const now = options.now ?? Date.now;
  let values: Promise<readonly string[]> | undefined;
  let readAt = 0;
  let rereading = false;
  const fetchValues = () => read().then(originVerifyValues);
  return () => {
    if (!values) {
      const first = fetchValues();
      readAt = now();
      first.catch(() => {
        if (values === first) values = undefined;
      });
      values = first;
    } else if (!rereading && now() - readAt >= maxAgeMs) {
      rereading = true;
      fetchValues().then(
        (fresh) => {
          values = Promise.resolve(fresh);
          readAt = now();
          rereading = false;
        },
        () => {
          rereading = false;
        },
      );
    }
    return values;
  };
}
