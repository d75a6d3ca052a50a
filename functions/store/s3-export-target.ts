/**
 * Bulk export files in the exports bucket (infra/exports-bucket.ts): each file
 * streamed as an S3 multipart upload, a part sent whenever PART_BYTES have
 * gathered, so a file of any size costs one part of memory. A file smaller
 * than a part is one PutObject. An aborted or dead upload leaves parts the
 * bucket's lifecycle aborts after a day; finished objects expire after 7 days.
 */

import type { Readable } from "node:stream";
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import type { ExportTarget, ObjectSink, PartSink, StoredParts } from "./export-target.ts";

/** S3 takes parts of at least 5 MiB (but the last) and at most 10,000 of them: 8 MiB parts reach 80 GB. */
export const PART_BYTES = 8 * 1024 * 1024;

export function s3ExportTarget(
  client: S3Client | (() => S3Client),
  bucket: string,
  partBytes = PART_BYTES,
): ExportTarget {
  let made: S3Client | undefined;
  const s3 = () => {
    if (typeof client !== "function") return client;
    made ??= client();
    return made;
  };
  return {
    open: async (key, contentType) => multipartSink(s3(), bucket, key, contentType, partBytes),
    openParts: async (key, contentType, from) => resumableUpload(s3(), bucket, key, contentType, from),
    read: (key) => ({
      async *[Symbol.asyncIterator]() {
        const { Body } = await s3().send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        if (!Body) throw new Error(`S3 gave no body for ${key}`);
        yield* Body as Readable;
      },
    }),
    downloadUrl: (key, response, expiresIn) =>
      getSignedUrl(
        s3(),
        new GetObjectCommand({
          Bucket: bucket,
          Key: key,
          ResponseContentType: response.contentType,
          ResponseContentDisposition: response.contentDisposition,
          ResponseCacheControl: "private, no-store",
        }),
        { expiresIn },
      ),
    location: (prefix) => `s3://${bucket}/${prefix}`,
  };
}

/**
 * A multipart upload whose parts a checkpoint records (UploadId, numbers,
 * ETags), so another process completes it; the caller sizes the parts (at
 * least 5 MiB but the last). Nothing put is one PutObject at the end.
 */
function resumableUpload(
  s3: S3Client,
  bucket: string,
  key: string,
  contentType: string,
  from?: StoredParts,
): PartSink {
  let uploadId = from?.upload;
  const parts = [...(from?.parts ?? [])];
  const send = async (body: Buffer) => {
    if (!uploadId) {
      const created = await s3.send(
        new CreateMultipartUploadCommand({
          Bucket: bucket,
          Key: key,
          ContentType: contentType,
          // Stated on every write, not only left to the bucket default: an object is never stored in clear.
          ServerSideEncryption: "AES256",
        }),
      );
      uploadId = created.UploadId;
      if (!uploadId) throw new Error(`S3 gave no upload id for ${key}`);
    }
    const n = parts.length + 1;
    const sent = await s3.send(
      new UploadPartCommand({ Bucket: bucket, Key: key, UploadId: uploadId, PartNumber: n, Body: body }),
    );
    if (!sent.ETag) throw new Error(`S3 gave no ETag for part ${n} of ${key}`);
    parts.push({ n, etag: sent.ETag, bytes: body.byteLength });
    return { upload: uploadId, parts: [...parts] };
  };
  return {
    put: send,
    end: async (last) => {
      if (!uploadId) {
        await s3.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: last,
            ContentType: contentType,
            ServerSideEncryption: "AES256",
          }),
        );
        return;
      }
      if (last.byteLength > 0) await send(last);
      await s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts.map((p) => ({ ETag: p.etag, PartNumber: p.n })) },
        }),
      );
    },
    abort: async () => {
      if (uploadId)
        await s3.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }));
    },
    close: async () => {},
  };
}

/** A file written in one go: the writes gathered into parts of `partBytes` for a multipart upload. */
function multipartSink(
  s3: S3Client,
  bucket: string,
  key: string,
  contentType: string,
  partBytes: number,
): ObjectSink {
  const upload = resumableUpload(s3, bucket, key, contentType);
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  const take = () => {
    const body = Buffer.concat(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    return body;
  };
  return {
    write: async (bytes) => {
      pending.push(bytes);
      pendingBytes += bytes.byteLength;
      if (pendingBytes >= partBytes) await upload.put(take());
    },
    end: () => upload.end(take()),
    abort: async () => {
      pending = [];
      pendingBytes = 0;
      await upload.abort();
    },
  };
}
