import { createHash, randomBytes } from "node:crypto";
import { GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import type { Db } from "./dynamo.ts";
import { keys } from "./keys.ts";

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

export async function storeToken(
  db: Db,
  token: string,
  principal: Principal,
  now = new Date(),
): Promise<void> {
  await db.doc.send(
    new PutCommand({
      TableName: db.tableName,
      Item: {
        PK: keys.token(hashToken(token)),
        SK: "TOKEN",
        type: "token",
        ...principal,
        createdAt: now.toISOString(),
      },
    }),
  );
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
