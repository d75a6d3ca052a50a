import {
  closeSync,
  cpSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  rmSync,
  statSync,
  utimesSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { CreateTableCommand, ListTablesCommand, waitUntilTableExists } from "@aws-sdk/client-dynamodb";
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDynalite } from "../../functions/store/dynalite.ts";
import { createClients } from "../../functions/store/dynamo.ts";
import { checkLocalStore, LocalStoreUnreadable } from "../../functions/store/local-store-check.ts";
import { sealFile, sealLocalStore } from "../../functions/store/local-store-seal.ts";

// One store with a table file (.ldb): LevelDB moves its log into one when the second start opens it.
const home = mkdtempSync(path.join(tmpdir(), "edc-store-seal-"));
const folder = path.join(home, "base", "dynamo");

beforeAll(async () => {
  const dynamo = await startDynalite({ path: folder });
  const { client, doc } = createClients({ endpoint: dynamo.endpoint });
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
  // Compressible like real records, so a damaged block no longer decompresses.
  const text = (i: number) => Array.from({ length: 9000 }, (_, j) => `field-${i}-${(j * 7) % 101}`).join(",");
  for (let i = 0; i < 10; i++)
    await doc.send(new PutCommand({ TableName: "edc", Item: { pk: `p${i}`, text: text(i) } }));
  client.destroy();
  await dynamo.close();
  const again = await startDynalite({ path: folder });
  const second = createClients({ endpoint: again.endpoint });
  await second.client.send(new ListTablesCommand({}));
  second.client.destroy();
  await again.close();
  expect(tableFiles(folder).length).toBeGreaterThan(0);
}, 60_000);
afterAll(() => rmSync(home, { recursive: true, force: true }));

function tableFiles(dir: string): string[] {
  return readdirSync(dir).filter((f) => /\.(ldb|sst)$/.test(f));
}

/** A copy of the store (new inodes, same mtimes), sealed as if its own server had closed it cleanly. */
async function sealedCopy(name: string): Promise<string> {
  const dir = path.join(home, name, "dynamo");
  cpSync(folder, dir, { recursive: true, preserveTimestamps: true });
  expect(await checkLocalStore(dir)).toBe("read"); // a copy carries no seal
  await sealLocalStore(dir);
  expect(await checkLocalStore(dir)).toBe("sealed");
  return dir;
}

describe("the local store's seal", () => {
  it("skips the full read after a clean close; a start breaks the seal until its own clean close", async () => {
    expect(existsSync(sealFile(folder))).toBe(true);
    expect(await checkLocalStore(folder)).toBe("sealed");

    const dynamo = await startDynalite({ path: folder });
    expect(existsSync(sealFile(folder))).toBe(false); // a crash from here on leaves no seal
    const { client } = createClients({ endpoint: dynamo.endpoint });
    expect((await client.send(new ListTablesCommand({}))).TableNames).toEqual(["edc"]);
    client.destroy();
    await dynamo.close();
    expect(await checkLocalStore(folder)).toBe("sealed");
  });

  it("leaves no seal after a start that answered nothing (its LevelDB may never have opened)", async () => {
    const dir = await sealedCopy("unanswered");
    await (await startDynalite({ path: dir })).close();
    expect(existsSync(sealFile(dir))).toBe(false);
  });

  it("reads a folder in full again when a data file changed since the seal", async () => {
    const dir = await sealedCopy("touched");
    const [table] = tableFiles(dir);
    if (!table) throw new Error("no table file");
    const later = new Date(statSync(path.join(dir, table)).mtimeMs + 1000);
    utimesSync(path.join(dir, table), later, later);
    expect(await checkLocalStore(dir)).toBe("read");
  });

  it("still refuses a damaged table file overwritten in place with its size and mtime put back", async () => {
    const dir = await sealedCopy("damaged");
    const [table] = tableFiles(dir);
    if (!table) throw new Error("no table file");
    const file = path.join(dir, table);
    const { size } = statSync(file);
    const at = new Date("2026-01-01T00:00:00Z"); // whole seconds, so utimes can put it back to the nanosecond
    utimesSync(file, at, at);
    await sealLocalStore(dir);
    expect(await checkLocalStore(dir)).toBe("sealed");
    const fd = openSync(file, "r+");
    for (let at = 100; at < size / 2; at += 1024) writeSync(fd, Buffer.alloc(64, 0xff), 0, 64, at);
    closeSync(fd);
    utimesSync(file, at, at);
    expect(statSync(file, { bigint: true })).toMatchObject({
      size: BigInt(size),
      mtimeNs: BigInt(at.getTime()) * 1_000_000n,
    });
    await expect(checkLocalStore(dir)).rejects.toThrow(LocalStoreUnreadable);
  });
});
