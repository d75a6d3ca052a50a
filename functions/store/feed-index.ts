import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import type { Db } from "./dynamo.ts";
import { requiredString } from "./item-fields.ts";
import { keys } from "./keys.ts";
import { TABLE } from "./table-shape.ts";

/**
 * The feed index's items after `after`, in order, with their position, page
 * by page: one key condition for the whole walk and `ExclusiveStartKey` only
 * (DynamoDB rejects a start key outside the key condition). `wanted()` is how
 * many the caller may still take (each page asks for at most that, and 500);
 * the caller stops by breaking out. `projection` reads fewer attributes.
 */
export async function* feedItems(
  db: Db,
  study: string,
  after: string,
  wanted: () => number,
  projection?: string,
): AsyncGenerator<{ position: string; item: Record<string, unknown> }> {
  const { name, partitionKey, sortKey } = TABLE.indexes.feed;
  let start: Record<string, unknown> | undefined;
  do {
    const page = await db.doc.send(
      new QueryCommand({
        TableName: db.tableName,
        IndexName: name,
        KeyConditionExpression: "#pk = :pk AND #sk > :after",
        ExpressionAttributeNames: { "#pk": partitionKey, "#sk": sortKey },
        ExpressionAttributeValues: { ":pk": keys.feed(study), ":after": after },
        ...(projection ? { ProjectionExpression: projection } : {}),
        ExclusiveStartKey: start,
        Limit: Math.max(1, Math.min(wanted(), 500)),
      }),
    );
    for (const item of page.Items ?? []) yield { position: requiredString(item, sortKey), item };
    start = page.LastEvaluatedKey;
  } while (start);
}
