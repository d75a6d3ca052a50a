import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import { canonicalJson } from "../engine/canonical-json.ts";
import { appendChained } from "./chained-append.ts";
import type { Db } from "./dynamo.ts";
import { type Item, maybeString, requiredMap, requiredNumber, requiredString } from "./item-fields.ts";
import { keys } from "./keys.ts";
import type { MacKey } from "./mac-key.ts";

/** Who, beyond the label: the person's id when a person acted, and where the request came from. */
export interface AccessOrigin {
  person?: string;
  ip?: string;
  userAgent?: string;
}

/** Something a person did that the study must be able to show later: who, what, from where. */
export interface AccessEvent extends AccessOrigin {
  /** The principal's label (a person's email or name, an API key's user), or what a failed sign-in claimed. */
  actor: string;
  /** A word for the kind of event (`publish`, `sign-in`, `export-records`…: docs/architecture.md, "Access log"). */
  action: string;
  details?: Record<string, unknown>;
}

/**
 * The log of events no study can be named for: a sign-in that failed before
 * anyone was known (an unknown key, a refusal by the provider, a person with
 * no grant). Chained and MACed like a study's; `#` is in no study id.
 */
export const DEPLOYMENT_LOG = "#deployment";

/** What an entry says; all of it is hashed. */
export interface AccessLogContent {
  seq: number;
  /** Server time; a caller cannot choose it. */
  at: string;
  actor: string;
  person?: string;
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
  for (const field of ["seq", "at", "actor", "person", "action", "details", "ip", "userAgent"] as const) {
    if (item[field] !== undefined) content[field] = item[field];
  }
  return content as unknown as AccessLogContent;
}

/** Appends one entry to the study's chain (chained-append.ts: read the head, put seq + 1 on condition). */
export async function appendAccessLog(
  db: Db,
  macKey: MacKey,
  study: string,
  event: AccessEvent,
  options: { now?: () => Date } = {},
): Promise<AccessLogEntry> {
  return appendChained<AccessLogContent>(db, macKey, {
    partition: keys.accessLog(study),
    prefix: keys.accessLogPrefix,
    key: keys.accessLogEntry,
    chainId: accessLogChainId(study),
    label: `the access log of ${study}`,
    ...(options.now ? { now: options.now } : {}),
    attributes: () => ({ type: "access-log" }),
    content: (seq, at) => ({
      seq,
      at,
      actor: event.actor,
      ...(event.person ? { person: event.person } : {}),
      action: event.action,
      details: event.details ?? {},
      ...(event.ip ? { ip: event.ip } : {}),
      ...(event.userAgent ? { userAgent: event.userAgent } : {}),
    }),
  });
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
  for (const field of ["person", "ip", "userAgent"] as const) {
    const value = maybeString(item, field);
    if (value !== undefined) entry[field] = value;
  }
  return entry;
}

/** Which entries to read: a page after (or, newest first, before) a seq, optionally only one action or person. */
export interface AccessLogQuery {
  after?: number;
  /** Newest first, starting below this seq (all, when absent). */
  before?: number;
  newestFirst?: boolean;
  limit?: number;
  action?: string;
  /** An actor label or a person id. */
  who?: string;
}

/**
 * Raw items of the access log in append order (or newest first), after
 * `after` (before `before`), up to `limit` of them, following DynamoDB's
 * pages (each at most 1 MB, or `limit` evaluated entries) until enough match;
 * `next` is the seq to continue from, when more may follow.
 */
export async function readAccessLogItems(
  db: Db,
  study: string,
  options: AccessLogQuery = {},
): Promise<{ items: Item[]; next?: number }> {
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  const newestFirst = options.newestFirst === true;
  const filters: string[] = [];
  const values: Record<string, unknown> = { ":pk": keys.accessLog(study) };
  if (newestFirst) values[":bound"] = keys.accessLogEntry(options.before ?? 10 ** 12 - 1);
  else values[":bound"] = keys.accessLogEntry(options.after ?? 0);
  if (options.action !== undefined) {
    filters.push("#action = :action");
    values[":action"] = options.action;
  }
  if (options.who !== undefined) {
    filters.push("(actor = :who OR person = :who)");
    values[":who"] = options.who;
  }
  const items: Item[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await db.doc.send(
      new QueryCommand({
        TableName: db.tableName,
        KeyConditionExpression: `PK = :pk AND SK ${newestFirst ? "<" : ">"} :bound`,
        ExpressionAttributeValues: values,
        ...(filters.length > 0
          ? {
              FilterExpression: filters.join(" AND "),
              ...(options.action !== undefined ? { ExpressionAttributeNames: { "#action": "action" } } : {}),
            }
          : {}),
        ScanIndexForward: !newestFirst,
        ConsistentRead: true,
        ExclusiveStartKey: start,
        ...(Number.isFinite(limit) ? { Limit: limit - items.length } : {}),
      }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start && items.length < limit);
  // With a filter, the last entry read may not be returned: continue from the key DynamoDB stopped at.
  const stoppedAt = start ? seqOfKey(String(start.SK)) : undefined;
  return stoppedAt !== undefined ? { items, next: stoppedAt } : { items };
}

/** The access log, decoded, a page at a time (see `readAccessLogItems`). */
export async function readAccessLog(
  db: Db,
  study: string,
  options: AccessLogQuery = {},
): Promise<{ entries: AccessLogEntry[]; next?: number }> {
  const { items, next } = await readAccessLogItems(db, study, { limit: 100, ...options });
  return { entries: items.map(toAccessLogEntry), ...(next !== undefined ? { next } : {}) };
}

/** The seq a key names (`LOG#000000000042` → 42): the key, not the content, places an entry. */
export function seqOfKey(sk: string): number {
  return Number(sk.slice("LOG#".length));
}
