import type { StudyDefinition } from "../../engine/definition.ts";
import type { Subject } from "../../store/subjects.ts";
import { type CasebookView, progressText, STATUS_LABEL, statusText, TIMING_LABEL } from "../casebook-view.ts";
import { ScrollRegion } from "../scroll-region.tsx";

/** REDCap's record status dashboard: the caller's subjects × visit types, each cell the visit's form statuses and timing. */
export function Dashboard(props: {
  definition: StudyDefinition;
  rows: { subject: Subject; view: CasebookView }[];
  canEnrol: boolean;
  canBuild: boolean;
  canExport: boolean;
  today: string;
}) {
  const { definition, rows, canEnrol, canBuild, canExport, today } = props;
  const base = `/studies/${definition.study.id}`;
  return (
    <>
      <h1>Record status dashboard</h1>
      <p>
        {rows.length} subject{rows.length === 1 ? "" : "s"} · today {today}
        {canExport && (
          <>
            {" "}
            · <a href={`${base}/exports`}>Exports</a>
          </>
        )}
        {canBuild && (
          <>
            {" "}
            · <a href={`${base}/builder`}>Study builder</a>
          </>
        )}
        {canEnrol && (
          <>
            {" "}
            · <a href={`${base}/enrol`}>Enrol a subject</a>
          </>
        )}
      </p>
      <p class="legend">
        {Object.entries(STATUS_LABEL).map(([k, label]) => (
          <>
            <span class={`st st-${k}`} aria-hidden="true" /> {label}{" "}
          </>
        ))}
        · <span class="badge t-due">due</span> <span class="badge t-overdue">overdue</span>{" "}
        <span class="badge t-out-of-window">out of window</span>
      </p>
      <ScrollRegion label="Subjects by visit">
        <table class="dashboard">
          <caption class="visually-hidden">Subjects by visit</caption>
          <thead>
            <tr>
              <th scope="col">Subject</th>
              {definition.study.events.map((e) => (
                <th scope="col" title={e.label}>
                  {e.id}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map(({ subject, view }) => (
              <tr data-subject={subject.id}>
                <th scope="row">
                  <a href={`${base}/subjects/${subject.id}`}>{subject.id}</a>{" "}
                  <small>
                    {subject.site} · {subject.arm}
                  </small>
                </th>
                {definition.study.events.map((e) => {
                  const row = view.events.find((r) => r.event.id === e.id);
                  if (!row) return <td>—</td>;
                  return (
                    <td data-event={e.id} data-timing={row.timing}>
                      <a
                        href={`${base}/subjects/${subject.id}#event-${e.id}`}
                        aria-label={`${subject.id} ${e.label}: ${progressText(row.progress)}; ${row.forms.map((f) => statusText(f, e.repeatable)).join("; ")}`}
                      >
                        {row.forms.map((f) => (
                          <span
                            class={`st st-${f.status}`}
                            title={statusText(f, e.repeatable)}
                            aria-hidden="true"
                          />
                        ))}
                      </a>
                      {row.timing && row.timing !== "done" && row.timing !== "upcoming" && (
                        <span class={`badge t-${row.timing}`}>{TIMING_LABEL[row.timing]}</span>
                      )}
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
        </table>
      </ScrollRegion>
    </>
  );
}
