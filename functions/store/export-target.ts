import { once } from "../engine/once.ts";
/**
 * Where bulk export jobs keep their files: a folder under the data folder
 * locally (dev/folder-export-target.ts), the exports bucket in AWS
 * (s3-export-target.ts). Objects are written as streams, never held whole,
 * and handed out by short-lived URLs. Keys are `<study>/<job>/<name>`
 * (exports/export-files.ts); nothing here deletes a finished object (the
 * bucket's lifecycle expires them).
 */

/** An object being written: bytes in order; stored under its key once `end` resolves, never before. */
export interface ObjectSink {
  write(bytes: Uint8Array): Promise<void>;
  end(): Promise<void>;
  /** Drops what was written: nothing is left under the key (a retry writes it anew). */
  abort(): Promise<void>;
}

/** A part of an object stored by `PartSink.put`, as a checkpoint keeps it. */
export interface StoredPart {
  n: number;
  /** S3's ETag of the part (locally empty). */
  etag: string;
  bytes: number;
}

/** Where an object's stored parts are: S3's UploadId, locally the temporary file's name. */
export interface StoredParts {
  upload: string;
  parts: StoredPart[];
}

/**
 * An object written as parts that outlive the process: each `put` is stored
 * before it resolves, so a later run can carry on after the last part it was
 * told of (`openParts` with those parts); a part put but not recorded is
 * overwritten. `end` stores the last bytes and makes the object whole.
 */
export interface PartSink {
  put(bytes: Buffer): Promise<StoredParts>;
  end(last: Buffer): Promise<void>;
  abort(): Promise<void>;
  /** Lets go of the object as it is, neither whole nor dropped: another run carries it on. */
  close(): Promise<void>;
}

export interface ExportTarget {
  open(key: string, contentType: string): Promise<ObjectSink>;
  /** A part sink, carrying on after `from` when given (a resumed run). */
  openParts(key: string, contentType: string, from?: StoredParts): Promise<PartSink>;
  /** The stored object's bytes (a file written by more than one run is hashed from them). */
  read(key: string): AsyncIterable<Uint8Array>;
  /** A URL that answers the object's bytes for `expiresInSeconds`, with these response headers. */
  downloadUrl(
    key: string,
    response: { contentType: string; contentDisposition: string },
    expiresInSeconds: number,
  ): Promise<string>;
  /** Where a folder of keys lies for a reader outside the API (Athena's LOCATION): `s3://bucket/prefix`. */
  location?(prefix: string): string;
}

/** How long a download URL works: long enough to start a large download, short enough not to be passed around. */
export const DOWNLOAD_URL_SECONDS = 15 * 60;

/** A target made by its first use: the API function imports the S3 client there, not at a cold start. */
export function lazyExportTarget(load: () => Promise<ExportTarget>): ExportTarget {
  const target = once(load);
  return {
    open: async (key, contentType) => (await target()).open(key, contentType),
    openParts: async (key, contentType, from) => (await target()).openParts(key, contentType, from),
    read: (key) => ({
      async *[Symbol.asyncIterator]() {
        yield* (await target()).read(key);
      },
    }),
    downloadUrl: async (key, response, expiresIn) => (await target()).downloadUrl(key, response, expiresIn),
  };
}
