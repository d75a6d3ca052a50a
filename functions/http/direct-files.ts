/**
 * Files too large for a request body (Lambda's 6 MB) go straight to the
 * object store: the client starts an upload, PUTs the bytes to the URL it is
 * given, then completes the upload, which is when the server reads the bytes,
 * hashes them itself and checks them against the field like uploadFile does.
 * In S3 the URL is presigned; on the local server it is the API's own PUT
 * route (receiveUpload), so a client has one code path. Downloads redirect to
 * a presigned URL where the store has one, after the same checks as a
 * streamed download.
 */
import { randomUUID } from "node:crypto";
import type { Context } from "hono";
import type { FileReference } from "../engine/file-fields.ts";
import { pointer } from "../engine/validate-form.ts";
import { type StagedUpload, UPLOAD_ID } from "../store/file-objects.ts";
import type { AppEnv } from "./context.ts";
import { checkFileFits, downloadHeaders, fileFieldAt, fileStore, findDownload } from "./files.ts";
import { ProblemError, problems } from "./problems.ts";
import type { InstancePath } from "./resolve.ts";

/** How long the client has to send the bytes after starting an upload. */
export const UPLOAD_URL_SECONDS = 15 * 60;
/** A download URL is used at once by the browser or client that asked for it. */
export const DOWNLOAD_URL_SECONDS = 60;

export interface UploadTarget {
  uploadId: string;
  method: "PUT";
  url: string;
  headers: Record<string, string>;
  expiresAt: string;
}

const unknownUpload = (id: string) => problems.notFound(`Upload ${id}`);

/** Whether the declaration was made for this form field: an upload is completed where it was started. */
const startedAt = (upload: StagedUpload, p: InstancePath, field: string) =>
  upload.study === p.study &&
  upload.subject === p.subject &&
  upload.event === p.event &&
  upload.form === p.form &&
  upload.instance === p.instance &&
  upload.field === field;

/**
 * Checks what the client declares (name, type, size) against the field and
 * answers where to PUT the bytes; `localUrl` is that place when the store
 * cannot be reached directly.
 */
export async function startUpload(
  c: Context<AppEnv>,
  p: InstancePath,
  field: string,
  file: { name: string; mediaType: string; size: number },
  localUrl: (uploadId: string) => string,
): Promise<UploadTarget> {
  const schema = await fileFieldAt(c, p, field);
  const mediaType = file.mediaType.toLowerCase();
  checkFileFits(schema, field, { name: file.name, mediaType, size: file.size });
  const store = fileStore(c);
  const uploadId = randomUUID();
  const expiresAt = new Date(Date.now() + UPLOAD_URL_SECONDS * 1000).toISOString();
  const { study, subject, event, form, instance } = p;
  await store.staging.declare(uploadId, {
    ...{ study, subject, event, form, instance, field },
    ...{ name: file.name, mediaType, size: file.size, expiresAt },
  });
  const target = store.direct
    ? await store.direct.uploadUrl(uploadId, { mediaType, size: file.size }, UPLOAD_URL_SECONDS)
    : { url: localUrl(uploadId), headers: { "Content-Type": mediaType } };
  return { uploadId, method: "PUT", ...target, expiresAt };
}

/**
 * The local stand-in for a presigned PUT: the upload id is the capability,
 * and the type and length must be the declared ones, as S3 enforces through
 * the signature. Where the store is reached directly this route does not exist.
 */
export async function receiveUpload(
  c: Context<AppEnv>,
  uploadId: string,
  contentType: string | undefined,
  bytes: Uint8Array,
): Promise<void> {
  const store = c.var.files;
  if (!store || store.direct || !UPLOAD_ID.test(uploadId)) throw unknownUpload(uploadId);
  const declared = await store.staging.declared(uploadId);
  if (!declared || Date.parse(declared.expiresAt) < Date.now()) throw unknownUpload(uploadId);
  const type = contentType?.toLowerCase();
  if (type !== declared.mediaType)
    throw problems.badRequest(`The upload was started for ${declared.mediaType}: send that Content-Type.`);
  if (bytes.byteLength !== declared.size)
    throw problems.badRequest(
      `The upload was started for ${declared.size} bytes; this body has ${bytes.byteLength}.`,
    );
  await store.staging.write(uploadId, bytes);
}

/**
 * Reads the staged bytes, checks them against the field, stores them under
 * the hash computed here and forgets the staged copy; answers the reference
 * to save. A refused upload is forgotten too: nothing of it reaches objects/.
 */
export async function completeUpload(
  c: Context<AppEnv>,
  p: InstancePath,
  field: string,
  uploadId: string,
): Promise<FileReference> {
  const schema = await fileFieldAt(c, p, field);
  const store = fileStore(c);
  if (!UPLOAD_ID.test(uploadId)) throw unknownUpload(uploadId);
  const declared = await store.staging.declared(uploadId);
  if (!declared || !startedAt(declared, p, field)) throw unknownUpload(uploadId);
  const { name, mediaType } = declared;
  const refuse = async (e: unknown): Promise<never> => {
    await store.staging.remove(uploadId);
    throw e;
  };
  const fits = (size: number) => {
    try {
      checkFileFits(schema, field, { name, mediaType, size });
    } catch (e) {
      return refuse(e);
    }
  };
  // Size and type first: bytes over the field's limit are refused without being read.
  const staged = await store.staging.stat(uploadId);
  if (!staged)
    throw new ProblemError(
      409,
      "upload-incomplete",
      "The bytes have not arrived",
      `Nothing was uploaded for ${uploadId} yet: PUT the bytes to the upload's url, then complete it.`,
    );
  // S3 refuses another type than the signed one; this holds where a store does not check.
  const sentType = staged.mediaType?.split(";")[0]?.trim().toLowerCase();
  if (sentType !== undefined && sentType !== mediaType)
    await refuse(
      problems.invalid(`The file does not fit ${field}.`, [
        {
          pointer: pointer(field),
          code: "file-type",
          message: `the upload was started for ${mediaType} but the bytes were sent as ${sentType}`,
        },
      ]),
    );
  await fits(staged.size);
  const bytes = await store.staging.read(uploadId);
  if (!bytes) throw unknownUpload(uploadId);
  await fits(bytes.byteLength);
  const stored = await store.put(bytes);
  await store.staging.remove(uploadId);
  return { sha256: stored.sha256, size: stored.size, name, mediaType };
}

/**
 * Where the store hands out download URLs, the presigned one (after the same
 * checks as downloadFile); undefined where the API streams the bytes itself.
 */
export async function downloadUrl(
  c: Context<AppEnv>,
  study: string,
  subject: string,
  sha256: string,
): Promise<string | undefined> {
  const direct = c.var.files?.direct;
  if (!direct) return undefined;
  const reference = await findDownload(c, study, subject, sha256);
  if (!(await fileStore(c).stat(sha256))) throw problems.notFound(`File ${sha256} of subject ${subject}`);
  const headers = downloadHeaders(reference);
  return direct.downloadUrl(
    sha256,
    { contentType: reference.mediaType, contentDisposition: headers["Content-Disposition"] as string },
    DOWNLOAD_URL_SECONDS,
  );
}
