import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, PutCommand } from "@aws-sdk/lib-dynamodb";
import { Hono } from "hono";
import { handle } from "hono/aws-lambda";

/**
 * The floor a cold start is quoted against: a Hono function that, like a
 * save, takes a JSON body and writes one item, and nothing else — no auth,
 * no definitions, no validation. Bundled with the stack's own settings.
 */
const doc = DynamoDBDocumentClient.from(new DynamoDBClient({}));
const app = new Hono();
app.put("/save/:subject", async (c) => {
  const body = (await c.req.json()) as { data: Record<string, unknown> };
  const subject = c.req.param("subject");
  await doc.send(
    new PutCommand({
      TableName: process.env.TABLE_NAME,
      Item: { PK: `bare#${subject}`, SK: "rev#1", data: body.data, committedAt: new Date().toISOString() },
      ConditionExpression: "attribute_not_exists(PK)",
    }),
  );
  return c.json({ subject, rev: 1 });
});
export const handler = handle(app);
