/**
 * Uploading and downloading the bytes of file and signature fields, for the
 * API and the pages alike. An upload answers a reference the save then
 * stores; the save refuses a reference whose bytes the store does not hold.
 * A download is answered only for a subject the caller sees whose revisions
 * (any of them: a replaced file stays in the history) reference the file.
 */
import type { Context } from "hono";
import type { FieldSchema, FormData, Instrument, StudyDefinition } from "../engine/definition.ts";
import {
  allowedMediaTypes,
  asFileReference,
  type FileReference,
  fileFitProblem,
  fileNameProblem,
  fileReferences,
  isFileField,
  mediaTypeAllowed,
} from "../engine/file-fields.ts";
import { pointer } from "../engine/validate-form.ts";
import type { FileObjects } from "../store/file-objects.ts";
import type { AppEnv } from "./context.ts";
import { requirePermission, sitesOf } from "./permissions.ts";
import { ProblemError, problems } from "./problems.ts";
import { type InstancePath, loadStudy, loadSubject, resolveInstance } from "./resolve.ts";

export interface Upload {
  name: string;
  mediaType: string;
  bytes: Uint8Array;
}

export function fileStore(c: Context<AppEnv>): FileObjects {
  const files = c.var.files;
  if (!files)
    throw new ProblemError(
      503,
      "no-file-store",
      "Files cannot be stored here",
      "This deployment has no object store for uploaded files.",
    );
  return files;
}

/** The file or signature field a form instance's path names, after the enter-data check; 404 when none. */
export async function fileFieldAt(c: Context<AppEnv>, p: InstancePath, field: string): Promise<FieldSchema> {
  const { definition, subject, address } = await resolveInstance(c, p);
  requirePermission(c.var.principal, "enter-data", { study: subject.study, site: subject.site });
  const instrument = definition.instruments[address.form];
  const schema =
    instrument && Object.hasOwn(instrument.properties, field) ? instrument.properties[field] : undefined;
  if (!isFileField(schema) || !schema) throw problems.notFound(`File field ${field} of ${address.form}`);
  return schema;
}

/** 422 with a pointer when a file of this name, type and size cannot be the field's value. */
export function checkFileFits(
  schema: FieldSchema,
  field: string,
  file: { name: string; mediaType: string; size: number },
): void {
  const badName = fileNameProblem(file.name);
  if (badName)
    throw problems.invalid("The file name is not valid.", [
      { pointer: "/name", code: "file-name", message: badName },
    ]);
  const misfit = fileFitProblem(schema, file.size, file.mediaType);
  if (misfit) {
    const wrongType = !mediaTypeAllowed(file.mediaType, allowedMediaTypes(schema));
    throw problems.invalid(`The file does not fit ${field}.`, [
      { pointer: pointer(field), code: wrongType ? "file-type" : "file-size", message: misfit },
    ]);
  }
}

/** Checks the file against its field and stores it; answers the reference to save in the form. */
export async function uploadFile(
  c: Context<AppEnv>,
  p: InstancePath,
  field: string,
  upload: Upload,
): Promise<FileReference> {
  return storeUpload(c, await fileFieldAt(c, p, field), field, upload);
}

/** Checks the file against its field's schema (name, type, size) and stores its bytes; answers the reference. */
export async function storeUpload(
  c: Context<AppEnv>,
  schema: FieldSchema,
  field: string,
  upload: Upload,
): Promise<FileReference> {
  const mediaType = upload.mediaType.toLowerCase();
  checkFileFits(schema, field, { name: upload.name, mediaType, size: upload.bytes.byteLength });
  const stored = await fileStore(c).put(upload.bytes);
  return { sha256: stored.sha256, size: stored.size, name: upload.name, mediaType };
}

export const FILE_NOT_UPLOADED =
  "no uploaded file has this hash and size: upload the file, then save the reference it answers";

/**
 * The fields of `data` whose file reference names bytes the store does not
 * hold (or holds at another size). Without a store, every reference is one.
 */
export async function filesNotUploaded(
  files: FileObjects | undefined,
  instrument: Instrument,
  data: FormData,
): Promise<string[]> {
  const missing: string[] = [];
  for (const [field, ref] of fileReferences(instrument, data)) {
    const found = files ? await files.stat(ref.sha256) : undefined;
    if (!found || found.size !== ref.size) missing.push(field);
  }
  return missing;
}

/**
 * 422 for references in the submitted data whose bytes were never uploaded
 * (or do not match their size): a revision must not point at nothing.
 */
export async function checkFileReferences(
  c: Context<AppEnv>,
  definition: StudyDefinition,
  form: string,
  data: FormData,
): Promise<void> {
  const instrument = definition.instruments[form];
  if (!instrument) return;
  const errors = (await filesNotUploaded(c.var.files, instrument, data)).map((field) => ({
    pointer: pointer(field),
    code: "file-missing",
    message: FILE_NOT_UPLOADED,
  }));
  if (errors.length > 0)
    throw problems.invalid(`${errors.length} file(s) of ${form} were not uploaded.`, errors);
}

/**
 * The reference (name, type) a revision of the subject saved the file under,
 * after the same site and permission checks as its bytes; 404 when none does.
 */
export async function findDownload(
  c: Context<AppEnv>,
  study: string,
  subjectId: string,
  sha256: string,
): Promise<FileReference> {
  await loadStudy(c, study);
  // Who may never read identified data is told so (403), before any subject is looked up.
  requirePermission(c.var.principal, "read-identified");
  const subject = await loadSubject(c, study, subjectId);
  requirePermission(c.var.principal, "read-identified", { study, site: subject.site });
  const { revisions } = await c.var.store.readCasebook(study, subject.id);
  let reference: FileReference | undefined;
  for (const revision of revisions) {
    for (const value of Object.values(revision.data ?? {})) {
      const ref = asFileReference(value);
      if (ref?.sha256 === sha256) reference = ref;
    }
  }
  if (!reference) throw problems.notFound(`File ${sha256} of subject ${subjectId}`);
  return reference;
}

/** The bytes of a file a revision of the subject references, with the name and type it was saved with. */
export async function downloadFile(
  c: Context<AppEnv>,
  study: string,
  subjectId: string,
  sha256: string,
): Promise<{ reference: FileReference; bytes: Uint8Array }> {
  const reference = await findDownload(c, study, subjectId, sha256);
  const bytes = await fileStore(c).get(sha256);
  if (!bytes) throw problems.notFound(`File ${sha256} of subject ${subjectId}`);
  return { reference, bytes };
}

/** Headers that make a browser save the file rather than render it on this origin. */
export function downloadHeaders(reference: FileReference): Record<string, string> {
  const ascii = reference.name.replace(/[^\x20-\x7e]|["\\]/g, "_");
  return {
    "Content-Type": reference.mediaType,
    "Content-Disposition": `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(reference.name)}`,
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "private, no-store",
  };
}

/** One file a current form instance holds, as the manifest lists it. */
export interface ManifestRow {
  subject: string;
  event: string;
  form: string;
  instance: number;
  field: string;
  name: string;
  size: number;
  sha256: string;
  mediaType: string;
}

export const MANIFEST_COLUMNS = [
  "subject",
  "event",
  "form",
  "instance",
  "field",
  "name",
  "size",
  "sha256",
  "mediaType",
] as const satisfies readonly (keyof ManifestRow)[];

/**
 * Every file the current form instances of the caller's sites' subjects hold:
 * what an export's rows name, with the hash that proves each file's content.
 */
export async function fileManifest(c: Context<AppEnv>, study: string): Promise<ManifestRow[]> {
  const definition = await loadStudy(c, study);
  const sites = sitesOf(
    c.var.principal,
    definition.study.sites.map((s) => s.id),
    "read-identified",
  );
  const rows: ManifestRow[] = [];
  let after: string | undefined;
  do {
    const page = await c.var.store.subjectPage(study, sites, { after, limit: 100 });
    for (const subject of page.subjects) {
      const { instances } = await c.var.store.readCasebook(study, subject.id);
      for (const instance of instances) {
        const instrument = definition.instruments[instance.form];
        if (!instrument) continue;
        for (const [field, ref] of fileReferences(instrument, instance.data ?? {}))
          rows.push({
            subject: subject.id,
            event: instance.event,
            form: instance.form,
            instance: instance.instance,
            field,
            ...ref,
          });
      }
    }
    after = page.next;
  } while (after);
  return rows;
}
