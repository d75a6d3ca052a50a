/**
 * How fresh a re-authentication must be to sign (21 CFR 11.200: each signing
 * is preceded by authentication). The provider's clock and ours may differ a
 * little; this allowance covers it and nothing more.
 */

export const DEFAULT_SIGNING_WINDOW_MS = 5 * 60_000;
const CLOCK_SKEW_MS = 30_000;

/** SIGNING_WINDOW_MINUTES as milliseconds (fractions allowed); anything unusable is the default. */
export function signingWindowMs(minutes: string | undefined): number {
  const n = Number(minutes);
  return minutes && Number.isFinite(n) && n > 0 ? n * 60_000 : DEFAULT_SIGNING_WINDOW_MS;
}

/**
 * Why a re-authentication does not allow a signature, or undefined when it
 * does: `auth_time` (epoch ms) must be present, no earlier than the moment
 * the re-authentication was asked for (a provider that ignored
 * `prompt=login` answers an older one), and within the window of `now`.
 */
export function reauthenticationRefusal(
  authTime: number | undefined,
  requestedAt: number,
  now: number,
  windowMs: number,
): string | undefined {
  if (authTime === undefined) return "the identity provider did not say when you authenticated";
  if (authTime < requestedAt - CLOCK_SKEW_MS)
    return "the identity provider did not ask for your password again";
  if (authTime > now + CLOCK_SKEW_MS) return "the authentication time lies in the future";
  if (now - authTime > windowMs) return `the authentication is more than ${duration(windowMs)} old`;
  return undefined;
}

/** "5 minutes", "90 seconds": the window as a person reads it. */
export function duration(ms: number): string {
  return ms >= 60_000 && ms % 60_000 === 0
    ? `${ms / 60_000} minute${ms === 60_000 ? "" : "s"}`
    : `${Math.round(ms / 1000)} seconds`;
}

/** Whether a recorded re-authentication may still be used to sign at `now`. */
export function withinSigningWindow(authenticatedAt: number, now: number, windowMs: number): boolean {
  return now - authenticatedAt <= windowMs && authenticatedAt <= now + CLOCK_SKEW_MS;
}
