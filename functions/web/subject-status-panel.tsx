import { SUBJECT_STATUSES } from "../engine/review.ts";
import { STATUS_LABEL, type StatusRecord, TRANSITIONS } from "../engine/subject-status.ts";
import { utcTime } from "./display-time.ts";
import { DateText } from "./status-mark.tsx";

/**
 * The subject's status on its page, and for those who may change it, the
 * form: the statuses it may go to next (any, before a first one is
 * recorded), a date and a reason (required for a withdrawal, and to reopen).
 */
export function SubjectStatusPanel(props: {
  action: string;
  current: StatusRecord;
  canChange: boolean;
  csrf: string;
  today: string;
  error?: string;
  values?: { status?: string; date?: string; reason?: string };
}) {
  const { current, values } = props;
  const choices = current.seq === undefined ? SUBJECT_STATUSES : TRANSITIONS[current.status];
  return (
    <section id="status" aria-labelledby="status-heading">
      <h2 id="status-heading">Status</h2>
      <p>
        <strong data-subject-status={current.status}>{STATUS_LABEL[current.status]}</strong>
        {current.date && (
          <>
            {" "}
            since <DateText>{current.date}</DateText>
          </>
        )}
        {current.at && (
          <small>
            {" "}
            (recorded {utcTime(current.at)} by {current.by})
          </small>
        )}
        {current.reason && <> · Reason: {current.reason}</>}
      </p>
      {props.error && (
        <div class="notice bad" role="alert">
          {props.error}
        </div>
      )}
      {props.canChange && choices.length > 0 && (
        <details open={props.error !== undefined}>
          <summary>Change status…</summary>
          <form method="post" action={props.action}>
            <input type="hidden" name="_csrf" value={props.csrf} />
            <label for="f-status">New status</label>
            <select id="f-status" name="status" required>
              {choices.map((s) => (
                <option value={s} selected={values?.status === s}>
                  {STATUS_LABEL[s]}
                </option>
              ))}
            </select>
            <label for="f-status-date">Date (YYYY-MM-DD; required for a withdrawal)</label>
            <input
              id="f-status-date"
              name="date"
              type="text"
              inputmode="numeric"
              value={values?.date ?? ""}
              placeholder={props.today}
            />
            <label for="f-status-reason">
              Reason (required for a withdrawal, and to go back to screened or enrolled)
            </label>
            <input id="f-status-reason" name="reason" type="text" class="wide" value={values?.reason ?? ""} />
            <div class="actions">
              <button type="submit" class="secondary">
                Record status
              </button>
            </div>
          </form>
        </details>
      )}
    </section>
  );
}
