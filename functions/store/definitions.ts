import { createHash } from "node:crypto";
import { GetCommand, PutCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import type { StudyDefinition } from "../engine/definition.ts";
import {
  type DefinitionPointer,
  type DefinitionVersionInfo,
  toDefinitionPointer,
  toDefinitionVersion,
  toDefinitionVersionInfo,
  toStudyDefinition,
  VERSION_INFO_ATTRIBUTES,
} from "./definition-item.ts";
import { type Db, isConditionFailure } from "./dynamo.ts";
import { keys } from "./keys.ts";
import { attachStoredValidators, readValidatorItems, storeValidators } from "./validator-items.ts";

export type { DefinitionVersionInfo } from "./definition-item.ts";

export interface PublishResult {
  version: number;
  changed: boolean;
}

export interface Actor {
  actor: string;
  reason?: string;
  now?: Date;
  /** Recorded on the version item: the impact report's summary, an acceptance of destructive changes. */
  record?: Record<string, unknown>;
  /** Runs after the version item exists and before it becomes current (data migrations). */
  beforeCurrent?: (version: number) => Promise<void>;
}

/**
 * Content hash of a definition, independent of its version number. Key order
 * is kept on purpose: property order is field order, so a reorder is a change.
 */
export function definitionHash(definition: Omit<StudyDefinition, "version">): string {
  return createHash("sha256")
    .update(JSON.stringify({ study: definition.study, instruments: definition.instruments }))
    .digest("hex");
}

/**
 * Publishes a definition as a new immutable version (unless it is identical
 * to the current one) and moves the current pointer to it. The version item is
 * written first: a crash before the pointer moves leaves an unreferenced
 * version that the next publish of the same content adopts.
 */
export async function publishDefinition(
  db: Db,
  definition: StudyDefinition,
  by: Actor,
): Promise<PublishResult> {
  const study = definition.study.id;
  const hash = definitionHash(definition);
  for (;;) {
    const pointer = await getPointer(db, study);
    if (pointer?.hash === hash) {
      // A version published before validators were stored gets them now (each deploy publishes).
      await storeValidators(db, definition, pointer.version, hash, "missing");
      return { version: pointer.version, changed: false };
    }
    const version = (pointer?.version ?? 0) + 1;
    const item = await getVersionItem(db, study, version);
    const existing = item && toDefinitionVersion(item);
    if (existing && existing.hash !== hash) {
      // Someone else published this version number between our reads: start over.
      continue;
    }
    if (existing) await storeValidators(db, definition, version, hash, "missing");
    else {
      // Before the version item: a version never exists without its validators (or with another's: they name the hash).
      await storeValidators(db, definition, version, hash);
      try {
        await db.doc.send(
          new PutCommand({
            TableName: db.tableName,
            Item: {
              PK: keys.study(study),
              SK: keys.definition(version),
              type: "definition",
              version,
              hash,
              definition: JSON.stringify({ ...definition, version }),
              publishedBy: by.actor,
              publishedAt: (by.now ?? new Date()).toISOString(),
              reason: by.reason,
              ...by.record,
            },
            ConditionExpression: "attribute_not_exists(PK)",
          }),
        );
      } catch (error) {
        if (isConditionFailure(error)) continue;
        throw error;
      }
    }
    await by.beforeCurrent?.(version);
    try {
      await db.doc.send(
        new PutCommand({
          TableName: db.tableName,
          Item: {
            PK: keys.study(study),
            SK: keys.currentDefinition,
            type: "definition-pointer",
            version,
            hash,
          },
          ConditionExpression: pointer ? "version = :previous" : "attribute_not_exists(PK)",
          ExpressionAttributeValues: pointer ? { ":previous": pointer.version } : undefined,
        }),
      );
    } catch (error) {
      if (isConditionFailure(error)) continue;
      throw error;
    }
    return { version, changed: true };
  }
}

/** Every published version, newest first, without the definitions themselves. */
export async function listDefinitions(db: Db, study: string): Promise<DefinitionVersionInfo[]> {
  const pointer = await getPointer(db, study);
  const { Items = [] } = await db.doc.send(
    new QueryCommand({
      TableName: db.tableName,
      KeyConditionExpression: "PK = :pk AND begins_with(SK, :prefix)",
      ExpressionAttributeValues: { ":pk": keys.study(study), ":prefix": keys.definitionVersions },
      // Everything but the definition body, which can be large.
      ProjectionExpression: VERSION_INFO_ATTRIBUTES.map((_, i) => `#f${i}`).join(", "),
      ExpressionAttributeNames: Object.fromEntries(VERSION_INFO_ATTRIBUTES.map((f, i) => [`#f${i}`, f])),
      ScanIndexForward: false,
    }),
  );
  return Items.map((item) => toDefinitionVersionInfo(item, item.version === pointer?.version));
}

async function getPointer(db: Db, study: string): Promise<DefinitionPointer | undefined> {
  const { Item } = await db.doc.send(
    new GetCommand({
      TableName: db.tableName,
      Key: { PK: keys.study(study), SK: keys.currentDefinition },
      ConsistentRead: true,
    }),
  );
  return Item ? toDefinitionPointer(Item) : undefined;
}

async function getVersionItem(db: Db, study: string, version: number) {
  const { Item } = await db.doc.send(
    new GetCommand({
      TableName: db.tableName,
      Key: { PK: keys.study(study), SK: keys.definition(version) },
      ConsistentRead: true,
    }),
  );
  return Item;
}

/**
 * Definitions are immutable, so a version once read is cached for the life of
 * the process; only the current pointer is read again (at most every
 * `pointerTtlMs`).
 */
export function createDefinitionReader(db: Db, pointerTtlMs = 2_000) {
  const versions = new Map<string, StudyDefinition>();
  const pointers = new Map<string, { version: number; readAt: number }>();

  async function version(study: string, v: number): Promise<StudyDefinition | undefined> {
    const cacheKey = `${study}@${v}`;
    const cached = versions.get(cacheKey);
    if (cached) return cached;
    // Read together: the validator code is loaded with the definition, once per version and process.
    const [item, validators] = await Promise.all([
      getVersionItem(db, study, v),
      readValidatorItems(db, study, v),
    ]);
    if (!item) return undefined;
    const definition = toStudyDefinition(item);
    await attachStoredValidators(definition, toDefinitionVersion(item).hash, validators);
    versions.set(cacheKey, definition);
    return definition;
  }

  async function current(study: string): Promise<StudyDefinition | undefined> {
    const now = Date.now();
    let pointer = pointers.get(study);
    if (!pointer || now - pointer.readAt >= pointerTtlMs) {
      const p = await getPointer(db, study);
      if (!p) return undefined;
      pointer = { version: p.version, readAt: now };
      pointers.set(study, pointer);
    }
    return version(study, pointer.version);
  }

  return {
    current,
    version,
    /** After this process publishes, read the pointer again at once. */
    invalidate: (study: string) => pointers.delete(study),
  };
}

export type DefinitionReader = ReturnType<typeof createDefinitionReader>;
