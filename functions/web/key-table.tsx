import { parseDateText } from "../engine/date-text.ts";
import type { KeyListing } from "../http/tokens.ts";
import { ALL_SITES, type RoleGrant } from "../store/principal.ts";
import { DATE_HINT } from "./date-input.tsx";
import { ScrollRegion } from "./scroll-region.tsx";

/** Grants in words: `monitor at all sites; coordinator at site-01` (a key's scope, a person's roles). */
export const grantWords = (scope: RoleGrant[]) =>
  scope
    .map(
      (g) =>
        `${g.role.replace("_", " ")} at ${g.sites.includes(ALL_SITES) ? "all sites" : g.sites.join(", ")}`,
    )
    .join("; ");

/** The value of a key just made: shown once, with the warning that it will not be again. */
export function NewKey(props: { token: string; label: string }) {
  return (
    <p class="notice ok" role="status" data-new-token>
      Key for {props.label} — copy it now, it is not shown again: <code>{props.token}</code>
    </p>
  );
}

/** Keys as their owner or an admin sees them, each with a revoke button while it is live. */
export function KeyTable(props: {
  keys: KeyListing[];
  revokeBase: string;
  csrf: string;
  showOwner: boolean;
}) {
  return (
    <ScrollRegion label="API keys">
      <table>
        <thead>
          <tr>
            <th scope="col">Id</th>
            <th scope="col">For</th>
            {props.showOwner && <th scope="col">Owner</th>}
            <th scope="col">Roles</th>
            <th scope="col">Format</th>
            <th scope="col">Expires</th>
            <th scope="col">Last used</th>
            <th scope="col">State</th>
          </tr>
        </thead>
        <tbody>
          {props.keys.map((t) => (
            <tr data-token={t.id}>
              <td>
                <code>{t.id}</code>
              </td>
              <td>
                {t.user}
                {t.kind === "service" ? " (service)" : ""}
              </td>
              {props.showOwner && <td>{t.owner ?? "none (made before personal keys)"}</td>}
              <td>
                {grantWords(t.scope)}
                {t.deidentified ? " (de-identified)" : ""}
              </td>
              <td>{t.format === "redcap" ? "REDCap" : "edc_"}</td>
              <td>{t.expiresAt?.slice(0, 10) ?? "never (refused)"}</td>
              <td>{t.lastUsedOn ?? "never"}</td>
              <td>
                {t.revokedAt ? (
                  `revoked ${t.revokedAt.slice(0, 10)} by ${t.revokedBy}`
                ) : (
                  <form method="post" action={`${props.revokeBase}/${t.id}/revoke`}>
                    <input type="hidden" name="_csrf" value={props.csrf} />
                    <button type="submit" class="secondary" aria-label={`Revoke key ${t.id}`}>
                      Revoke
                    </button>
                  </form>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </ScrollRegion>
  );
}

/** The choices every new key takes, personal or service: expiry (required), format, de-identification. */
export function KeyOptions(props: { idPrefix: string }) {
  const expires = `${props.idPrefix}-expires`;
  const format = `${props.idPrefix}-format`;
  return (
    <>
      <div class="field">
        <label for={expires}>Expires on (within a year)</label>
        <span id={`${expires}-hint`} class="format-hint">
          {DATE_HINT}
        </span>
        <input id={expires} name="expires" type="text" required aria-describedby={`${expires}-hint`} />
      </div>
      <div class="field">
        <label for={format}>Format</label>
        <select id={format} name="format">
          <option value="edc">edc_… (this API)</option>
          <option value="redcap">REDCap (32 hexadecimal characters, for REDCapR and PyCap)</option>
        </select>
      </div>
      <label class="choice">
        <input type="checkbox" name="deidentified" value="true" /> Exports always de-identified
      </label>
    </>
  );
}

/** A typed day (ISO or with a month name: `engine/date-text.ts`), ending that day; anything else is left for the use case to refuse. */
export function endOfDay(value: unknown): string {
  if (typeof value !== "string") return "";
  const parsed = parseDateText(value);
  return parsed.ok ? `${parsed.value}T23:59:59.000Z` : "";
}
