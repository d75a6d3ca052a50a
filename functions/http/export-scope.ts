import type { Context } from "hono";
import type { StudyDefinition } from "../engine/definition.ts";
import { formOrder } from "../engine/form-order.ts";
import { redcapNames } from "../engine/redcap/fields.ts";
import { deidentification } from "../exports/deidentify.ts";
import type { FlatOptions } from "../exports/flat.ts";
import { openCursor } from "../exports/sealed-cursor.ts";
import type { Principal } from "../store/principal.ts";
import type { Store } from "../store/store.ts";
import type { AppEnv } from "./context.ts";
import { sitesOf } from "./permissions.ts";
import { problems } from "./problems.ts";

/**
 * What an export may show this caller, shared by the API, the REDCap endpoint
 * and the export pages: the caller's sites, de-identification forced on a
 * de-identified principal, cursors only this study gave out, filters that
 * name what the study has. Refusals are problem+json; exports/ does the rest.
 */

/** What a caller asks of any export (flat, ODM, change feed). */
export interface ExportChoices {
  deidentify: boolean;
  hashIds: boolean;
  rawOrLabel?: "raw" | "label";
  forms?: string[];
  fields?: string[];
  events?: string[];
  subjects?: string[];
  includeEnteredInError?: boolean;
}

/** Filters, labels and de-identification; may make the study's export salt, so it comes after every refusal but this one. */
export function exportOptions(
  c: Context<AppEnv>,
  definition: StudyDefinition,
  q: ExportChoices,
): Promise<FlatOptions> {
  return exportOptionsFor(c.var.store, c.var.principal, definition, q);
}

/** `exportOptions` for a principal outside a request: a bulk export job runs as its starter. */
export async function exportOptionsFor(
  store: Pick<Store, "exportSalt">,
  principal: Principal,
  definition: StudyDefinition,
  q: ExportChoices,
): Promise<FlatOptions> {
  const forced = principal.deidentified === true;
  // Picking subjects by real id would show which key stands for which id.
  if (forced && q.subjects)
    throw problems.badRequest("A de-identified token cannot pick subjects by id.", [
      { pointer: "/subjects", code: "deidentified", message: "not available to a de-identified token" },
    ]);
  // Asked alone, hashIds would be ignored and real ids answered to a caller who believes them keyed.
  if (q.hashIds && !q.deidentify && !forced)
    throw problems.badRequest("Subject ids are keyed only in a de-identified export.", [
      { pointer: "/hashIds", code: "deidentify", message: "hashIds needs deidentify" },
    ]);
  const deidentify = q.deidentify || forced;
  return {
    rawOrLabel: q.rawOrLabel,
    forms: q.forms,
    fields: q.fields,
    events: q.events,
    ...(q.includeEnteredInError ? { includeEnteredInError: true } : {}),
    ...(deidentify
      ? {
          deidentify: deidentification(await store.exportSalt(definition.study.id), {
            shiftDates: true,
            hashIds: q.hashIds || forced,
          }),
        }
      : {}),
  };
}

/** A comma-separated list; an absent or empty parameter is no filter at all. */
export function commaList(value: string | undefined): string[] | undefined {
  return value
    ? value
        .split(",")
        .map((x) => x.trim())
        .filter(Boolean)
    : undefined;
}

/** The caller's sites of the study, narrowed to the ones asked for. */
export function exportSites(c: Context<AppEnv>, definition: StudyDefinition, wanted?: string[]): string[] {
  return exportSitesOf(c.var.principal, definition, wanted);
}

export function exportSitesOf(
  principal: Principal,
  definition: StudyDefinition,
  wanted?: string[],
): string[] {
  const mine = sitesOf(
    principal,
    definition.study.sites.map((s) => s.id),
    "export",
  );
  return wanted ? mine.filter((s) => wanted.includes(s)) : mine;
}

const unknownCursor = () =>
  problems.badRequest("The cursor is not one this API gave out.", [
    { pointer: "/cursor", code: "cursor", message: "unknown cursor" },
  ]);

/** A page cursor names a real subject id: it is handed out sealed (exports/sealed-cursor.ts), like the feed's. */
export async function openExportCursor(
  c: Context<AppEnv>,
  study: string,
  cursor: string | undefined,
): Promise<string | undefined> {
  if (!cursor) return undefined;
  // A cursor given out means the salt exists: looking it up never writes, so a refusal writes nothing.
  const salt = await c.var.store.findExportSalt(study);
  const after = salt ? openCursor(salt, cursor) : undefined;
  if (after === undefined) throw unknownCursor();
  return after;
}

/** Records and feed cursors are sealed alike: a page cursor is not a feed position. */
export async function openFeedCursor(
  c: Context<AppEnv>,
  study: string,
  cursor: string | undefined,
): Promise<string | undefined> {
  const after = await openExportCursor(c, study, cursor);
  if (after !== undefined && !/^\d{4}-\d{2}-\d{2}T[\d:.]+Z(#|$)/.test(after)) throw unknownCursor();
  return after;
}

type Filters = Pick<ExportChoices, "forms" | "events" | "fields"> & { sites?: string[] };

/**
 * What `fields` may name: a field id (every form's field of that id), or a
 * column the flat export writes, so a name read off its header picks that
 * column: a field renamed where two forms share it (`vital_signs_weight`),
 * `<form>_complete`, `subject_status` (exports/flat.ts flatColumns).
 */
function fieldFilterNames(definition: StudyDefinition): string[] {
  // flat.ts's SUBJECT_STATUS and recordIdField, spelled here so this module does not load the flat writer.
  const names = new Set(["subject_status"]);
  const recordId = definition.study.recordIdField ?? "record_id";
  for (const [form, fields] of redcapNames(definition.instruments, formOrder(definition), [recordId])) {
    for (const [field, column] of fields) names.add(field).add(column);
    names.add(`${form}_complete`);
  }
  return [...names];
}

/** Validates filters against the definition so a typo is an error, not an empty export. */
export function checkExportFilters(definition: StudyDefinition, q: Filters): void {
  const errors = [];
  const known = {
    forms: Object.keys(definition.instruments),
    events: [...definition.study.events.map((e) => e.id), "logs"],
    sites: definition.study.sites.map((s) => s.id),
    fields: fieldFilterNames(definition),
  };
  for (const key of ["forms", "events", "sites", "fields"] as const) {
    for (const v of q[key] ?? []) {
      if (!known[key].includes(v))
        errors.push({
          pointer: `/${key}`,
          code: "unknown",
          message: `${v} is not one of the study's ${key}`,
        });
    }
  }
  if (errors.length > 0) throw problems.badRequest("Unknown export filter.", errors);
}
