import { randomBytes } from "node:crypto";
import { UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { type Db, isConditionFailure } from "./dynamo.ts";
import type { Item } from "./item-fields.ts";

/**
 * What background jobs (record imports, bulk exports) share: ids that sort by
 * creation time, and a lease a runner holds on the job item while it works,
 * taken with a conditional write so two runners never both hold it; a runner
 * that dies leaves a lease that expires.
 */

/** What `newJobId` makes: anything else names no job (and could not be a key: DynamoDB caps them). */
export const JOB_ID = /^\d{8}T\d{9}Z-[0-9a-f]{8}$/;

/** Ids sort by creation time. */
export function newJobId(now: Date): string {
  return `${now.toISOString().replace(/[-:.]/g, "")}-${randomBytes(4).toString("hex")}`;
}

/**
 * Takes (or renews) the lease on the job item at `key` for `owner` until
 * `until`, unless the job is in none of `runnable` states or another runner
 * holds a lease that has not expired; the item as it now stands, or undefined.
 */
export async function claimLease(
  db: Db,
  key: { PK: string; SK: string },
  runnable: readonly string[],
  owner: string,
  now: number,
  until: number,
): Promise<Item | undefined> {
  const states = Object.fromEntries(runnable.map((s, i) => [`:s${i}`, s]));
  try {
    const { Attributes } = await db.doc.send(
      new UpdateCommand({
        TableName: db.tableName,
        Key: key,
        UpdateExpression: "SET leaseOwner = :o, leaseUntil = :until",
        ConditionExpression: `#state IN (${Object.keys(states).join(", ")}) AND (attribute_not_exists(leaseUntil) OR leaseUntil < :now OR leaseOwner = :o)`,
        ExpressionAttributeNames: { "#state": "state" },
        ExpressionAttributeValues: { ":o": owner, ":until": until, ":now": now, ...states },
        ReturnValues: "ALL_NEW",
      }),
    );
    return Attributes;
  } catch (error) {
    if (isConditionFailure(error)) return undefined;
    throw error;
  }
}
