import { createRoute, type RouteHandler, z } from "@hono/zod-openapi";
import type { AppEnv } from "../../http/context.ts";
import { completeUpload, downloadUrl, receiveUpload, startUpload } from "../../http/direct-files.ts";
import {
  downloadFile,
  downloadHeaders,
  fileManifest,
  MANIFEST_COLUMNS,
  uploadFile,
} from "../../http/files.ts";
import { permitted } from "../../http/permissions.ts";
import { problems } from "../../http/problems.ts";
import { createRouter } from "../router.ts";
import { InstanceParams, problemResponses, StudyParams, SubjectParams } from "../schemas.ts";

export const fileRoutes = createRouter();

const FileReference = z
  .object({
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    size: z.number().int().nonnegative(),
    name: z.string(),
    mediaType: z.string(),
  })
  .openapi("FileReference", {
    description: "What a file or signature field stores: save it as the field's value",
  });

const UploadBody = z
  .object({
    name: z.string().min(1).max(255),
    mediaType: z.string().min(3).max(255),
    /** Base64 keeps the API JSON-only; the body limit (6 MB) bounds the file to about 4.5 MB here. */
    contentBase64: z.string().min(1),
  })
  .strict()
  .openapi("FileUpload");

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

const uploadRoute = createRoute({
  method: "post",
  path: "/studies/{study}/subjects/{subject}/events/{event}/forms/{form}/instances/{instance}/files/{field}",
  tags: ["Files"],
  operationId: "uploadFile",
  middleware: [permitted("enter-data")],
  summary:
    "Upload the bytes of a file or signature field: checked against the field (type, size), stored under their SHA-256; answers the reference to save",
  request: {
    params: InstanceParams.extend({ field: z.string() }),
    body: { required: true, content: { "application/json": { schema: UploadBody } } },
  },
  responses: {
    201: { description: "Stored", content: { "application/json": { schema: FileReference } } },
    ...problemResponses([400, 401, 403, 404, 413, 415, 422, 503]),
  },
});

const upload: RouteHandler<typeof uploadRoute, AppEnv> = async (c) => {
  const { field, ...path } = c.req.valid("param");
  const body = c.req.valid("json");
  const text = body.contentBase64.replace(/\s+/g, "");
  if (!BASE64.test(text) || text.length % 4 !== 0)
    throw problems.badRequest("contentBase64 is not base64.", [
      { pointer: "/contentBase64", code: "base64", message: "must be base64" },
    ]);
  const bytes = new Uint8Array(Buffer.from(text, "base64"));
  const reference = await uploadFile(c, path, field, { name: body.name, mediaType: body.mediaType, bytes });
  return c.json(reference, 201);
};

fileRoutes.openapi(uploadRoute, upload);

const downloadRoute = createRoute({
  method: "get",
  path: "/studies/{study}/subjects/{subject}/files/{sha256}",
  tags: ["Files"],
  operationId: "downloadFile",
  middleware: [permitted("read-identified")],
  summary:
    "The bytes of a file a revision of this subject references (any revision: a replaced file stays reachable), as an attachment; in AWS a 302 to a presigned URL valid 60 s",
  request: { params: SubjectParams.extend({ sha256: z.string() }) },
  responses: {
    200: { description: "The file", content: { "application/octet-stream": { schema: z.string() } } },
    302: { description: "The file is at the Location (a presigned object store URL, valid 60 s)" },
    ...problemResponses([401, 403, 404]),
  },
});

const download: RouteHandler<typeof downloadRoute, AppEnv> = async (c) => {
  const { study, subject, sha256 } = c.req.valid("param");
  const presigned = await downloadUrl(c, study, subject, sha256);
  if (presigned) return c.redirect(presigned, 302) as never;
  const { reference, bytes } = await downloadFile(c, study, subject, sha256);
  return c.body(new Uint8Array(bytes), 200, downloadHeaders(reference)) as never;
};

fileRoutes.openapi(downloadRoute, download);

const StartUploadBody = z
  .object({
    name: z.string().min(1).max(255),
    mediaType: z.string().min(3).max(255),
    size: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
  })
  .strict()
  .openapi("DirectUploadStart");

const UploadTarget = z
  .object({
    uploadId: z.string(),
    method: z.literal("PUT"),
    url: z.string().openapi({ description: "PUT the bytes here, with exactly `headers` (no Authorization)" }),
    headers: z.record(z.string(), z.string()),
    expiresAt: z.string().openapi({ description: "When the url stops taking the bytes" }),
  })
  .openapi("DirectUpload");

const UploadParams = InstanceParams.extend({ field: z.string() });

const startUploadRoute = createRoute({
  method: "post",
  path: "/studies/{study}/subjects/{subject}/events/{event}/forms/{form}/instances/{instance}/files/{field}/uploads",
  tags: ["Files"],
  operationId: "startFileUpload",
  middleware: [permitted("enter-data")],
  summary:
    "Start a direct upload, for files past the request body limit: the declared name, type and size are checked against the field; answers where to PUT the bytes",
  request: {
    params: UploadParams,
    body: { required: true, content: { "application/json": { schema: StartUploadBody } } },
  },
  responses: {
    201: { description: "Started", content: { "application/json": { schema: UploadTarget } } },
    ...problemResponses([400, 401, 403, 404, 415, 422, 503]),
  },
});

fileRoutes.openapi(startUploadRoute, async (c) => {
  const { field, ...path } = c.req.valid("param");
  const target = await startUpload(c, path, field, c.req.valid("json"), (id) =>
    new URL(`/api/v1/uploads/${id}`, c.req.url).toString(),
  );
  return c.json(target, 201);
});

const completeUploadRoute = createRoute({
  method: "post",
  path: "/studies/{study}/subjects/{subject}/events/{event}/forms/{form}/instances/{instance}/files/{field}/uploads/{uploadId}",
  tags: ["Files"],
  operationId: "completeFileUpload",
  middleware: [permitted("enter-data")],
  summary:
    "Complete a direct upload: the server reads the bytes, hashes them, checks them against the field and stores them; answers the reference to save",
  request: { params: UploadParams.extend({ uploadId: z.string() }) },
  responses: {
    201: { description: "Stored", content: { "application/json": { schema: FileReference } } },
    ...problemResponses([401, 403, 404, 409, 422, 503]),
  },
});

fileRoutes.openapi(completeUploadRoute, async (c) => {
  const { field, uploadId, ...path } = c.req.valid("param");
  return c.json(await completeUpload(c, path, field, uploadId), 201);
});

const receiveUploadRoute = createRoute({
  method: "put",
  path: "/uploads/{uploadId}",
  tags: ["Files"],
  operationId: "putUploadBytes",
  security: [],
  summary:
    "The bytes of a direct upload on the local server (in AWS the url is a presigned S3 URL instead): the upload id is the credential; Content-Type and length must be the declared ones",
  request: { params: z.object({ uploadId: z.string() }) },
  responses: {
    204: { description: "Received; now complete the upload" },
    ...problemResponses([400, 404, 413]),
  },
});

fileRoutes.openapi(receiveUploadRoute, async (c) => {
  const { uploadId } = c.req.valid("param");
  const bytes = new Uint8Array(await c.req.arrayBuffer());
  await receiveUpload(c, uploadId, c.req.header("content-type"), bytes);
  return c.body(null, 204);
});

const manifestRoute = createRoute({
  method: "get",
  path: "/studies/{study}/files",
  tags: ["Files", "Exports"],
  operationId: "fileManifest",
  middleware: [permitted("read-identified")],
  summary:
    "The file manifest: every file the current form instances of the caller's sites hold (subject, event, form, instance, field, name, size, sha256, mediaType)",
  request: {
    params: StudyParams,
    query: z.object({ format: z.enum(["json", "csv"]).default("json") }),
  },
  responses: {
    200: {
      description: "One row per file",
      content: {
        "application/json": { schema: z.array(z.record(z.string(), z.unknown())) },
        "text/csv": { schema: z.string() },
      },
    },
    ...problemResponses([400, 401, 403, 404]),
  },
});

const manifest: RouteHandler<typeof manifestRoute, AppEnv> = async (c) => {
  const rows = await fileManifest(c, c.req.valid("param").study);
  if (c.req.valid("query").format === "json") return c.json(rows, 200);
  const { csvText } = await import("../../exports/csv.ts");
  const csv = csvText(
    [[...MANIFEST_COLUMNS], ...rows.map((r) => MANIFEST_COLUMNS.map((k) => r[k]))],
    "people",
  );
  return c.body(csv, 200, { "Content-Type": "text/csv; charset=utf-8" }) as never;
};

fileRoutes.openapi(manifestRoute, manifest);
