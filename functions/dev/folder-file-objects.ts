/**
 * Uploaded files on the local disk, `<dataDir>/files/<aa>/<sha256>`: the
 * embedded default. A write goes to a temporary name and is renamed into
 * place, so a crash never leaves a partial object under a hash that would
 * then be trusted. Direct uploads wait in `<dataDir>/files/staging/` (a name
 * no two-hex-digit object folder can have) until they are checked.
 */
import { randomUUID } from "node:crypto";
import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import {
  type FileObjects,
  type StagedUpload,
  sha256Of,
  UPLOAD_ID,
  type UploadStaging,
} from "../store/file-objects.ts";

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
    staging: folderStaging(path.join(root, "staging")),
  };
}

function folderStaging(dir: string): UploadStaging {
  const where = (id: string, suffix = "") => {
    if (!UPLOAD_ID.test(id)) throw new Error(`not an upload id: ${id}`);
    return path.join(dir, `${id}${suffix}`);
  };
  const orUndefined = async <T>(read: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await read();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw e;
    }
  };
  const write = async (file: string, body: Uint8Array | string) => {
    await mkdir(dir, { recursive: true });
    const temp = `${file}.${randomUUID()}.tmp`;
    try {
      await writeFile(temp, body, { flag: "wx" });
      await rename(temp, file);
    } finally {
      await rm(temp, { force: true });
    }
  };
  return {
    declare: (id, upload) => write(where(id, ".json"), JSON.stringify(upload)),
    declared: (id) =>
      orUndefined(async () => JSON.parse(await readFile(where(id, ".json"), "utf8")) as StagedUpload),
    write: (id, bytes) => write(where(id), bytes),
    stat: (id) => orUndefined(async () => ({ size: (await stat(where(id))).size })),
    read: (id) => orUndefined(async () => new Uint8Array(await readFile(where(id)))),
    remove: async (id) => {
      await rm(where(id), { force: true });
      await rm(where(id, ".json"), { force: true });
    },
  };
}
