import { Worker } from "node:worker_threads";
import type { LocalDynamo } from "./dynalite.ts";
import { LocalStoreUnreadable } from "./local-store-check.ts";

/** What the store's thread says to the thread that started it. */
export type ThreadMessage =
  | { kind: "listening"; endpoint: string }
  | { kind: "closed" }
  | { kind: "failed"; name: string; message: string; code?: string; starting: boolean };

/**
 * `startDynalite` on a thread of its own (`npm start`). The store and the app
 * then each have a core: in one thread every save waited for dynalite's
 * LevelDB and JSON work as much as for its own, and the local server's
 * throughput was that of one core shared by both. Same store, same folder
 * checks and seal; only the thread differs. A LevelDB failure while serving
 * is thrown again here, as an uncaught exception, as it was in one thread.
 */
export function startDynaliteThread(options: { path?: string } = {}): Promise<LocalDynamo> {
  // Node 20 does not carry `--import tsx` into a worker: the thread registers tsx before loading the store.
  const entry = JSON.stringify(new URL("./dynalite-worker.ts", import.meta.url).href);
  const worker = new Worker(
    `import("tsx/esm/api").then((tsx) => tsx.register()).then(() => import(${entry}));`,
    { eval: true, workerData: options },
  );
  return new Promise((resolve, reject) => {
    let started = false;
    let closing: (() => void) | undefined;
    const fail = (error: Error) => {
      if (!started) reject(error);
      else
        process.nextTick(() => {
          throw error;
        });
    };
    worker.on("message", (message: ThreadMessage) => {
      if (message.kind === "listening") {
        started = true;
        resolve({
          endpoint: message.endpoint,
          close: () =>
            new Promise<void>((done) => {
              closing = done;
              worker.postMessage("close");
            }),
        });
      } else if (message.kind === "closed") {
        void worker.terminate();
      } else fail(rebuilt(message));
    });
    worker.once("error", fail);
    // A thread that ends unasked leaves every store call refused: said once, as a failure, not as 500s.
    worker.once("exit", (code) => {
      if (closing) closing();
      else fail(new Error(`The local store's thread stopped (exit code ${code}).`));
    });
  });
}

function rebuilt(message: Extract<ThreadMessage, { kind: "failed" }>): Error {
  const error =
    message.name === "LocalStoreUnreadable"
      ? new LocalStoreUnreadable(message.message)
      : Object.assign(new Error(message.message), { name: message.name });
  if (message.code !== undefined) Object.assign(error, { code: message.code });
  return error;
}
