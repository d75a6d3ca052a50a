import { stringify } from "csv-stringify/sync";
import { type Context, Hono } from "hono";
import { API_COLUMNS, COLUMNS } from "../../engine/redcap/columns.ts";
import { buildDictionary } from "../../engine/redcap/export-dictionary.ts";
import { formOrder, neutraliseFormula, RECORD_ID } from "../../exports/flat.ts";
import {
  redcapArms,
  redcapEvents,
  redcapExportFieldNames,
  redcapFormEventMapping,
  redcapInstruments,
} from "../../exports/redcap-metadata.ts";
import type { AppEnv } from "../context.ts";
import { admitPrincipal } from "../deidentified-access.ts";
import { ProblemError } from "../problems.ts";
import { flatExportOptions, streamRecords, visibleSites } from "./exports.ts";

/**
 * REDCap's API (`POST /api/`, form-encoded) for existing REDCap clients and
 * scripts: read-only exports of records, metadata and the schedule, answered
 * in REDCap's shapes. Errors are `{"error": "..."}` as REDCap sends them.
 */
export const REDCAP_VERSION = "14.0.0";

export const SUPPORTED = [
  "record",
  "metadata",
  "instrument",
  "event",
  "arm",
  "formEventMapping",
  "exportFieldNames",
  "project",
  "version",
] as const;

class RedcapError extends Error {
  constructor(
    readonly status: 400 | 403,
    message: string,
  ) {
    super(message);
  }
}

/** PHP-style arrays (`fields[0]=a&fields[1]=b`, `fields[]=a`) or a comma list (`fields=a,b`). */
function listParam(body: Record<string, unknown>, name: string): string[] | undefined {
  const out: string[] = [];
  for (const [key, value] of Object.entries(body)) {
    if (key === name || key === `${name}[]` || new RegExp(`^${name}\\[\\d+\\]$`).test(key)) {
      for (const v of ([] as unknown[]).concat(value))
        if (typeof v === "string") out.push(...v.split(",").map((s) => s.trim()));
    }
  }
  const values = out.filter(Boolean);
  return values.length > 0 ? values : undefined;
}

function answer(c: Context<AppEnv>, rows: Record<string, unknown>[], format: string, columns?: string[]) {
  if (format === "json") return c.json(rows, 200);
  const header = columns ?? Object.keys(rows[0] ?? {});
  return c.body(
    stringify([
      header,
      ...rows.map((r) => header.map((h) => neutraliseFormula((r[h] ?? "") as string | number))),
    ]),
    200,
    { "Content-Type": "text/csv; charset=utf-8" },
  );
}

export const redcapRoutes = new Hono<AppEnv>();

redcapRoutes.post("/api/", async (c) => {
  const body = await c.req.parseBody({ all: true }).catch(() => ({}) as Record<string, unknown>);
  const param = (name: string) => (typeof body[name] === "string" ? (body[name] as string) : undefined);
  const returnFormat = param("returnFormat") ?? "json";
  try {
    const token = param("token");
    const principal = token ? await c.var.store.findToken(token) : undefined;
    if (!principal) throw new RedcapError(403, "You do not have permissions to use the API");
    admitPrincipal(c, principal);
    const definition = await c.var.store.definitions.current(principal.study);
    if (!definition) throw new RedcapError(403, "You do not have permissions to use the API");
    const content = param("content") ?? "";
    if (!SUPPORTED.includes(content as (typeof SUPPORTED)[number])) {
      throw new RedcapError(
        400,
        `The value of the parameter "content" is not valid (supported: ${SUPPORTED.join(", ")})`,
      );
    }
    if (param("action") && param("action") !== "export")
      throw new RedcapError(400, "This API is read-only: only exports are supported");
    const format = param("format") ?? "xml";
    if (content === "version") return c.body(REDCAP_VERSION, 200, { "Content-Type": "text/plain" });
    if (format !== "json" && format !== "csv") {
      throw new RedcapError(
        400,
        `The format "${format}" is not supported here: use format=json or format=csv`,
      );
    }
    switch (content) {
      case "record": {
        if ((param("type") ?? "flat") !== "flat") throw new RedcapError(400, "Only type=flat is supported");
        const forms = listParam(body, "forms");
        const events = listParam(body, "events")?.map((e) => e.replace(/_arm_\d+$/, ""));
        const wanted = listParam(body, "fields");
        const fields = wanted?.filter((f) => f !== RECORD_ID);
        const q = {
          rawOrLabel: param("rawOrLabel") === "label" ? ("label" as const) : ("raw" as const),
          forms,
          fields: fields && fields.length > 0 ? fields : undefined,
          events,
          subjects: listParam(body, "records"),
          deidentify: false,
          hashIds: false,
        };
        let subjects = await c.var.store.listSubjects(definition.study.id, visibleSites(c, definition));
        const records = listParam(body, "records");
        if (records) subjects = subjects.filter((s) => records.includes(s.id));
        const begin = param("dateRangeBegin");
        const end = param("dateRangeEnd");
        if (begin || end) {
          // REDCap's dateRange filters records by when they last changed (server time, "YYYY-MM-DD HH:MM:SS").
          const iso = (s: string | undefined) =>
            s ? new Date(`${s.replace(" ", "T")}Z`).toISOString() : undefined;
          const [from, to] = [iso(begin), iso(end)];
          const keep = [];
          for await (const { subject, instances } of c.var.store.casebooks(definition.study.id, subjects)) {
            if (instances.some((i) => (!from || i.committedAt >= from) && (!to || i.committedAt <= to)))
              keep.push(subject);
          }
          subjects = keep;
        }
        subjects.sort((a, b) => (a.id < b.id ? -1 : 1));
        return streamRecords(c, definition, subjects, await flatExportOptions(c, definition, q), format);
      }
      case "metadata": {
        const forms = listParam(body, "forms");
        const fields = listParam(body, "fields");
        const { rows } = buildDictionary(definition.instruments, {
          recordIdField: RECORD_ID,
          formOrder: formOrder(definition),
        });
        const api = rows
          .map((r) => Object.fromEntries(COLUMNS.map((col, i) => [API_COLUMNS[i], r[col]])))
          .filter(
            (r) =>
              (!forms || forms.includes(String(r.form_name))) &&
              (!fields || fields.includes(String(r.field_name))),
          );
        return answer(c, api, format, [...API_COLUMNS]);
      }
      case "instrument":
        return answer(c, redcapInstruments(definition), format);
      case "event":
        return answer(c, redcapEvents(definition), format);
      case "arm":
        return answer(c, redcapArms(definition), format);
      case "formEventMapping":
        return answer(c, redcapFormEventMapping(definition), format);
      case "exportFieldNames":
        return answer(c, redcapExportFieldNames(definition), format);
      case "project": {
        const project = {
          project_id: 1,
          project_title: definition.study.title,
          in_production: 1,
          project_language: "English",
          purpose: 2,
          project_notes: definition.study.description ?? "",
          is_longitudinal: 1,
          has_repeating_instruments_or_events: 1,
          surveys_enabled: 0,
          scheduling_enabled: 0,
          record_autonumbering_enabled: 1,
          randomization_enabled: 0,
          secondary_unique_field: "",
          missing_data_codes: "",
        };
        // REDCap answers a single object here, not a list.
        return format === "json" ? c.json(project, 200) : answer(c, [project], format);
      }
    }
    throw new RedcapError(400, "unsupported content");
  } catch (error) {
    if (!(error instanceof RedcapError) && !(error instanceof ProblemError)) throw error;
    const status = error instanceof RedcapError ? error.status : error.status === 404 ? 403 : 400;
    const message = error.message;
    if (returnFormat === "csv")
      return c.body(`error\n"${message.replaceAll('"', '""')}"\n`, status, { "Content-Type": "text/csv" });
    return c.json({ error: message }, status);
  }
});
