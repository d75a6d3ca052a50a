/**
 * Uploaded files on the local disk, `<dataDir>/files/<aa>/<sha256>`: the
 * embedded default. A write goes to a temporary name and is renamed into
 * place, so a crash never leaves a partial object under a hash that would
 * then be trusted.
 */
import { randomUUID } from "node:crypto";
import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { type FileObjects, sha256Of } from "../store/file-objects.ts";

const HASH = /^[0-9a-f]{64}$/;

export function folderFileObjects(root: string): FileObjects {
  // Only a well-formed hash becomes a path: nothing a caller sends can name another file.
  const where = (sha256: string) =>
    HASH.test(sha256) ? path.join(root, sha256.slice(0, 2), sha256) : undefined;
  const missing = (e: unknown) => (e as NodeJS.ErrnoException).code === "ENOENT";
  return {
    put: async (bytes) => {
      const sha256 = sha256Of(bytes);
      const target = where(sha256) as string;
      const exists = await stat(target).then(
        () => true,
        () => false,
      );
      if (!exists) {
        await mkdir(path.dirname(target), { recursive: true });
        const temp = `${target}.${randomUUID()}.tmp`;
        try {
          await writeFile(temp, bytes, { flag: "wx" });
          await rename(temp, target);
        } finally {
          await rm(temp, { force: true });
        }
      }
      return { sha256, size: bytes.byteLength };
    },
    stat: async (sha256) => {
      const file = where(sha256);
      if (!file) return undefined;
      try {
        return { sha256, size: (await stat(file)).size };
      } catch (e) {
        if (missing(e)) return undefined;
        throw e;
      }
    },
    get: async (sha256) => {
      const file = where(sha256);
      if (!file) return undefined;
      try {
        return new Uint8Array(await readFile(file));
      } catch (e) {
        if (missing(e)) return undefined;
        throw e;
      }
    },
  };
}
