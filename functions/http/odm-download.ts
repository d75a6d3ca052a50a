import type { Context } from "hono";
import type { StudyDefinition } from "../engine/definition.ts";
import { odmExport } from "../exports/odm-export.ts";
import { personLabel } from "../store/people.ts";
import { logAccess, loggedFilters } from "./access-events.ts";
import type { AppEnv } from "./context.ts";
import { commaList, exportOptions, exportSites } from "./export-scope.ts";
import { type FieldProblem, problems } from "./problems.ts";

/**
 * The ODM download, as the API and the export page both give it. Its query
 * for the pages, read as the API's `OdmQuery`
 * schema reads it (api/routes/exports.ts; tests/unit/odm-download.test.ts keeps
 * the two in step): flags are exactly "true" or "false", lists are
 * comma-separated, unknown parameters are ignored.
 */
export interface OdmChoices {
  clinicalData: boolean;
  audit: boolean;
  deidentify: boolean;
  hashIds: boolean;
  sites?: string[];
  subjects?: string[];
  includeEnteredInError: boolean;
}

const FLAGS = ["clinicalData", "audit", "deidentify", "hashIds", "includeEnteredInError"] as const;

export function readOdmQuery(query: Record<string, string | undefined>): OdmChoices {
  const errors: FieldProblem[] = [];
  const flag = (name: (typeof FLAGS)[number], absent: boolean) => {
    const value = query[name];
    if (value === undefined) return absent;
    if (value !== "true" && value !== "false")
      errors.push({ pointer: `/${name}`, code: "flag", message: `${name}: must be true or false` });
    return value === "true";
  };
  const choices: OdmChoices = {
    clinicalData: flag("clinicalData", true),
    audit: flag("audit", false),
    deidentify: flag("deidentify", false),
    hashIds: flag("hashIds", false),
    sites: commaList(query.sites),
    subjects: commaList(query.subjects),
    includeEnteredInError: flag("includeEnteredInError", false),
  };
  if (errors.length > 0) throw problems.badRequest(errors.map((e) => e.message).join("; "), errors);
  return choices;
}

/**
 * The ODM document of the caller's sites, de-identified if asked or if the
 * caller must be; logged (options, no count) before a byte of it is written.
 */
export async function odmDownload(
  c: Context<AppEnv>,
  definition: StudyDefinition,
  q: OdmChoices,
): Promise<AsyncGenerator<string>> {
  const options = await exportOptions(c, definition, q);
  const sites = exportSites(c, definition, q.sites);
  await logAccess(c, "export-odm", {
    filters: loggedFilters({
      clinicalData: q.clinicalData,
      audit: q.audit,
      subjects: q.subjects,
      includeEnteredInError: q.includeEnteredInError,
    }),
    sites,
    deidentified: options.deidentify !== undefined,
  });
  // Authors are declared with their name and email, unless the export must identify no one.
  const people =
    q.audit && !options.deidentify
      ? (await c.var.store.listPeople()).map((p) => ({
          login: personLabel(p),
          ...(p.name ? { fullName: p.name } : {}),
          ...(p.email ? { email: p.email } : {}),
        }))
      : [];
  return odmExport(c.var.store, definition, {
    people,
    sites,
    subjects: q.subjects,
    clinicalData: q.clinicalData,
    audit: q.audit,
    includeEnteredInError: q.includeEnteredInError,
    ...(options.deidentify ? { deidentify: options.deidentify } : {}),
  });
}
