/**
 * The object store that holds the bytes of uploaded files and signatures.
 * Content-addressed: an object's key is the SHA-256 of its bytes, computed
 * here, so a revision's reference proves its content and two uploads of the
 * same file are one object. Objects are never deleted by the engine: old
 * revisions keep referencing them (the audit trail).
 */
import { createHash } from "node:crypto";

export interface StoredObject {
  sha256: string;
  size: number;
}

export interface FileObjects {
  /** Stores the bytes (once: a second put of the same bytes is a no-op) and answers their hash. */
  put(bytes: Uint8Array): Promise<StoredObject>;
  /** The object's size, or undefined when none has that hash. */
  stat(sha256: string): Promise<StoredObject | undefined>;
  get(sha256: string): Promise<Uint8Array | undefined>;
}

export const sha256Of = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

/** Objects kept in memory: the dev environment without a data folder, and tests. */
export function memoryFileObjects(): FileObjects {
  const objects = new Map<string, Uint8Array>();
  return {
    put: async (bytes) => {
      const sha256 = sha256Of(bytes);
      if (!objects.has(sha256)) objects.set(sha256, new Uint8Array(bytes));
      return { sha256, size: bytes.byteLength };
    },
    stat: async (sha256) => {
      const found = objects.get(sha256);
      return found ? { sha256, size: found.byteLength } : undefined;
    },
    get: async (sha256) => objects.get(sha256),
  };
}
