import { createHash } from "node:crypto";
import { gunzipSync, gzipSync } from "node:zlib";
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import type { StudyDefinition } from "../engine/definition.ts";
import { attachValidatorCode, prepareValidators, validatorSource } from "../engine/schema-validator.ts";
import { VALIDATOR_FORMAT } from "../engine/validator-runtime.ts";
import { type Db, queryAll } from "./dynamo.ts";
import type { Item } from "./item-fields.ts";
import { keys } from "./keys.ts";

/**
 * Each instrument's validator code, generated once at publish and stored
 * beside its definition version: one item per instrument (`VAL#<version>#<id>`),
 * the code gzipped (a reference study's largest, 40 KB of code, is 6 KB
 * stored: an item's 400 KB holds ~60 times that). Each item names the
 * definition hash it was generated from, the runtime format and the code's own
 * hash; a reader attaches only code whose three match, and anything else (no
 * item: a version published before this; another format; a lost race between
 * two publishers of one version number) is generated again on read.
 */

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

export function validatorItem(
  study: string,
  version: number,
  hash: string,
  instrument: string,
  code: string,
): Item {
  return {
    PK: keys.study(study),
    SK: keys.validator(version, instrument),
    type: "validator",
    version,
    instrument,
    definitionHash: hash,
    format: VALIDATOR_FORMAT,
    codeHash: sha256(code),
    code: gzipSync(code),
  };
}

/** The code an item holds, if it is bound to this definition hash and this runtime. */
function boundCode(item: Item, hash: string): string | undefined {
  if (item.definitionHash !== hash || item.format !== VALIDATOR_FORMAT) return undefined;
  if (!(item.code instanceof Uint8Array) || typeof item.codeHash !== "string") return undefined;
  const code = gunzipSync(item.code).toString("utf8");
  return sha256(code) === item.codeHash ? code : undefined;
}

export async function readValidatorItems(db: Db, study: string, version: number): Promise<Item[]> {
  return queryAll(db, {
    KeyConditionExpression: "PK = :pk AND begins_with(SK, :prefix)",
    ExpressionAttributeValues: { ":pk": keys.study(study), ":prefix": keys.validators(version) },
    // Like the version item's read: a process starting just after a publish sees the code written before it.
    ConsistentRead: true,
  });
}

/** Generates the definition's validators (if not yet) and writes them, for every instrument or only those whose item is missing or not bound. */
export async function storeValidators(
  db: Db,
  definition: StudyDefinition,
  version: number,
  hash: string,
  which: "all" | "missing" = "all",
): Promise<number> {
  const study = definition.study.id;
  const present = new Set<string>();
  if (which === "missing")
    for (const item of await readValidatorItems(db, study, version))
      if (boundCode(item, hash) !== undefined) present.add(String(item.instrument));
  const missing = Object.entries(definition.instruments).filter(([id]) => !present.has(id));
  if (missing.length === 0) return 0;
  await prepareValidators(definition);
  await Promise.all(
    missing.map(([id, instrument]) =>
      db.doc.send(
        new PutCommand({
          TableName: db.tableName,
          Item: validatorItem(study, version, hash, id, validatorSource(instrument)),
        }),
      ),
    ),
  );
  return missing.length;
}

/**
 * Attaches the stored code bound to this definition to its instruments, then
 * generates whatever is missing (the generator is only imported then).
 */
export async function attachStoredValidators(
  definition: StudyDefinition,
  hash: string,
  items: Item[],
): Promise<void> {
  for (const item of items) {
    const id = String(item.instrument);
    const instrument = Object.hasOwn(definition.instruments, id) ? definition.instruments[id] : undefined;
    const code = instrument && boundCode(item, hash);
    if (instrument && code) attachValidatorCode(instrument, code);
  }
  await prepareValidators(definition);
}
