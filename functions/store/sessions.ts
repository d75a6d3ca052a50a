import { GetCommand, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { type Db, isConditionFailure } from "./dynamo.ts";
import { type Item, optionalText } from "./item-fields.ts";
import { keys } from "./keys.ts";

/**
 * Browser sessions, server side. The signed cookie names the session's nonce;
 * the item says whose it is (an API key's hash, or a person at a study), when
 * it was last seen (for the idle timeout) and whether it was ended. A cookie
 * whose item is missing or ended admits no one.
 */

export interface StoredSession {
  nonce: string;
  /** A session opened by pasting an API key. */
  tokenHash?: string;
  /** A session of a person who signed in through the OpenID provider. */
  person?: string;
  study?: string;
  /** The audit label of the person (their email or name). */
  user?: string;
  /** Epoch milliseconds. */
  lastSeenAt: number;
  expiresAt: number;
  ended: boolean;
  /** A re-authentication not yet used to sign (epoch ms of its `auth_time`). */
  signingAuthenticatedAt?: number;
}

const key = (nonce: string) => ({ PK: keys.session(nonce), SK: keys.sessionItem });

export async function startSession(db: Db, session: Omit<StoredSession, "ended">): Promise<void> {
  await db.doc.send(
    new PutCommand({
      TableName: db.tableName,
      // `ttl` lets DynamoDB's TTL remove it after the cookie's own expiry (dynalite simply keeps it).
      Item: { ...key(session.nonce), type: "session", ...session, ttl: Math.ceil(session.expiresAt / 1000) },
    }),
  );
}

export async function readSession(db: Db, nonce: string): Promise<StoredSession | undefined> {
  const { Item } = await db.doc.send(new GetCommand({ TableName: db.tableName, Key: key(nonce) }));
  if (!Item) return undefined;
  const [tokenHash, person, study, user] = ["tokenHash", "person", "study", "user"].map((k) =>
    optionalText(Item as Item, k),
  );
  return {
    nonce,
    ...(tokenHash ? { tokenHash } : {}),
    ...(person ? { person } : {}),
    ...(study ? { study } : {}),
    ...(user ? { user } : {}),
    lastSeenAt: Number(Item.lastSeenAt),
    expiresAt: Number(Item.expiresAt),
    ended: Item.endedAt !== undefined,
    ...(typeof Item.signingAuthenticatedAt === "number"
      ? { signingAuthenticatedAt: Item.signingAuthenticatedAt }
      : {}),
  };
}

/** Records activity; callers do it at most about once a minute, to spare a write per request. */
export async function touchSession(db: Db, nonce: string, now: number): Promise<void> {
  await db.doc
    .send(
      new UpdateCommand({
        TableName: db.tableName,
        Key: key(nonce),
        UpdateExpression: "SET lastSeenAt = :now",
        ConditionExpression: "attribute_exists(PK)",
        ExpressionAttributeValues: { ":now": now },
      }),
    )
    .catch((error: Error) => {
      if (!isConditionFailure(error)) throw error;
    });
}

/** Ends the session for good: sign-out, or found idle too long. True only for the call that ended it. */
export async function endSession(db: Db, nonce: string, now = Date.now()): Promise<boolean> {
  try {
    await db.doc.send(
      new UpdateCommand({
        TableName: db.tableName,
        Key: key(nonce),
        UpdateExpression: "SET endedAt = :now",
        ConditionExpression: "attribute_exists(PK) AND attribute_not_exists(endedAt)",
        ExpressionAttributeValues: { ":now": now },
      }),
    );
    return true;
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    return false;
  }
}

/**
 * Records a re-authentication made to sign (its `auth_time`, epoch ms) on the
 * session: one signature may use it, once (`takeSigning`). False when the
 * session has ended meanwhile.
 */
export async function allowSigning(db: Db, nonce: string, authenticatedAt: number): Promise<boolean> {
  try {
    await db.doc.send(
      new UpdateCommand({
        TableName: db.tableName,
        Key: key(nonce),
        UpdateExpression: "SET signingAuthenticatedAt = :at",
        ConditionExpression: "attribute_exists(PK) AND attribute_not_exists(endedAt)",
        ExpressionAttributeValues: { ":at": authenticatedAt },
      }),
    );
    return true;
  } catch (error) {
    // The session ended while its person was at the provider.
    if (!isConditionFailure(error as Error)) throw error;
    return false;
  }
}

/**
 * Uses up the session's signing permission: its re-authentication time, or
 * undefined when there is none (never granted, or already used). Atomic, so
 * two posts cannot sign twice with one re-authentication.
 */
export async function takeSigning(db: Db, nonce: string): Promise<number | undefined> {
  try {
    const { Attributes } = await db.doc.send(
      new UpdateCommand({
        TableName: db.tableName,
        Key: key(nonce),
        UpdateExpression: "REMOVE signingAuthenticatedAt",
        ConditionExpression: "attribute_exists(signingAuthenticatedAt) AND attribute_not_exists(endedAt)",
        ReturnValues: "UPDATED_OLD",
      }),
    );
    const at = Number(Attributes?.signingAuthenticatedAt);
    return Number.isFinite(at) ? at : undefined;
  } catch (error) {
    if (!isConditionFailure(error as Error)) throw error;
    return undefined;
  }
}
