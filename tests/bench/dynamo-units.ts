import { GetCommand } from "@aws-sdk/lib-dynamodb";
import { TABLE } from "../../functions/store/table-shape.ts";

/**
 * What DynamoDB bills, measured on dynalite: item sizes by DynamoDB's rules,
 * and the read and write units of every call the store makes.
 *
 * Reads are dynalite's own ConsumedCapacity (it applies DynamoDB's rules: a
 * Query is billed on the summed size of the items it evaluates, rounded up to
 * 4 KB per request, half for an eventually consistent read). Writes are the
 * table's units dynalite reports (1 KB steps, the larger of the old and the
 * new item) plus what dynalite leaves out: one write per global secondary
 * index the item lands in (both indexes project ALL, so the entry is the
 * item), the units of a conditional write that was refused (DynamoDB
 * bills it; dynalite reports nothing), and the minimum of a Query that finds
 * nothing (dynalite reports 0; DynamoDB bills half a unit, one if consistent).
 */

/** DynamoDB's size of one attribute value (docs: "Item sizes and formats"). */
export function valueSize(value: unknown): number {
  if (value === null || value === undefined || typeof value === "boolean") return 1;
  if (typeof value === "string") return Buffer.byteLength(value, "utf8");
  if (typeof value === "number" || typeof value === "bigint") {
    // About one byte per two significant digits, plus one.
    const digits = String(value)
      .replace(/^-/, "")
      .replace(/e.*$/i, "")
      .replace(".", "")
      .replace(/^0+/, "")
      .replace(/0+$/, "");
    return 1 + Math.ceil(Math.max(digits.length, 1) / 2);
  }
  if (value instanceof Uint8Array) return value.byteLength;
  if (value instanceof Set) return [...value].reduce((sum: number, v) => sum + valueSize(v), 0);
  // A list or map: 3 bytes, plus 1 byte per element (and the names, for a map).
  if (Array.isArray(value)) return 3 + value.reduce((sum: number, v) => sum + 1 + valueSize(v), 0);
  if (typeof value === "object")
    return (
      3 +
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .reduce((sum, [k, v]) => sum + 1 + Buffer.byteLength(k, "utf8") + valueSize(v), 0)
    );
  throw new Error(`no DynamoDB size for ${typeof value}`);
}

/** DynamoDB's size of an item: each attribute's name and value. */
export function itemSize(item: Record<string, unknown>): number {
  return Object.entries(item)
    .filter(([, v]) => v !== undefined)
    .reduce((sum, [k, v]) => sum + Buffer.byteLength(k, "utf8") + valueSize(v), 0);
}

export interface MeteredCall {
  command: string;
  /** Partition key, or the index queried, for telling calls apart. */
  target: string;
  read: number;
  write: number;
  /** Items returned (reads). */
  items: number;
}

export interface Meter {
  calls: MeteredCall[];
  reset(): void;
  totals(filter?: (c: MeteredCall) => boolean): { read: number; write: number; calls: number };
}

type Send = (command: unknown, ...rest: unknown[]) => Promise<unknown>;
interface CommandLike {
  constructor: { name: string };
  input: Record<string, unknown>;
}

const READS = new Set(["GetCommand", "QueryCommand", "ScanCommand", "BatchGetCommand"]);
const WRITES = new Set(["PutCommand", "UpdateCommand", "DeleteCommand", "BatchWriteCommand"]);
const INDEX_KEYS = Object.values(TABLE.indexes).map((i) => i.partitionKey);

const writeUnits = (item: Record<string, unknown> | undefined) =>
  item ? Math.max(1, Math.ceil(itemSize(item) / 1024)) : 1;
const indexWrites = (item: Record<string, unknown> | undefined) =>
  item ? INDEX_KEYS.filter((k) => item[k] !== undefined).length * writeUnits(item) : 0;

/** Meters every call made through `doc` from now on (it patches `send` in place: the store holds this client). */
export function meter(doc: { send: Send }, tableName: string): Meter {
  const original = doc.send.bind(doc);
  const calls: MeteredCall[] = [];
  const afterImage = async (key: unknown) =>
    (
      (await original(new GetCommand({ TableName: tableName, Key: key as Record<string, unknown> }))) as {
        Item?: Record<string, unknown>;
      }
    ).Item;
  doc.send = async (command: unknown, ...rest: unknown[]) => {
    const c = command as CommandLike;
    const name = c.constructor.name;
    if (!READS.has(name) && !WRITES.has(name)) return original(command, ...rest);
    c.input.ReturnConsumedCapacity = "TOTAL";
    const target = String(
      c.input.IndexName ??
        (c.input.Key as { PK?: string } | undefined)?.PK ??
        (c.input.Item as { PK?: string } | undefined)?.PK ??
        (c.input.ExpressionAttributeValues as Record<string, unknown> | undefined)?.[":pk"] ??
        "",
    );
    const call: MeteredCall = { command: name.replace(/Command$/, ""), target, read: 0, write: 0, items: 0 };
    calls.push(call);
    try {
      const out = (await original(command, ...rest)) as {
        ConsumedCapacity?: { CapacityUnits?: number } | { CapacityUnits?: number }[];
        Items?: unknown[];
        Item?: unknown;
      };
      const consumed = [out.ConsumedCapacity ?? []]
        .flat()
        .reduce((sum, cc) => sum + (cc.CapacityUnits ?? 0), 0);
      if (READS.has(name)) {
        // DynamoDB bills a read that finds nothing as one of the smallest; dynalite reports 0 for a Query.
        call.read = consumed > 0 ? consumed : c.input.ConsistentRead ? 1 : 0.5;
        call.items = out.Items?.length ?? (out.Item ? 1 : 0);
      } else {
        call.write = consumed;
        if (name === "PutCommand") call.write += indexWrites(c.input.Item as Record<string, unknown>);
        if (name === "UpdateCommand") call.write += indexWrites(await afterImage(c.input.Key));
        if (name === "BatchWriteCommand")
          for (const requests of Object.values(c.input.RequestItems as Record<string, unknown[]>))
            for (const r of requests as { PutRequest?: { Item: Record<string, unknown> } }[])
              call.write += indexWrites(r.PutRequest?.Item);
      }
      return out;
    } catch (error) {
      // A refused conditional write is billed as if it had written.
      if (name === "PutCommand") call.write = writeUnits(c.input.Item as Record<string, unknown>);
      else if (WRITES.has(name)) call.write = 1;
      throw error;
    }
  };
  return {
    calls,
    reset: () => {
      calls.length = 0;
    },
    totals: (filter = () => true) => {
      const chosen = calls.filter(filter);
      return {
        read: chosen.reduce((s, c) => s + c.read, 0),
        write: chosen.reduce((s, c) => s + c.write, 0),
        calls: chosen.length,
      };
    },
  };
}
