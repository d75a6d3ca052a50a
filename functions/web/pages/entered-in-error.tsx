import type { Revision } from "../../store/form-instances.ts";

/**
 * The "entered in error" part of a form page: for an instance so marked, who
 * marked it, why, and a restore form; for a saved log instance or unscheduled
 * visit, the form that marks it. Both ask for a reason (kept in the audit).
 */
export function EnteredInErrorPanel(props: {
  current?: Revision;
  /** Where the form posts: the instance's path; absent when the instance cannot be marked. */
  path?: string;
  canWrite: boolean;
  csrf: string;
}) {
  const { current, path, canWrite, csrf } = props;
  if (!current || !path) return null;
  if (current.enteredInError) {
    return (
      <div class="notice warn" role="status" id="restore">
        <p>
          <strong>Entered in error</strong> — marked by {current.committedBy} on{" "}
          {current.committedAt.replace("T", " ").slice(0, 16)} UTC. Reason: {current.reason}
        </p>
        <p>Its data is kept and audited, but left out of exports and calculations, and cannot be changed.</p>
        {canWrite && (
          <ReasonForm path={`${path}/restore`} csrf={csrf} rev={current.rev} id="restore" button="Restore" />
        )}
      </div>
    );
  }
  if (!canWrite) return null;
  return (
    <details class="in-error-mark">
      <summary>Mark as entered in error…</summary>
      <p class="help">
        For an instance created by mistake. It stays in the audit trail, is left out of exports, and can be
        restored.
      </p>
      <ReasonForm
        path={`${path}/entered-in-error`}
        csrf={csrf}
        rev={current.rev}
        id="mark"
        button="Mark as entered in error"
      />
    </details>
  );
}

function ReasonForm(props: { path: string; csrf: string; rev: number; id: string; button: string }) {
  return (
    <form method="post" action={props.path}>
      <input type="hidden" name="_csrf" value={props.csrf} />
      <input type="hidden" name="_rev" value={String(props.rev)} />
      <label for={`f-${props.id}-reason`}>Reason</label>
      <input id={`f-${props.id}-reason`} name="_reason" type="text" class="wide" required />
      <div class="actions">
        <button type="submit" class="secondary">
          {props.button}
        </button>
      </div>
    </form>
  );
}

/** Beside an instance entered in error on the subject page: the words (not only the strike-through) and the way back. */
export function EnteredInErrorLabel(props: { href: string }) {
  return (
    <>
      {" "}
      <span class="badge in-error-label">Entered in error</span>{" "}
      <a class="restore" href={props.href}>
        Restore…
      </a>
    </>
  );
}
