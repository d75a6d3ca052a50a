import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { describe, expect, it } from "vitest";
import { knownProblem } from "../../functions/http/problems.ts";
import {
  COMMIT_WINDOW_MS,
  CommitWindowPassed,
  sendWithinWindow,
  takeStamp,
} from "../../functions/store/commit-window.ts";
import type { Db } from "../../functions/store/dynamo.ts";

const put = new PutCommand({ TableName: "t", Item: { PK: "a", SK: "b" } });

function recordingDb(
  send: (options: { abortSignal?: AbortSignal }) => Promise<unknown>,
  commitWindowMs?: number,
) {
  const calls: { abortSignal?: AbortSignal }[] = [];
  const db = {
    tableName: "t",
    commitWindowMs,
    doc: {
      send: (async (_command: unknown, options: { abortSignal?: AbortSignal }) => {
        calls.push(options);
        return send(options);
      }) as never,
    },
  } satisfies Db;
  return { db, calls };
}

describe("sendWithinWindow", () => {
  it("sends inside the window with an abort signal for what is left of it", async () => {
    const { db, calls } = recordingDb(async () => ({}));
    await sendWithinWindow(db, takeStamp(), put);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.abortSignal?.aborted).toBe(false);
  });

  it("measures from when the stamp was taken, not from its (injected) value", async () => {
    const { db, calls } = recordingDb(async () => ({}));
    await sendWithinWindow(db, takeStamp(new Date("2001-01-01T00:00:00Z")), put);
    expect(calls).toHaveLength(1);
  });

  it("refuses before sending once the window has passed", async () => {
    const { db, calls } = recordingDb(async () => ({}));
    const stamp = { ...takeStamp(), takenAt: performance.now() - COMMIT_WINDOW_MS - 1 };
    await expect(sendWithinWindow(db, stamp, put)).rejects.toBeInstanceOf(CommitWindowPassed);
    expect(calls).toHaveLength(0);
  });

  it("abandons a send (its retries) when the window runs out during it", async () => {
    const { db } = recordingDb(
      (options) =>
        new Promise((_resolve, reject) =>
          options.abortSignal?.addEventListener("abort", () => reject(new Error("Request aborted"))),
        ),
      30,
    );
    await expect(sendWithinWindow(db, takeStamp(), put)).rejects.toBeInstanceOf(CommitWindowPassed);
  });

  it("answers as a retryable problem: 503 with Retry-After", () => {
    const problem = knownProblem(new CommitWindowPassed(COMMIT_WINDOW_MS));
    expect(problem?.status).toBe(503);
    expect(problem?.headers["Retry-After"]).toBe("1");
  });
});
