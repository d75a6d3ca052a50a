import { GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import type { Db } from "./dynamo.ts";
import { keys } from "./keys.ts";

/**
 * Signed-out browser sessions. A session cookie is stateless until its owner
 * signs out; from then on its nonce is listed here until the cookie would have
 * expired anyway, so a copied cookie stops working at sign-out.
 */
const key = (nonce: string) => ({ PK: keys.session(nonce), SK: keys.signedOut });

export async function endSession(db: Db, nonce: string, expiresAt: number): Promise<void> {
  await db.doc.send(
    new PutCommand({
      TableName: db.tableName,
      // `ttl` lets DynamoDB's TTL remove it after the cookie's own expiry (dynalite simply keeps it).
      Item: { ...key(nonce), type: "session-end", ttl: Math.ceil(expiresAt / 1000) },
    }),
  );
}

export async function sessionEnded(db: Db, nonce: string): Promise<boolean> {
  const { Item } = await db.doc.send(new GetCommand({ TableName: db.tableName, Key: key(nonce) }));
  return Item !== undefined;
}
