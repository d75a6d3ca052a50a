import { setTimeout as sleep } from "node:timers/promises";
import { PutCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { entryHash, genesisHash, headMessage } from "../engine/audit-chain.ts";
import { canonicalJson } from "../engine/canonical-json.ts";
import { type Db, isConditionFailure } from "./dynamo.ts";
import { type Item, maybeString, requiredMap, requiredNumber, requiredString } from "./item-fields.ts";
import { keys } from "./keys.ts";
import type { MacKey } from "./mac-key.ts";

/** Something a person did that the study must be able to show later: who, what, from where. */
export interface AccessEvent {
  actor: string;
  /** A word for the kind of event (`publish`, later `sign-in`, `export`…). */
  action: string;
  details?: Record<string, unknown>;
  ip?: string;
  userAgent?: string;
}

/** What an entry says; all of it is hashed. */
export interface AccessLogContent {
  seq: number;
  /** Server time; a caller cannot choose it. */
  at: string;
  actor: string;
  action: string;
  details: Record<string, unknown>;
  ip?: string;
  userAgent?: string;
}

export interface AccessLogEntry extends AccessLogContent {
  previousHash: string;
  hash: string;
  mac: string;
}

/** One chain per study; the id cannot be mistaken for an instance's (revision-chain.ts). */
export function accessLogChainId(study: string): string {
  return canonicalJson(["access-log", study]);
}

/** The hashed part of a stored entry, read field by field so that the table's own attributes stay out. */
export function accessLogContent(item: Item): AccessLogContent {
  const content: Record<string, unknown> = {};
  for (const field of ["seq", "at", "actor", "action", "details", "ip", "userAgent"] as const) {
    if (item[field] !== undefined) content[field] = item[field];
  }
  return content as unknown as AccessLogContent;
}

const APPEND_ATTEMPTS = 8;

/**
 * Appends one entry: read the head (the last entry), then put seq + 1 on
 * condition that it does not exist yet. Two appends racing from the same head
 * cannot both win; the loser reads the new head and tries again after a short
 * random wait, so that a burst of appends spreads out instead of colliding in
 * step.
 */
export async function appendAccessLog(
  db: Db,
  macKey: MacKey,
  study: string,
  event: AccessEvent,
  options: { now?: () => Date } = {},
): Promise<AccessLogEntry> {
  const chainId = accessLogChainId(study);
  for (let attempt = 0; attempt < APPEND_ATTEMPTS; attempt++) {
    const head = await readHead(db, study);
    const content: AccessLogContent = {
      seq: (head?.seq ?? 0) + 1,
      at: (options.now?.() ?? new Date()).toISOString(),
      actor: event.actor,
      action: event.action,
      details: event.details ?? {},
      ...(event.ip ? { ip: event.ip } : {}),
      ...(event.userAgent ? { userAgent: event.userAgent } : {}),
    };
    const previousHash = head?.hash ?? genesisHash(chainId);
    const hash = entryHash(previousHash, content);
    const entry: AccessLogEntry = {
      ...content,
      previousHash,
      hash,
      mac: await macKey.mac(headMessage(chainId, content.seq, hash)),
    };
    try {
      await db.doc.send(
        new PutCommand({
          TableName: db.tableName,
          Item: {
            PK: keys.accessLog(study),
            SK: keys.accessLogEntry(entry.seq),
            type: "access-log",
            ...entry,
          },
          ConditionExpression: "attribute_not_exists(PK)",
        }),
      );
      return entry;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      await sleep(Math.random() * 5 * 2 ** attempt);
    }
  }
  throw new Error(
    `the access log of ${study} is too busy: ${APPEND_ATTEMPTS} appends in a row lost the race`,
  );
}

async function readHead(db: Db, study: string): Promise<{ seq: number; hash: string } | undefined> {
  const { Items } = await db.doc.send(
    new QueryCommand({
      TableName: db.tableName,
      KeyConditionExpression: "PK = :pk",
      ExpressionAttributeValues: { ":pk": keys.accessLog(study) },
      ScanIndexForward: false,
      Limit: 1,
      ConsistentRead: true,
    }),
  );
  const item = Items?.[0];
  // A head that does not decode is refused rather than chained over: verification must see it as it is.
  return item ? { seq: requiredNumber(item, "seq"), hash: requiredString(item, "hash") } : undefined;
}

/** The strict decoder of an access-log item. */
export function toAccessLogEntry(item: Item): AccessLogEntry {
  const entry: AccessLogEntry = {
    seq: requiredNumber(item, "seq"),
    at: requiredString(item, "at"),
    actor: requiredString(item, "actor"),
    action: requiredString(item, "action"),
    details: requiredMap(item, "details"),
    previousHash: requiredString(item, "previousHash"),
    hash: requiredString(item, "hash"),
    mac: requiredString(item, "mac"),
  };
  const ip = maybeString(item, "ip");
  if (ip !== undefined) entry.ip = ip;
  const userAgent = maybeString(item, "userAgent");
  if (userAgent !== undefined) entry.userAgent = userAgent;
  return entry;
}

/**
 * Raw items of the access log in append order, after `after` (a seq), up to
 * `limit` of them, following DynamoDB's pages (each at most 1 MB) until
 * enough are read; `next` is the seq to continue after, when more may follow.
 */
export async function readAccessLogItems(
  db: Db,
  study: string,
  options: { after?: number; limit?: number } = {},
): Promise<{ items: Item[]; next?: number }> {
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  const items: Item[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await db.doc.send(
      new QueryCommand({
        TableName: db.tableName,
        KeyConditionExpression: "PK = :pk AND SK > :after",
        ExpressionAttributeValues: {
          ":pk": keys.accessLog(study),
          ":after": keys.accessLogEntry(options.after ?? 0),
        },
        ConsistentRead: true,
        ExclusiveStartKey: start,
        ...(Number.isFinite(limit) ? { Limit: limit - items.length } : {}),
      }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start && items.length < limit);
  const last = items.at(-1);
  return start && last ? { items, next: seqOfKey(String(last.SK)) } : { items };
}

/** The access log, decoded, a page at a time (see `readAccessLogItems`). */
export async function readAccessLog(
  db: Db,
  study: string,
  options: { after?: number; limit?: number } = {},
): Promise<{ entries: AccessLogEntry[]; next?: number }> {
  const { items, next } = await readAccessLogItems(db, study, { limit: 100, ...options });
  return { entries: items.map(toAccessLogEntry), ...(next !== undefined ? { next } : {}) };
}

/** The seq a key names (`LOG#000000000042` → 42): the key, not the content, places an entry. */
export function seqOfKey(sk: string): number {
  return Number(sk.slice("LOG#".length));
}
