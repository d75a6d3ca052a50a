import type { StudyDefinition } from "../engine/definition.ts";
import type { SignatureState } from "../engine/signatures.ts";
import { describeTarget } from "../http/signatures.ts";
import { utcTime } from "./display-time.ts";

/**
 * Signatures as the casebook and form pages show them: a valid one says who
 * signed, when and what it means; an invalidated one says so first, and
 * which change broke it (§11.50: name, time and meaning shown with the
 * signed record).
 */
export function SignatureList(props: {
  definition: StudyDefinition;
  states: readonly SignatureState[];
  /** Where to sign what the page shows, for those who may sign. */
  signHref?: string;
  signLabel?: string;
}) {
  const { definition, states } = props;
  if (states.length === 0 && !props.signHref) return null;
  return (
    <section id="signatures" aria-labelledby="signatures-heading">
      <h2 id="signatures-heading">Signatures</h2>
      {states.length === 0 && <p>Not signed.</p>}
      {states.length > 0 && (
        <ul class="signatures">
          {states.map((s) => (
            <li
              data-signature={s.entry.seq}
              data-valid={String(s.valid)}
              class={s.valid ? "signed" : "unsigned"}
            >
              {s.valid ? (
                <strong>
                  Signed by {s.entry.name} on {utcTime(s.entry.at)}: {s.entry.meaning}
                </strong>
              ) : (
                <strong class="t-overdue">
                  Signature invalidated by change on {utcTime(s.invalidatedBy?.at ?? s.entry.at)}
                </strong>
              )}{" "}
              <small>({describeTarget(definition, s.entry.target)})</small>
              {!s.valid && s.invalidatedBy && (
                <p class="help">
                  {s.invalidatedBy.kind === "added" ? "Added after signing: " : "Changed after signing: "}
                  {describeTarget(definition, s.invalidatedBy)}, revision {s.invalidatedBy.rev}, by{" "}
                  {s.invalidatedBy.by}. It was signed by {s.entry.name} on {utcTime(s.entry.at)}:{" "}
                  {s.entry.meaning}
                </p>
              )}
            </li>
          ))}
        </ul>
      )}
      {props.signHref && (
        <p>
          <a class="button secondary" href={props.signHref}>
            {props.signLabel ?? "Sign"}
          </a>
        </p>
      )}
    </section>
  );
}
