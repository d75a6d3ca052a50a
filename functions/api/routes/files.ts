import { createRoute, type RouteHandler, z } from "@hono/zod-openapi";
import { csvText } from "../../exports/csv.ts";
import type { AppEnv } from "../../http/context.ts";
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
    "The bytes of a file a revision of this subject references (any revision: a replaced file stays reachable), as an attachment",
  request: { params: SubjectParams.extend({ sha256: z.string() }) },
  responses: {
    200: { description: "The file", content: { "application/octet-stream": { schema: z.string() } } },
    ...problemResponses([401, 403, 404]),
  },
});

const download: RouteHandler<typeof downloadRoute, AppEnv> = async (c) => {
  const { study, subject, sha256 } = c.req.valid("param");
  const { reference, bytes } = await downloadFile(c, study, subject, sha256);
  return c.body(new Uint8Array(bytes), 200, downloadHeaders(reference)) as never;
};

fileRoutes.openapi(downloadRoute, download);

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
  const csv = csvText(
    [[...MANIFEST_COLUMNS], ...rows.map((r) => MANIFEST_COLUMNS.map((k) => r[k]))],
    "people",
  );
  return c.body(csv, 200, { "Content-Type": "text/csv; charset=utf-8" }) as never;
};

fileRoutes.openapi(manifestRoute, manifest);
