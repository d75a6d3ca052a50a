import type { StudyDefinition } from "../engine/definition.ts";
import type { ExportJobView } from "../http/export-job-requests.ts";
import type { Principal } from "../store/principal.ts";
import { utcTime } from "./display-time.ts";
import { ScrollRegion } from "./scroll-region.tsx";

/**
 * The exports page's bulk export part: a form that starts a job (the API's
 * POST /exports use case) and the caller's visible jobs with their files.
 */

/** The format select's choices: ODM twice, since its audit trail is a choice of format for people. */
export function bulkChoices(formats: readonly string[]) {
  const labels: Record<string, string> = {
    csv: "CSV",
    json: "JSON",
    ndjson: "NDJSON",
    odm: "CDISC ODM",
    warehouse: "Warehouse (partitioned NDJSON)",
  };
  return formats.flatMap((f) => {
    const label = labels[f] ?? f;
    return f === "odm"
      ? [
          { value: f, label },
          { value: "odm-audit", label: `${label} with audit trail` },
        ]
      : [{ value: f, label }];
  });
}

const STATE_WORDS = { queued: "Queued", running: "Running", done: "Done", failed: "Failed" } as const;

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

export function BulkExportForm(props: {
  definition: StudyDefinition;
  principal: Principal;
  sites: { id: string; name: string }[];
  formats: readonly string[];
  action: string;
  csrf: string;
  forms: string[];
  error?: string;
}) {
  const forced = props.principal.deidentified === true;
  return (
    <form method="post" action={props.action} class="card" id="bulk">
      <h2>Bulk export</h2>
      <p>
        The whole study (your sites of it) written in the background, whatever its size. The files can be
        downloaded from the list below once the job is done.
      </p>
      {props.error && (
        <p class="notice bad" role="alert">
          {props.error}
        </p>
      )}
      <input type="hidden" name="_csrf" value={props.csrf} />
      <div class="field">
        <label for="b-format">Format</label>
        <select id="b-format" name="format">
          {bulkChoices(props.formats).map((o) => (
            <option value={o.value}>{o.label}</option>
          ))}
        </select>
      </div>
      <div class="field">
        <fieldset>
          <legend>Instruments (none ticked: all; not for ODM)</legend>
          {props.forms.map((f) => (
            <label class="choice">
              <input type="checkbox" name="forms" value={f} /> {props.definition.instruments[f]?.title ?? f}
            </label>
          ))}
        </fieldset>
      </div>
      {props.sites.length > 1 && (
        <div class="field">
          <fieldset>
            <legend>Sites (none ticked: all yours)</legend>
            {props.sites.map((s) => (
              <label class="choice">
                <input type="checkbox" name="sites" value={s.id} /> {s.name}
              </label>
            ))}
          </fieldset>
        </div>
      )}
      <div class="field">
        <label class="choice">
          <input type="checkbox" name="deidentify" value="true" checked={forced} disabled={forced} />{" "}
          De-identify (identifiers out, dates shifted per subject){forced && " — always, for your account"}
        </label>
        <label class="choice">
          <input type="checkbox" name="hashIds" value="true" checked={forced} disabled={forced} /> Replace
          subject ids by a stable key (with de-identify)
        </label>
      </div>
      <button type="submit">Start bulk export</button>
    </form>
  );
}

export function BulkExportJobs(props: { jobs: ExportJobView[] }) {
  if (props.jobs.length === 0) return <p>No bulk exports yet.</p>;
  return (
    <ScrollRegion label="Bulk exports">
      <table>
        <caption>Bulk exports, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Started</th>
            <th scope="col">Format</th>
            <th scope="col">State</th>
            <th scope="col">Progress</th>
            <th scope="col">Files</th>
          </tr>
        </thead>
        <tbody>
          {props.jobs.map((job) => (
            <tr data-running={job.state === "queued" || job.state === "running" ? "" : undefined}>
              <td>
                {utcTime(job.createdAt)}
                <br />
                by {job.startedBy}
              </td>
              <td>
                {job.format.toUpperCase()}
                {job.filters.audit === true && " with audit trail"}
                {job.filters.deidentify === true && ", de-identified"}
              </td>
              <td>
                <span class={`job-state ${job.state}`}>{STATE_WORDS[job.state]}</span>
                {job.error && <p class="notice bad">{job.error}</p>}
              </td>
              <td>
                {job.percent} % · {job.rows} rows · {size(job.bytes)}
              </td>
              <td>
                {job.files.length === 0
                  ? "—"
                  : job.files.map((file) => (
                      <p>
                        {"url" in file && file.url ? (
                          <a href={file.url} download>
                            {file.name}
                          </a>
                        ) : (
                          file.name
                        )}{" "}
                        ({size(file.bytes)})<br />
                        <small>
                          SHA-256 <code class="hash">{file.sha256}</code>
                        </small>
                      </p>
                    ))}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </ScrollRegion>
  );
}
