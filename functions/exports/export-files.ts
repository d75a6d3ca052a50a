import { createHash } from "node:crypto";
import { createGzip } from "node:zlib";
import type { ExportTarget } from "../store/export-target.ts";

/** One file a bulk export writes: produced lazily so memory stays bounded by a page of rows. */
export interface ExportFile {
  /** Path inside the job's folder, '/'-separated, e.g. "records.csv" or "form=ae/part-00000.ndjson.gz". */
  name: string;
  contentType: string;
  /** The file's text, in order. A name ending ".gz" is gzipped by the writer, never by the producer. */
  chunks: AsyncIterable<string>;
  /** Rows written, read once `chunks` is exhausted. */
  rows(): number;
}
/** What the writer reports for each file once stored: the manifest and the audit are built from these. */
export interface WrittenFile {
  name: string;
  contentType: string;
  bytes: number;
  rows: number;
  sha256: string;
}

/** A file name inside a job's folder: '/'-separated plain segments, never climbing out of it. */
export const EXPORT_FILE_NAME = /^(?!.*(^|\/)\.\.?(\/|$))[A-Za-z0-9._=-]+(\/[A-Za-z0-9._=-]+)*$/;

/** Where a job's file is kept, for every target: `<study>/<job>/<name>`. */
export function exportFileKey(study: string, job: string, name: string): string {
  if (!EXPORT_FILE_NAME.test(name)) throw new Error(`not an export file name: ${name}`);
  return `${study}/${job}/${name}`;
}

/** How many stored bytes so far (of all the job's files): read by the job's progress while they are written. */
export interface WriteProgress {
  bytes: number;
}

/**
 * Streams the file into the target: text encoded as UTF-8, gzipped when the
 * name ends ".gz", and counted and hashed as stored (the SHA-256 is of the
 * stored bytes, what a downloader checks). A failure aborts the object, so
 * nothing half-written is left under the file's name.
 */
export async function writeExportFile(
  target: ExportTarget,
  key: string,
  file: ExportFile,
  progress: WriteProgress = { bytes: 0 },
): Promise<WrittenFile> {
  const sink = await target.open(key, file.contentType);
  const hash = createHash("sha256");
  // The progress may be a whole job's, across its files: this file's size is counted apart.
  let size = 0;
  const store = async (bytes: Uint8Array) => {
    if (bytes.byteLength === 0) return;
    hash.update(bytes);
    size += bytes.byteLength;
    progress.bytes += bytes.byteLength;
    await sink.write(bytes);
  };
  try {
    if (file.name.endsWith(".gz")) await gzipInto(file.chunks, store);
    else for await (const chunk of file.chunks) await store(Buffer.from(chunk, "utf8"));
    await sink.end();
  } catch (error) {
    await sink.abort().catch(() => {});
    throw error;
  }
  return {
    name: file.name,
    contentType: file.contentType,
    bytes: size,
    rows: file.rows(),
    sha256: hash.digest("hex"),
  };
}

/** Gzips the chunks, handing the compressed bytes on as they come, one write at a time. */
async function gzipInto(chunks: AsyncIterable<string>, store: (bytes: Uint8Array) => Promise<void>) {
  const gzip = createGzip();
  const out = (async () => {
    for await (const bytes of gzip) await store(bytes as Buffer);
  })();
  // The reader failing must stop the feeding: otherwise the producer waits for a drain that never comes.
  let failed: unknown;
  out.catch((error) => {
    failed = error;
    gzip.destroy();
  });
  for await (const chunk of chunks) {
    if (failed) break;
    if (!gzip.write(chunk)) await new Promise((resolve) => gzip.once("drain", resolve));
  }
  gzip.end();
  await out;
  if (failed) throw failed;
}
