import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";

type Send = Pick<DynamoDBDocumentClient, "send">;

/** One store call as the recording client saw it. */
export interface StoreCall {
  command: string;
  /** The key condition's or item's sort key prefix, enough to tell the reads of a save apart. */
  target: string;
  /** Logical clock ticks: a call that started after another ended depended on it (or could have). */
  startedAt: number;
  endedAt: number;
  readUnits: number;
  /** Items a read returned (Get: 0 or 1; Query: its page; BatchGet: every table's). */
  items: number;
}

function targetOf(input: Record<string, any>): string {
  const values = input.ExpressionAttributeValues ?? {};
  if (input.Key) return String(input.Key.SK);
  if (input.Item) return String(input.Item.SK);
  if (values[":prefix"]) return `${values[":prefix"]}*`;
  if (input.RequestItems) return "batch";
  return String(values[":pk"] ?? "");
}

/**
 * The real client, recording every call with consumed read capacity
 * (dynalite reports it like DynamoDB) on a logical clock, so a test can count
 * sequential round trips: calls started before any of them ended ran at once.
 */
export function recordingClient(real: Send): Send & { calls: StoreCall[]; reset(): void } {
  let tick = 0;
  const calls: StoreCall[] = [];
  return {
    calls,
    reset: () => {
      calls.length = 0;
    },
    send: (async (command: { constructor: { name: string }; input: Record<string, any> }) => {
      const input = command.input;
      const isRead = /^(Get|Query|BatchGet)/.test(command.constructor.name);
      if (isRead) input.ReturnConsumedCapacity = "TOTAL";
      const call: StoreCall = {
        command: command.constructor.name.replace(/Command$/, ""),
        target: targetOf(input),
        startedAt: tick++,
        endedAt: Number.POSITIVE_INFINITY,
        readUnits: 0,
        items: 0,
      };
      calls.push(call);
      try {
        const result = (await real.send(command as never)) as Record<string, any>;
        const consumed = [result.ConsumedCapacity ?? []].flat();
        call.readUnits = isRead ? consumed.reduce((n, c) => n + (c?.CapacityUnits ?? 0), 0) : 0;
        call.items = result.Item
          ? 1
          : (result.Items?.length ??
            Object.values(result.Responses ?? {}).reduce((n: number, l: any) => n + l.length, 0));
        return result;
      } finally {
        call.endedAt = tick++;
      }
    }) as Send["send"],
  };
}

/** The longest chain of calls each of which started after the one before ended: the sequential round trips. */
export function sequentialRounds(calls: StoreCall[]): number {
  const depth = new Map<StoreCall, number>();
  const byStart = [...calls].sort((a, b) => a.startedAt - b.startedAt);
  for (const call of byStart) {
    const before = byStart.filter((other) => other.endedAt < call.startedAt);
    depth.set(call, 1 + Math.max(0, ...before.map((b) => depth.get(b) ?? 0)));
  }
  return Math.max(0, ...depth.values());
}

export const readUnits = (calls: StoreCall[]) => calls.reduce((n, c) => n + c.readUnits, 0);
export const itemsRead = (calls: StoreCall[]) => calls.reduce((n, c) => n + c.items, 0);
