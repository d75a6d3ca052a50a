import { createCipheriv, createDecipheriv, createHash, createHmac } from "node:crypto";

/**
 * The change feed's cursor is a feed sort key, `<committedAt>#<subject
 * partition>#<revision>`: in the clear it would hand out a real subject id
 * (and, read by a site user, one of another site). It is sealed with a key
 * derived from the study's export salt (AES-256-GCM). The IV is an HMAC of
 * the position, so the same position always seals to the same cursor and a
 * client can compare cursors.
 */
const key = (salt: string) => createHash("sha256").update(`feed-cursor:${salt}`).digest();

export function sealCursor(salt: string, position: string): string {
  const iv = createHmac("sha256", key(salt)).update(position).digest().subarray(0, 12);
  const cipher = createCipheriv("aes-256-gcm", key(salt), iv);
  const sealed = Buffer.concat([cipher.update(position, "utf8"), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString("base64url");
}

/** The position a cursor stands for, or undefined when this study did not give it out. */
export function openCursor(salt: string, cursor: string): string | undefined {
  const bytes = Buffer.from(cursor, "base64url");
  if (bytes.length <= 28) return undefined;
  try {
    const decipher = createDecipheriv("aes-256-gcm", key(salt), bytes.subarray(0, 12));
    decipher.setAuthTag(bytes.subarray(12, 28));
    return Buffer.concat([decipher.update(bytes.subarray(28)), decipher.final()]).toString("utf8");
  } catch {
    return undefined;
  }
}
