import type { FormData, FormStatus, StudyDefinition } from "../engine/definition.ts";
import { asFileReference } from "../engine/file-fields.ts";
import type { ImportedInstance, RefusedValue } from "../exports/redcap-records-in.ts";
import type { FileObjects } from "../store/file-objects.ts";
import type { Principal } from "../store/principal.ts";
import type { SaveRequest } from "../store/save-form-instance.ts";
import type { Store } from "../store/store.ts";
import type { Subject } from "../store/subjects.ts";
import { FILE_NOT_UPLOADED, filesNotUploaded } from "./files.ts";
import { can, sitesOf } from "./permissions.ts";

/**
 * REDCap's record import, all or nothing: every instance first goes through
 * the save's every step but its commit (`checkFormInstance`: permission,
 * locks, validation, revision), and nothing is written unless all pass. Then
 * each is saved through the same save as a person's, so the audit trail,
 * queries for confirmed soft-check warnings and unchanged no-ops are the
 * same. Soft-check warnings are confirmed by the import and the revision's
 * reason says so: a REDCap import has no one to ask.
 */

export const IMPORT_REASON = "Imported through the API";
const withWarnings = (reason: string) => `${reason}; its soft-check warnings were confirmed by the import`;
export const IMPORT_REASON_WARNINGS = withWarnings(IMPORT_REASON);

export interface ImportOptions {
  /** REDCap's overwriteBehavior=overwrite: a blank cell erases the stored value. */
  overwrite: boolean;
  /** Check everything, write nothing. */
  dryRun: boolean;
  /** REDCap's forceAutoNumber: every record is a new subject, named as enrolment names them. */
  forceAutoNumber: boolean;
  /** The revisions' reason (default: IMPORT_REASON). */
  reason?: string;
  /**
   * Where uploaded bytes are kept: a file reference among the values must name
   * bytes held there. Without it (REDCap's rows carry no file), any reference is refused.
   */
  files?: FileObjects;
}

export interface InstanceChange {
  record: string;
  event: string;
  form: string;
  instance: number;
  /** Fields whose value would change (or changed); empty when only the status did. */
  fields: string[];
  newRecord: boolean;
}

export type ImportOutcome =
  | { kind: "refused"; refused: RefusedValue[] }
  | {
      kind: "imported";
      /** The records of the import, in the order given (new names with forceAutoNumber). */
      records: string[];
      /** With forceAutoNumber: each given record id and the subject it became. */
      autoIds: [string, string][];
      changes: InstanceChange[];
    };

interface Planned {
  item: ImportedInstance;
  subject: Subject;
  isNew: boolean;
  request: SaveRequest;
  fields: string[];
}

function fieldOf(pointer: string) {
  return pointer.replace(/^\//, "").split("/")[0] ?? pointer;
}

export async function importRecords(
  store: Store,
  principal: Principal,
  definition: StudyDefinition,
  instances: ImportedInstance[],
  options: ImportOptions,
): Promise<ImportOutcome> {
  const { study } = definition;
  const refused: RefusedValue[] = [];
  const subjects = new Map<string, { subject: Subject; isNew: boolean } | undefined>();
  const enrolSites = sitesOf(
    principal,
    study.sites.map((s) => s.id),
    "enrol",
  );
  const planned: Planned[] = [];

  for (const item of instances) {
    const refuse = (field: string, value: string, message: string) =>
      refused.push({ record: item.record, event: item.eventName, field, value, message });
    if (!subjects.has(item.record)) {
      const found = options.forceAutoNumber ? undefined : await store.getSubject(study.id, item.record);
      let chosen: { subject: Subject; isNew: boolean } | undefined;
      if (found) chosen = { subject: found, isNew: false };
      else if (!can(principal, "enrol", { study: study.id })) {
        refuse("", item.record, "is not a record of this project, and this token may not create records");
      } else {
        const site = item.site
          ? study.sites.find((s) => s.id === item.site || s.code === item.site)
          : enrolSites.length === 1
            ? study.sites.find((s) => s.id === enrolSites[0])
            : undefined;
        if (!site || !enrolSites.includes(site.id)) {
          refuse(
            "redcap_data_access_group",
            item.site ?? "",
            item.site
              ? "is not a site this token may enrol at"
              : "a new record needs its site (data access group): this token enrols at several",
          );
        } else {
          const subject: Subject = {
            study: study.id,
            id: item.record,
            site: site.id,
            arm: item.arm,
            enrolledAt: new Date().toISOString(),
            enrolledBy: principal.user,
          };
          chosen = { subject, isNew: true };
        }
      }
      subjects.set(item.record, chosen);
    }
    const chosen = subjects.get(item.record);
    if (!chosen) continue;
    const { subject, isNew } = chosen;
    if (subject.arm !== item.arm) {
      refuse("redcap_event_name", item.eventName, `record ${item.record} is in another arm`);
      continue;
    }
    if (!can(principal, "enter-data", { study: study.id, site: subject.site })) {
      refuse("", item.record, "this token may not enter data for this record");
      continue;
    }
    const address = { event: item.event, form: item.form, instance: item.instance };
    const current = isNew
      ? undefined
      : await store.readLatestRevision({ study: study.id, subject: subject.id, ...address });
    // An all-blank form erases only with overwrite, and only what exists.
    if (!item.given && (!options.overwrite || !current)) continue;
    // A revision must not point at bytes never uploaded; the references already stored were checked when saved.
    const instrument = definition.instruments[item.form];
    const notUploaded = instrument ? await filesNotUploaded(options.files, instrument, item.values) : [];
    for (const field of notUploaded)
      refuse(field, asFileReference(item.values[field])?.name ?? "", FILE_NOT_UPLOADED);
    if (notUploaded.length > 0) continue;
    const data: FormData = { ...(current?.data ?? {}), ...item.values };
    if (options.overwrite) for (const field of item.blanks) delete data[field];
    const status: FormStatus = item.status ?? current?.status ?? "incomplete";
    const request: SaveRequest = {
      definition,
      subject,
      ...address,
      data,
      status,
      rev: current?.rev ?? 0,
      reason: options.reason ?? IMPORT_REASON,
      // Missing-data codes stored on this instance stay as they are unless a value replaces them.
      missing: current?.missing
        ? Object.fromEntries(Object.entries(current.missing).filter(([f]) => !(f in item.values)))
        : undefined,
      confirmWarnings: true,
      actor: principal.user,
      person: principal.person,
    };
    const check = await store.checkFormInstance(request);
    switch (check.kind) {
      case "would-save":
        if (check.warnings.length > 0) request.reason = withWarnings(options.reason ?? IMPORT_REASON);
        planned.push({ item, subject, isNew, request, fields: check.changes.map((ch) => ch.field) });
        break;
      case "saved":
      case "unchanged":
        break;
      case "invalid":
        for (const e of check.errors) {
          const field = fieldOf(e.pointer);
          refuse(field, String(data[field] ?? ""), e.message);
        }
        break;
      case "unconfirmed-warnings":
        for (const w of check.warnings) refuse(fieldOf(w.pointer), "", w.message);
        break;
      case "locked":
        refuse(item.form, "", `${item.form} is locked (${check.scope})`);
        break;
      case "entered-in-error":
        refuse(item.form, "", `${item.form} instance ${item.instance} was entered in error`);
        break;
      case "reason-required":
        refuse(item.form, "", "this form is complete: a reason is required to change it");
        break;
      case "stale":
        refuse(item.form, "", "changed while the import was checked: send it again");
        break;
    }
  }
  if (refused.length > 0) return { kind: "refused", refused };

  const given = [...new Set(instances.map((i) => i.record))];
  const changes = planned.map(({ item, isNew, fields }) => ({
    record: item.record,
    event: item.event,
    form: item.form,
    instance: item.instance,
    fields,
    newRecord: isNew,
  }));
  if (options.dryRun) return { kind: "imported", records: given, autoIds: [], changes };

  // Subjects first, then their instances: a failure here (a race with another writer) is reported,
  // with what was written before it kept, as every save is its own audited revision.
  const names = new Map<string, string>();
  for (const [record, chosen] of subjects) {
    if (!chosen?.isNew) continue;
    const site = study.sites.find((s) => s.id === chosen.subject.site);
    const enrolled = await store.enrolSubject({
      study: study.id,
      site: chosen.subject.site,
      siteCode: site?.code ?? "",
      arm: chosen.subject.arm,
      id: options.forceAutoNumber ? undefined : record,
      actor: principal.user,
    });
    if (enrolled.kind !== "enrolled") {
      refused.push({
        record,
        event: "",
        field: "",
        value: record,
        message: "was created by someone else meanwhile",
      });
      return { kind: "refused", refused };
    }
    chosen.subject = enrolled.subject;
    names.set(record, enrolled.subject.id);
  }
  for (const { item, request } of planned) {
    const subject = subjects.get(item.record)?.subject ?? request.subject;
    const result = await store.saveFormInstance({ ...request, subject });
    if (result.kind !== "saved" && result.kind !== "unchanged")
      refused.push({
        record: item.record,
        event: item.eventName,
        field: item.form,
        value: "",
        message: `not saved (${result.kind}); the rows before it were`,
      });
  }
  if (refused.length > 0) return { kind: "refused", refused };
  return {
    kind: "imported",
    records: given.map((r) => names.get(r) ?? r),
    autoIds: options.forceAutoNumber ? given.map((r) => [names.get(r) ?? r, r] as [string, string]) : [],
    changes,
  };
}
