import { readFileSync } from "node:fs";
import path from "node:path";
import { startDynalite } from "../store/dynalite.ts";
import { createClients } from "../store/dynamo.ts";
import { describeStoreFailure } from "../store/local-store-check.ts";
import { macKeyFromEnvironment } from "../store/mac-key.ts";
import { createStore, type Store } from "../store/store.ts";
import { CliError, EXIT } from "./forms-publish.ts";

/**
 * The store an operator's CLI works on: the deployed table (`--endpoint`,
 * `--table`, else TABLE_NAME) or, without them, the local data folder as
 * `npm start` keeps it (`$DATA_DIR`, else `.data`; stop the server first:
 * LevelDB lets one process in). The MAC key: KMS when AUDIT_MAC_KEY_ID is
 * set, else the local key file (AUDIT_MAC_KEY_FILE, else
 * `.edc-keys/audit-mac.key` beside the data folder).
 */

const LOCAL_TABLE = "edc";

export interface TableStore {
  store: Store;
  /** A failure of the local store said in words (another process holds it…), else the error itself. */
  explain(error: unknown): unknown;
  close(): Promise<void>;
}

export async function openTableStore(
  values: { endpoint?: string; table?: string },
  usage: string,
): Promise<TableStore> {
  const dataDir = path.resolve(process.env.DATA_DIR ?? ".data");
  const remote = values.endpoint !== undefined || values.table !== undefined;
  const tableName = values.table ?? (remote ? process.env.TABLE_NAME : LOCAL_TABLE);
  if (!tableName)
    throw new CliError(EXIT.usage, ["no table: pass --table <name> (or set TABLE_NAME)", usage]);
  const macKey = macKeyFromEnvironment(dataDir);
  const local = remote ? undefined : await startDynalite({ path: path.join(dataDir, "dynamo") });
  const { client, doc } = createClients({ endpoint: local?.endpoint ?? values.endpoint });
  return {
    store: createStore({ tableName, doc, macKey }),
    explain: (error) => {
      const failure = local ? describeStoreFailure(path.join(dataDir, "dynamo"), error) : undefined;
      return failure ? new CliError(EXIT.error, [failure]) : error;
    },
    close: async () => {
      client.destroy();
      await local?.close();
    },
  };
}

/** The study of `forms/study.json`, for CLIs whose `--study` defaults to it. */
export function defaultStudy(usage: string): string {
  try {
    const { id } = JSON.parse(readFileSync(path.join("forms", "study.json"), "utf8")) as { id?: unknown };
    if (typeof id === "string") return id;
  } catch {
    // Reported below as a usage error.
  }
  throw new CliError(EXIT.usage, ["no study: pass --study <id> (forms/study.json was not readable)", usage]);
}
