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

export interface ExportTarget {
  open(key: string, contentType: string): Promise<ObjectSink>;
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
    downloadUrl: async (key, response, expiresIn) => (await target()).downloadUrl(key, response, expiresIn),
  };
}
