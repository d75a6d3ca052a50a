import { describe, expect, it } from "vitest";
import { csrfToken, newSession, openSession, sealSession, validCsrf } from "../../functions/web/session.ts";

describe("session cookies", () => {
  const secret = "s3cret";

  it("round-trips a session and refuses one signed with another secret or altered", () => {
    const session = newSession("abc123", 1_000);
    const sealed = sealSession(secret, session);
    expect(openSession(secret, sealed, 2_000)).toEqual(session);
    expect(openSession("other", sealed, 2_000)).toBeUndefined();
    const [body, sig] = sealed.split(".");
    const forged = Buffer.from(JSON.stringify(["admin", 9e15, "n"])).toString("base64url");
    expect(openSession(secret, `${forged}.${sig}`, 2_000)).toBeUndefined();
    expect(openSession(secret, `${body}.${sig}.x`, 2_000)).toBeUndefined();
    expect(openSession(secret, undefined)).toBeUndefined();
    expect(openSession(secret, "garbage")).toBeUndefined();
  });

  it("expires", () => {
    const session = newSession("abc", 0);
    expect(openSession(secret, sealSession(secret, session), session.expiresAt + 1)).toBeUndefined();
  });

  it("derives a CSRF token per session that another session cannot use", () => {
    const a = newSession("h");
    const b = newSession("h");
    expect(validCsrf(secret, a, csrfToken(secret, a))).toBe(true);
    expect(validCsrf(secret, b, csrfToken(secret, a))).toBe(false);
    expect(validCsrf(secret, a, undefined)).toBe(false);
    expect(validCsrf(secret, a, ["x"])).toBe(false);
  });
});
