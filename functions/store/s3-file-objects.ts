/**
 * Uploaded files in S3, the store in AWS: objects at `objects/<sha256>`,
 * direct uploads at `staging/<id>` (with `staging/<id>.json`, what the upload
 * declared) until the server has read and checked them. The bucket's
 * lifecycle expires staging/ (infra/stack.ts); nothing here deletes an object.
 */
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import {
  type DirectAccess,
  type FileObjects,
  type StagedUpload,
  sha256Of,
  UPLOAD_ID,
  type UploadStaging,
} from "./file-objects.ts";

const HASH = /^[0-9a-f]{64}$/;

export function s3Client(config: S3ClientConfig = {}): S3Client {
  return new S3Client({
    // Otherwise a presigned PUT carries the checksum of an empty body, and S3 refuses the real bytes.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    ...config,
  });
}

const objectKey = (sha256: string) => {
  if (!HASH.test(sha256)) throw new Error(`not a SHA-256: ${sha256}`);
  return `objects/${sha256}`;
};
const stagingKey = (id: string, suffix = "") => {
  if (!UPLOAD_ID.test(id)) throw new Error(`not an upload id: ${id}`);
  return `staging/${id}${suffix}`;
};

const notFound = (e: unknown) =>
  e instanceof S3ServiceException && (e.name === "NotFound" || e.name === "NoSuchKey");

/** `client` may be a function that makes it: then it is made at the first file operation, not at a cold start. */
export function s3FileObjects(client: S3Client | (() => S3Client), bucket: string): FileObjects {
  let made: S3Client | undefined;
  const s3 = () => {
    if (typeof client !== "function") return client;
    made ??= client();
    return made;
  };
  async function head(key: string): Promise<{ size: number; mediaType?: string } | undefined> {
    try {
      const found = await s3().send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return {
        size: found.ContentLength ?? 0,
        ...(found.ContentType ? { mediaType: found.ContentType } : {}),
      };
    } catch (e) {
      if (notFound(e)) return undefined;
      throw e;
    }
  }
  async function read(key: string): Promise<Uint8Array | undefined> {
    try {
      const got = await s3().send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return got.Body ? await got.Body.transformToByteArray() : new Uint8Array();
    } catch (e) {
      if (notFound(e)) return undefined;
      throw e;
    }
  }
  const write = (key: string, body: Uint8Array | string, contentType: string) =>
    s3().send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: body,
        ContentType: contentType,
        // Stated on every write, not only left to the bucket default: an object is never stored in clear.
        ServerSideEncryption: "AES256",
      }),
    );

  const staging: UploadStaging = {
    declare: async (id, upload) => {
      await write(stagingKey(id, ".json"), JSON.stringify(upload), "application/json");
    },
    declared: async (id) => {
      const body = await read(stagingKey(id, ".json"));
      return body ? (JSON.parse(new TextDecoder().decode(body)) as StagedUpload) : undefined;
    },
    write: async (id, bytes) => {
      await write(stagingKey(id), bytes, "application/octet-stream");
    },
    stat: (id) => head(stagingKey(id)),
    read: (id) => read(stagingKey(id)),
    remove: async (id) => {
      await s3().send(
        new DeleteObjectsCommand({
          Bucket: bucket,
          Delete: { Objects: [{ Key: stagingKey(id) }, { Key: stagingKey(id, ".json") }], Quiet: true },
        }),
      );
    },
  };

  const direct: DirectAccess = {
    uploadUrl: async (id, upload, expiresIn) => {
      const headers = { "Content-Type": upload.mediaType };
      const url = await getSignedUrl(
        s3(),
        new PutObjectCommand({
          Bucket: bucket,
          Key: stagingKey(id),
          ContentType: upload.mediaType,
          ContentLength: upload.size,
        }),
        // Signed, so S3 refuses bytes of another type or length than the upload declared.
        { expiresIn, signableHeaders: new Set(["content-type", "content-length"]) },
      );
      return { url, headers };
    },
    downloadUrl: (sha256, response, expiresIn) =>
      getSignedUrl(
        s3(),
        new GetObjectCommand({
          Bucket: bucket,
          Key: objectKey(sha256),
          ResponseContentType: response.contentType,
          ResponseContentDisposition: response.contentDisposition,
          ResponseCacheControl: "private, no-store",
        }),
        { expiresIn },
      ),
  };

  return {
    put: async (bytes) => {
      const sha256 = sha256Of(bytes);
      if ((await head(objectKey(sha256))) === undefined)
        await write(objectKey(sha256), bytes, "application/octet-stream");
      return { sha256, size: bytes.byteLength };
    },
    stat: async (sha256) => {
      if (!HASH.test(sha256)) return undefined;
      const found = await head(objectKey(sha256));
      return found && { sha256, size: found.size };
    },
    get: (sha256) => (HASH.test(sha256) ? read(objectKey(sha256)) : Promise.resolve(undefined)),
    staging,
    direct,
  };
}
