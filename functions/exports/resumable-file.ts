import { createHash } from "node:crypto";
import { once } from "node:events";
import { createGzip, type Gzip } from "node:zlib";
import type { ExportTarget, StoredParts } from "../store/export-target.ts";
import type { WriteProgress } from "./export-files.ts";

/**
 * A bulk export file a job can carry on in another run: the text gathers
 * until the caller, at a subject boundary, finds a part's worth and stores it
 * (`cut`); the caller commits the parts with its checkpoint, and a later run
 * opens the file again from them. A ".gz" file ends a gzip member at every
 * part, so a run that carries on starts a member of its own: concatenated
 * members are one gzip file (RFC 1952 §2.2). The SHA-256 is of the stored
 * bytes: streamed when one run wrote them all, otherwise read back from the
 * target at the end (a hash's state cannot be kept across processes).
 */

/** S3's part size for the exports bucket: 10,000 parts reach 80 GB. */
export const CHECKPOINT_PART_BYTES = 8 * 1024 * 1024;
/** S3's smallest part but the last: a run that must stop cuts a part as soon as this has gathered. */
export const MIN_PART_BYTES = 5 * 1024 * 1024;

export interface ResumableFile {
  write(text: string): Promise<void>;
  /**
   * At a subject boundary: stores what has gathered as a part once it is a
   * part's worth (`soon`: S3's minimum is enough), and answers the parts
   * stored so far; undefined when it stored nothing.
   */
  cut(soon?: boolean): Promise<StoredParts | undefined>;
  /** Stores the rest and makes the object whole: its size and SHA-256. */
  end(): Promise<{ bytes: number; sha256: string }>;
  abort(): Promise<void>;
  /** Leaves the stored parts for another run (this one stops, or lost its lease). */
  close(): Promise<void>;
}

export async function openResumableFile(
  target: ExportTarget,
  key: string,
  file: { name: string; contentType: string },
  options: { partBytes: number; from?: StoredParts; progress: WriteProgress },
): Promise<ResumableFile> {
  const sink = await target.openParts(key, file.contentType, options.from);
  const gzip = file.name.endsWith(".gz");
  const resumed = (options.from?.parts.length ?? 0) > 0;
  const hash = resumed ? undefined : createHash("sha256");
  let stored = options.from?.parts.reduce((n, p) => n + p.bytes, 0) ?? 0;
  let parts = options.from?.parts.length ?? 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const gather = (bytes: Buffer) => {
    if (bytes.byteLength === 0) return;
    pending.push(bytes);
    pendingBytes += bytes.byteLength;
    options.progress.bytes += bytes.byteLength;
    hash?.update(bytes);
  };
  const take = () => {
    const body = Buffer.concat(pending, pendingBytes);
    stored += pendingBytes;
    pending = [];
    pendingBytes = 0;
    return body;
  };
  let member: { gz: Gzip; ended: Promise<unknown> } | undefined;
  const openMember = () => {
    const gz = createGzip();
    gz.on("data", gather);
    member = { gz, ended: once(gz, "end") };
    return member;
  };
  const endMember = async () => {
    if (!member) return;
    const { gz, ended } = member;
    member = undefined;
    gz.end();
    await ended;
  };
  return {
    write: async (text) => {
      if (!gzip) return gather(Buffer.from(text, "utf8"));
      const { gz } = member ?? openMember();
      if (!gz.write(text)) await once(gz, "drain");
    },
    cut: async (soon) => {
      // Gzipped, what has come out of the member so far: its end only adds to it.
      if (pendingBytes < (soon ? Math.min(options.partBytes, MIN_PART_BYTES) : options.partBytes))
        return undefined;
      await endMember();
      parts++;
      return sink.put(take());
    },
    end: async () => {
      // An empty gzip file is still one member, as the one-run writer makes it.
      if (gzip && !member && parts === 0 && pendingBytes === 0) openMember();
      await endMember();
      await sink.end(take());
      return { bytes: stored, sha256: hash ? hash.digest("hex") : await sha256Of(target.read(key)) };
    },
    abort: async () => {
      member?.gz.destroy();
      await sink.abort();
    },
    close: async () => {
      member?.gz.destroy();
      await sink.close();
    },
  };
}

async function sha256Of(bytes: AsyncIterable<Uint8Array>): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of bytes) hash.update(chunk);
  return hash.digest("hex");
}
