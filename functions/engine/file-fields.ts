/**
 * File and drawn-signature fields. The protocol declares `"type": "object"`
 * with `"x-file"` (allowed media types, a size limit); a signature is the same
 * with `"x-widget": "signature"` and is always a PNG. The revision never holds
 * the bytes, only a reference to them, so the audit trail proves which file
 * was attached when: the bytes live in an object store under their sha256.
 */
import type { FieldSchema, FormData, Instrument } from "./definition.ts";

/** What a file field stores. */
export interface FileReference {
  /** Lowercase hex SHA-256 of the bytes: the object store's key and the proof of content. */
  sha256: string;
  size: number;
  /** The name the file had when uploaded (no folders). */
  name: string;
  mediaType: string;
}

/** The size limit of a file field that states none. */
export const DEFAULT_FILE_MAX_BYTES = 10 * 1024 * 1024;
/** No protocol may allow more: an upload passes through the API (locally) or a presigned URL (AWS). */
export const FILE_MAX_BYTES_CEILING = 100 * 1024 * 1024;
/** A drawn signature is stored as a PNG image. */
export const SIGNATURE_MEDIA_TYPE = "image/png";
export const MEDIA_TYPE_PATTERN = "^[a-z0-9][a-z0-9!#$&^_.+-]*/([a-z0-9][a-z0-9!#$&^_.+-]*|\\*)$";
const SHA256 = /^[0-9a-f]{64}$/;
const FILE_NAME_MAX = 255;
const REFERENCE_KEYS = ["sha256", "size", "name", "mediaType"] as const;

export const isFileField = (schema: FieldSchema | undefined): boolean =>
  schema?.type === "object" && schema["x-file"] !== undefined;

export const isSignatureField = (schema: FieldSchema | undefined): boolean =>
  isFileField(schema) && schema?.["x-widget"] === "signature";

/** The media types a field accepts; undefined means any. */
export function allowedMediaTypes(schema: FieldSchema): string[] | undefined {
  if (schema["x-widget"] === "signature") return [SIGNATURE_MEDIA_TYPE];
  return schema["x-file"]?.mediaTypes;
}

export const maxBytesOf = (schema: FieldSchema): number =>
  schema["x-file"]?.maxBytes ?? DEFAULT_FILE_MAX_BYTES;

/** Whether `mediaType` is one of the allowed ones (`image/*` allows every image type). */
export function mediaTypeAllowed(mediaType: string, allowed: string[] | undefined): boolean {
  if (allowed === undefined) return true;
  const type = mediaType.toLowerCase();
  return allowed.some((a) => (a.endsWith("/*") ? type.startsWith(a.slice(0, -1)) : a === type));
}

/**
 * Why a file name is refused, or undefined: a name is shown and exported, so
 * it carries no folder, no control character and no more than 255 characters.
 */
export function fileNameProblem(name: string): string | undefined {
  if (name.trim() === "") return "the file has no name";
  if (name.length > FILE_NAME_MAX) return `the file name is longer than ${FILE_NAME_MAX} characters`;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
  if (/[\u0000-\u001f\u007f/\\]/.test(name))
    return "the file name holds a folder separator or a control character";
  return undefined;
}

/** Why a file of this size and type cannot go into this field, or undefined. */
export function fileFitProblem(schema: FieldSchema, size: number, mediaType: string): string | undefined {
  const allowed = allowedMediaTypes(schema);
  if (!mediaTypeAllowed(mediaType, allowed))
    return `must be a file of type ${allowed?.join(", ")}, not ${mediaType || "an unknown type"}`;
  const max = maxBytesOf(schema);
  if (size > max) return `must be at most ${formatBytes(max)}: this file is ${formatBytes(size)}`;
  if (size === 0) return "the file is empty";
  return undefined;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${Math.round((bytes / 1024) * 10) / 10} KB`;
  return `${Math.round((bytes / 1024 / 1024) * 10) / 10} MB`;
}

/** The reference a value holds when it is a well-formed one; undefined otherwise. */
export function asFileReference(value: unknown): FileReference | undefined {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  const keys = Object.keys(v);
  if (keys.length !== REFERENCE_KEYS.length || !REFERENCE_KEYS.every((k) => Object.hasOwn(v, k)))
    return undefined;
  const { sha256, size, name, mediaType } = v;
  if (typeof sha256 !== "string" || !SHA256.test(sha256)) return undefined;
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) return undefined;
  if (typeof name !== "string" || typeof mediaType !== "string") return undefined;
  return { sha256, size, name, mediaType };
}

/** One file field's problem with a stored or submitted value. */
export interface FileValueProblem {
  field: string;
  code: "file-reference" | "file-type" | "file-size" | "file-name";
  message: string;
}

/**
 * Shape, name, media type and size of every file value of a form, against
 * the protocol. Whether the bytes exist and match is the save's check (the
 * engine sees no store).
 */
export function fileValueProblems(instrument: Instrument, data: FormData): FileValueProblem[] {
  const out: FileValueProblem[] = [];
  for (const [field, schema] of Object.entries(instrument.properties)) {
    if (!isFileField(schema) || !Object.hasOwn(data, field)) continue;
    const ref = asFileReference(data[field]);
    if (!ref) {
      out.push({
        field,
        code: "file-reference",
        message: "must be an uploaded file: {sha256, size, name, mediaType} as the upload answered",
      });
      continue;
    }
    const badName = fileNameProblem(ref.name);
    if (badName) {
      out.push({ field, code: "file-name", message: badName });
      continue;
    }
    const misfit = fileFitProblem(schema, ref.size, ref.mediaType);
    if (misfit)
      out.push({
        field,
        code: mediaTypeAllowed(ref.mediaType, allowedMediaTypes(schema)) ? "file-size" : "file-type",
        message: misfit,
      });
  }
  return out;
}

/** Every file a form's data references, by field. */
export function fileReferences(instrument: Instrument, data: FormData): [string, FileReference][] {
  const out: [string, FileReference][] = [];
  for (const [field, schema] of Object.entries(instrument.properties)) {
    if (!isFileField(schema)) continue;
    const ref = asFileReference(data[field]);
    if (ref) out.push([field, ref]);
  }
  return out;
}
