import { createHash, randomBytes } from "node:crypto";
import { GetCommand, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { type Db, queryBySite } from "./dynamo.ts";
import { keys } from "./keys.ts";
import { TABLE } from "./table-shape.ts";

export type Role = "builder" | "site" | "monitor" | "sponsor";
export const ROLES: readonly Role[] = ["builder", "site", "monitor", "sponsor"];

/** Who a bearer token speaks for. `sites: ["*"]` means every site of the study. */
export interface Principal {
  user: string;
  role: Role;
  study: string;
  sites: string[];
  expiresAt?: string;
  /** Exports for this token are always de-identified (identifiers out, dates shifted, ids hashed). */
  deidentified?: boolean;
}

export const ALL_SITES = "*";

/** Tokens are only ever stored as their SHA-256: a leaked table leaks no credential. */
export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

export function newToken(): string {
  return `edc_${randomBytes(24).toString("base64url")}`;
}

/** A token's public handle: the start of its hash, enough to name it in a list and revoke it. */
export const tokenId = (hash: string) => hash.slice(0, 12);

export interface TokenInfo extends Principal {
  id: string;
  createdAt: string;
  createdBy?: string;
  revokedAt?: string;
  revokedBy?: string;
}

export async function storeToken(
  db: Db,
  token: string,
  principal: Principal,
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
        SK: "TOKEN",
        type: "token",
        ...info,
        // Listed per study through the by-site index, never by the clear token.
        [TABLE.indexes.bySite.partitionKey]: `STUDY#${principal.study}#TOKENS`,
        [TABLE.indexes.bySite.sortKey]: `${createdAt}#${hash}`,
      },
    }),
  );
  return info;
}

export async function listTokens(db: Db, study: string): Promise<(TokenInfo & { hash: string })[]> {
  return (await queryBySite(db, `STUDY#${study}#TOKENS`)).map((item) => {
    const { PK, SK: _sk, type: _t, GSI1PK: _a, GSI1SK: _b, ...info } = item;
    return { ...(info as unknown as TokenInfo), hash: String(PK).slice("TOKEN#".length) };
  });
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
      Key: { PK: keys.token(token.hash), SK: "TOKEN" },
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
    new GetCommand({ TableName: db.tableName, Key: { PK: keys.token(hash), SK: "TOKEN" } }),
  );
  if (!Item || Item.revokedAt) return undefined;
  if (typeof Item.expiresAt === "string" && Item.expiresAt <= now.toISOString()) return undefined;
  const { user, role, study, sites, expiresAt, deidentified } = Item as unknown as Principal;
  return {
    user,
    role,
    study,
    sites,
    ...(expiresAt ? { expiresAt } : {}),
    ...(deidentified ? { deidentified } : {}),
  };
}
