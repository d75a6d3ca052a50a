import { gzipSync } from "node:zlib";
import { DeleteCommand, PutCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadDefinition } from "../../functions/definition-files.ts";
import type { StudyDefinition } from "../../functions/engine/definition.ts";
import { schemaValidator, validatorSource } from "../../functions/engine/schema-validator.ts";
import { referenceValidator, validatorCode } from "../../functions/engine/validator-code.ts";
import { createDefinitionReader, definitionHash } from "../../functions/store/definitions.ts";
import { keys } from "../../functions/store/keys.ts";
import { validatorItem } from "../../functions/store/validator-items.ts";
import { type Product, startProduct } from "./harness.ts";

/**
 * Validator code is generated at publish and stored beside the definition
 * (store/validator-items.ts); a reader attaches the stored code, bound to the
 * definition by its hash, and generates only what is missing or not bound.
 */

let product: Product;
let shipped: StudyDefinition;
beforeAll(async () => {
  product = await startProduct();
  shipped = await loadDefinition("forms");
});
afterAll(() => product.close());

const db = () => product.env.store.db;
const study = () => product.env.studyId;

async function validatorItems(version: number) {
  const { Items = [] } = await db().doc.send(
    new QueryCommand({
      TableName: db().tableName,
      KeyConditionExpression: "PK = :pk AND begins_with(SK, :prefix)",
      ExpressionAttributeValues: { ":pk": keys.study(study()), ":prefix": keys.validators(version) },
    }),
  );
  return Items;
}

/** Code as generated, up to the numbers ajv gives its functions and constants (a counter per generator). */
const generated = (id: string) => unnumbered(validatorCode(shipped.instruments[id] as never));
const unnumbered = (code: string) => code.replace(/\b(validate|schema|formats|func|pattern)\d+\b/g, "$1#");

/** A fresh process's read of the current version. */
async function freshRead(): Promise<StudyDefinition> {
  const definition = await createDefinitionReader(db()).current(study());
  if (!definition) throw new Error("no definition");
  return definition;
}

/** An item's size as DynamoDB counts it: attribute names plus values (binary as its bytes, a number ~21). */
function itemSize(item: Record<string, unknown>): number {
  let size = 0;
  for (const [name, value] of Object.entries(item))
    size +=
      name.length +
      (value instanceof Uint8Array
        ? value.length
        : typeof value === "string"
          ? Buffer.byteLength(value)
          : 21);
  return size;
}

/** Rewrites one instrument's stored item (bound or not), as a later test's starting point. */
async function storeCode(version: number, instrument: string, code: string, hash: string) {
  await db().doc.send(
    new PutCommand({
      TableName: db().tableName,
      Item: validatorItem(study(), version, hash, instrument, code),
    }),
  );
}

// Code that refuses everything: only reading the stored item can make a validator answer this way.
const REFUSE_ALL =
  'module.exports=function v(){v.errors=[{keyword:"stored",instancePath:"",params:{},message:"stored code"}];return false};';

describe("validators stored at publish", () => {
  it("stores one item per instrument at publish, holding exactly the generated code, well under DynamoDB's 400 KB", async () => {
    const current = await freshRead();
    const items = await validatorItems(current.version);
    expect(items.map((i) => i.instrument).sort()).toEqual(Object.keys(shipped.instruments).sort());
    let largest = 0;
    for (const [id, instrument] of Object.entries(current.instruments)) {
      // Stored code is the code generated from the shipped file: byte for byte.
      expect(unnumbered(validatorSource(instrument)), id).toBe(generated(id));
      const item = items.find((i) => i.instrument === id) as Record<string, unknown>;
      largest = Math.max(largest, itemSize(item));
    }
    console.info(`largest validator item of forms/: ${largest} bytes`);
    expect(largest).toBeLessThan(10_000);
  });

  it("answers like ajv compiling the schema in process with ajv-formats, through the stored code", async () => {
    const current = await freshRead();
    const probes = ["", "abc", 7, -1, 1.5, "2024-02-30", "2026-01-01T10:00:00Z", "x@y.org", "10:61", [], {}];
    for (const [id, instrument] of Object.entries(current.instruments)) {
      const stored = schemaValidator(instrument);
      const reference = referenceValidator(instrument);
      for (const field of Object.keys(instrument.properties))
        for (const value of probes) {
          const data = { [field]: value };
          expect(stored(data), `${id}.${field}=${JSON.stringify(value)}`).toBe(reference(data));
          expect(stored.errors ?? [], `${id}.${field}`).toEqual(reference.errors ?? []);
        }
    }
  });

  it("runs the stored code, not code generated again, when the item is bound to the definition", async () => {
    const current = await freshRead();
    await storeCode(current.version, "vital_signs", REFUSE_ALL, definitionHash(current));
    const validate = schemaValidator((await freshRead()).instruments.vital_signs as never);
    expect(validate({ heart_rate: 60 })).toBe(false);
    expect(validate.errors?.map((e) => e.message)).toEqual(["stored code"]);
    // Put back what publish stores, for the tests after this one.
    await storeCode(
      current.version,
      "vital_signs",
      validatorCode(shipped.instruments.vital_signs as never),
      definitionHash(current),
    );
  });

  it("ignores code bound to another definition or altered after it was stored, and generates it again", async () => {
    const current = await freshRead();
    await storeCode(current.version, "vital_signs", REFUSE_ALL, "0".repeat(64));
    expect(unnumbered(validatorSource((await freshRead()).instruments.vital_signs as never))).toBe(
      generated("vital_signs"),
    );
    // Bound to this definition, then its code changed in the table without its hash.
    await storeCode(
      current.version,
      "vital_signs",
      validatorCode(shipped.instruments.vital_signs as never),
      definitionHash(current),
    );
    const [item] = (await validatorItems(current.version)).filter((i) => i.instrument === "vital_signs");
    await db().doc.send(
      new PutCommand({ TableName: db().tableName, Item: { ...item, code: gzipSync(REFUSE_ALL) } }),
    );
    expect(unnumbered(validatorSource((await freshRead()).instruments.vital_signs as never))).toBe(
      generated("vital_signs"),
    );
  });

  it("serves a definition published before validators were stored (generated on read), and the next publish stores them", async () => {
    const current = await freshRead();
    for (const item of await validatorItems(current.version))
      await db().doc.send(
        new DeleteCommand({ TableName: db().tableName, Key: { PK: item.PK, SK: item.SK } }),
      );
    const legacy = await freshRead();
    for (const [id, instrument] of Object.entries(legacy.instruments))
      expect(unnumbered(validatorSource(instrument)), id).toBe(generated(id));
    const save = await product.save(await product.enrol(), "screening", "vital_signs", {
      data: { heart_rate: 500 },
    });
    expect(save.status).toBe(422);

    // Every deploy publishes forms/: unchanged content stores what its version lacks.
    const outcome = await product.env.store.publish({ definition: shipped, actor: "test" });
    expect(outcome.kind).toBe("unchanged");
    expect((await validatorItems(current.version)).length).toBe(Object.keys(shipped.instruments).length);
  });
});
