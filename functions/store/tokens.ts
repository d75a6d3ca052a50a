import { createHash, randomBytes } from "node:crypto";
import { GetCommand, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { type Db, queryBySite } from "./dynamo.ts";
import { type Item, optionalText, text, texts } from "./item-fields.ts";
import { keys } from "./keys.ts";
import { type Principal, type Role, readRole } from "./principal.ts";
import { TABLE } from "./table-shape.ts";

/**
 * What a bearer token is stored as: one role at some sites. It speaks for a
 * principal holding that one grant. `sites: ["*"]` means every site of the study.
 */
export interface ApiKey {
  user: string;
  role: Role;
  study: string;
  sites: string[];
  expiresAt?: string;
  /** Exports for this token are always de-identified (identifiers out, dates shifted, ids hashed). */
  deidentified?: boolean;
}

export function principalOfKey(key: ApiKey): Principal {
  const { role, sites, ...rest } = key;
  return { ...rest, roles: [{ role, sites }] };
}

/** Tokens are only ever stored as their SHA-256: a leaked table leaks no credential. */
export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

export function newToken(): string {
  return `edc_${randomBytes(24).toString("base64url")}`;
}

/** A token's public handle: the start of its hash, enough to name it in a list and revoke it. */
const tokenId = (hash: string) => hash.slice(0, 12);

export interface TokenInfo extends ApiKey {
  id: string;
  createdAt: string;
  createdBy?: string;
  revokedAt?: string;
  revokedBy?: string;
}

export async function storeToken(
  db: Db,
  token: string,
  principal: ApiKey,
  options: { now?: Date; createdBy?: string } = {},
): Promise<TokenInfo> {
  const hash = hashToken(token);
  const createdAt = (options.now ?? new Date()).toISOString();
  const info: TokenInfo = {
    ...principal,
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
        [TABLE.indexes.bySite.partitionKey]: keys.tokenIndex(principal.study),
        [TABLE.indexes.bySite.sortKey]: keys.tokenIndexEntry(createdAt, hash),
      },
    }),
  );
  return info;
}

/** A token item's key, or undefined when it names no role (such an item grants nothing). */
function toApiKey(item: Item): ApiKey | undefined {
  const role = readRole(item.role);
  if (!role) return undefined;
  const expiresAt = optionalText(item, "expiresAt");
  return {
    user: text(item, "user"),
    role,
    study: text(item, "study"),
    sites: texts(item, "sites"),
    ...(expiresAt ? { expiresAt } : {}),
    ...(item.deidentified === true ? { deidentified: true } : {}),
  };
}

function toTokenInfo(item: Item): (TokenInfo & { hash: string }) | undefined {
  const principal = toApiKey(item);
  if (!principal) return undefined;
  const [createdBy, revokedAt, revokedBy] = ["createdBy", "revokedAt", "revokedBy"].map((k) =>
    optionalText(item, k),
  );
  return {
    ...principal,
    id: text(item, "id"),
    createdAt: text(item, "createdAt"),
    ...(createdBy ? { createdBy } : {}),
    ...(revokedAt ? { revokedAt } : {}),
    ...(revokedBy ? { revokedBy } : {}),
    // The listing shows the flag as stored, false included.
    ...(typeof item.deidentified === "boolean" ? { deidentified: item.deidentified } : {}),
    hash: keys.hashOfToken(text(item, "PK")),
  };
}

export async function listTokens(db: Db, study: string): Promise<(TokenInfo & { hash: string })[]> {
  return (await queryBySite(db, keys.tokenIndex(study))).flatMap((item) => toTokenInfo(item) ?? []);
}

/** Revokes a token by its id; the item stays (who made it, who revoked it, when). */
export async function revokeToken(
  db: Db,
  study: string,
  id: string,
  by: string,
  now = new Date(),
): Promise<boolean> {
  const token = (await listTokens(db, study)).find((t) => t.id === id);
  if (!token) return false;
  await db.doc.send(
    new UpdateCommand({
      TableName: db.tableName,
      Key: { PK: keys.token(token.hash), SK: keys.tokenItem },
      UpdateExpression:
        "SET revokedAt = if_not_exists(revokedAt, :at), revokedBy = if_not_exists(revokedBy, :by)",
      ExpressionAttributeValues: { ":at": now.toISOString(), ":by": by },
    }),
  );
  return true;
}

export function findToken(db: Db, token: string, now = new Date()): Promise<Principal | undefined> {
  return findTokenByHash(db, hashToken(token), now);
}

/** A browser session keeps only the token's hash, and finds its principal with it. */
export async function findTokenByHash(
  db: Db,
  hash: string,
  now = new Date(),
): Promise<Principal | undefined> {
  const { Item } = await db.doc.send(
    new GetCommand({ TableName: db.tableName, Key: { PK: keys.token(hash), SK: keys.tokenItem } }),
  );
  if (!Item || Item.revokedAt) return undefined;
  if (typeof Item.expiresAt === "string" && Item.expiresAt <= now.toISOString()) return undefined;
  const key = toApiKey(Item);
  return key && principalOfKey(key);
}
