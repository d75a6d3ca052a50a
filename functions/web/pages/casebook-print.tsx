import { type EventDef, LOGS_EVENT, type StudyDefinition } from "../../engine/definition.ts";
import { outsideRefs, outsideValues, pipeResolver, renderPiped } from "../../engine/piping.ts";
import { foldQueries } from "../../engine/queries.ts";
import type { QueryState } from "../../engine/review.ts";
import { type ReviewEntry, type ReviewTarget, within } from "../../engine/review.ts";
import { type RevisionFacts, signatureState } from "../../engine/signatures.ts";
import { eventFormsFor, repeatsAt } from "../../engine/slots.ts";
import type { AuditTrailEntry } from "../../http/audit-trail.ts";
import type { Revision } from "../../store/form-instances.ts";
import type { Subject } from "../../store/subjects.ts";
import { AuditCells, AuditHead, statusLabel } from "../audit-cells.tsx";
import { utcTime } from "../display-time.ts";
import { displayValue } from "../form-values.ts";

/**
 * One subject's casebook for printing (or saving as PDF from the browser):
 * its data per visit and form, the review record (queries with their
 * messages, verification, locks, signatures, status) and the audit trail.
 * Each visit starts a printed page; the page chrome is not printed.
 *
 * Review entries are shown as the log holds them, in order, beside what they
 * concern; a query's opening says its state now; a verification is marked once a revision it covers has been
 * superseded, a signature once invalidated (engine/signatures.ts).
 */

export interface CasebookPrintProps {
  definition: StudyDefinition;
  subject: Subject;
  /** Current state of each form instance. */
  instances: Revision[];
  /** Every revision: a signature is invalidated by any later change in its scope. */
  revisions: Revision[];
  /** The subject's review log, in append order. */
  review: ReviewEntry[];
  /** The study's own entries (a freeze), shown to every reader. */
  studyReview: ReviewEntry[];
  audit: AuditTrailEntry[];
  printedAt: string;
  printedBy: string;
}

const QUERY_STEP: Record<string, string> = {
  "query-open": "Query opened",
  "query-answer": "Query answered",
  "query-close": "Query closed",
  "query-reopen": "Query reopened",
};

/** What an entry is checked against: each instance's current rev, and every revision (for signatures). */
interface Current {
  revs: Map<string, number>;
  revisions: readonly RevisionFacts[];
  /** Each query's state now (engine/queries.ts), shown on its opening entry. */
  queries: Map<string, QueryState>;
}

/** Whether a verification's covered revisions are all still the current ones. */
function stillCurrent(entry: ReviewEntry & { action: "verify" }, current: Current): boolean {
  return entry.covers.every((c) => current.revs.get(`${c.event}|${c.form}|${c.instance}`) === c.rev);
}

/** How a signature stands now (engine/signatures.ts): valid, or what change invalidated it. */
function SignatureValidity(props: { entry: ReviewEntry & { action: "sign" }; current: Current }) {
  const { invalidatedBy: by } = signatureState(props.entry, props.current.revisions);
  if (!by) return null;
  const what = by.kind === "added" ? "added" : "changed";
  return (
    <>
      {` — invalidated by a later change (${by.form} #${by.instance} ${what} in revision ${by.rev}, `}
      {`${utcTime(by.at)} by ${by.by})`}
    </>
  );
}

function ReviewList(props: {
  entries: ReviewEntry[];
  current: Current;
  label: (target: ReviewTarget) => string;
  showTarget?: boolean;
}) {
  const { entries, current, label, showTarget } = props;
  if (entries.length === 0) return null;
  return (
    <ul class="review">
      {entries.map((e) => (
        <li data-action={e.action}>
          <span class="date">{utcTime(e.at)}</span> · {e.by} · <ReviewWords entry={e} current={current} />
          {showTarget && <> · {label(e.target)}</>}
        </li>
      ))}
    </ul>
  );
}

function ReviewWords(props: { entry: ReviewEntry; current: Current }) {
  const { entry: e, current } = props;
  switch (e.action) {
    case "query-open":
    case "query-answer":
    case "query-close":
    case "query-reopen":
      return (
        <>
          <strong>
            {QUERY_STEP[e.action]} ({e.query})
          </strong>
          {"text" in e && e.text ? `: ${e.text}` : ""}
          {e.action === "query-answer" && e.correction ? ` (corrected in revision ${e.correction.rev})` : ""}
          {e.action === "query-open" && current.queries.has(e.query)
            ? ` — now ${current.queries.get(e.query)}`
            : ""}
        </>
      );
    case "verify":
      return (
        <>
          <strong>Source data verified</strong> (revisions{" "}
          {e.covers.map((c) => `${c.form} #${c.instance} rev ${c.rev}`).join(", ")})
          {stillCurrent(e, current) ? "" : " — changed since, needs re-verification"}
        </>
      );
    case "lock":
      return (
        <>
          <strong>Locked</strong>
          {e.reason ? `: ${e.reason}` : ""}
        </>
      );
    case "unlock":
      return (
        <>
          <strong>Unlocked</strong>: {e.reason}
        </>
      );
    case "sign":
      return (
        <>
          <strong>Signed by {e.name}</strong>: “{e.meaning}” (authenticated {utcTime(e.authenticatedAt)})
          <SignatureValidity entry={e} current={current} />
        </>
      );
    case "subject-status":
      return (
        <>
          <strong>Status: {e.status}</strong>
          {e.date ? ` on ${e.date}` : ""}
          {e.reason ? `: ${e.reason}` : ""}
        </>
      );
  }
}

export function CasebookPrint(props: CasebookPrintProps) {
  const { definition, subject, instances, revisions, review, studyReview, audit, printedAt, printedBy } =
    props;
  const { study } = definition;
  const current: Current = {
    revs: new Map(instances.map((r) => [`${r.event}|${r.form}|${r.instance}`, r.rev])),
    revisions,
    queries: new Map(foldQueries(review).map((q) => [q.id, q.state])),
  };
  const eventLabel = (id: string | undefined) =>
    id === LOGS_EVENT ? "Logs" : (study.events.find((e) => e.id === id)?.label ?? id ?? "");
  const formTitle = (form: string) => definition.instruments[form]?.title || form;
  // A printed label pipes what the form page showed: the instance's values, the subject's other forms.
  const pipeFor = (r: Revision) => {
    const instrument = definition.instruments[r.form];
    if (!instrument) return (text: string) => text;
    const outside = outsideValues(outsideRefs(instrument), {
      instruments: definition.instruments,
      instances: instances.filter((i) => i !== r),
      subject: subject.id,
      eventLabel: eventLabel(r.event),
      instance: r.instance,
    });
    const resolve = pipeResolver(instrument, r.data, outside);
    return (text: string) => renderPiped(text, resolve);
  };
  const label = (t: ReviewTarget): string => {
    if (t.event === undefined) return "the casebook";
    const visit = `${eventLabel(t.event)}${t.instance !== undefined && t.form === undefined ? ` #${t.instance}` : ""}`;
    if (t.form === undefined) return visit;
    const form = `${formTitle(t.form)}${(t.instance ?? 1) !== 1 ? ` #${t.instance}` : ""} · ${visit}`;
    if (t.field === undefined) return form;
    return `${definition.instruments[t.form]?.properties[t.field]?.title ?? t.field} · ${form}`;
  };
  const subjectEntries = review.filter((e) => e.target.event === undefined);
  const events: { event: EventDef | { id: string; label: string }; instances: number[] }[] = [
    ...study.events
      .filter((e) => !e.arms || e.arms.includes(subject.arm))
      .map((e) => ({
        event: e,
        instances: e.repeatable
          ? [...new Set(instances.filter((i) => i.event === e.id).map((i) => i.instance))].sort(
              (a, b) => a - b,
            )
          : [1],
      })),
  ];
  const logs = instances.filter((i) => i.event === LOGS_EVENT);
  const base = `/studies/${study.id}/subjects/${subject.id}`;

  return (
    <article class="casebook-print">
      <p class="no-print">
        <a href={base}>← Subject {subject.id}</a> · Use your browser's Print (Ctrl+P or ⌘P) to print this
        casebook or save it as PDF.
      </p>
      <h1>Casebook of subject {subject.id}</h1>
      <dl class="details">
        <dt>Study</dt>
        <dd>{study.title}</dd>
        <dt>Site</dt>
        <dd>{study.sites.find((s) => s.id === subject.site)?.name ?? subject.site}</dd>
        <dt>Arm</dt>
        <dd>{study.arms.find((a) => a.id === subject.arm)?.label ?? subject.arm}</dd>
        <dt>Enrolled</dt>
        <dd>
          {utcTime(subject.enrolledAt)} by {subject.enrolledBy}
        </dd>
        <dt>Printed</dt>
        <dd>
          {utcTime(printedAt)} by {printedBy} (definition version {definition.version})
        </dd>
      </dl>

      <section class="subject-review">
        <h2>Casebook review</h2>
        {subjectEntries.length === 0 && studyReview.length === 0 ? (
          <p class="help">No status, lock, signature or query on the casebook as a whole.</p>
        ) : (
          <>
            <ReviewList entries={subjectEntries} current={current} label={label} />
            {studyReview.length > 0 && (
              <>
                <h3>Whole study</h3>
                <ReviewList entries={studyReview} current={current} label={label} />
              </>
            )}
          </>
        )}
      </section>

      {events.flatMap(({ event, instances: numbers }) =>
        numbers.map((n) => {
          const forms = "forms" in event ? eventFormsFor(event, subject.arm) : [];
          // At a one-off visit, a form repeating there (repeatingForms) prints each of its own instances.
          const onItsOwn = (form: string) =>
            "forms" in event && !event.repeatable && repeatsAt(event, form, definition.instruments[form]);
          const ownInstances = (form: string): number[] => {
            if (!onItsOwn(form)) return [n];
            const own = instances
              .filter((i) => i.event === event.id && i.form === form)
              .map((i) => i.instance);
            return own.length > 0 ? [...new Set(own)].sort((a, b) => a - b) : [1];
          };
          const visitEntries = review.filter(
            (e) =>
              e.target.form === undefined && e.target.event === event.id && (e.target.instance ?? 1) === n,
          );
          return (
            <section class="visit">
              <h2>
                {event.label}
                {"repeatable" in event && event.repeatable ? ` #${n}` : ""}
              </h2>
              <ReviewList entries={visitEntries} current={current} label={label} />
              {forms.flatMap((form) =>
                ownInstances(form).map((k) => (
                  <FormBlock
                    definition={definition}
                    form={form}
                    instance={instances.find(
                      (i) => i.event === event.id && i.form === form && i.instance === k,
                    )}
                    entries={review.filter(
                      (e) => within(e.target, { event: event.id, form }) && (e.target.instance ?? 1) === k,
                    )}
                    current={current}
                    label={label}
                    pipeFor={pipeFor}
                    numbered={onItsOwn(form)}
                  />
                )),
              )}
            </section>
          );
        }),
      )}

      {logs.length > 0 && (
        <section class="visit">
          <h2>Logs</h2>
          {logs.map((r) => (
            <FormBlock
              definition={definition}
              form={r.form}
              instance={r}
              entries={review.filter(
                (e) =>
                  e.target.event === LOGS_EVENT &&
                  e.target.form === r.form &&
                  (e.target.instance ?? 1) === r.instance,
              )}
              current={current}
              label={label}
              pipeFor={pipeFor}
              numbered
            />
          ))}
        </section>
      )}

      <section class="visit">
        <h2>Review record</h2>
        <p class="help">
          Every query message, verification, lock, signature and status change, oldest first.
        </p>
        {review.length === 0 ? (
          <p>None.</p>
        ) : (
          <ReviewList entries={review} current={current} label={label} showTarget />
        )}
      </section>

      <section class="visit">
        <h2>Audit trail</h2>
        <p class="help">Every save, oldest first; times in UTC.</p>
        <table class="audit">
          <AuditHead />
          <tbody>
            {audit.map((entry) => {
              const instrument = entry.form ? definition.instruments[entry.form] : undefined;
              return (
                <tr>
                  <td class="date">{utcTime(entry.at)}</td>
                  <td>{entry.by}</td>
                  <td>
                    {entry.action === "enrol"
                      ? "Enrolled"
                      : `${instrument?.title ?? entry.form} #${entry.instance} · ${eventLabel(entry.event)} · revision ${entry.rev}${
                          entry.action === "entered-in-error" ? " · marked as entered in error" : ""
                        }${entry.action === "restore" ? " · restored" : ""}`}
                  </td>
                  <AuditCells entry={entry} instrument={instrument} />
                </tr>
              );
            })}
          </tbody>
        </table>
      </section>
    </article>
  );
}

function FormBlock(props: {
  definition: StudyDefinition;
  form: string;
  instance: Revision | undefined;
  entries: ReviewEntry[];
  current: Current;
  label: (target: ReviewTarget) => string;
  pipeFor: (instance: Revision) => (text: string) => string;
  numbered?: boolean;
}) {
  const { definition, form, instance, entries, current, label, numbered } = props;
  const pipe = instance ? props.pipeFor(instance) : (text: string) => text;
  const instrument = definition.instruments[form];
  const title = `${instrument?.title || form}${numbered && instance ? ` #${instance.instance}` : ""}`;
  const own = entries.filter((e) => e.target.field === undefined);
  const byField = (field: string) => entries.filter((e) => e.target.field === field);
  if (!instance && entries.length === 0) {
    return (
      <div class="form-block">
        <h3>{title}</h3>
        <p class="help">Not started.</p>
      </div>
    );
  }
  const fields = Object.entries(instrument?.properties ?? {});
  const extra = entries.filter(
    (e) => e.target.field !== undefined && !(e.target.field in (instrument?.properties ?? {})),
  );
  return (
    <div class={`form-block${instance?.enteredInError ? " in-error" : ""}`}>
      <h3>
        {title}
        {instance && (
          <span class="muted">
            {" "}
            · {statusLabel(instance.status)} · revision {instance.rev}, {utcTime(instance.committedAt)} by{" "}
            {instance.committedBy}
            {instance.enteredInError ? " · entered in error" : ""}
          </span>
        )}
      </h3>
      <ReviewList entries={own} current={current} label={label} />
      {instance && (
        <table class="values">
          <tbody>
            {fields.map(([field, schema]) => {
              const notes = byField(field);
              return (
                <tr>
                  <th scope="row">{pipe(schema.title ?? field)}</th>
                  <td>
                    {displayValue(schema, instance.data[field])}
                    <ReviewList entries={notes} current={current} label={label} />
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {!instance && entries.some((e) => e.target.field !== undefined) && (
        <ReviewList
          entries={entries.filter((e) => e.target.field !== undefined)}
          current={current}
          label={label}
          showTarget
        />
      )}
      {instance && extra.length > 0 && (
        <ReviewList entries={extra} current={current} label={label} showTarget />
      )}
    </div>
  );
}
