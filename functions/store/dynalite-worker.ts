import { parentPort, workerData } from "node:worker_threads";
import { startDynalite } from "./dynalite.ts";
import type { ThreadMessage } from "./dynalite-thread.ts";

/** The store's own thread (dynalite-thread.ts): dynalite, its folder checks and its seal. */
const port = parentPort;
if (!port) throw new Error("dynalite-worker.ts runs as a worker thread");
const say = (message: ThreadMessage) => port.postMessage(message);
let starting = true;

function failed(error: unknown) {
  const e = error as { name?: unknown; message?: unknown; code?: unknown };
  say({
    kind: "failed",
    name: typeof e?.name === "string" ? e.name : "Error",
    message: typeof e?.message === "string" ? e.message : String(error),
    ...(typeof e?.code === "string" ? { code: e.code } : {}),
    starting,
  });
}
// dynalite throws LevelDB read errors out of its request handler: the starting thread decides what follows.
process.on("uncaughtException", failed);

try {
  const dynamo = await startDynalite(workerData as { path?: string });
  starting = false;
  port.on("message", async (message) => {
    if (message !== "close") return;
    await dynamo.close();
    say({ kind: "closed" });
    port.close();
  });
  say({ kind: "listening", endpoint: dynamo.endpoint });
} catch (error) {
  failed(error);
}
