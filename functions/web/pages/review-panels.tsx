import type { Instrument } from "../../engine/definition.ts";
import type { ActiveLock } from "../../engine/locks.ts";
import type { ReviewTarget } from "../../engine/review.ts";
import { type FieldSdv, type Progress, progressOf, type SdvStatus, statusOf } from "../../engine/sdv.ts";
import type { LockHeld } from "../../store/save-form-instance.ts";
import { utcTime } from "../display-time.ts";

const SCOPE_WORDS = {
  study: "the study is frozen",
  subject: "the casebook is locked",
  visit: "the visit is locked",
  form: "this form is locked",
} as const;

/** The hidden inputs naming a lock target in a page's post (`_scope` says how wide). */
function TargetInputs(props: { scope: "subject" | "visit" | "form"; target: ReviewTarget }) {
  const { scope, target } = props;
  return (
    <>
      <input type="hidden" name="_scope" value={scope} />
      {scope !== "subject" && <input type="hidden" name="_event" value={target.event ?? ""} />}
      {scope === "form" && <input type="hidden" name="_form" value={target.form ?? ""} />}
      {target.instance !== undefined && scope !== "subject" && (
        <input
          type="hidden"
          name={scope === "visit" ? "_visitInstance" : "_instance"}
          value={String(target.instance)}
        />
      )}
    </>
  );
}

/**
 * A form's lock: read only, who locked what when, and (for those who lock)
 * the unlock form with its reason, or the buttons that lock the form, its
 * visit or the whole casebook.
 */
export function LockPanel(props: {
  held: LockHeld | undefined;
  canLock: boolean;
  csrf: string;
  /** `/studies/:study/subjects/:subject`: where lock and unlock post. */
  subjectPath: string;
  /** The form instance shown, and its visit (with the visit's instance for a repeatable visit). */
  form: ReviewTarget;
  visit: ReviewTarget;
}) {
  const { held, canLock, csrf, subjectPath } = props;
  if (held) {
    const scope = held.scope;
    return (
      <div class="notice warn" role="status" data-locked={scope}>
        <p>
          <strong>Locked</strong>: {SCOPE_WORDS[scope]} (by {held.lock.by}, {utcTime(held.lock.at)})
          {held.lock.reason ? `: ${held.lock.reason}` : ""}. Nothing in it can change until it is unlocked.
        </p>
        {canLock && scope !== "study" && (
          <form method="post" action={`${subjectPath}/unlock`} data-unlock>
            <input type="hidden" name="_csrf" value={csrf} />
            <TargetInputs scope={scope} target={held.lock.target} />
            <label for="f-unlock-reason">Reason for unlocking</label>
            <input id="f-unlock-reason" name="_reason" type="text" class="wide" required />
            <div class="actions">
              <button type="submit" class="secondary">
                Unlock {scope === "subject" ? "the casebook" : `the ${scope}`}
              </button>
            </div>
          </form>
        )}
      </div>
    );
  }
  if (!canLock) return null;
  return (
    <form method="post" action={`${subjectPath}/locks`} class="actions" data-lock>
      <input type="hidden" name="_csrf" value={csrf} />
      <input type="hidden" name="_event" value={props.form.event ?? ""} />
      <input type="hidden" name="_form" value={props.form.form ?? ""} />
      <input type="hidden" name="_instance" value={String(props.form.instance ?? 1)} />
      {props.visit.instance !== undefined && (
        <input type="hidden" name="_visitInstance" value={String(props.visit.instance)} />
      )}
      <button type="submit" name="_scope" value="form" class="secondary">
        Lock this form
      </button>
      <button type="submit" name="_scope" value="visit" class="secondary">
        Lock this visit
      </button>
      <button type="submit" name="_scope" value="subject" class="secondary">
        Lock the casebook
      </button>
    </form>
  );
}

export const SDV_LABEL: Record<SdvStatus, string> = {
  "not-required": "not required",
  "to-verify": "to verify",
  verified: "verified",
  "needs-reverification": "needs re-verification",
};

/**
 * Source data verification of one form: each field's mark (who verified it
 * when, or which revision changed it since) and, for those who verify, a
 * Verify button per field and for the whole form.
 */
export function SdvPanel(props: {
  instrument: Instrument;
  fields: FieldSdv[];
  canVerify: boolean;
  csrf: string;
  /** The instance's path: verification posts to `<path>/verify`. */
  path: string;
}) {
  const { instrument, fields, canVerify, csrf, path } = props;
  const shown = fields.filter((f) => f.required || f.mark);
  if (shown.length === 0) return null;
  const status = statusOf(progressOf(fields));
  const progress = progressOf(fields);
  return (
    <details class="sdv" open={canVerify || status === "needs-reverification"} data-sdv-status={status}>
      <summary>
        Source data verification: {SDV_LABEL[status]} ({progress.verified}/{progress.required} fields)
      </summary>
      <table>
        <tbody>
          {shown.map((f) => (
            <tr data-sdv-field={f.field} data-sdv={f.status}>
              <th scope="row">{instrument.properties[f.field]?.title ?? f.field}</th>
              <td>
                {f.status === "verified" && f.mark && (
                  <>
                    ✓ verified by {f.mark.by}, {utcTime(f.mark.at)}
                  </>
                )}
                {f.status === "needs-reverification" && (
                  <strong>
                    needs re-verification
                    {f.changedBy
                      ? `: changed in revision ${f.changedBy.rev} by ${f.changedBy.by}, ${utcTime(f.changedBy.at)}`
                      : ""}
                    {f.mark ? ` (verified by ${f.mark.by}, ${utcTime(f.mark.at)})` : ""}
                  </strong>
                )}
                {f.status === "to-verify" && "to verify"}
                {f.status === "not-required" && "not required"}
              </td>
              {canVerify && (
                <td>
                  {f.status !== "verified" && (
                    <form method="post" action={`${path}/verify`}>
                      <input type="hidden" name="_csrf" value={csrf} />
                      <input type="hidden" name="_field" value={f.field} />
                      <button type="submit" class="secondary" data-verify>
                        Verify
                      </button>
                    </form>
                  )}
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      {canVerify && (
        <form method="post" action={`${path}/verify`} class="actions">
          <input type="hidden" name="_csrf" value={csrf} />
          <button type="submit" data-verify>
            Verify the whole form
          </button>
        </form>
      )}
    </details>
  );
}

/**
 * The subject page's review summary: verification progress, the locks in
 * force (each with its unlock form for those who lock), and the buttons that
 * lock a visit or the whole casebook.
 */
export function SubjectReview(props: {
  subjectPath: string;
  csrf: string;
  canLock: boolean;
  frozen?: ActiveLock;
  locks: ActiveLock[];
  /** Visits of the subject's schedule, by id and label. */
  visits: { id: string; label: string }[];
  sdv: Progress;
}) {
  const { subjectPath, csrf, canLock, locks, sdv } = props;
  const casebookLocked = locks.some((l) => l.target.event === undefined);
  return (
    <section aria-label="Review" class="review">
      {sdv.required > 0 && (
        <p data-sdv-progress>
          Source data verification: {sdv.verified}/{sdv.required} fields verified
          {sdv.reverify > 0 && <strong> · {sdv.reverify} changed since verified</strong>}
        </p>
      )}
      {props.frozen && (
        <p class="notice warn" role="status">
          <strong>The study is frozen</strong> (by {props.frozen.by}, {utcTime(props.frozen.at)}): nothing can
          change.
        </p>
      )}
      {locks.length > 0 && (
        <ul class="locks">
          {locks.map((l) => {
            const scope =
              l.target.event === undefined ? "subject" : l.target.form === undefined ? "visit" : "form";
            return (
              <li data-lock={scope}>
                Locked: {targetText(l.target)} (by {l.by}, {utcTime(l.at)})
                {canLock && (
                  <form method="post" action={`${subjectPath}/unlock`} class="inline">
                    <input type="hidden" name="_csrf" value={csrf} />
                    <TargetInputs scope={scope} target={l.target} />
                    <label>
                      Reason <input name="_reason" type="text" required />
                    </label>{" "}
                    <button type="submit" class="secondary">
                      Unlock
                    </button>
                  </form>
                )}
              </li>
            );
          })}
        </ul>
      )}
      {canLock && !casebookLocked && (
        <form method="post" action={`${subjectPath}/locks`} class="actions" data-lock>
          <input type="hidden" name="_csrf" value={csrf} />
          <label>
            Visit{" "}
            <select name="_event">
              {props.visits.map((v) => (
                <option value={v.id}>{v.label}</option>
              ))}
            </select>
          </label>{" "}
          <button type="submit" name="_scope" value="visit" class="secondary">
            Lock this visit
          </button>{" "}
          <button type="submit" name="_scope" value="subject" class="secondary">
            Lock the casebook
          </button>
        </form>
      )}
    </section>
  );
}

function targetText(target: ReviewTarget): string {
  if (target.event === undefined) return "the casebook";
  if (target.form === undefined)
    return `visit ${target.event}${target.instance !== undefined ? ` #${target.instance}` : ""}`;
  return `${target.form} #${target.instance ?? 1} at ${target.event}`;
}
