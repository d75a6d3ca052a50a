import dynalite from "dynalite";
import { closeIteratorsWhenDestroyed } from "./dynalite-iterators.ts";
import { checkLocalStore } from "./local-store-check.ts";

/**
 * An in-process DynamoDB (dynalite, on LevelDB) for the local server and the
 * integration tests. Without a path it keeps everything in memory; with one,
 * a folder LevelDB cannot read is refused (`LocalStoreUnreadable`) before
 * dynalite touches it.
 */
export async function startDynalite(options: { path?: string; port?: number } = {}): Promise<{
  endpoint: string;
  close: () => Promise<void>;
}> {
  if (options.path) await checkLocalStore(options.path);
  closeIteratorsWhenDestroyed(); // or every Query leaks a LevelDB iterator
  const server = dynalite({ path: options.path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  // Listening on a host and port: the address is never a pipe's name or null here.
  if (address === null || typeof address === "string") throw new Error(`dynalite listens on ${address}`);
  const { port } = address;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
