import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { CreateTableCommand, waitUntilTableExists } from "@aws-sdk/client-dynamodb";
import { GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, describe, expect, it } from "vitest";
import { startDynaliteThread } from "../../functions/store/dynalite-thread.ts";
import { createClients } from "../../functions/store/dynamo.ts";
import { LocalStoreUnreadable } from "../../functions/store/local-store-check.ts";
import { sealFile } from "../../functions/store/local-store-seal.ts";

const home = mkdtempSync(path.join(tmpdir(), "edc-store-thread-"));
afterAll(() => rmSync(home, { recursive: true, force: true }));

/** A store on its thread, holding one table. */
async function threadWithTable(folder: string) {
  const first = await startDynaliteThread({ path: folder });
  const { client, doc } = createClients({ endpoint: first.endpoint });
  await client.send(
    new CreateTableCommand({
      TableName: "edc",
      KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
      AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }],
      BillingMode: "PAY_PER_REQUEST",
    }),
  );
  // dynalite answers CreateTable while the table is CREATING: a put before ACTIVE is refused (seen under load).
  await waitUntilTableExists({ client, maxWaitTime: 30 }, { TableName: "edc" });
  return { first, client, doc };
}

describe("dynalite on a thread of its own (npm start)", () => {
  it("keeps what it stored across a restart, seals the folder on close and breaks the seal on start", async () => {
    const folder = path.join(home, "kept", "dynamo");
    const { first, client, doc } = await threadWithTable(folder);
    await doc.send(new PutCommand({ TableName: "edc", Item: { pk: "a", visits: 3 } }));
    client.destroy();
    await first.close();
    expect(existsSync(sealFile(folder))).toBe(true);

    const second = await startDynaliteThread({ path: folder });
    expect(existsSync(sealFile(folder))).toBe(false);
    const again = createClients({ endpoint: second.endpoint });
    const { Item } = await again.doc.send(new GetCommand({ TableName: "edc", Key: { pk: "a" } }));
    expect(Item).toEqual({ pk: "a", visits: 3 });
    again.client.destroy();
    await second.close();
  });

  it("refuses a folder LevelDB cannot read as the one-thread store does, with the same error", async () => {
    const folder = path.join(home, "damaged", "dynamo");
    const { first, client } = await threadWithTable(folder);
    client.destroy();
    await first.close();
    writeFileSync(path.join(folder, "CURRENT"), "MANIFEST-999999\n");
    const refused = await startDynaliteThread({ path: folder }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(LocalStoreUnreadable);
    expect((refused as Error).message).toContain(folder);
  });
});
