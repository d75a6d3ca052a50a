import { CreateTableCommand, DynamoDBClient, waitUntilTableExists } from "@aws-sdk/client-dynamodb";
import {
  BatchGetCommand,
  DynamoDBDocumentClient,
  QueryCommand,
  type QueryCommandInput,
} from "@aws-sdk/lib-dynamodb";
import { TABLE } from "./table-shape.ts";

/** The table and the client every store module writes through. */
export interface Db {
  doc: Pick<DynamoDBDocumentClient, "send">;
  tableName: string;
  /** Tests only: a shorter commit window than commit-window.ts's (a stalled writer without waiting 15 s). */
  commitWindowMs?: number;
}

export function createClients(options: { endpoint?: string; region?: string } = {}): {
  client: DynamoDBClient;
  doc: DynamoDBDocumentClient;
} {
  const local = options.endpoint !== undefined;
  const client = new DynamoDBClient({
    region: options.region ?? process.env.AWS_REGION ?? "us-east-1",
    ...(local
      ? {
          endpoint: options.endpoint,
          credentials: { accessKeyId: "local", secretAccessKey: "local" },
          maxAttempts: 3,
        }
      : {}),
  });
  const doc = DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true, convertEmptyValues: false },
  });
  return { client, doc };
}

/** Creates the table as the CDK stack declares it (local server and tests; in AWS the stack owns it). */
export async function ensureTable(client: DynamoDBClient, tableName: string): Promise<void> {
  const { partitionKey, sortKey, indexes } = TABLE;
  const attributes = [
    partitionKey,
    sortKey,
    ...Object.values(indexes).flatMap((i) => [i.partitionKey, i.sortKey]),
  ];
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: "PAY_PER_REQUEST",
        AttributeDefinitions: attributes.map((name) => ({ AttributeName: name, AttributeType: "S" })),
        KeySchema: [
          { AttributeName: partitionKey, KeyType: "HASH" },
          { AttributeName: sortKey, KeyType: "RANGE" },
        ],
        GlobalSecondaryIndexes: Object.values(indexes).map((i) => ({
          IndexName: i.name,
          KeySchema: [
            { AttributeName: i.partitionKey, KeyType: "HASH" },
            { AttributeName: i.sortKey, KeyType: "RANGE" },
          ],
          Projection: { ProjectionType: "ALL" },
        })),
      }),
    );
  } catch (error) {
    if (errorName(error) !== "ResourceInUseException") throw error;
  }
  // dynalite with a data folder reports CREATING for a moment.
  await waitUntilTableExists(
    { client, maxWaitTime: 30, minDelay: 0.1, maxDelay: 0.5 },
    { TableName: tableName },
  );
}

export function isConditionFailure(error: unknown): boolean {
  return errorName(error) === "ConditionalCheckFailedException";
}

/** The AWS SDK tells its failures apart by `name`. */
function errorName(error: unknown): unknown {
  return typeof error === "object" && error !== null && "name" in error ? error.name : undefined;
}

/** Every item a Query matches, following its pages. */
export async function queryAll(
  db: Db,
  input: Omit<QueryCommandInput, "TableName" | "ExclusiveStartKey">,
): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await db.doc.send(
      new QueryCommand({ ...input, TableName: db.tableName, ExclusiveStartKey: start }),
    );
    out.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return out;
}

/** A table key: partition and sort key. */
export interface TableKey {
  PK: string;
  SK: string;
}

/**
 * The items at these keys (up to 100, any partitions), consistently read in
 * one call, by `PK` and `SK`; keys the table does not hold are absent. Keys
 * the service left unprocessed (throttling) are asked for again.
 */
export async function batchGetAll(
  db: Db,
  keyList: TableKey[],
): Promise<Map<string, Record<string, unknown>>> {
  const found = new Map<string, Record<string, unknown>>();
  let pending: Record<string, unknown>[] = keyList.map((k) => ({ PK: k.PK, SK: k.SK }));
  while (pending.length > 0) {
    const out = await db.doc.send(
      new BatchGetCommand({ RequestItems: { [db.tableName]: { Keys: pending, ConsistentRead: true } } }),
    );
    for (const item of out.Responses?.[db.tableName] ?? []) found.set(itemKey(item), item);
    pending = (out.UnprocessedKeys?.[db.tableName]?.Keys ?? []) as Record<string, unknown>[];
  }
  return found;
}

/** How `batchGetAll` files an item: its partition and sort key. */
export const itemKey = (k: { PK?: unknown; SK?: unknown }) => `${String(k.PK)}\u0000${String(k.SK)}`;

/** Every item of one partition of the by-site index (GSI1), or those whose sort key starts with `prefix`. */
export function queryBySite(db: Db, partition: string, prefix?: string): Promise<Record<string, unknown>[]> {
  const { name, partitionKey, sortKey } = TABLE.indexes.bySite;
  if (prefix === undefined)
    return queryAll(db, {
      IndexName: name,
      KeyConditionExpression: "#pk = :pk",
      ExpressionAttributeNames: { "#pk": partitionKey },
      ExpressionAttributeValues: { ":pk": partition },
    });
  return queryAll(db, {
    IndexName: name,
    KeyConditionExpression: "#pk = :pk AND begins_with(#sk, :prefix)",
    ExpressionAttributeNames: { "#pk": partitionKey, "#sk": sortKey },
    ExpressionAttributeValues: { ":pk": partition, ":prefix": prefix },
  });
}
