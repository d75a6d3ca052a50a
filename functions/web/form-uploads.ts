import type { Context } from "hono";
import type { FormData, Instrument } from "../engine/definition.ts";
import { isFileField } from "../engine/file-fields.ts";
import type { AppEnv } from "../http/context.ts";
import { uploadFile } from "../http/files.ts";
import { ProblemError } from "../http/problems.ts";
import type { InstancePath } from "../http/resolve.ts";
import { type FormEntries, fileRemoveName, fileUploadName } from "./form-values.ts";

/**
 * The files a form page posts (multipart/form-data) for its file and
 * signature fields: each chosen file is uploaded with the API's own checks
 * and its reference replaces the one the page kept; "remove" clears it.
 */

type ParsedBody = Record<string, string | File | (string | File)[]>;

/** The body's text entries, and per name the last non-empty file posted under it. */
export function splitBody(body: ParsedBody): { entries: FormEntries; files: Map<string, File> } {
  const entries: FormEntries = {};
  const files = new Map<string, File>();
  for (const [key, raw] of Object.entries(body)) {
    const values = Array.isArray(raw) ? raw : [raw];
    const texts = values.filter((v): v is string => typeof v === "string");
    // A file posted under a field's own name is not text: it is dropped, never parsed as a value.
    if (texts.length > 0) entries[key] = texts.length > 1 ? texts : texts[0];
    // A file input left empty still posts a nameless, empty file.
    const chosen = values.filter((v): v is File => typeof v !== "string" && (v.size > 0 || v.name !== ""));
    const last = chosen.at(-1);
    if (last) files.set(key, last);
  }
  return { entries, files };
}

/**
 * Uploads the chosen files into `data` (the form as read from the text
 * entries) and applies "remove"; answers per field why a file was refused.
 * An upload that is then not saved (another field is invalid) leaves bytes
 * nothing references yet; the page keeps its reference, so the next save
 * carries it without choosing the file again.
 */
export async function applyFileChoices(
  c: Context<AppEnv>,
  path: InstancePath,
  instrument: Instrument,
  data: FormData,
  entries: FormEntries,
  files: Map<string, File>,
): Promise<Map<string, string>> {
  const errors = new Map<string, string>();
  for (const [field, schema] of Object.entries(instrument.properties)) {
    if (!isFileField(schema)) continue;
    const chosen = files.get(fileUploadName(field));
    if (chosen) {
      try {
        data[field] = await uploadFile(c, path, field, {
          name: chosen.name,
          mediaType: chosen.type,
          bytes: new Uint8Array(await chosen.arrayBuffer()),
        });
      } catch (error) {
        if (!(error instanceof ProblemError) || error.status !== 422) throw error;
        const [first] = (error.extra.errors as { message: string }[] | undefined) ?? [];
        errors.set(field, first?.message ?? error.message);
      }
    } else if (entries[fileRemoveName(field)] !== undefined) delete data[field];
  }
  return errors;
}
