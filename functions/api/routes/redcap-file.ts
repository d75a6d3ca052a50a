import type { Context } from "hono";
import { type FieldSchema, LOGS_EVENT, type StudyDefinition } from "../../engine/definition.ts";
import { asFileReference, isFileField } from "../../engine/file-fields.ts";
import { resolveSlot } from "../../engine/slots.ts";
import { exportNames, isLongitudinal, uniqueEventName } from "../../exports/flat.ts";
import type { ImportedInstance } from "../../exports/redcap-records-in.ts";
import { logAccess } from "../../http/access-events.ts";
import type { AppEnv } from "../../http/context.ts";
import { storeUpload } from "../../http/files.ts";
import { can } from "../../http/permissions.ts";
import { ProblemError } from "../../http/problems.ts";
import { importRecords } from "../../http/redcap-import.ts";
import type { Principal } from "../../store/principal.ts";
import type { Subject } from "../../store/subjects.ts";
import { RedcapError, type RedcapParams } from "../redcap-params.ts";

/**
 * REDCap's `content=file`: one file field's bytes, exported, imported or
 * deleted as REDCap's "Export/Import/Delete a File" methods do. The record,
 * the field (REDCap's name), the event (longitudinal projects) and
 * repeat_instance name the form instance. An import stores the bytes and
 * saves their reference as a change of the record, a delete removes it: both
 * go through the record import's save (permission, locks, audit trail, its
 * reason). A record of a site the key does not reach is answered as a record
 * that does not exist, so the answer tells nothing about other sites.
 */
export async function redcapFile(
  c: Context<AppEnv>,
  params: RedcapParams,
  definition: StudyDefinition,
  principal: Principal,
): Promise<Response> {
  params.check("file");
  const action = params.text("action") ?? "export";
  if (action !== "import" && params.has("file"))
    throw new RedcapError(400, `The parameter "file" is only sent with action=import`);
  // REDCap's API rights: Export for action=export, Import/Update for import and delete.
  const right = action === "export" ? "export" : "enter-data";
  if (!can(principal, right))
    throw new RedcapError(
      403,
      action === "export"
        ? "You do not have API Export privileges"
        : "You do not have API Import/Update privileges",
    );
  // Files are identified data: a de-identified key has REDCap's "De-Identified" export right, which leaves them out.
  if (action === "export" && !can(principal, "read-identified"))
    throw new RedcapError(
      403,
      "You do not have permissions to export files: this key exports de-identified data",
    );
  const target = fileTarget(params, definition);
  const subject = await visibleSubject(c, principal, definition, target.record, right);
  if (subject.arm !== target.arm)
    throw new RedcapError(400, `The event "${target.eventName}" is not in the arm of record "${subject.id}"`);
  const address = { event: target.event, form: target.form, instance: target.instance };
  const current = await c.var.store.readLatestRevision({
    study: definition.study.id,
    subject: subject.id,
    ...address,
  });
  const reference = asFileReference(current?.data?.[target.field]);

  if (action === "export") {
    const bytes = reference ? await c.var.files?.get(reference.sha256) : undefined;
    if (!reference || !bytes) throw new RedcapError(400, "There is no file to download for this record");
    await logAccess(c, "export-redcap", {
      content: "file",
      subject: subject.id,
      ...address,
      field: target.field,
      sha256: reference.sha256,
    });
    // REDCap names the file in the Content-Type; clients (PyCap, REDCapR) read the name from there.
    const name = reference.name.replace(/[^\x20-\x7e]|["\\;]/g, "_");
    return c.body(new Uint8Array(bytes), 200, {
      "Content-Type": `${reference.mediaType}; name="${name}"`,
      "Content-Disposition": `attachment; filename="${name}"`,
      "X-Content-Type-Options": "nosniff",
      "Cache-Control": "private, no-store",
    });
  }

  const item: ImportedInstance = {
    record: subject.id,
    eventName: target.eventName,
    arm: target.arm,
    ...address,
    values: {},
    blanks: [],
    given: true,
  };
  if (action === "import") {
    const part = params.file("file");
    if (!part)
      throw new RedcapError(400, 'The parameter "file" is missing: send the file as a multipart part');
    const upload = {
      name: part.name,
      mediaType: mediaTypeOf(part),
      bytes: new Uint8Array(await part.arrayBuffer()),
    };
    try {
      item.values[target.field] = await storeUpload(c, target.schema, target.field, upload);
    } catch (e) {
      if (!(e instanceof ProblemError)) throw e;
      const errors = (e.extra.errors ?? []) as { message: string }[];
      const why = errors.map((x) => x.message).join("; ") || e.message;
      throw new RedcapError(400, `The file cannot go into the field "${params.text("field")}": ${why}`);
    }
  } else {
    if (!reference) throw new RedcapError(400, "There is no file to delete for this record");
    item.blanks.push(target.field);
    item.given = false;
  }
  const outcome = await importRecords(c.var.store, principal, definition, [item], {
    overwrite: true,
    dryRun: false,
    forceAutoNumber: false,
    files: c.var.files,
  });
  if (outcome.kind === "refused")
    throw new RedcapError(400, outcome.refused.map((r) => `${r.field}: ${r.message}`).join("\n"));
  // REDCap answers a file import or delete with an empty 200.
  return c.body(null, 200);
}

interface FileTarget {
  record: string;
  field: string;
  schema: FieldSchema;
  form: string;
  eventName: string;
  event: string;
  arm: string;
  instance: number;
}

/** The form instance and file field the parameters name, checked against the protocol. */
function fileTarget(params: RedcapParams, definition: StudyDefinition): FileTarget {
  const record = params.text("record");
  if (!record) throw new RedcapError(400, 'The parameter "record" is missing');
  const fieldName = params.text("field");
  if (!fieldName) throw new RedcapError(400, 'The parameter "field" is missing');
  let found: { form: string; field: string; schema: FieldSchema } | undefined;
  for (const [form, names] of exportNames(definition)) {
    const instrument = definition.instruments[form];
    for (const [field, name] of names)
      if (name === fieldName && instrument?.properties[field])
        found = { form, field, schema: instrument.properties[field] };
  }
  if (!found) throw new RedcapError(400, `The field "${fieldName}" does not exist in this project`);
  if (!isFileField(found.schema))
    throw new RedcapError(400, `The field "${fieldName}" is not a file upload field`);
  const { study } = definition;
  const given = params.text("event");
  let where: { event: string; arm: string } | undefined;
  if (given === undefined) {
    const [arm] = study.arms;
    const [event] = study.events;
    if (isLongitudinal(definition) || !arm || !event)
      throw new RedcapError(400, 'The parameter "event" is missing: this project is longitudinal');
    where = { event: study.logs.includes(found.form) ? LOGS_EVENT : event.id, arm: arm.id };
  } else {
    for (const arm of study.arms)
      for (const event of [...study.events.map((e) => e.id), LOGS_EVENT])
        if (uniqueEventName(definition, event, arm.id) === given) where = { event, arm: arm.id };
    if (!where) throw new RedcapError(400, `The event "${given}" does not exist in this project`);
  }
  const instanceText = params.text("repeat_instance") ?? "1";
  const instance = /^\d+$/.test(instanceText) ? Number(instanceText) : Number.NaN;
  const slot = resolveSlot(definition, where.arm, where.event, found.form, instance);
  if (!slot.ok)
    throw new RedcapError(
      400,
      slot.missing === "instance"
        ? `The value of the parameter "repeat_instance" is not valid here: ${instanceText}`
        : `The field "${fieldName}" is not collected at the event "${given ?? where.event}"`,
    );
  const eventName = given ?? uniqueEventName(definition, where.event, where.arm);
  return { record, ...found, eventName, ...where, instance };
}

/** The record, if this key reaches it for `right`; otherwise REDCap's answer for a record that does not exist. */
async function visibleSubject(
  c: Context<AppEnv>,
  principal: Principal,
  definition: StudyDefinition,
  record: string,
  right: "export" | "enter-data",
): Promise<Subject> {
  const subject = await c.var.store.getSubject(definition.study.id, record);
  const action = right === "export" ? "read-identified" : "enter-data";
  if (!subject || !can(principal, action, { study: definition.study.id, site: subject.site }))
    throw new RedcapError(400, `The record "${record}" does not exist`);
  return subject;
}

/** Types by extension, for clients that send a part without one (PyCap's requests does). */
const BY_EXTENSION: Record<string, string> = {
  pdf: "application/pdf",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  tif: "image/tiff",
  tiff: "image/tiff",
  txt: "text/plain",
  csv: "text/csv",
  xml: "application/xml",
  json: "application/json",
  zip: "application/zip",
  doc: "application/msword",
  docx: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
  xls: "application/vnd.ms-excel",
  xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
};

/**
 * The part's type, or its extension's where the part's says nothing: the
 * multipart parser types a part sent without one as text/plain, and some
 * clients send only the generic application/octet-stream.
 */
function mediaTypeOf(part: File): string {
  const type = part.type.split(";")[0]?.trim().toLowerCase() ?? "";
  if (type !== "" && type !== "application/octet-stream" && type !== "text/plain") return type;
  const extension = /\.([a-z0-9]+)$/i.exec(part.name)?.[1]?.toLowerCase() ?? "";
  const byName = Object.hasOwn(BY_EXTENSION, extension) ? BY_EXTENSION[extension] : undefined;
  return byName ?? (type || "application/octet-stream");
}
