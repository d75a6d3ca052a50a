import type { StudyDefinition } from "../../engine/definition.ts";
import type { ImpactReport } from "../../engine/impact.ts";
import type { DefinitionVersionInfo } from "../../store/definitions.ts";
import { utcTime } from "../display-time.ts";

/** The study builder's pages: versions, instruments, the definition editor, the impact report and publishing. */

const json = (value: unknown) => JSON.stringify(value).replaceAll("<", "\\u003c");

export function BuilderHome(props: {
  definition: StudyDefinition;
  versions: DefinitionVersionInfo[];
  csrf: string;
}) {
  const { definition, versions, csrf } = props;
  const base = `/studies/${definition.study.id}/builder`;
  return (
    <>
      <h1>Study builder</h1>
      <p>
        Published version <strong>{definition.version}</strong> of {definition.study.title}. Changes are
        checked, their impact on collected data is shown, and nothing goes live until you publish.
      </p>
      <h2>Instruments</h2>
      <table>
        <thead>
          <tr>
            <th scope="col">Instrument</th>
            <th scope="col">Fields</th>
            <th scope="col">Collected at</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {Object.entries(definition.instruments).map(([id, instrument]) => (
            <tr data-instrument={id}>
              <td>
                {instrument.title} <code>{id}</code>
              </td>
              <td>{Object.keys(instrument.properties).length}</td>
              <td>
                {definition.study.logs.includes(id)
                  ? "logs (repeating)"
                  : definition.study.events
                      .filter((e) => e.forms.includes(id))
                      .map((e) => e.id)
                      .join(", ")}
              </td>
              <td>
                <a href={`${base}/preview/${id}`}>Preview</a> ·{" "}
                <a href={`${base}/edit?file=${encodeURIComponent(`instruments/${id}.json`)}`}>Edit</a>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <p>
        <a href={`${base}/edit?file=study.json`}>Edit the study file</a> (schedule, windows, arms, sites,
        logs)
      </p>
      <h2>Upload a changed definition</h2>
      <form method="post" action={`${base}/draft`} enctype="multipart/form-data" class="card">
        <input type="hidden" name="_csrf" value={csrf} />
        <div class="field">
          <label for="f-upload">Definition files</label>
          <p id="h-upload" class="help">
            Instrument files (<code>instruments/&lt;id&gt;.json</code>), <code>study.json</code>, or a bundle{" "}
            <code>{"{ study, instruments }"}</code>. Files you do not upload stay as published.
          </p>
          <input
            id="f-upload"
            name="upload"
            type="file"
            accept=".json,application/json"
            multiple
            required
            aria-describedby="h-upload"
          />
        </div>
        <button type="submit">Check and show impact</button>
      </form>
      <h2>Versions</h2>
      <table>
        <thead>
          <tr>
            <th scope="col">Version</th>
            <th scope="col">Published</th>
            <th scope="col">Why</th>
            <th scope="col">Impact</th>
            <th scope="col">Accepted destructive changes</th>
          </tr>
        </thead>
        <tbody>
          {versions.map((v) => (
            <tr data-version={v.version}>
              <td>
                {v.version}
                {v.current ? " (current)" : ""}
              </td>
              <td>
                {utcTime(v.publishedAt)} by {v.publishedBy}
              </td>
              <td>{v.reason ?? ""}</td>
              <td>
                {v.impact
                  ? `${v.impact.destructive ?? 0} destructive, ${v.impact.review ?? 0} review, ${v.impact.safe ?? 0} safe`
                  : ""}
              </td>
              <td>
                {v.acceptance
                  ? `${v.acceptance.changes.join(", ")} — “${v.acceptance.reason}” (${v.acceptance.by})`
                  : ""}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

export function DefinitionEditor(props: {
  definition: StudyDefinition;
  file: string;
  text: string;
  errors?: string[];
  csrf: string;
}) {
  const { definition, file, text, csrf } = props;
  const base = `/studies/${definition.study.id}/builder`;
  return (
    <>
      <p>
        <a href={base}>← Study builder</a>
      </p>
      <h1>Edit {file}</h1>
      <form method="post" action={`${base}/draft`} class="card">
        <input type="hidden" name="_csrf" value={csrf} />
        <input type="hidden" name="file" value={file} />
        <div class="field">
          <label for="f-definition">JSON</label>
          <p id="h-definition" class="help">
            Checked as you type against the meta-schema and the rest of the published definition.
          </p>
          <textarea
            id="f-definition"
            name="text"
            data-definition-editor
            spellcheck={false}
            class="code"
            aria-describedby="h-definition edc-live-errors"
          >
            {text}
          </textarea>
        </div>
        <h2>Problems</h2>
        <ul id="edc-live-errors" aria-live="polite" data-count={String(props.errors?.length ?? 0)}>
          {(props.errors ?? []).map((e) => (
            <li>{e}</li>
          ))}
        </ul>
        <button type="submit">Check and show impact</button>
      </form>
      <script
        type="application/json"
        id="edc-draft"
        dangerouslySetInnerHTML={{
          __html: json({ file, study: definition.study, instruments: definition.instruments }),
        }}
      />
    </>
  );
}

export function ImpactTable({ report }: { report: ImpactReport }) {
  return (
    <table data-impact>
      <thead>
        <tr>
          <th scope="col">Severity</th>
          <th scope="col">Change</th>
          <th scope="col">Stored data affected</th>
          <th scope="col">What it does</th>
        </tr>
      </thead>
      <tbody>
        {report.changes.map((c) => (
          <tr data-change={c.id} data-severity={c.severity}>
            <td>
              <span
                class={`badge ${c.severity === "destructive" ? "t-overdue" : c.severity === "review" ? "t-out-of-window" : "t-done"}`}
              >
                {c.severity}
              </span>
            </td>
            <td>
              <code>{c.id}</code>
            </td>
            <td>{c.affected ?? ""}</td>
            <td>{c.message}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function DraftReport(props: {
  study: string;
  errors?: string[];
  report?: ImpactReport;
  bundle?: string;
  csrf: string;
  outcome?:
    | { kind: "published"; version: number; migrated: number }
    | { kind: "refused"; unaccepted: string[] }
    | { kind: "unchanged"; version: number };
  migration?: string;
  /** What the builder typed, kept when a publish is refused. */
  typed?: { reason?: string; acceptReason?: string; accepted?: string[] };
}) {
  const { study, errors, report, bundle, csrf, outcome } = props;
  const base = `/studies/${study}/builder`;
  const destructive = report?.changes.filter((c) => c.severity === "destructive") ?? [];
  return (
    <>
      <p>
        <a href={base}>← Study builder</a>
      </p>
      <h1>
        {outcome?.kind === "published" ? `Published version ${outcome.version}` : "Impact of the change"}
      </h1>
      {errors && errors.length > 0 && (
        <div class="notice bad" role="alert" data-definition-errors>
          The definition has {errors.length} error(s); nothing can be published until they are fixed:
          <ul>
            {errors.map((e) => (
              <li>{e}</li>
            ))}
          </ul>
        </div>
      )}
      {outcome?.kind === "published" && (
        <p class="notice ok" role="status">
          Version {outcome.version} is live.{" "}
          {outcome.migrated > 0 ? `${outcome.migrated} form instance(s) migrated as audited revisions.` : ""}
        </p>
      )}
      {outcome?.kind === "unchanged" && (
        <p class="notice">Identical to the published version {outcome.version}: nothing to publish.</p>
      )}
      {outcome?.kind === "refused" && (
        <p class="notice bad" role="alert">
          Not published: {outcome.unaccepted.length} destructive change(s) are neither migrated nor accepted.
        </p>
      )}
      {report && (
        <>
          <p data-summary>
            Against version {report.fromVersion ?? "—"}: <strong>{report.summary.destructive}</strong>{" "}
            destructive, <strong>{report.summary.review}</strong> to review,{" "}
            <strong>{report.summary.safe}</strong> safe.
          </p>
          <ImpactTable report={report} />
        </>
      )}
      {bundle && outcome?.kind !== "published" && (
        <form method="post" action={`${base}/publish`} class="card">
          <h2>Publish</h2>
          <input type="hidden" name="_csrf" value={csrf} />
          <textarea name="bundle" hidden>
            {bundle}
          </textarea>
          <div class="field">
            <label for="f-reason">Why this change</label>
            <input
              id="f-reason"
              name="reason"
              type="text"
              class="wide"
              required
              value={props.typed?.reason ?? ""}
            />
          </div>
          {destructive.length > 0 && (
            <>
              <div class="field">
                <fieldset>
                  <legend>Accept destructive changes</legend>
                  <p class="help">
                    Each accepted change is recorded with your name and reason on the new version.
                  </p>
                  {destructive.map((c) => (
                    <label class="choice">
                      <input
                        type="checkbox"
                        name="accept"
                        value={c.id}
                        checked={props.typed?.accepted?.includes(c.id) ?? false}
                      />{" "}
                      <code>{c.id}</code>
                    </label>
                  ))}
                </fieldset>
              </div>
              <div class="field">
                <label for="f-accept_reason">Reason for accepting</label>
                <input
                  id="f-accept_reason"
                  name="accept_reason"
                  type="text"
                  class="wide"
                  value={props.typed?.acceptReason ?? ""}
                />
              </div>
            </>
          )}
          <div class="field">
            <label for="f-migration">Migration (optional)</label>
            <p id="h-migration" class="help">
              JSON:{" "}
              <code>
                {
                  '{"renames": {"<form>": {"old": "new"}}, "recodes": {"<form>": {"<field>": {"old": "new"}}}}'
                }
              </code>
              . Applied to stored data as audited revisions.
            </p>
            <textarea id="f-migration" name="migration" aria-describedby="h-migration">
              {props.migration ?? ""}
            </textarea>
          </div>
          <button type="submit">Publish</button>
        </form>
      )}
    </>
  );
}
