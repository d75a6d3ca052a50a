import { createCipheriv, createDecipheriv, createHash, createHmac } from "node:crypto";

/**
 * Export cursors name positions that hold real subject ids: the change feed's
 * is a feed sort key (`<committedAt>#<subject partition>#<revision>`, which a
 * site user may get for another site's subject), the records export's the
 * last subject id of a page. Handed out in the clear they would identify
 * subjects to a de-identified token. They are sealed with a key
 * derived from the study's export salt (AES-256-GCM). The IV is an HMAC of
 * the position, so the same position always seals to the same cursor and a
 * client can compare cursors.
 */
const key = (salt: string) => createHash("sha256").update(`export-cursor:${salt}`).digest();

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
