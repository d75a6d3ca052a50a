import type { Child } from "hono/jsx";
import type { Choice, FieldSchema, FormData, Instrument, MissingCode } from "../engine/definition.ts";
import {
  allowedMediaTypes,
  asFileReference,
  formatBytes,
  isFileField,
  isSignatureField,
  maxBytesOf,
} from "../engine/file-fields.ts";
import type { Revision } from "../store/form-instances.ts";
import { DriftNote, type DriftView, driftId } from "./calculation-drift.tsx";
import { DateTimeInput, hintId, isTypedDateTime } from "./date-input.tsx";
import { utcTime } from "./display-time.ts";
import {
  displayValue,
  fileRemoveName,
  fileUploadName,
  inputText,
  missingCodeName,
  missingReasonName,
} from "./form-values.ts";
import { type Pipe, Piped } from "./piped.tsx";

/**
 * One instrument rendered as HTML form controls from its JSON Schema: the
 * widget follows the field's type, format, choices and `x-widget`. Every
 * control is labelled, described by its help text and its error, and wrapped
 * in an element the browser script finds by `data-field`.
 */

export interface FieldView {
  name: string;
  schema: FieldSchema;
  value: unknown;
  required: boolean;
  hidden: boolean;
  error?: string;
  /** A value someone else saved meanwhile (409), shown beside the user's own. */
  theirs?: unknown;
  history: HistoryEntry[];
  /** A calculation current data would compute differently from its stored value. */
  drift?: DriftView;
  /** The person asked to store the drifted calculation's new value. */
  recalculate?: boolean;
  /** Shown to someone who cannot save: a value, not a control. */
  readOnly?: boolean;
  /** A soft check the value fails (a warning, not an error); after a refused save, with a box to confirm it. */
  warning?: string;
  /** The box to confirm the warning is shown, ticked or not (the save asked for it). */
  confirm?: { ticked: boolean };
  /** The study's missing-data codes (none: no code control) and the code the field holds. */
  missingCodes?: readonly MissingCode[];
  missing?: { code: string; reason: string };
  /** Renders the field's piped texts (`{{…}}`); without it they show as written. */
  pipe?: Pipe;
  /** Where the file a file field holds is downloaded (the page knows the subject). */
  download?: string;
  /** study.json's timeZone, named beside a local date-time box. */
  timeZone?: string;
}

export interface HistoryEntry {
  rev: number;
  at: string;
  by: string;
  old: unknown;
  new: unknown;
  reason?: string;
  /** Missing-data codes before and after, when the change was to or from a code. */
  oldCode?: string | null;
  newCode?: string | null;
}

/** Per field, every change in the instance's revisions, oldest first. */
export function fieldHistory(revisions: Revision[]): Map<string, HistoryEntry[]> {
  const out = new Map<string, HistoryEntry[]>();
  for (const r of revisions) {
    for (const change of r.changes) {
      const list = out.get(change.field) ?? [];
      list.push({
        rev: r.rev,
        at: r.committedAt,
        by: r.committedBy,
        old: change.old,
        new: change.new,
        reason: r.reason,
        ...(change.oldCode !== undefined ? { oldCode: change.oldCode, newCode: change.newCode } : {}),
      });
      out.set(change.field, list);
    }
  }
  return out;
}

const id = (name: string) => `f-${name}`;

function choicesOf(schema: FieldSchema): Choice[] | undefined {
  if (schema.oneOf) return schema.oneOf;
  if (schema.enum) return schema.enum.map((v) => ({ const: v, title: String(v) }));
  return undefined;
}

/** Radios for a few labelled choices, a dropdown otherwise, unless the definition says. */
function choiceWidget(schema: FieldSchema, count: number): string {
  return schema["x-widget"] ?? (count <= 5 && schema.oneOf ? "radio" : "select");
}

function describedBy(f: FieldView): string {
  const hint = isTypedDateTime(f.schema) ? hintId(f.name) : "";
  return [f.schema.description ? `h-${f.name}` : "", hint, `e-${f.name}`, f.drift ? driftId(f.name) : ""]
    .filter(Boolean)
    .join(" ");
}

function Control({ f }: { f: FieldView }) {
  const { schema, name } = f;
  const invalid = f.error ? "true" : undefined;
  const common = { id: id(name), name, "aria-describedby": describedBy(f), "aria-invalid": invalid };
  if (schema["x-calc"] !== undefined) {
    return (
      <output id={id(name)} data-calc={name} aria-describedby={describedBy(f)}>
        {inputText(f.value)}
      </output>
    );
  }
  if (schema["x-readonly"] === true) return <ReadOnlyControl f={f} />;
  if (isFileField(schema)) return <FileControl f={f} />;
  if (schema.type === "boolean") {
    const [yes, no] = schema["x-widget"] === "truefalse" ? ["True", "False"] : ["Yes", "No"];
    return (
      <div class="choices">
        {[
          ["true", yes],
          ["false", no],
        ].map(([v, label]) => (
          <label class="choice">
            <input
              type="radio"
              name={name}
              value={v}
              checked={String(f.value) === v}
              aria-invalid={invalid}
            />
            {label}
          </label>
        ))}
      </div>
    );
  }
  if (schema.type === "array") {
    const selected = Array.isArray(f.value) ? f.value : [];
    return (
      <div>
        {(schema.items?.oneOf ?? []).map((c) => (
          <label class="choice">
            <input
              type="checkbox"
              name={name}
              value={String(c.const)}
              checked={selected.includes(c.const)}
              aria-invalid={invalid}
            />
            <Piped text={c.title} pipe={f.pipe} />
          </label>
        ))}
      </div>
    );
  }
  const choices = choicesOf(schema);
  if (choices) {
    const widget = choiceWidget(schema, choices.length);
    if (widget === "radio") {
      return (
        <div class="choices">
          {choices.map((c) => (
            <label class="choice">
              <input
                type="radio"
                name={name}
                value={String(c.const)}
                checked={f.value !== undefined && String(f.value) === String(c.const)}
                aria-invalid={invalid}
              />
              <Piped text={c.title} pipe={f.pipe} />
            </label>
          ))}
        </div>
      );
    }
    return (
      <select {...common}>
        <option value="">—</option>
        {choices.map((c) => (
          <option
            value={String(c.const)}
            selected={f.value !== undefined && String(f.value) === String(c.const)}
            data-pipe={f.pipe && c.title.includes("{{") ? c.title : undefined}
          >
            {f.pipe ? f.pipe(c.title) : c.title}
          </option>
        ))}
      </select>
    );
  }
  if (schema["x-widget"] === "textarea") {
    return (
      <textarea {...common} maxlength={schema.maxLength}>
        {inputText(f.value)}
      </textarea>
    );
  }
  const numeric = schema.type === "number" || schema.type === "integer";
  if (schema["x-widget"] === "slider") {
    // A number box rather than a range control: a slider always has a value, an unanswered question must not.
    return (
      <input
        {...common}
        type="number"
        min={schema.minimum ?? 0}
        max={schema.maximum ?? 100}
        step={1}
        value={inputText(f.value)}
      />
    );
  }
  if (isTypedDateTime(schema))
    return (
      <DateTimeInput
        name={name}
        schema={schema}
        text={inputText(f.value, schema)}
        common={common}
        timeZone={f.timeZone}
      />
    );
  const type = schema.format === "email" ? "email" : "text";
  return (
    <input
      {...common}
      type={type}
      value={inputText(f.value, schema)}
      inputmode={numeric ? (schema.type === "integer" ? "numeric" : "decimal") : undefined}
      maxlength={schema.maxLength}
      autocomplete="off"
    />
  );
}

/**
 * A file or signature field: the attached file (name, size, download link),
 * kept by a hidden control unless a new file is chosen or "remove" is ticked.
 * A signature field also gets a drawing pad, shown only by the page script
 * (which turns the drawing into the chosen PNG); the file input stays, so
 * without the script, or without a pointer, an image can be uploaded.
 */
function FileControl({ f }: { f: FieldView }) {
  const { schema, name } = f;
  const file = asFileReference(f.value);
  const kept = file ? JSON.stringify(file) : typeof f.value === "string" ? f.value : "";
  const signature = isSignatureField(schema);
  const accept = allowedMediaTypes(schema)?.join(",");
  const attachedId = `a-${name}`;
  return (
    <div class="file" data-file={name}>
      <input type="hidden" name={name} value={kept} data-file-kept />
      <p id={attachedId} data-file-attached>
        {file ? (
          <>
            Attached: {f.download ? <a href={f.download}>{file.name}</a> : file.name} (
            {formatBytes(file.size)})
          </>
        ) : (
          "No file attached."
        )}
      </p>
      {signature && (
        <div class="signature-pad" data-signature-pad={name} hidden>
          <canvas
            width={600}
            height={200}
            role="img"
            aria-label={`Signature pad for ${schema.title ?? name}: draw with a mouse, finger or pen. Keyboard users can upload an image of the signature below instead.`}
          />
          <button type="button" data-signature-clear>
            Clear signature
          </button>
          <span class="help" data-signature-state role="status" />
        </div>
      )}
      <p class="file-choose">
        <span id={`u-${name}`}>
          {file ? "Replace with:" : signature ? "Or upload an image of the signature:" : "Choose a file:"}{" "}
          <span class="help">
            {accept ? accept.replace(/,/g, ", ") : "any type"}, at most {formatBytes(maxBytesOf(schema))}
          </span>
        </span>{" "}
        {/* Named by the field's label; what is attached and what may be chosen describe it. */}
        <input
          type="file"
          id={id(name)}
          name={fileUploadName(name)}
          accept={accept}
          aria-describedby={`${attachedId} u-${name} ${describedBy(f)}`}
          aria-invalid={f.error ? "true" : undefined}
        />
      </p>
      {file && (
        <label class="choice">
          <input type="checkbox" name={fileRemoveName(name)} value="true" data-file-remove /> Remove the
          attached file
        </label>
      )}
    </div>
  );
}

/**
 * A field the protocol makes read-only on the page (`x-readonly`): its value
 * as a person reads it, and posted unchanged with the form so a save keeps it.
 */
function ReadOnlyControl({ f }: { f: FieldView }) {
  const values = Array.isArray(f.value) ? f.value : f.value === undefined ? [] : [f.value];
  return (
    <>
      <output id={id(f.name)} data-readonly={f.name} aria-describedby={describedBy(f)}>
        {/* The unit follows the control, as for any field. */}
        {displayValue({ ...f.schema, "x-unit": undefined }, f.value)}
      </output>
      {values.map((v) => (
        <input type="hidden" name={f.name} value={inputText(v)} />
      ))}
    </>
  );
}

export function History({ f }: { f: FieldView }) {
  if (f.history.length === 0) return null;
  return (
    <details class="history" data-history={f.name}>
      <summary>
        History of {f.pipe ? f.pipe(f.schema.title ?? f.name) : (f.schema.title ?? f.name)} (
        {f.history.length})
      </summary>
      <ol>
        {f.history.map((h) => (
          <li>
            <time datetime={h.at}>{utcTime(h.at)}</time> by {h.by}:{" "}
            {h.oldCode ?? displayValue(f.schema, h.old)} →{" "}
            <strong>{h.newCode ?? displayValue(f.schema, h.new)}</strong>
            {h.reason ? <em> — {h.reason}</em> : null} (rev {h.rev})
          </li>
        ))}
      </ol>
    </details>
  );
}

/** REDCap's question number ("1a."), before the label. */
function QuestionNumber({ schema }: { schema: FieldSchema }) {
  const n = schema["x-question-number"];
  return n ? <span class="qnum">{n}.</span> : null;
}

export function Field({ f }: { f: FieldView }) {
  const { schema, name } = f;
  if (schema.type === "null") {
    // Descriptive text: shown, never answered.
    return (
      <FieldShell f={f}>
        <p>
          <QuestionNumber schema={schema} />
          <Piped text={schema.title} pipe={f.pipe} />
        </p>
        {schema.description && (
          <p class="help">
            <Piped text={schema.description} pipe={f.pipe} />
          </p>
        )}
      </FieldShell>
    );
  }
  const choices = choicesOf(schema);
  const grouped =
    schema.type === "boolean" ||
    schema.type === "array" ||
    (choices !== undefined && choiceWidget(schema, choices.length) === "radio");
  const label = (
    <>
      <QuestionNumber schema={schema} />
      <Piped text={schema.title ?? name} pipe={f.pipe} />
      {f.required && (
        <span class="req" aria-hidden="true">
          *
        </span>
      )}
      {f.required && <span class="visually-hidden"> (required to complete)</span>}
    </>
  );
  return (
    <FieldShell
      f={f}
      answered={{
        "data-required": f.required ? "true" : undefined,
        "data-identifier": schema["x-identifier"] ? "true" : undefined,
        "data-align": schema["x-align"],
      }}
    >
      {grouped ? (
        <fieldset aria-describedby={describedBy(f)}>
          <legend id={`l-${name}`}>{label}</legend>
          {schema.description && (
            <p id={`h-${name}`} class="help">
              <Piped text={schema.description} pipe={f.pipe} />
            </p>
          )}
          <Control f={f} />
        </fieldset>
      ) : (
        <>
          <label id={`l-${name}`} for={id(name)}>
            {label}
          </label>
          {schema.description && (
            <p id={`h-${name}`} class="help">
              <Piped text={schema.description} pipe={f.pipe} />
            </p>
          )}
          <Control f={f} />
        </>
      )}
      {schema["x-unit"] && <span class="unit">{schema["x-unit"]}</span>}
      {f.theirs !== undefined && (
        <p class="theirs">Saved meanwhile by someone else: {displayValue(schema, f.theirs)}</p>
      )}
      <p id={`e-${name}`} class="error" role="alert">
        {f.error ?? ""}
      </p>
      <SoftWarning f={f} />
      <MissingCodeControl f={f} />
      <DriftNote name={name} schema={schema} drift={f.drift} canRecalculate ticked={f.recalculate} />
      <History f={f} />
    </FieldShell>
  );
}

/**
 * A field's section heading and its wrapper, which the page script shows and
 * hides (branching, x-hidden) the same way for descriptive and answered fields.
 */
function FieldShell({
  f,
  answered,
  children,
}: {
  f: FieldView;
  answered?: Record<`data-${string}`, string | undefined>;
  children: Child;
}) {
  const { schema, name } = f;
  return (
    <>
      {schema["x-section"] && (
        <h2 class="section">
          <Piped text={schema["x-section"]} pipe={f.pipe} />
        </h2>
      )}
      <div
        class="field"
        data-field={name}
        hidden={f.hidden || schema["x-hidden"] === true}
        data-always-hidden={schema["x-hidden"] === true ? "true" : undefined}
        {...answered}
      >
        {children}
      </div>
    </>
  );
}

/**
 * A soft check's warning: the page script fills it while typing; after a save
 * refused for it, the box to confirm the value (a query then opens with the message).
 */
function SoftWarning({ f }: { f: FieldView }) {
  return (
    <>
      <p id={`w-${f.name}`} class="warning" role="status">
        {f.warning ?? ""}
      </p>
      {f.warning && f.confirm && (
        <label class="confirm">
          <input type="checkbox" name="_confirm" value={`/${f.name}`} checked={f.confirm.ticked} /> The value
          is correct: save it and open a query with this warning
        </label>
      )}
    </>
  );
}

/** Per field, when the study declares codes: a code instead of a value, with the reason it is missing. */
function MissingCodeControl({ f }: { f: FieldView }) {
  const codes = f.missingCodes ?? [];
  if (codes.length === 0 || f.schema["x-calc"] !== undefined) return null;
  return (
    <details class="missing" data-missing={f.name} open={f.missing !== undefined}>
      <summary>Missing data{f.missing ? `: ${f.missing.code}` : ""}</summary>
      <label for={`m-${f.name}`}>Missing-data code</label>
      <select id={`m-${f.name}`} name={missingCodeName(f.name)}>
        <option value="">— none: the field holds a value —</option>
        {codes.map((c) => (
          <option value={c.code} selected={f.missing?.code === c.code}>
            {c.code} — {c.label}
          </option>
        ))}
      </select>
      <label for={`mr-${f.name}`}>Why is it missing?</label>
      <input
        id={`mr-${f.name}`}
        name={missingReasonName(f.name)}
        type="text"
        value={f.missing?.reason ?? ""}
      />
    </details>
  );
}

export function fieldViews(
  instrument: Instrument,
  values: FormData,
  hidden: Set<string>,
  errors: Map<string, string>,
  history: Map<string, HistoryEntry[]>,
  theirs: FormData = {},
  stored: {
    drift?: Map<string, DriftView>;
    recalculate?: ReadonlySet<string>;
    readOnly?: boolean;
    warnings?: Map<string, string>;
    /** Pointers of the confirmation boxes to show, with those the person ticked. */
    confirm?: { shown: ReadonlySet<string>; ticked: ReadonlySet<string> };
    missingCodes?: readonly MissingCode[];
    missing?: Record<string, { code: string; reason: string }>;
    pipe?: Pipe;
    timeZone?: string;
  } = {},
): FieldView[] {
  const required = new Set(instrument.required ?? []);
  return Object.entries(instrument.properties).map(([name, schema]) => ({
    name,
    schema,
    value: values[name],
    required: required.has(name),
    hidden: hidden.has(name),
    error: errors.get(name),
    theirs: Object.hasOwn(theirs, name) ? theirs[name] : undefined,
    history: history.get(name) ?? [],
    drift: stored.drift?.get(name),
    recalculate: stored.recalculate?.has(name),
    readOnly: stored.readOnly,
    warning: stored.warnings?.get(name),
    confirm: stored.confirm?.shown.has(`/${name}`)
      ? { ticked: stored.confirm.ticked.has(`/${name}`) }
      : undefined,
    missingCodes: stored.missingCodes,
    missing: stored.missing && Object.hasOwn(stored.missing, name) ? stored.missing[name] : undefined,
    pipe: stored.pipe,
    timeZone: stored.timeZone,
  }));
}
