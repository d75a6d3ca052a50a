/**
 * Bulk export files on the local disk, `<dataDir>/exports/<study>/<job>/<name>`.
 * A file is written to a temporary name and renamed into place when whole, so
 * a crash never leaves a partial file under its name. Nothing deletes them
 * (the exports bucket's 7-day expiry has no local counterpart): remove the
 * folder by hand. Download URLs are the local server's, signed with the
 * session secret and expiring like S3's presigned ones; only the local
 * server mounts the route that answers them (dev-environment.ts), so none of
 * this is in a Lambda bundle.
 */
import { createHmac, randomUUID, timingSafeEqual } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, open, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import type { Handler } from "hono";
import type { ExportTarget, PartSink, StoredParts } from "../store/export-target.ts";

/** Where the local server answers download URLs (not under /api/: a URL is its own credential, as S3's are). */
export const LOCAL_EXPORT_DOWNLOADS = "/local-exports";

/** A resumed file's temporary name is one `openParts` made: never a path of the caller's choosing. */
const UPLOAD = /^[0-9a-f-]{36}$/;

const KEY = /^[A-Za-z0-9._=-]+(\/[A-Za-z0-9._=-]+)*$/;

function signature(secret: string, fields: string[]): string {
  return createHmac("sha256", secret)
    .update(["export-download", ...fields].join("\n"))
    .digest("base64url");
}

function inside(root: string, key: string): string {
  if (!KEY.test(key) || key.split("/").some((s) => s === "." || s === ".."))
    throw new Error(`not an export key: ${key}`);
  return path.join(root, ...key.split("/"));
}

export function folderExportTarget(root: string, secret: string, now: () => number = Date.now): ExportTarget {
  return {
    open: async (key) => {
      const file = inside(root, key);
      await mkdir(path.dirname(file), { recursive: true });
      const temp = `${file}.${randomUUID()}.tmp`;
      const out = createWriteStream(temp, { flags: "wx" });
      const opened = new Promise<void>((resolve, reject) => {
        out.once("open", () => resolve());
        out.once("error", reject);
      });
      await opened;
      let failure: Error | undefined;
      out.on("error", (error) => {
        failure = error;
      });
      return {
        write: async (bytes) => {
          if (failure) throw failure;
          if (!out.write(bytes)) await new Promise((resolve) => out.once("drain", () => resolve(undefined)));
        },
        end: async () => {
          await new Promise<void>((resolve, reject) => {
            out.once("close", () => resolve());
            out.once("error", reject);
            out.end();
          });
          if (failure) throw failure;
          await rename(temp, file);
        },
        abort: async () => {
          out.destroy();
          await rm(temp, { force: true });
        },
      };
    },
    openParts: (key, _contentType, from) => partsFile(inside(root, key), from),
    read: (key) => createReadStream(inside(root, key)),
    downloadUrl: async (key, response, expiresIn) => {
      inside(root, key);
      const expires = String(Math.floor(now() / 1000) + expiresIn);
      const fields = [key, expires, response.contentType, response.contentDisposition];
      const query = new URLSearchParams({
        expires,
        type: response.contentType,
        disposition: response.contentDisposition,
        signature: signature(secret, fields),
      });
      return `${LOCAL_EXPORT_DOWNLOADS}/${key}?${query}`;
    },
  };
}

/**
 * A file written in parts under its temporary name, each part synced to disk
 * before `put` resolves; a resumed run cuts the file back to its parts' bytes
 * (dropping what a dead run wrote after its last recorded part) and appends.
 */
async function partsFile(file: string, from?: StoredParts): Promise<PartSink> {
  await mkdir(path.dirname(file), { recursive: true });
  if (from && !UPLOAD.test(from.upload)) throw new Error(`not an upload of this target: ${from.upload}`);
  const upload = from?.upload ?? randomUUID();
  const temp = `${file}.${upload}.tmp`;
  const handle = await open(temp, from ? "r+" : "wx");
  const parts = [...(from?.parts ?? [])];
  let size = parts.reduce((n, p) => n + p.bytes, 0);
  if (from) await handle.truncate(size);
  const append = async (bytes: Buffer) => {
    let at = 0;
    while (at < bytes.byteLength) {
      const { bytesWritten } = await handle.write(bytes, at, bytes.byteLength - at, size + at);
      at += bytesWritten;
    }
    size += bytes.byteLength;
  };
  return {
    put: async (bytes) => {
      await append(bytes);
      await handle.sync();
      parts.push({ n: parts.length + 1, etag: "", bytes: bytes.byteLength });
      return { upload, parts: [...parts] };
    },
    end: async (last) => {
      await append(last);
      await handle.sync();
      await handle.close();
      await rename(temp, file);
    },
    abort: async () => {
      await handle.close().catch(() => {});
      await rm(temp, { force: true });
    },
    close: () => handle.close(),
  };
}

/** Answers a download URL `folderExportTarget` signed, while it has not expired; anything else is a 403 or 404. */
export function serveLocalExports(root: string, secret: string, now: () => number = Date.now): Handler {
  return async (c) => {
    const key = decodeURIComponent(c.req.path.slice(LOCAL_EXPORT_DOWNLOADS.length + 1));
    const q = (name: string) => c.req.query(name) ?? "";
    const expected = Buffer.from(signature(secret, [key, q("expires"), q("type"), q("disposition")]));
    const given = Buffer.from(q("signature"));
    const signed = given.length === expected.length && timingSafeEqual(given, expected);
    if (!signed || !(Number(q("expires")) * 1000 > now()))
      return c.text("This download link is not valid or has expired.", 403);
    let file: string;
    try {
      file = inside(root, key);
      await stat(file);
    } catch {
      return c.text("No such export file.", 404);
    }
    const body = Readable.toWeb(createReadStream(file)) as unknown as ReadableStream;
    return new Response(body, {
      status: 200,
      headers: {
        "Content-Type": q("type"),
        "Content-Disposition": q("disposition"),
        "Cache-Control": "private, no-store",
      },
    });
  };
}
