import type { Child } from "hono/jsx";
import type { Instrument, MissingCode } from "../../engine/definition.ts";
import { isFileField } from "../../engine/file-fields.ts";
import type { FieldChange } from "../../engine/revision.ts";
import type { LogicContext } from "../../engine/validate-form.ts";
import type { Revision } from "../../store/form-instances.ts";
import { type AfterSave, AfterSaveChoice, type StoredNotice, StoredNoticeView } from "../after-save.tsx";
import { utcTime } from "../display-time.ts";
import { Field, type FieldView } from "../fields.tsx";
import { displayValue } from "../form-values.ts";
import { ReadOnlyField } from "../readonly-field.tsx";
import { Status } from "../status-mark.tsx";
import { EnteredInErrorPanel } from "./entered-in-error.tsx";

export type FormNotice =
  /** `movedFrom`: the number this new entry was opened at, which someone else's entry took meanwhile. */
  | { kind: "saved"; rev: number; deviations: string[]; movedFrom?: number; instance?: number }
  | { kind: "unchanged" }
  | { kind: "invalid"; count: number }
  /** Refused for soft checks not yet confirmed: the boxes beside the fields confirm them. */
  | { kind: "warnings"; count: number }
  /** A post that pressed no save button (Enter in a field, without the script). */
  | { kind: "no-action" }
  | { kind: "conflict"; current: Revision; changes: FieldChange[] }
  /** Refused by a lock set after the page was opened: what was typed, listed so it is not lost. */
  | { kind: "locked"; scope: "study" | "subject" | "visit" | "form"; changes: FieldChange[] };

const LOCKED_WORDS = {
  study: "the study was frozen",
  subject: "the casebook was locked",
  visit: "the visit was locked",
  form: "this form was locked",
} as const;

/** JSON inside a script element: `<` escaped so no value can close the element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replaceAll("<", "\\u003c");
}

/** Each change as "field: old → new", in the instrument's words (a conflict's, or the edits a lock refused). */
function ChangeList({ instrument, changes }: { instrument: Instrument; changes: FieldChange[] }) {
  return (
    <ul>
      {changes.map((c) => (
        <li>
          {instrument.properties[c.field]?.title ?? c.field}:{" "}
          {displayValue(instrument.properties[c.field], c.old)} →{" "}
          <strong>{displayValue(instrument.properties[c.field], c.new)}</strong>
        </li>
      ))}
    </ul>
  );
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
  /** Where a save goes next, and the title of the visit's next form (none after the last, or for a log). */
  afterSave?: AfterSave;
  nextTitle?: string;
  /** The save made on the page before, when a save moved on to this one. */
  stored?: StoredNotice;
  /** The instance's path when it may be entered in error (log instances, unscheduled visits). */
  markPath?: string;
  /** The signatures over this instance (and the way to sign it). */
  signatures?: Child;
  /** Drawn beside each field, by field name (its queries). */
  besideField?: Record<string, Child>;
  /** Drawn after the form (the queries section, whose forms cannot nest in this one). */
  after?: Child;
  /** Drawn inside the form, before its save buttons, for someone who saves (answering a query with the save). */
  beforeActions?: Child;
  /** The study's missing-data codes, for the script's checks. */
  missingCodes?: readonly MissingCode[];
  /** Piped values from outside the form (engine `outsideValues`), so the page script pipes as the server did. */
  piping?: Readonly<Record<string, string>>;
  /** A lock or the study's freeze holds the instance (`canWrite` is then false). */
  locked?: boolean;
  /** The instance's lock and source data verification panels. */
  review?: Child;
}) {
  const { instrument, fields, current, rev, csrf, notice, context } = props;
  // An instance entered in error keeps its data as marked until it is restored.
  const canWrite = props.canWrite && !current?.enteredInError;
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
          <Status status="not_started" />
        )}
      </p>
      <EnteredInErrorPanel current={current} path={props.markPath} canWrite={props.canWrite} csrf={csrf} />
      {props.review}
      {props.signatures}
      {instrument.description && <p class="help">{instrument.description}</p>}
      <StoredNoticeView notice={props.stored} />
      {notice?.kind === "saved" && (
        <div class="notice ok" role="status">
          Saved as revision {notice.rev}.
          {notice.movedFrom !== undefined && (
            <p>
              Someone else added #{notice.movedFrom} meanwhile: yours is kept as a new entry, #
              {notice.instance}.
            </p>
          )}
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
      {notice?.kind === "warnings" && (
        <p class="notice warn" role="alert" data-warnings>
          Not saved: {notice.count} value{notice.count === 1 ? " is" : "s are"} outside the expected range
          (marked below). Correct {notice.count === 1 ? "it" : "them"}, or tick the box to confirm and save
          again: a query opens for each confirmed value.
        </p>
      )}
      {notice?.kind === "no-action" && (
        <p class="notice bad" role="alert">
          Nothing was saved: Enter does not save. Use one of the save buttons below.
        </p>
      )}
      {notice?.kind === "conflict" && (
        <div class="notice warn" role="alert" data-conflict>
          <strong>Not saved: {notice.current.committedBy} saved this form meanwhile</strong> (revision{" "}
          {notice.current.rev}, {utcTime(notice.current.committedAt)}). Their changes:
          <ChangeList instrument={instrument} changes={notice.changes} />
          Your edits are re-applied on top of their version below. Check them and save again.
        </div>
      )}
      {notice?.kind === "locked" && (
        <div class="notice bad" role="alert" data-not-saved>
          <strong>Not saved: {LOCKED_WORDS[notice.scope]} after this page was opened.</strong>{" "}
          {notice.changes.length > 0
            ? "What you typed, which is not stored (note it for when it is unlocked):"
            : ""}
          <ChangeList instrument={instrument} changes={notice.changes} />
        </div>
      )}
      {props.preview && (
        <p class="notice" role="status">
          Preview of the published version: exactly what sites see. Branching, calculations and checks work;
          nothing is saved.
        </p>
      )}
      {!canWrite && !props.preview && !props.locked && (
        <p class="notice" role="note">
          Read only: your role can view this form but not change it.
        </p>
      )}
      <form
        method="post"
        data-edc-form
        novalidate
        enctype={fields.some((f) => isFileField(f.schema)) ? "multipart/form-data" : undefined}
      >
        <input type="hidden" name="_csrf" value={csrf} />
        <input type="hidden" name="_rev" value={String(rev)} />
        {/* The default button of an implicit submission (Enter in a field) is the first submit button;
            disabled, it makes Enter submit nothing, with or without the script. */}
        <button type="submit" disabled hidden />
        {/* Someone who cannot save reads values, never controls taking typing nobody stores. */}
        {fields.map((f) => (
          <>
            {f.readOnly ? <ReadOnlyField f={f} /> : <Field f={f} />}
            {props.besideField?.[f.name]}
          </>
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
            {props.beforeActions}
            <div class="actions">
              <AfterSaveChoice choice={props.afterSave ?? "stay"} nextTitle={props.nextTitle} />
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
      {props.after}
      <script
        type="application/json"
        id="edc-form-definition"
        dangerouslySetInnerHTML={{
          __html: scriptJson({
            instrument,
            context,
            requireReason: reasonNeeded,
            currentStatus: current?.status ?? null,
            stored: current?.data ?? null,
            missingCodes: props.missingCodes ?? [],
            piping: props.piping ?? {},
            canSave: canWrite && !props.preview,
            // Values sent back by a refused save are not stored: leaving the page must warn.
            unsaved: notice !== undefined && notice.kind !== "saved" && notice.kind !== "unchanged",
          }),
        }}
      />
    </>
  );
}
