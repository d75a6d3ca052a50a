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
  /** Bytes of direct uploads, kept apart from the objects until the server has checked them. */
  staging: UploadStaging;
  /** Present where clients can reach the store itself (S3): the bytes then bypass the API. */
  direct?: DirectAccess;
}

/** Where a direct upload's bytes go and what it declared: the upload's own, never trusted as an object. */
export interface StagedUpload {
  /** The form field the upload was started for: it can be completed there only. */
  study: string;
  subject: string;
  event: string;
  form: string;
  instance: string;
  field: string;
  name: string;
  mediaType: string;
  size: number;
  expiresAt: string;
}

export interface UploadStaging {
  /** Records what an upload declared, before any of its bytes arrive. */
  declare(id: string, upload: StagedUpload): Promise<void>;
  declared(id: string): Promise<StagedUpload | undefined>;
  write(id: string, bytes: Uint8Array): Promise<void>;
  /**
   * The staged bytes' size (read before the bytes, to refuse a huge upload
   * unread) and, where the store records it, the Content-Type they were sent
   * with; undefined when none arrived.
   */
  stat(id: string): Promise<{ size: number; mediaType?: string } | undefined>;
  read(id: string): Promise<Uint8Array | undefined>;
  /** Forgets the bytes and the declaration. */
  remove(id: string): Promise<void>;
}

export interface DirectAccess {
  /** A URL the client PUTs the staged bytes to, with the headers it must send (both signed). */
  uploadUrl(
    id: string,
    upload: { mediaType: string; size: number },
    expiresInSeconds: number,
  ): Promise<{ url: string; headers: Record<string, string> }>;
  /** A URL that answers the object's bytes with these response headers. */
  downloadUrl(
    sha256: string,
    response: { contentType: string; contentDisposition: string },
    expiresInSeconds: number,
  ): Promise<string>;
}

/** Upload ids are random UUIDs; only one of that form becomes a key or a path. */
export const UPLOAD_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

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
    staging: memoryStaging(),
  };
}

function memoryStaging(): UploadStaging {
  const declared = new Map<string, StagedUpload>();
  const bytes = new Map<string, Uint8Array>();
  return {
    declare: async (id, upload) => {
      declared.set(id, { ...upload });
    },
    declared: async (id) => declared.get(id),
    write: async (id, body) => {
      bytes.set(id, new Uint8Array(body));
    },
    stat: async (id) => {
      const found = bytes.get(id);
      return found ? { size: found.byteLength } : undefined;
    },
    read: async (id) => bytes.get(id),
    remove: async (id) => {
      declared.delete(id);
      bytes.delete(id);
    },
  };
}
