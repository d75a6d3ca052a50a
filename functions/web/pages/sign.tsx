import type { CoveredRevision } from "../../engine/review.ts";
import { utcTime } from "../display-time.ts";

/**
 * The signature page: what will be signed (each form instance at its
 * revision), the meaning, and the printed name. Without a fresh
 * re-authentication it offers only the way to the identity provider; with
 * one, the confirmation and the button.
 */
export function SignPage(props: {
  backHref: string;
  what: string;
  rows: { label: string; status: string; covered: CoveredRevision }[];
  meaning: string;
  name: string;
  csrf: string;
  /** A re-authentication this session may use now (epoch ms), if any. */
  authenticatedAt?: number;
  reauthenticateHref: string;
  fingerprint: string;
  window: string;
  error?: string;
  /** Signed in with an API key: nobody can re-authenticate, so nobody can sign. */
  byKey?: boolean;
}) {
  return (
    <>
      <p>
        <a href={props.backHref}>← Back</a>
      </p>
      <h1>Sign {props.what}</h1>
      {props.error && (
        <div class="notice bad" role="alert">
          {props.error}
        </div>
      )}
      <p>
        You are signing these forms as they stand now; any later change to them invalidates the signature.
      </p>
      <ul data-covers>
        {props.rows.map((r) => (
          <li>
            {r.label} — {r.status}, revision {r.covered.rev}
          </li>
        ))}
      </ul>
      <p>
        Meaning: <strong data-meaning>{props.meaning}</strong>
      </p>
      <p>
        Printed name: <strong data-name>{props.name}</strong>
      </p>
      {props.byKey ? (
        <p class="notice warn" role="status">
          You are signed in with an API key. A signature needs a person who authenticates again at the
          identity provider when signing, which a key cannot do: sign in as yourself to sign.
        </p>
      ) : props.authenticatedAt === undefined ? (
        <>
          <p>
            A signature needs you to enter your password again at the identity provider now. Afterwards you
            have {props.window} to sign.
          </p>
          <p>
            <a class="button" href={props.reauthenticateHref}>
              Authenticate again to sign
            </a>
          </p>
        </>
      ) : (
        <form method="post">
          <input type="hidden" name="_csrf" value={props.csrf} />
          <input type="hidden" name="covers" value={props.fingerprint} />
          <p class="help">Authenticated again at {utcTime(new Date(props.authenticatedAt).toISOString())}.</p>
          <p>
            <input id="f-confirm" type="checkbox" name="confirm" value="yes" required />{" "}
            <label for="f-confirm">
              I, {props.name}, sign {props.what}. {props.meaning}
            </label>
          </p>
          <div class="actions">
            <button type="submit">Sign</button>
          </div>
        </form>
      )}
    </>
  );
}
