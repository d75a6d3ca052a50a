import { cp, mkdtemp, readdir, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";
import { DATA_FILE, isSealed } from "./local-store-seal.ts";

/** The local store cannot be used as it is; the message names the folder and says nothing was changed. */
export class LocalStoreUnreadable extends Error {
  override name = "LocalStoreUnreadable";
}

/** The part of `level` (LevelDB) the check uses. */
interface LevelDb {
  open(): Promise<void>;
  close(): Promise<void>;
  iterator(options: { fillCache: boolean }): {
    nextv(size: number): Promise<[string, string][]>;
    close(): Promise<void>;
  };
}
type LevelConstructor = new (
  location: string,
  options: { createIfMissing: boolean; valueEncoding: "utf8" },
) => LevelDb;

/**
 * Refuses a LevelDB folder that holds data LevelDB cannot read, before dynalite opens it.
 *
 * Why not just let dynalite open it: LevelDB creates a new, empty database when
 * CURRENT is missing and then deletes every table file it does not know (all of
 * them), and dynalite throws a read error out of its request handler, which
 * kills the process with a stack trace at the first read of a bad block. So the
 * check opens a *copy* (opening rewrites MANIFEST and the log even when all is
 * well, and the original must stay exactly as it was when refused), with
 * `createIfMissing: false`, and reads every entry. LevelDB does not verify block
 * checksums on reads (classic-level does not expose it); a bad block is found
 * when it does not decompress or an entry is not the JSON dynalite wrote.
 *
 * The read is skipped when the folder is exactly as the local server's last clean
 * close sealed it (`local-store-seal.ts`): LevelDB never rewrites a file in
 * place, and every open makes a new MANIFEST and log, so any open since (a
 * crash, another tool), a copy, a restore or a hand edit shows in the seal and
 * brings the full read back. LevelDB has no read-only open, and the copy is a
 * real copy, not hard links: a damaged MANIFEST can hand out a file number that
 * a table already has, and LevelDB opens new files with O_TRUNC, which would
 * truncate the original through a link. Copying is ~1 s per GB; the read is the cost.
 *
 * Answers what it did: "new" (no data files), "sealed" (unchanged since a clean
 * close) or "read" (every entry read).
 */
export async function checkLocalStore(folder: string): Promise<"new" | "sealed" | "read"> {
  const files = await readdir(folder).catch(() => [] as string[]);
  const data = files.filter((f) => DATA_FILE.test(f));
  if (data.length === 0) return "new";
  const refuse = (reason: string): LocalStoreUnreadable =>
    new LocalStoreUnreadable(
      `The local store in ${folder} cannot be opened: ${reason}.\n` +
        "Nothing in it was changed. Restore the folder from a backup, or move it away to start with an empty store.",
    );
  if (!data.includes("CURRENT"))
    throw refuse(
      `it holds LevelDB files (${data.join(", ")}) but no CURRENT file ` +
        "(LevelDB would start an empty store and delete them; a CURRENT holding the newest MANIFEST-… name and a newline restores it)",
    );
  if (await isSealed(folder)) return "sealed";

  const copy = await mkdtemp(path.join(tmpdir(), "edc-store-check-"));
  try {
    await cp(folder, copy, { recursive: true, filter: (source) => path.basename(source) !== "LOCK" });
    const db = new (level())(copy, { createIfMissing: false, valueEncoding: "utf8" });
    try {
      await db.open();
      const entries = db.iterator({ fillCache: false });
      try {
        // In batches: one promise per entry costs more than the read on a million entries.
        for (let batch = await entries.nextv(1000); batch.length > 0; batch = await entries.nextv(1000))
          for (const [key, value] of batch)
            if (!parses(value))
              throw new Error(`the entry ${JSON.stringify(key.slice(0, 80))} does not decode`);
      } finally {
        await entries.close().catch(() => {});
      }
    } finally {
      await db.close().catch(() => {});
    }
  } catch (error) {
    throw refuse(describe(error).replaceAll(copy, folder));
  } finally {
    await rm(copy, { recursive: true, force: true });
  }
  return "read";
}

function parses(value: string): boolean {
  try {
    JSON.parse(value);
    return true;
  } catch {
    return false;
  }
}

/** A LevelDB failure as one line (its cause says what LevelDB found, e.g. "Corruption: …"). */
function describe(error: unknown): string {
  const message = messageOf(error);
  const cause = typeof error === "object" && error !== null && "cause" in error ? messageOf(error.cause) : "";
  return cause ? `${message} (${cause})` : (message ?? String(error));
}

function messageOf(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null || !("message" in error)) return undefined;
  return error.message === undefined ? undefined : String(error.message);
}

/**
 * What to tell the user when LevelDB fails underneath a running dynalite (a
 * read error, or an open that failed), or undefined for any other error.
 */
export function describeStoreFailure(folder: string, error: unknown): string | undefined {
  const e = error as { code?: unknown; message?: unknown } | undefined;
  const closed = e?.message === "Database is closed"; // dynalite's word for "LevelDB did not open"
  if (!closed && !(typeof e?.code === "string" && e.code.startsWith("LEVEL_"))) return undefined;
  const reason = closed
    ? "LevelDB could not open it (is another server using this folder?)"
    : describe(error);
  return `The local store in ${folder} failed: ${reason}. The server stopped; nothing in the folder was deleted.`;
}

/** The `level` dynalite itself resolves, so the check reads the store with the same LevelDB. */
function level(): LevelConstructor {
  const require = createRequire(import.meta.url);
  return createRequire(require.resolve("dynalite"))("level").Level as LevelConstructor;
}
