import type { Context } from "hono";
import type { StudyDefinition } from "../../engine/definition.ts";
import { formOrder } from "../../engine/form-order.ts";
import { API_COLUMNS, COLUMNS } from "../../engine/redcap/columns.ts";
import { buildDictionary } from "../../engine/redcap/export-dictionary.ts";
import { redcapNames } from "../../engine/redcap/fields.ts";
import { compileFilterLogic } from "../../engine/redcap/filter-logic.ts";
import { csvText } from "../../exports/csv.ts";
import {
  armNumber,
  type FlatOptions,
  hasRepeats,
  isLongitudinal,
  recordIdField,
  uniqueGroupName,
} from "../../exports/flat.ts";
import { RECORDS_CONTENT_TYPE, recordChunks, subjectsById } from "../../exports/records.ts";
import {
  redcapArms,
  redcapEvents,
  redcapExportFieldNames,
  redcapFormEventMapping,
  redcapInstruments,
  redcapRepeatingFormsEvents,
} from "../../exports/redcap-metadata.ts";
import {
  type DateFormat,
  parseImportData,
  type RefusedValue,
  readImportRows,
} from "../../exports/redcap-records-in.ts";
import { logAccess, loggedFilters } from "../../http/access-events.ts";
import type { AppEnv } from "../../http/context.ts";
import { admitPrincipal } from "../../http/deidentified-access.ts";
import { exportOptions, exportSites } from "../../http/export-scope.ts";
import { can, sitesOf } from "../../http/permissions.ts";
import { KEY_PREDATES, ProblemError } from "../../http/problems.ts";
import { projectionPassBeforeExport } from "../../http/projection-pass.ts";
import { importRecords } from "../../http/redcap-import.ts";
import { requestSource } from "../../http/request-source.ts";
import { streamedBody } from "../../http/streamed-body.ts";
import { ALL_SITES, type Principal } from "../../store/principal.ts";
import {
  CONTENTS,
  type Content,
  dateTimeParam,
  RedcapError,
  RedcapParams,
  refuseUnknown,
} from "../redcap-params.ts";
import { redcapFile } from "./redcap-file.ts";
import { redcapLog } from "./redcap-log.ts";

/**
 * REDCap's API (`POST /api/`, form-encoded) for existing REDCap clients and
 * scripts: exports of records, metadata and the schedule, answered in
 * REDCap's shapes and values (CSV is for programs here: no formula is
 * neutralised), record imports (`data`) and one file field's bytes
 * (`content=file`, see redcap-file.ts). Errors are `{"error": "..."}`
 * as REDCap sends them; what is not implemented (other imports, parameters)
 * is an error, never ignored.
 */
export const REDCAP_VERSION = "14.0.0";

/** Rows in REDCap's JSON or CSV; CSV values exactly as REDCap gives them. */
function answer(c: Context<AppEnv>, rows: Record<string, unknown>[], format: string, columns?: string[]) {
  if (format === "json") return c.json(rows, 200);
  const header = columns ?? Object.keys(rows[0] ?? {});
  return c.body(csvText([header, ...rows.map((r) => header.map((h) => r[h] ?? ""))], "programs"), 200, {
    "Content-Type": "text/csv; charset=utf-8",
  });
}

/** Errors in the caller's `returnFormat`, REDCap's shapes. */
function error(c: Context<AppEnv>, returnFormat: string, status: 400 | 401 | 403, message: string) {
  if (returnFormat === "csv")
    return c.body(`error\n"${message.replaceAll('"', '""')}"\n`, status, { "Content-Type": "text/csv" });
  if (returnFormat === "xml") {
    const escaped = message.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
    return c.body(`<?xml version="1.0" encoding="UTF-8" ?>\n<hash><error>${escaped}</error></hash>`, status, {
      "Content-Type": "text/xml; charset=utf-8",
    });
  }
  return c.json({ error: message }, status);
}

/** The arms asked for (REDCap's arm numbers), all by default. */
function armNumbers(params: RedcapParams, definition: StudyDefinition): Set<number> {
  const all = definition.study.arms.map((a) => String(armNumber(definition, a.id)));
  const wanted = params.list("arms");
  refuseUnknown("arms", wanted, new Set(all));
  return new Set((wanted ?? all).map(Number));
}

/** content=record: REDCap's filters, each checked against the project before anything is read. */
function recordOptions(params: RedcapParams, definition: StudyDefinition) {
  if (params.text("rawOrLabel") === "label" && params.flag("exportCheckboxLabel"))
    throw new RedcapError(
      400,
      'The value of the parameter "exportCheckboxLabel" is not supported by this server: checkboxes are exported as Checked/Unchecked',
    );
  const order = formOrder(definition);
  const idField = recordIdField(definition);
  const forms = params.list("forms");
  refuseUnknown("forms", forms, new Set(order));
  // A field is named as the data dictionary names it: a name two forms share is `<form>_<field>` in all but the first.
  const fieldNames = new Set([idField]);
  for (const [form, names] of redcapNames(definition.instruments, order, [idField])) {
    for (const redcapName of names.values()) fieldNames.add(redcapName);
    fieldNames.add(`${form}_complete`);
  }
  const fields = params.list("fields");
  refuseUnknown("fields", fields, fieldNames);
  const events = params.list("events");
  refuseUnknown("events", events, new Set(redcapEvents(definition).map((e) => e.unique_event_name)));
  const filterText = params.text("filterLogic");
  const filter = filterText
    ? compileFilterLogic(filterText, definition.instruments, { formOrder: order, recordIdField: idField })
    : undefined;
  if (filter && "error" in filter)
    throw new RedcapError(400, `The value of the parameter "filterLogic" is not valid: ${filter.error}`);
  const eventSet = events ? new Set(events) : undefined;
  const options: Partial<FlatOptions> = {
    rawOrLabel: params.text("rawOrLabel") === "label" ? "label" : "raw",
    forms,
    // REDCap's names as given: mapped to engine ids, a renamed `vital_signs_weight` would bring every form's `weight`.
    fields: fields?.filter((f) => f !== idField),
    ...(eventSet || filter
      ? {
          keepRow: (row) =>
            (!eventSet || eventSet.has(row.eventName)) &&
            (!filter ||
              filter.test({
                recordId: row.subject,
                eventName: row.eventName,
                forms: row.items.map((i) => ({ form: i.form, data: i.data })),
              })),
        }
      : {}),
  };
  return options;
}

/** The `data` of an import; what cannot be read is REDCap's error. */
function importRows(data: string, format: "csv" | "json"): Record<string, string>[] {
  try {
    return parseImportData(data, format);
  } catch (e) {
    throw new RedcapError(400, `The data could not be read as ${format}: ${(e as Error).message}`);
  }
}

/** REDCap's error for refused values: one line per value, quoted as CSV. */
function refusedMessage(refused: RefusedValue[]): string {
  const q = (s: string) => `"${s.replaceAll('"', '""')}"`;
  return [
    `${refused.length} value(s) were refused; nothing was imported ("record","event","field","value","message"):`,
    ...refused.map((r) => [r.record, r.event, r.field, r.value, r.message].map(q).join(",")),
  ].join("\n");
}

async function importAnswer(
  c: Context<AppEnv>,
  params: RedcapParams,
  definition: StudyDefinition,
  principal: Principal,
) {
  const format = params.text("format") ?? "xml";
  if (format !== "json" && format !== "csv")
    throw new RedcapError(400, `The format "${format}" is not supported here: use format=json or format=csv`);
  const rows = importRows(params.text("data") ?? "", format);
  const dateFormat = (params.text("dateFormat") ?? "YMD") as DateFormat;
  const { instances, refused } = readImportRows(definition, rows, dateFormat);
  if (refused.length > 0) throw new RedcapError(400, refusedMessage(refused));
  const { syncLimit } = c.var.importJobs;
  if (instances.length > syncLimit)
    throw new RedcapError(
      400,
      `This import holds ${instances.length} form instances; more than ${syncLimit} are imported as a background job, ` +
        `not in one request: POST the same data to /api/v1/studies/${definition.study.id}/record-imports ` +
        "(bearer token; see /api/v1/openapi.json), then poll the job it answers",
    );
  const dryRun = params.flag("dryRun");
  const outcome = await importRecords(c.var.store, principal, definition, instances, {
    overwrite: params.text("overwriteBehavior") === "overwrite",
    dryRun,
    forceAutoNumber: params.flag("forceAutoNumber"),
    files: c.var.files,
  });
  if (outcome.kind === "refused") throw new RedcapError(400, refusedMessage(outcome.refused));
  const count = outcome.records.length;
  // `format` is the data's; the answer is in `returnFormat`, as REDCap does (JSON unless CSV is asked).
  const answerFormat = params.text("returnFormat") === "csv" ? "csv" : "json";
  if (dryRun) {
    const changes = outcome.changes.map((ch) => ({ ...ch, fields: ch.fields.join(" ") }));
    if (answerFormat === "json") return c.json({ dryRun: true, count, changes: outcome.changes }, 200);
    return answer(c, changes, answerFormat, ["record", "event", "form", "instance", "fields", "newRecord"]);
  }
  switch (params.text("returnContent") ?? "count") {
    case "ids":
      return answerFormat === "json"
        ? c.json(outcome.records, 200)
        : answer(
            c,
            outcome.records.map((id) => ({ id })),
            answerFormat,
          );
    case "auto_ids": {
      const pairs = outcome.autoIds.length > 0 ? outcome.autoIds : outcome.records.map((r) => [r, r]);
      return answerFormat === "json"
        ? c.json(
            pairs.map((p) => p.join(",")),
            200,
          )
        : answer(
            c,
            pairs.map(([id, given]) => ({ id, given_id: given })),
            answerFormat,
            ["id", "given_id"],
          );
    }
    default:
      return answerFormat === "json" ? c.json({ count }, 200) : answer(c, [{ count }], answerFormat);
  }
}

/**
 * REDCap's project information, every key REDCap 14 gives, each value as REDCap
 * types it. What this server has no notion of (surveys, randomisation,
 * scheduling, DDP, external modules) is off; nothing is invented.
 */
function redcapProject(definition: StudyDefinition) {
  return {
    project_id: 1,
    project_title: definition.study.title,
    creation_time: "",
    production_time: "",
    in_production: 1,
    project_language: "English",
    purpose: 2,
    purpose_other: "",
    project_notes: definition.study.description ?? "",
    custom_record_label: "",
    secondary_unique_field: "",
    is_longitudinal: isLongitudinal(definition) ? 1 : 0,
    has_repeating_instruments_or_events: hasRepeats(definition) ? 1 : 0,
    surveys_enabled: 0,
    scheduling_enabled: 0,
    record_autonumbering_enabled: 1,
    randomization_enabled: 0,
    ddp_enabled: 0,
    project_irb_number: "",
    project_grant_number: "",
    project_pi_firstname: "",
    project_pi_lastname: "",
    display_today_now_button: 1,
    missing_data_codes: (definition.study.missingCodes ?? []).map((m) => `${m.code}, ${m.label}`).join(" | "),
    external_modules: "",
    bypass_branching_erase_field_prompt: 0,
  };
}

/**
 * REDCap's userDagMapping: each person granted at the study with the data
 * access group (site) they work in, one row per site; a person at every site
 * has REDCap's blank group (sees all). For readers of identified data (the
 * names are staff's, never subjects'); rows of sites outside the caller's are
 * left out, so a site sees its own people and those who work everywhere.
 */
async function userDagMapping(c: Context<AppEnv>, definition: StudyDefinition) {
  const principal = c.var.principal;
  if (!principal || !can(principal, "read-identified"))
    throw new RedcapError(403, "You do not have privileges to export the user-DAG mapping");
  const mine = new Set(exportSites(c, definition));
  const grants = (await c.var.store.listGrants(definition.study.id)).filter((g) => !g.revokedAt);
  const people = await Promise.all(grants.map((g) => c.var.store.findPerson(g.person)));
  return grants.flatMap((grant, i) => {
    const person = people[i];
    const username = person?.email ?? person?.name ?? grant.person;
    const sites = new Set(grant.roles.flatMap((r) => r.sites));
    if (sites.has(ALL_SITES)) return [{ username, redcap_data_access_group: "" }];
    return [...sites]
      .filter((site) => mine.has(site))
      .map((site) => ({ username, redcap_data_access_group: uniqueGroupName(site) }));
  });
}

/**
 * REDCap's generateNextRecordName: the id the next enrolment would be given,
 * `<site code>-<nnn>` after the highest such id at the caller's first site it
 * may enrol at (REDCap prefixes a DAG member's names the same way). Like
 * REDCap's, it is a suggestion, not a reservation.
 */
async function nextRecordName(c: Context<AppEnv>, definition: StudyDefinition): Promise<string> {
  const principal = c.var.principal;
  const siteId = principal
    ? sitesOf(
        principal,
        definition.study.sites.map((s) => s.id),
        "enrol",
      )[0]
    : undefined;
  const site = definition.study.sites.find((s) => s.id === siteId);
  if (!principal || !site || !can(principal, "enrol"))
    throw new RedcapError(403, "You do not have permissions to create records");
  const subjects = await c.var.store.listSubjects(definition.study.id, [site.id]);
  const prefix = `${site.code}-`;
  const highest = Math.max(
    0,
    ...subjects
      .map((s) => s.id)
      .filter((id) => id.startsWith(prefix) && /^\d+$/.test(id.slice(prefix.length)))
      .map((id) => Number(id.slice(prefix.length))),
  );
  return `${prefix}${String(highest + 1).padStart(3, "0")}`;
}

/** REDCap's API: one POST endpoint, the token and the `content` in the form body. */
export async function redcapApi(c: Context<AppEnv>) {
  const body = await c.req.parseBody({ all: true }).catch(() => ({}) as Record<string, unknown>);
  const params = new RedcapParams(body);
  // REDCap: errors in returnFormat; without it, in the format asked for; without that, XML.
  const asText = (v: unknown) => (typeof v === "string" && v !== "" ? v : undefined);
  const returnFormat = asText(body.returnFormat) ?? asText(body.format) ?? "xml";
  try {
    const token = params.text("token");
    const found = token ? await c.var.store.findToken(token, requestSource(c)) : undefined;
    if (found?.refused === "predates") throw new RedcapError(401, KEY_PREDATES);
    const principal = found?.principal;
    if (!principal) throw new RedcapError(403, "You do not have permissions to use the API");
    admitPrincipal(c, principal);
    // A file is exported, imported or deleted by one method with its own rights (export, import/update).
    if (params.text("content") === "file") {
      const definition = await c.var.store.definitions.current(principal.study);
      if (!definition) throw new RedcapError(403, "You do not have permissions to use the API");
      return await redcapFile(c, params, definition, principal);
    }
    // REDCap's imports all carry `data`: records are the one import here; anything else is refused, not exported.
    if (params.has("data")) {
      if (!can(principal, "enter-data"))
        throw new RedcapError(403, "You do not have API Import/Update privileges");
      const definition = await c.var.store.definitions.current(principal.study);
      if (!definition) throw new RedcapError(403, "You do not have permissions to use the API");
      if (params.text("content") !== "record")
        throw new RedcapError(400, "Only records can be imported here (content=record)");
      params.check("record import");
      return await importAnswer(c, params, definition, principal);
    }
    // The log is the audit, not an export: its own permission (an admin reads it without exporting).
    if (params.text("content") === "log") {
      const definition = await c.var.store.definitions.current(principal.study);
      if (!definition) throw new RedcapError(403, "You do not have permissions to use the API");
      return await redcapLog(c, params, definition);
    }
    // Every other call of this endpoint is an export; REDCap answers a refusal with 403 and its own words.
    if (!can(principal, "export")) throw new RedcapError(403, "You do not have permissions to use the API");
    const definition = await c.var.store.definitions.current(principal.study);
    if (!definition) throw new RedcapError(403, "You do not have permissions to use the API");
    const content = params.text("content") ?? "";
    if (!CONTENTS.includes(content as Content)) {
      throw new RedcapError(
        400,
        `The value of the parameter "content" is not valid (supported: ${CONTENTS.join(", ")})`,
      );
    }
    params.check(content as Content);
    const format = params.text("format") ?? "xml";
    if (content === "version") return c.body(REDCAP_VERSION, 200, { "Content-Type": "text/plain" });
    if (content === "generateNextRecordName") {
      // Plain text whatever the format, as REDCap answers it; it reads subject ids, so it is logged.
      const next = await nextRecordName(c, definition);
      await logAccess(c, "export-redcap", { content, format });
      return c.body(next, 200, { "Content-Type": "text/plain; charset=utf-8" });
    }
    if (format !== "json" && format !== "csv") {
      throw new RedcapError(
        400,
        `The format "${format}" is not supported here: use format=json or format=csv`,
      );
    }
    const filters = loggedFilters({
      forms: params.list("forms"),
      fields: params.list("fields"),
      events: params.list("events"),
      arms: params.list("arms"),
      field: params.text("field"),
      records: params.list("records"),
      rawOrLabel: params.text("rawOrLabel"),
      // Its text may name a record id or a value; that a filter was applied is what the log keeps.
      filterLogic: params.text("filterLogic") ? "given" : undefined,
      dateRangeBegin: params.text("dateRangeBegin"),
      dateRangeEnd: params.text("dateRangeEnd"),
    });
    const log = (details: Record<string, unknown>) =>
      logAccess(c, "export-redcap", { content, format, filters, ...details });
    // Everything but records is the protocol's shape, logged once its answer is made (nothing refused it).
    const logged = async (response: Response) => {
      await log({});
      return response;
    };
    switch (content as Content) {
      case "record": {
        const q = recordOptions(params, definition);
        const options = {
          ...(await exportOptions(c, definition, { ...q, deidentify: false, hashIds: false })),
          ...(q.keepRow ? { keepRow: q.keepRow } : {}),
          fieldsAreRedcapNames: true,
          valuesAsText: format === "json",
          commaDecimals: true,
          ...(params.flag("exportDataAccessGroups") ? { dataAccessGroup: uniqueGroupName } : {}),
        };
        // A de-identified caller names records by the keys it was given, and cannot test logic on real values.
        const shownId = options.deidentify?.subjectKey ?? ((id: string) => id);
        if (options.deidentify && params.text("filterLogic"))
          throw new RedcapError(400, 'The parameter "filterLogic" is not available to a de-identified token');
        await projectionPassBeforeExport(c, definition.study.id);
        let subjects = await subjectsById(c.var.store, definition.study.id, exportSites(c, definition));
        const records = params.list("records");
        if (records) subjects = subjects.filter((s) => records.includes(shownId(s.id)));
        const [from, to] = [dateTimeParam(params, "dateRangeBegin"), dateTimeParam(params, "dateRangeEnd")];
        if (from || to) {
          // REDCap keeps a record with any data change in the range, read off its log (whole seconds, so
          // the end second counts whole). A later change does not hide an earlier one in the range, so a
          // closed range reads every revision; an open one needs only the latest. Marking an instance
          // entered in error is a change of the record's rows too.
          const end = to ? new Date(Date.parse(to) + 999).toISOString() : undefined;
          const inRange = (at: string) => (!from || at >= from) && (!end || at <= end);
          const keep = [];
          for await (const { subject, instances, revisions } of c.var.store.casebooks(
            definition.study.id,
            subjects,
            { includeEnteredInError: true, withRevisions: end !== undefined },
          )) {
            if ((revisions ?? instances).some((r) => inRange(r.committedAt))) keep.push(subject);
          }
          subjects = keep;
        }
        await log({
          sites: exportSites(c, definition),
          deidentified: options.deidentify !== undefined,
          subjects: subjects.length,
        });
        c.header("Content-Type", RECORDS_CONTENT_TYPE[format]);
        return streamedBody(c, recordChunks(c.var.store, definition, subjects, options, format, "programs"));
      }
      case "metadata": {
        const { rows } = buildDictionary(definition.instruments, {
          recordIdField: recordIdField(definition),
          formOrder: formOrder(definition),
        });
        const forms = params.list("forms");
        const fields = params.list("fields");
        refuseUnknown("forms", forms, new Set(rows.map((r) => r["Form Name"])));
        refuseUnknown("fields", fields, new Set(rows.map((r) => r["Variable / Field Name"])));
        const api = rows
          .filter(
            (r) =>
              (!forms && !fields) ||
              forms?.includes(r["Form Name"]) ||
              fields?.includes(r["Variable / Field Name"]),
          )
          .map((r) => Object.fromEntries(COLUMNS.map((col, i) => [API_COLUMNS[i], r[col]])));
        return logged(answer(c, api, format, [...API_COLUMNS]));
      }
      case "instrument":
        return logged(answer(c, redcapInstruments(definition), format));
      case "event": {
        const arms = armNumbers(params, definition);
        return logged(
          answer(
            c,
            redcapEvents(definition).filter((e) => arms.has(e.arm_num)),
            format,
          ),
        );
      }
      case "arm": {
        const arms = armNumbers(params, definition);
        return logged(
          answer(
            c,
            redcapArms(definition).filter((a) => arms.has(a.arm_num)),
            format,
          ),
        );
      }
      case "formEventMapping": {
        const arms = armNumbers(params, definition);
        return logged(
          answer(
            c,
            redcapFormEventMapping(definition).filter((m) => arms.has(m.arm_num)),
            format,
          ),
        );
      }
      case "exportFieldNames": {
        const all = redcapExportFieldNames(definition);
        const field = params.text("field");
        if (field !== undefined && !all.some((f) => f.original_field_name === field))
          throw new RedcapError(400, `The value of the parameter "field" is not valid: ${field}`);
        return logged(
          answer(
            c,
            all.filter((f) => field === undefined || f.original_field_name === field),
            format,
          ),
        );
      }
      case "repeatingFormsEvents":
        return logged(answer(c, redcapRepeatingFormsEvents(definition), format));
      case "dag": {
        // Sites are REDCap's data access groups; a caller sees the groups of its own sites.
        const mine = new Set(exportSites(c, definition));
        const groups = definition.study.sites
          .map((site, i) => ({
            data_access_group_name: site.name,
            unique_group_name: uniqueGroupName(site.id),
            data_access_group_id: i + 1,
            site: site.id,
          }))
          .filter((g) => mine.has(g.site))
          .map(({ site: _, ...g }) => g);
        return logged(answer(c, groups, format));
      }
      case "userDagMapping":
        return logged(answer(c, await userDagMapping(c, definition), format));
      case "project": {
        const project = redcapProject(definition);
        // REDCap answers a single object here, not a list.
        return logged(format === "json" ? c.json(project, 200) : answer(c, [project], format));
      }
    }
    throw new RedcapError(400, "unsupported content");
  } catch (e) {
    if (!(e instanceof RedcapError) && !(e instanceof ProblemError)) throw e;
    const status = e instanceof RedcapError ? e.status : e.status === 404 ? 403 : 400;
    return error(c, returnFormat, status, e.message);
  }
}
