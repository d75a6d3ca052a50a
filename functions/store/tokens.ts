import { createHash, randomBytes } from "node:crypto";
import { GetCommand, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { appendAccessLog } from "./access-log.ts";
import { type Db, isConditionFailure, queryBySite } from "./dynamo.ts";
import { type Item, optionalText, text, texts } from "./item-fields.ts";
import { keys } from "./keys.ts";
import type { MacKey } from "./mac-key.ts";
import { findGrant, readGrants } from "./people.ts";
import { intersectGrants, type Principal, type RoleGrant, readRole } from "./principal.ts";
import { TABLE } from "./table-shape.ts";

/**
 * An API key belongs to a person: their own (personal), or a service
 * account's that an admin made and named them the owner of. Its scope is a
 * subset of the owner's grants at the study, and at every use it is cut down
 * again to what the owner holds now.
 */
export type KeyKind = "personal" | "service";
/** `edc_…`, or REDCap's 32 upper-case hexadecimal characters (REDCapR and PyCap accept nothing else). */
export type KeyFormat = "edc" | "redcap";
export const KEY_FORMATS: readonly KeyFormat[] = ["edc", "redcap"];

/** No key lives longer than this, whoever makes it. */
export const MAX_KEY_DAYS = 366;

export interface ApiKey {
  /** The label kept in the audit trail: the owner's, or the service account's name. */
  user: string;
  /** The person id of the owner. */
  owner: string;
  kind: KeyKind;
  study: string;
  scope: RoleGrant[];
  /** Keys always expire. */
  expiresAt: string;
  format?: KeyFormat;
  /** Exports for this key are always de-identified (identifiers out, dates shifted, ids hashed). */
  deidentified?: boolean;
}

/** Tokens are only ever stored as their SHA-256: a leaked table leaks no credential. */
export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

export function newToken(format: KeyFormat = "edc"): string {
  if (format === "redcap") return randomBytes(16).toString("hex").toUpperCase();
  return `edc_${randomBytes(24).toString("base64url")}`;
}

/** A token's public handle: the start of its hash, enough to name it in a list and revoke it. */
const tokenId = (hash: string) => hash.slice(0, 12);

/** A key as listed: what it grants, who made it, and its state. Keys made before owners have none. */
export interface TokenInfo {
  id: string;
  user: string;
  owner?: string;
  kind?: KeyKind;
  study: string;
  scope: RoleGrant[];
  expiresAt?: string;
  format?: KeyFormat;
  deidentified?: boolean;
  createdAt: string;
  createdBy?: string;
  revokedAt?: string;
  revokedBy?: string;
  /** The last day (UTC) the key was used. */
  lastUsedOn?: string;
}

export async function storeToken(
  db: Db,
  token: string,
  key: ApiKey,
  options: { now?: Date; createdBy?: string } = {},
): Promise<TokenInfo> {
  const hash = hashToken(token);
  const createdAt = (options.now ?? new Date()).toISOString();
  const info: TokenInfo = {
    ...key,
    id: tokenId(hash),
    createdAt,
    ...(options.createdBy ? { createdBy: options.createdBy } : {}),
  };
  await db.doc.send(
    new PutCommand({
      TableName: db.tableName,
      Item: {
        PK: keys.token(hash),
        SK: keys.tokenItem,
        type: "token",
        ...info,
        // Listed per study through the by-site index, never by the clear token.
        [TABLE.indexes.bySite.partitionKey]: keys.tokenIndex(key.study),
        [TABLE.indexes.bySite.sortKey]: keys.tokenIndexEntry(createdAt, hash),
      },
    }),
  );
  return info;
}

/** The key's roles: its scope, or the one role and sites of a key made before scopes. */
function readScope(item: Item): RoleGrant[] {
  if (Array.isArray(item.scope)) return readGrants(item.scope);
  const role = readRole(item.role);
  return role ? [{ role, sites: texts(item, "sites") }] : [];
}

function toTokenInfo(item: Item): TokenInfo & { hash: string } {
  const optional = Object.fromEntries(
    ["owner", "expiresAt", "createdBy", "revokedAt", "revokedBy", "lastUsedOn"].flatMap((k) => {
      const v = optionalText(item, k);
      return v ? [[k, v]] : [];
    }),
  );
  return {
    id: text(item, "id"),
    user: text(item, "user"),
    study: text(item, "study"),
    scope: readScope(item),
    createdAt: text(item, "createdAt"),
    ...optional,
    ...(item.kind === "personal" || item.kind === "service" ? { kind: item.kind } : {}),
    ...(item.format === "redcap" || item.format === "edc" ? { format: item.format } : {}),
    // The listing shows the flag as stored, false included.
    ...(typeof item.deidentified === "boolean" ? { deidentified: item.deidentified } : {}),
    hash: keys.hashOfToken(text(item, "PK")),
  };
}

export async function listTokens(db: Db, study: string): Promise<(TokenInfo & { hash: string })[]> {
  return (await queryBySite(db, keys.tokenIndex(study))).map(toTokenInfo);
}

/**
 * Revokes a token by its id; the item stays (who made it, who revoked it,
 * when). `revokedNow` says whether this call revoked it: of many racing
 * revocations exactly one does (the update is conditional), so the access
 * log records one, by the one who is stored as having revoked it.
 */
export async function revokeToken(
  db: Db,
  study: string,
  id: string,
  by: string,
  now = new Date(),
): Promise<(TokenInfo & { revokedNow: boolean }) | undefined> {
  const token = (await listTokens(db, study)).find((t) => t.id === id);
  if (!token) return undefined;
  try {
    await db.doc.send(
      new UpdateCommand({
        TableName: db.tableName,
        Key: { PK: keys.token(token.hash), SK: keys.tokenItem },
        UpdateExpression: "SET revokedAt = :at, revokedBy = :by",
        ConditionExpression: "attribute_exists(PK) AND attribute_not_exists(revokedAt)",
        ExpressionAttributeValues: { ":at": now.toISOString(), ":by": by },
      }),
    );
    return { ...token, revokedNow: true };
  } catch (error) {
    if (!isConditionFailure(error)) throw error;
    return { ...token, revokedNow: false };
  }
}

/** Why a key admits no one. `predates`: made before keys had owners and expiry, it must be made anew. */
export type KeyRefusal = "unknown" | "revoked" | "expired" | "predates" | "owner-lacks-grant";

export type KeyResolution =
  | { principal: Principal; refused?: undefined }
  | { refused: KeyRefusal; principal?: undefined };

/** Where a use came from, for the access log. */
export interface UseSource {
  ip?: string;
  userAgent?: string;
}

export function findToken(
  db: Db,
  macKey: MacKey,
  token: string,
  options: { now?: Date; source?: UseSource; recordUse?: boolean } = {},
): Promise<KeyResolution> {
  return findTokenByHash(db, macKey, hashToken(token), options);
}

/**
 * The principal a key speaks for now: its scope cut down to its owner's
 * current grant. A browser session keeps only the key's hash and finds its
 * principal with it at every request, like a bearer.
 */
export async function findTokenByHash(
  db: Db,
  macKey: MacKey,
  hash: string,
  /** `recordUse: false` checks a key without using it (the dev server, deciding whether to make new ones). */
  options: { now?: Date; source?: UseSource; recordUse?: boolean } = {},
): Promise<KeyResolution> {
  const now = options.now ?? new Date();
  const { Item } = await db.doc.send(
    new GetCommand({ TableName: db.tableName, Key: { PK: keys.token(hash), SK: keys.tokenItem } }),
  );
  if (!Item) return { refused: "unknown" };
  if (Item.revokedAt) return { refused: "revoked" };
  const key = toTokenInfo(Item);
  if (!key.owner || !key.expiresAt) return { refused: "predates" };
  if (key.expiresAt <= now.toISOString()) return { refused: "expired" };
  const grant = await findGrant(db, key.study, key.owner);
  const roles = grant && !grant.revokedAt ? intersectGrants(key.scope, grant.roles) : [];
  if (!grant || roles.length === 0) return { refused: "owner-lacks-grant" };
  if (options.recordUse !== false) await recordUse(db, macKey, key, now, options.source);
  return {
    principal: {
      user: key.user,
      study: key.study,
      roles,
      expiresAt: key.expiresAt,
      key: { id: key.id, owner: key.owner },
      ...(key.deidentified || grant.deidentified ? { deidentified: true } : {}),
    },
  };
}

/**
 * Sets `lastUsedOn` to today, at most once a day: the condition lets one
 * request of the day through, and that one appends `key-use` to the access
 * log. Every other use costs no write.
 */
async function recordUse(
  db: Db,
  macKey: MacKey,
  key: TokenInfo & { hash: string },
  now: Date,
  source: UseSource = {},
): Promise<void> {
  const today = now.toISOString().slice(0, 10);
  if (key.lastUsedOn === today) return;
  try {
    await db.doc.send(
      new UpdateCommand({
        TableName: db.tableName,
        Key: { PK: keys.token(key.hash), SK: keys.tokenItem },
        UpdateExpression: "SET lastUsedOn = :today",
        ConditionExpression: "attribute_not_exists(lastUsedOn) OR lastUsedOn <> :today",
        ExpressionAttributeValues: { ":today": today },
      }),
    );
  } catch (error) {
    if (isConditionFailure(error)) return;
    throw error;
  }
  await appendAccessLog(db, macKey, key.study, {
    actor: key.user,
    action: "key-use",
    details: { key: key.id, owner: key.owner, kind: key.kind, day: today },
    ...source,
  });
}
