import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import type { ExportFile, WrittenFile } from "../../functions/exports/export-files.ts";

/**
 * A stand-in for the bulk jobs' writer: consumes ExportFiles one at a time,
 * gzips a ".gz" name, and reports bytes and SHA-256 of the stored bytes.
 * Only for tests of producers; the jobs' real writer streams into S3.
 */
export async function writeInMemory(
  files: AsyncIterable<ExportFile> | Iterable<ExportFile>,
  stored: Map<string, Buffer> = new Map(),
): Promise<{ written: WrittenFile[]; stored: Map<string, Buffer> }> {
  const written: WrittenFile[] = [];
  for await (const file of files) {
    let text = "";
    for await (const chunk of file.chunks) text += chunk;
    const bytes = file.name.endsWith(".gz") ? gzipSync(text) : Buffer.from(text, "utf8");
    if (stored.has(file.name)) throw new Error(`written twice: ${file.name}`);
    stored.set(file.name, bytes);
    written.push({
      name: file.name,
      contentType: file.contentType,
      bytes: bytes.byteLength,
      rows: file.rows(),
      sha256: createHash("sha256").update(bytes).digest("hex"),
    });
  }
  return { written, stored };
}
