import { LOGS_EVENT, type StudyDefinition } from "../../engine/definition.ts";
import type { AuditTrailEntry } from "../../http/audit-trail.ts";
import type { Subject } from "../../store/subjects.ts";
import { AuditCells, AuditHead } from "../audit-cells.tsx";
import { utcTime } from "../display-time.ts";
import { ScrollRegion } from "../scroll-region.tsx";
import { DateText } from "../status-mark.tsx";

/** A subject's audit trail in the browser: who, when, which form and field, old → new, and the reason. */
export function AuditPage(props: {
  definition: StudyDefinition;
  subject: Subject;
  entries: AuditTrailEntry[];
}) {
  const { definition, subject, entries } = props;
  const base = `/studies/${definition.study.id}/subjects/${subject.id}`;
  const eventLabel = (id: string | undefined) =>
    id === LOGS_EVENT ? "Logs" : (definition.study.events.find((e) => e.id === id)?.label ?? id ?? "");
  // A form repeating at a one-off visit (repeatingForms) is told apart by its instance number, as a log is.
  const repeatsOnItsOwn = (event: string | undefined, form: string | undefined) =>
    form !== undefined &&
    definition.study.events.some((e) => e.id === event && e.repeatingForms?.includes(form) === true);
  return (
    <>
      <p>
        <a href={base}>← Subject {subject.id}</a>
      </p>
      <h1>Audit trail of subject {subject.id}</h1>
      <p class="help">Oldest first; times in UTC. Every save is kept, with its old and new values.</p>
      <ScrollRegion label="Audit trail">
        <table class="audit">
          <AuditHead />
          <tbody>
            {entries.map((entry) => {
              const instrument = entry.form ? definition.instruments[entry.form] : undefined;
              return (
                <tr>
                  <td>
                    <DateText>{utcTime(entry.at)}</DateText>
                  </td>
                  <td>{entry.by}</td>
                  <td>
                    {entry.action === "enrol" ? (
                      "Enrolled"
                    ) : (
                      <>
                        {instrument?.title ?? entry.form}
                        {instrument?.["x-repeating"] ||
                        entry.event === LOGS_EVENT ||
                        repeatsOnItsOwn(entry.event, entry.form)
                          ? ` #${entry.instance}`
                          : ""}{" "}
                        · {eventLabel(entry.event)} · revision {entry.rev}
                        {entry.action === "entered-in-error" && " · marked as entered in error"}
                        {entry.action === "restore" && " · restored (no longer entered in error)"}
                      </>
                    )}
                  </td>
                  <AuditCells entry={entry} instrument={instrument} />
                </tr>
              );
            })}
          </tbody>
        </table>
      </ScrollRegion>
    </>
  );
}
