import { readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";

/** LevelDB's own files that hold data; LOCK and LOG* hold none. */
export const DATA_FILE = /^(CURRENT|MANIFEST-\d+|\d+\.(ldb|sst|log))$/;

/**
 * The seal of a local store: what its data files looked like when the local
 * server last closed LevelDB cleanly, so the next start can skip reading every
 * entry (`checkLocalStore`) when nothing has touched them since.
 *
 * It lives beside the folder (`<DATA_DIR>/dynamo.sealed.json`), never in it:
 * LevelDB deletes files it does not know in its own folder, and a copy of the
 * folder alone must not carry a seal along.
 *
 * Each data file is named with its size, mtime, ctime and inode (nanoseconds).
 * Size and mtime alone miss a same-size overwrite whose writer puts the mtime
 * back (`touch -r`, `cp -p`, `rsync -t`, a restore tool); the kernel sets ctime
 * on every write, rename and utimes and nothing can set it back, and a copy or
 * a restore makes new inodes: either way the next start reads the folder in
 * full. What no fingerprint sees is damage below the file system (a bad
 * sector): the full read finds only some of that too, as LevelDB does not
 * verify block checksums on reads. Hashing the contents instead would cost
 * seconds per start on a real-size study (~0.9 GB) to catch only that.
 */
export function sealFile(folder: string): string {
  return `${path.resolve(folder)}.sealed.json`;
}

interface Seal {
  format: 1;
  files: string[];
}

/** The data files as the seal names them, sorted; empty for a folder that does not exist. */
async function fingerprint(folder: string): Promise<string[]> {
  const names = (await readdir(folder).catch(() => [] as string[])).filter((f) => DATA_FILE.test(f));
  const files = await Promise.all(
    names.map(async (name) => {
      const s = await stat(path.join(folder, name), { bigint: true });
      return `${name} ${s.size} ${s.mtimeNs} ${s.ctimeNs} ${s.ino}`;
    }),
  );
  return files.sort();
}

/**
 * Records the folder as LevelDB left it on a clean close. Only for a LevelDB
 * this process opened, answered from and closed without error: then nothing
 * else held the folder, and every file is as LevelDB wrote it.
 */
export async function sealLocalStore(folder: string): Promise<void> {
  const seal: Seal = { format: 1, files: await fingerprint(folder) };
  await writeFile(sealFile(folder), `${JSON.stringify(seal)}\n`);
}

/** True when the folder's data files are exactly as sealed. */
export async function isSealed(folder: string): Promise<boolean> {
  const text = await readFile(sealFile(folder), "utf8").catch(() => undefined);
  if (text === undefined) return false;
  let seal: Partial<Seal>;
  try {
    seal = JSON.parse(text) as Partial<Seal>;
  } catch {
    return false;
  }
  if (seal.format !== 1 || !Array.isArray(seal.files) || seal.files.length === 0) return false;
  const now = await fingerprint(folder);
  return now.length === seal.files.length && now.every((line, i) => line === seal.files?.[i]);
}

/**
 * Drops the seal before LevelDB opens the folder: from then on only the next
 * clean close may vouch for it (a crash, a kill or a failed close leaves no seal).
 */
export async function breakSeal(folder: string): Promise<void> {
  await rm(sealFile(folder), { force: true });
}
