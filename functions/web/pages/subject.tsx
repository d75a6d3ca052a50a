import type { Child } from "hono/jsx";
import { LOGS_EVENT, type StudyDefinition } from "../../engine/definition.ts";
import type { Subject } from "../../store/subjects.ts";
import { type StoredNotice, StoredNoticeView } from "../after-save.tsx";
import { type CasebookView, progressText, TIMING_LABEL } from "../casebook-view.ts";
import { utcTime } from "../display-time.ts";
import { displayValue } from "../form-values.ts";
import { ScrollRegion } from "../scroll-region.tsx";
import { DateText, Status } from "../status-mark.tsx";
import { EnteredInErrorLabel } from "./entered-in-error.tsx";

/** One subject: the schedule from day 1 with windows and timing, each visit's forms, and the repeating logs. */
export function SubjectPage(props: {
  definition: StudyDefinition;
  subject: Subject;
  view: CasebookView;
  canWrite: boolean;
  /** The save a form page just made before returning here. */
  stored?: StoredNotice;
  /** The review parts of the casebook (status, signatures, locks, verification), drawn after the subject's line. */
  review?: Child;
  /** Whether the reader may sign (a visit's row then offers it). */
  canSign?: boolean;
  /** The subject's queries section. */
  queries?: Child;
}) {
  const { definition, subject, view, canWrite } = props;
  const base = `/studies/${definition.study.id}/subjects/${subject.id}`;
  const arm = definition.study.arms.find((a) => a.id === subject.arm)?.label ?? subject.arm;
  const { dayOne } = definition.study;
  const dayOneEvent =
    dayOne && (definition.study.events.find((e) => e.id === dayOne.event)?.label ?? dayOne.event);
  const dayOneForm = dayOne && definition.instruments[dayOne.form];
  return (
    <>
      <p>
        <a href={`/studies/${definition.study.id}`}>← Dashboard</a> ·{" "}
        <a href={`${base}/audit`}>Audit trail</a> · <a href={`${base}/casebook/print`}>Printable casebook</a>
      </p>
      <h1>Subject {subject.id}</h1>
      <StoredNoticeView notice={props.stored} />
      <p>
        {arm} · {subject.site} · enrolled <DateText>{utcTime(subject.enrolledAt)}</DateText> by{" "}
        {subject.enrolledBy} ·{" "}
        {!dayOne ? (
          "no study day 1: this protocol has no visit windows"
        ) : view.dayOne ? (
          <>
            day 1 is{" "}
            <strong>
              <DateText>{view.dayOne}</DateText>
            </strong>
          </>
        ) : (
          <>
            day 1 not yet known (it is the {dayOneForm?.properties[dayOne.field]?.title ?? dayOne.field} of{" "}
            {dayOneForm?.title ?? dayOne.form} at {dayOneEvent}); target dates appear once it is entered
          </>
        )}
      </p>
      {props.review}
      <h2>Schedule</h2>
      <ScrollRegion label="Schedule">
        <table>
          <thead>
            <tr>
              <th scope="col">Visit</th>
              <th scope="col">Target</th>
              <th scope="col">Window</th>
              <th scope="col">Forms</th>
            </tr>
          </thead>
          <tbody>
            {view.events.map((row) => (
              <tr id={`event-${row.event.id}`} data-event={row.event.id}>
                <th scope="row">
                  {row.event.label}
                  {row.timing && <span class={`badge t-${row.timing}`}>{TIMING_LABEL[row.timing]}</span>}
                  {row.progress.total > 0 && (
                    <p class="progress" data-progress>
                      {progressText(row.progress)}
                    </p>
                  )}
                  {row.deviations.map((d) => (
                    <p class="theirs">{d}</p>
                  ))}
                  {props.canSign && row.forms.some((f) => f.rev > 0) && (
                    <p>
                      <a href={`${base}/sign?event=${encodeURIComponent(row.event.id)}`}>Sign visit…</a>
                    </p>
                  )}
                </th>
                <td>
                  {row.window?.target ? (
                    <DateText>{row.window.target}</DateText>
                  ) : row.event.day === undefined ? (
                    "any time"
                  ) : !dayOne ? (
                    `day ${row.event.day}`
                  ) : (
                    "—"
                  )}
                </td>
                <td>
                  {row.window ? (
                    <>
                      <DateText>{row.window.earliest}</DateText> – <DateText>{row.window.latest}</DateText>
                    </>
                  ) : (
                    "—"
                  )}
                </td>
                <td>
                  {row.forms.map((f) => (
                    <div class={f.enteredInError ? "in-error" : undefined}>
                      <a
                        href={`${base}/events/${row.event.id}/forms/${f.form}${f.numbered ? `/instances/${f.instance}` : ""}`}
                      >
                        {f.title}
                        {f.numbered ? ` #${f.instance}` : ""}
                      </a>{" "}
                      <small>
                        <Status status={f.status} />
                      </small>
                      {f.enteredInError && (
                        <EnteredInErrorLabel
                          href={`${base}/events/${row.event.id}/forms/${f.form}/instances/${f.instance}#restore`}
                        />
                      )}
                    </div>
                  ))}
                  {canWrite &&
                    !row.event.repeatable &&
                    (row.event.repeatingForms ?? [])
                      .filter((form) => row.eventForms.includes(form))
                      .map((form) => (
                        <a
                          class="button secondary"
                          data-add-instance={form}
                          href={`${base}/events/${row.event.id}/forms/${form}/instances/${Math.max(0, ...row.forms.filter((f) => f.form === form && f.rev > 0).map((f) => f.instance)) + 1}`}
                        >
                          Add another {(definition.instruments[form]?.title ?? form).toLowerCase()}
                        </a>
                      ))}
                  {row.event.repeatable && canWrite && row.eventForms[0] && (
                    <a
                      class="button secondary"
                      href={`${base}/events/${row.event.id}/forms/${row.eventForms[0]}/instances/${Math.max(0, ...row.instances) + 1}`}
                    >
                      Add{" "}
                      {/\bvisit$/i.test(row.event.label)
                        ? row.event.label.toLowerCase()
                        : `${row.event.label.toLowerCase()} visit`}
                    </a>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </ScrollRegion>
      {view.logs.map((log) => {
        const instrument = definition.instruments[log.form];
        const shown = Object.entries(instrument?.properties ?? {}).slice(0, 3);
        const next = Math.max(0, ...log.instances.map((i) => i.instance)) + 1;
        return (
          <section data-log={log.form} id={`log-${log.form}`}>
            <h2>{log.title}</h2>
            {log.instances.length === 0 ? (
              <p>None recorded.</p>
            ) : (
              <ScrollRegion label={log.title}>
                <table>
                  <thead>
                    <tr>
                      <th scope="col">#</th>
                      {shown.map(([, s]) => (
                        <th scope="col">{s.title}</th>
                      ))}
                      <th scope="col">Status</th>
                    </tr>
                  </thead>
                  <tbody>
                    {log.instances.map((i) => (
                      <tr class={i.enteredInError ? "in-error" : undefined}>
                        <td>
                          <a href={`${base}/events/${LOGS_EVENT}/forms/${log.form}/instances/${i.instance}`}>
                            {i.instance}
                          </a>
                        </td>
                        {shown.map(([name, s]) => (
                          <td>{displayValue(s, i.data[name])}</td>
                        ))}
                        <td>
                          <Status status={i.status} />
                          {i.enteredInError && (
                            <EnteredInErrorLabel
                              href={`${base}/events/${LOGS_EVENT}/forms/${log.form}/instances/${i.instance}#restore`}
                            />
                          )}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </ScrollRegion>
            )}
            {canWrite && (
              <p>
                <a
                  class="button secondary"
                  href={`${base}/events/${LOGS_EVENT}/forms/${log.form}/instances/${next}`}
                >
                  Add {log.title.toLowerCase()}
                </a>
              </p>
            )}
          </section>
        );
      })}
      {props.queries}
    </>
  );
}
