import type { Instrument } from "../../engine/definition.ts";
import type { FieldChange } from "../../engine/revision.ts";
import type { LogicContext } from "../../engine/validate-form.ts";
import type { Revision } from "../../store/form-instances.ts";
import { utcTime } from "../display-time.ts";
import { Field, type FieldView } from "../fields.tsx";
import { displayValue } from "../form-values.ts";
import { Status } from "../status-mark.tsx";

export type FormNotice =
  | { kind: "saved"; rev: number; deviations: string[] }
  | { kind: "unchanged" }
  | { kind: "invalid"; count: number }
  | { kind: "conflict"; current: Revision; changes: FieldChange[] };

/** JSON inside a script element: `<` escaped so no value can close the element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replaceAll("<", "\\u003c");
}

export function FormPage(props: {
  title: string;
  backHref: string;
  heading: string;
  instrument: Instrument;
  fields: FieldView[];
  current?: Revision;
  rev: number;
  csrf: string;
  canWrite: boolean;
  notice?: FormNotice;
  reasonError?: string;
  reason?: string;
  context: LogicContext;
  /** The builder's preview: the page exactly as sites see it, with saving disabled. */
  preview?: boolean;
}) {
  const { instrument, fields, current, rev, csrf, canWrite, notice, context } = props;
  const reasonNeeded = current?.status === "complete";
  return (
    <>
      <p>
        <a href={props.backHref}>← {props.title}</a>
      </p>
      <h1>{props.heading}</h1>
      <p>
        {current ? (
          <>
            <Status status={current.status} /> · revision {current.rev} saved {utcTime(current.committedAt)}{" "}
            by {current.committedBy}
          </>
        ) : (
          <>
            <Status status="not_started" />
          </>
        )}
      </p>
      {instrument.description && <p class="help">{instrument.description}</p>}
      {notice?.kind === "saved" && (
        <div class="notice ok" role="status">
          Saved as revision {notice.rev}.
          {notice.deviations.map((d) => (
            <p class="theirs">Protocol deviation: {d}</p>
          ))}
        </div>
      )}
      {notice?.kind === "unchanged" && (
        <p class="notice" role="status">
          Nothing changed: no new revision was made.
        </p>
      )}
      {notice?.kind === "invalid" && (
        <p class="notice bad" role="alert">
          Not saved: {notice.count} answer{notice.count === 1 ? " needs" : "s need"} attention (marked below).
        </p>
      )}
      {notice?.kind === "conflict" && (
        <div class="notice warn" role="alert" data-conflict>
          <strong>Not saved: {notice.current.committedBy} saved this form meanwhile</strong> (revision{" "}
          {notice.current.rev}, {utcTime(notice.current.committedAt)}). Their changes:
          <ul>
            {notice.changes.map((c) => (
              <li>
                {instrument.properties[c.field]?.title ?? c.field}:{" "}
                {displayValue(instrument.properties[c.field], c.old)} →{" "}
                <strong>{displayValue(instrument.properties[c.field], c.new)}</strong>
              </li>
            ))}
          </ul>
          Your edits are re-applied on top of their version below. Check them and save again.
        </div>
      )}
      {props.preview && (
        <p class="notice" role="status">
          Preview of the published version: exactly what sites see. Branching, calculations and checks work;
          nothing is saved.
        </p>
      )}
      <form method="post" data-edc-form novalidate>
        <input type="hidden" name="_csrf" value={csrf} />
        <input type="hidden" name="_rev" value={String(rev)} />
        {fields.map((f) => (
          <Field f={f} />
        ))}
        {(canWrite || props.preview) && (
          <>
            <div class="field" data-reason hidden={!reasonNeeded && !props.reasonError}>
              <label for="f-_reason">
                Reason for change
                <span class="req" aria-hidden="true">
                  *
                </span>
              </label>
              <p id="h-_reason" class="help">
                This form is complete: say why its data changes. The reason is kept in the audit trail.
              </p>
              <input
                id="f-_reason"
                name="_reason"
                type="text"
                value={props.reason ?? ""}
                class="wide"
                aria-describedby="h-_reason e-_reason"
                aria-invalid={props.reasonError ? "true" : undefined}
              />
              <p id="e-_reason" class="error" role="alert">
                {props.reasonError ?? ""}
              </p>
            </div>
            <div class="actions">
              <button
                type="submit"
                name="_status"
                value="incomplete"
                class="secondary"
                disabled={props.preview}
              >
                Save as incomplete
              </button>
              <button
                type="submit"
                name="_status"
                value="unverified"
                class="secondary"
                disabled={props.preview}
              >
                Save as unverified
              </button>
              <button type="submit" name="_status" value="complete" disabled={props.preview}>
                Save as complete
              </button>
            </div>
          </>
        )}
      </form>
      <script
        type="application/json"
        id="edc-form-definition"
        dangerouslySetInnerHTML={{
          __html: scriptJson({
            instrument,
            context,
            requireReason: reasonNeeded,
            currentStatus: current?.status ?? null,
          }),
        }}
      />
    </>
  );
}
