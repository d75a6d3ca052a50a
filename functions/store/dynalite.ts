import dynalite from "dynalite";
import { closeIteratorsWhenDestroyed } from "./dynalite-iterators.ts";
import { checkLocalStore } from "./local-store-check.ts";
import { breakSeal, sealLocalStore } from "./local-store-seal.ts";

export interface LocalDynamo {
  endpoint: string;
  close: () => Promise<void>;
}

/**
 * An in-process DynamoDB (dynalite, on LevelDB) for the local server and the
 * integration tests. Without a path it keeps everything in memory; with one,
 * a folder LevelDB cannot read is refused (`LocalStoreUnreadable`) before
 * dynalite touches it, and a clean close seals the folder so that the next
 * start need not read it all again (`local-store-seal.ts`).
 */
export async function startDynalite(options: { path?: string; port?: number } = {}): Promise<LocalDynamo> {
  const folder = options.path;
  if (folder) {
    await checkLocalStore(folder);
    await breakSeal(folder);
  }
  closeIteratorsWhenDestroyed(); // or every Query leaks a LevelDB iterator
  const server = dynalite({ path: folder, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  // dynalite does not say whether LevelDB opened (a held LOCK fails it): a request it answered
  // with a 200 shows it did (a 400 may come from validation, before the store is read).
  let answered = false;
  server.on("request", (_request, response) =>
    response.once("finish", () => {
      if (response.statusCode === 200) answered = true;
    }),
  );
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
    close: async () => {
      const closed = await new Promise<boolean>((resolve) =>
        server.close((error?: Error) => resolve(!error)),
      );
      // Without a seal (a full disk, a read-only folder) the next start only reads the folder in full.
      if (folder && closed && answered) await sealLocalStore(folder).catch(() => {});
    },
  };
}
