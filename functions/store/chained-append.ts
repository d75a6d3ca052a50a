import { setTimeout as sleep } from "node:timers/promises";
import { PutCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { entryHash, genesisHash, headMessage } from "../engine/audit-chain.ts";
import { sendWithinWindow, takeStamp } from "./commit-window.ts";
import { type Db, isConditionFailure } from "./dynamo.ts";
import { type Item, requiredNumber, requiredString } from "./item-fields.ts";
import type { MacKey } from "./mac-key.ts";

/** What a chained entry stores about its place in its chain. */
export interface ChainSeal {
  previousHash: string;
  hash: string;
  mac: string;
}

/** One append-only chain of numbered entries under a key prefix of one partition. */
export interface ChainSpec<C extends { seq: number }> {
  partition: string;
  /** The prefix of the chain's sort keys (the partition may hold other items). */
  prefix: string;
  /** The sort key of entry `seq` (zero-padded: key order is append order). */
  key: (seq: number) => string;
  chainId: string;
  /** The entry's content, all of it hashed, given its seq and the server's time. */
  content: (seq: number, at: string) => C;
  /** Stored beside the entry, not hashed: its type, index keys. */
  attributes?: (entry: C & ChainSeal) => Item;
  now?: () => Date;
  /** Names the chain when an append gives up. */
  label: string;
}

/**
 * How long an append keeps trying. A count of attempts starved the unlucky:
 * under a steady burst (parallel exports each log one entry) fresh appends
 * kept beating ones that had backed off, and 32 writers lost 8 races in a
 * row. A time budget with a capped wait lets each contender win its turn.
 * The budget runs while the chain stands still: a head that moved means the
 * others are being served and our turn comes (on a slow table 192 queued
 * appends took longer than 15 s), so it starts again, up to a hard cap.
 */
const APPEND_BUDGET_MS = 15_000;
const APPEND_CAP_MS = 4 * APPEND_BUDGET_MS;
const MAX_WAIT_MS = 50;

/**
 * Appends one entry: read the head (the last entry), then put seq + 1 on
 * condition that it does not exist yet. Two appends racing from the same head
 * cannot both win; the loser reads the new head and tries again after a short
 * random wait, so that a burst of appends spreads out instead of colliding in
 * step. The entry is hashed onto the head's hash and MACed with a key the
 * table does not hold before the one put that writes it.
 */
export async function appendChained<C extends { seq: number }>(
  db: Db,
  macKey: MacKey,
  spec: ChainSpec<C>,
): Promise<C & ChainSeal> {
  const started = Date.now();
  let deadline = started + APPEND_BUDGET_MS;
  let lastSeen: number | undefined;
  for (let attempt = 0; ; attempt++) {
    const head = await readHead(db, spec.partition, spec.prefix);
    if (lastSeen !== undefined && head?.seq !== lastSeen)
      deadline = Math.min(Date.now() + APPEND_BUDGET_MS, started + APPEND_CAP_MS);
    lastSeen = head?.seq;
    // Each attempt is stamped afresh: an entry is in the change feed by its `at` (review log), so it is
    // sent within the stamp's commit window (commit-window.ts).
    const stamp = takeStamp(spec.now?.());
    const content = spec.content((head?.seq ?? 0) + 1, stamp.at);
    const previousHash = head?.hash ?? genesisHash(spec.chainId);
    const hash = entryHash(previousHash, content);
    const entry = {
      ...content,
      previousHash,
      hash,
      mac: await macKey.mac(headMessage(spec.chainId, content.seq, hash)),
    };
    try {
      await sendWithinWindow(
        db,
        stamp,
        new PutCommand({
          TableName: db.tableName,
          Item: { PK: spec.partition, SK: spec.key(content.seq), ...spec.attributes?.(entry), ...entry },
          ConditionExpression: "attribute_not_exists(PK)",
        }),
      );
      return entry;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      if (Date.now() > deadline)
        throw new Error(`${spec.label} is too busy: ${attempt + 1} appends in a row lost the race`);
      await sleep(Math.random() * Math.min(MAX_WAIT_MS, 2 ** attempt));
    }
  }
}

async function readHead(
  db: Db,
  partition: string,
  prefix: string,
): Promise<{ seq: number; hash: string } | undefined> {
  const { Items } = await db.doc.send(
    new QueryCommand({
      TableName: db.tableName,
      KeyConditionExpression: "PK = :pk AND begins_with(SK, :prefix)",
      ExpressionAttributeValues: { ":pk": partition, ":prefix": prefix },
      ScanIndexForward: false,
      Limit: 1,
      ConsistentRead: true,
    }),
  );
  const item = Items?.[0];
  // A head that does not decode is refused rather than chained over: verification must see it as it is.
  return item ? { seq: requiredNumber(item, "seq"), hash: requiredString(item, "hash") } : undefined;
}
