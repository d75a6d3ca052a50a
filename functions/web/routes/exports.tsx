import { type Context, Hono } from "hono";
import { formOrder } from "../../engine/form-order.ts";
import { type Row, writeRows } from "../../engine/redcap/columns.ts";
import { buildDictionary } from "../../engine/redcap/export-dictionary.ts";
import { neutraliseFormula } from "../../engine/spreadsheet-formula.ts";
import { recordIdField } from "../../exports/flat.ts";
import { RECORDS_CONTENT_TYPE, recordChunks, subjectStatuses, subjectsById } from "../../exports/records.ts";
import { logAccess, loggedFilters } from "../../http/access-events.ts";
import type { AppEnv } from "../../http/context.ts";
import { exportOptions, exportSites } from "../../http/export-scope.ts";
import { odmDownload, readOdmQuery } from "../../http/odm-download.ts";
import { requirePermission, sitesOf } from "../../http/permissions.ts";
import { ProblemError } from "../../http/problems.ts";
import { projectionPassBeforeExport } from "../../http/projection-pass.ts";
import { loadStudy } from "../../http/resolve.ts";
import { streamedBody } from "../../http/streamed-body.ts";
import { EXPORT_JOB_FORMATS, type ExportJobFormat } from "../../store/export-job-formats.ts";
import { BulkExportForm, BulkExportJobs } from "../export-jobs-section.tsx";
import { formList } from "../form-list.ts";
import type { Page } from "../layout.tsx";
import { SCRIPT_PATHS } from "../script-paths.generated.ts";

/**
 * Downloads for every role, each limited to the caller's own sites, on the
 * same export code as the API (http/export-scope.ts, exports/).
 */

/** The bulk export job use cases, imported by the first page that shows or starts jobs, not at a cold start. */
const jobRequests = () => import("../../http/export-job-requests.ts");

/** The page shows this many of the newest jobs; the API pages through all of them. */
const JOBS_SHOWN = 20;

async function exportableStudy(c: Context<AppEnv>) {
  const definition = await loadStudy(c, c.req.param("study") ?? "");
  requirePermission(c.var.principal, "export");
  return definition;
}

/** The whole study's flat records as a file, with the few choices the page offers. */
async function downloadRecords(c: Context<AppEnv>) {
  const definition = await exportableStudy(c);
  const q = c.req.queries();
  const format = (["csv", "json", "ndjson"] as const).find((f) => f === c.req.query("format")) ?? "csv";
  const forms = formList(q.forms).filter((f) => definition.instruments[f]);
  const options = await exportOptions(c, definition, {
    rawOrLabel: c.req.query("rawOrLabel") === "label" ? "label" : "raw",
    forms: forms.length > 0 ? forms : undefined,
    deidentify: c.req.query("deidentify") === "true",
    hashIds: c.req.query("hashIds") === "true",
  });
  const sites = exportSites(c, definition);
  await projectionPassBeforeExport(c, definition.study.id);
  const subjects = await subjectsById(c.var.store, definition.study.id, sites);
  await logAccess(c, "export-records", {
    format,
    filters: loggedFilters({ rawOrLabel: options.rawOrLabel, forms: options.forms }),
    sites,
    deidentified: options.deidentify !== undefined,
    subjects: subjects.length,
  });
  const stamp = new Date().toISOString().slice(0, 10);
  c.header("Content-Disposition", `attachment; filename="${definition.study.id}-records-${stamp}.${format}"`);
  c.header("Content-Type", RECORDS_CONTENT_TYPE[format]);
  const statuses = await subjectStatuses(c.var.store, definition.study.id, subjects);
  return streamedBody(
    c,
    recordChunks(c.var.store, definition, subjects, { ...options, subjectStatuses: statuses }, format),
  );
}

async function downloadOdm(c: Context<AppEnv>) {
  const definition = await exportableStudy(c);
  const q = readOdmQuery(c.req.query());
  c.header(
    "Content-Disposition",
    `attachment; filename="${definition.study.id}-odm${q.audit ? "-audit" : ""}.xml"`,
  );
  const chunks = await odmDownload(c, definition, q);
  c.header("Content-Type", "application/xml; charset=utf-8");
  return streamedBody(c, chunks);
}

async function downloadDictionary(c: Context<AppEnv>) {
  const definition = await exportableStudy(c);
  const { rows } = buildDictionary(definition.instruments, {
    recordIdField: recordIdField(definition),
    formOrder: formOrder(definition),
  });
  // A download for people: formulas neutralised (the CLI's forms:export-redcap writes REDCap's exact values).
  const forPeople = rows.map(
    (r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, neutraliseFormula(v)])) as Row,
  );
  return c.body(writeRows(forPeople), 200, {
    "Content-Type": "text/csv; charset=utf-8",
    "Content-Disposition": `attachment; filename="${definition.study.id}-dictionary.csv"`,
  });
}

/** A refused start as one sentence for the page: the problem's detail and what each field got wrong. */
function refusal(e: ProblemError): string {
  const errors = (e.extra.errors ?? []) as { pointer?: string; message?: string }[];
  const details = errors.map((x) => `${(x.pointer ?? "").replace(/^\//, "")}: ${x.message ?? ""}`);
  return [e.detail ?? e.title, ...details].join(" ");
}

export function exportPages(page: Page) {
  async function startBulkExport(c: Context<AppEnv>) {
    const definition = await exportableStudy(c);
    const body = await c.req.parseBody({ all: true });
    const choice = typeof body.format === "string" ? body.format : "";
    const format = EXPORT_JOB_FORMATS.find((f) => f === (choice === "odm-audit" ? "odm" : choice));
    if (!format) return showExports(c, { message: "Choose one of the formats offered.", status: 422 });
    const forms = formList(body.forms);
    const sites = formList(body.sites);
    try {
      await (await jobRequests()).startJob(c, definition.study.id, {
        format: format satisfies ExportJobFormat,
        ...(forms.length > 0 ? { forms } : {}),
        ...(sites.length > 0 ? { sites } : {}),
        deidentify: body.deidentify === "true",
        hashIds: body.hashIds === "true",
        includeEnteredInError: false,
        audit: choice === "odm-audit",
        gzip: false,
      });
    } catch (e) {
      // Refused choices come back to the form that made them, not as a bare problem document.
      if (e instanceof ProblemError && e.status !== 401 && e.status !== 403)
        return showExports(c, { message: refusal(e), status: e.status === 400 ? 422 : e.status });
      throw e;
    }
    return c.redirect(`/studies/${definition.study.id}/exports#bulk-jobs`, 303);
  }

  async function showExports(c: Context<AppEnv>, refused?: { message: string; status: number }) {
    const definition = await exportableStudy(c);
    const base = `/studies/${definition.study.id}/exports`;
    const bulk = c.var.exportJobs.target !== undefined;
    const { jobs } = bulk
      ? await (await jobRequests()).jobList(c, definition.study.id, { limit: JOBS_SHOWN, urls: true })
      : { jobs: [] };
    const mySites = new Set(
      sitesOf(
        c.var.principal,
        definition.study.sites.map((s) => s.id),
        "export",
      ),
    );
    const stillRunning = jobs.some((j) => j.state === "queued" || j.state === "running");
    return page(
      c,
      "Exports",
      <>
        <h1>Exports</h1>
        <form method="get" action={`${base}/records`} class="card">
          <h2>Records (REDCap flat format)</h2>
          <div class="field">
            <label for="f-format">Format</label>
            <select id="f-format" name="format">
              <option value="csv">CSV</option>
              <option value="json">JSON</option>
              <option value="ndjson">NDJSON</option>
            </select>
          </div>
          <div class="field">
            <fieldset>
              <legend>Values</legend>
              <label class="choice">
                <input type="radio" name="rawOrLabel" value="raw" checked /> Raw codes
              </label>
              <label class="choice">
                <input type="radio" name="rawOrLabel" value="label" /> Labels
              </label>
            </fieldset>
          </div>
          <div class="field">
            <fieldset>
              <legend>Instruments (none ticked: all)</legend>
              {formOrder(definition).map((f) => (
                <label class="choice">
                  <input type="checkbox" name="forms" value={f} /> {definition.instruments[f]?.title ?? f}
                </label>
              ))}
            </fieldset>
          </div>
          <div class="field">
            <label class="choice">
              <input type="checkbox" name="deidentify" value="true" /> De-identify (identifiers out, dates
              shifted per subject)
            </label>
            <label class="choice">
              <input type="checkbox" name="hashIds" value="true" /> Replace subject ids by a stable key
            </label>
          </div>
          <button type="submit">Download records</button>
        </form>
        {bulk && (
          <>
            <BulkExportForm
              definition={definition}
              principal={c.var.principal}
              sites={definition.study.sites.filter((s) => mySites.has(s.id))}
              formats={EXPORT_JOB_FORMATS}
              action={`${base}/jobs`}
              csrf={c.var.csrf ?? ""}
              forms={formOrder(definition)}
              error={refused?.message}
            />
            <section class="card" id="bulk-jobs">
              <h2>Your bulk exports</h2>
              {stillRunning && <p>This list updates itself while a job runs.</p>}
              <BulkExportJobs jobs={jobs} />
            </section>
          </>
        )}
        <div class="card">
          <h2>Other exports</h2>
          <ul>
            <li>
              <a href={`${base}/odm`}>CDISC ODM 1.3.2 (metadata and data)</a> ·{" "}
              <a href={`${base}/odm?audit=true`}>with audit trail</a>
            </li>
            <li>
              <a href={`${base}/dictionary.csv`}>REDCap data dictionary (CSV)</a>
            </li>
          </ul>
        </div>
      </>,
      {
        ...(refused ? { status: refused.status } : {}),
        // A small script rather than a timed reload, which would throw away a half-filled form (WCAG 2.2.1).
        ...(stillRunning ? { scripts: [SCRIPT_PATHS["export-jobs"]] } : {}),
      },
    );
  }

  return new Hono<AppEnv>()
    .get("/studies/:study/exports", (c) => showExports(c))
    .post("/studies/:study/exports/jobs", startBulkExport)
    .get("/studies/:study/exports/records", downloadRecords)
    .get("/studies/:study/exports/odm", downloadOdm)
    .get("/studies/:study/exports/dictionary.csv", downloadDictionary);
}
