import type { Instrument } from "../engine/definition.ts";
import type { AuditTrailEntry } from "../http/audit-trail.ts";
import { STATUS_LABEL } from "./casebook-view.ts";
import { displayValue } from "./form-values.ts";

/** A form status in words; "new" before the first save. */
export const statusLabel = (status: string | null | undefined) =>
  status ? (STATUS_LABEL[status as keyof typeof STATUS_LABEL] ?? status) : "new";

/** The audit table's header, the same on the audit page and the printed casebook. */
export function AuditHead() {
  return (
    <thead>
      <tr>
        <th scope="col">When</th>
        <th scope="col">Who</th>
        <th scope="col">Form</th>
        <th scope="col">Changes (old → new)</th>
        <th scope="col">Status</th>
        <th scope="col">Reason</th>
      </tr>
    </thead>
  );
}

/** An audit row's last cells, the same on the audit page and the printed casebook: old → new, status, reason. */
export function AuditCells(props: { entry: AuditTrailEntry; instrument: Instrument | undefined }) {
  const { entry, instrument } = props;
  return (
    <>
      <td>
        {entry.changes.length === 0 ? (
          "—"
        ) : (
          <ul>
            {entry.changes.map((change) => {
              const schema = instrument?.properties[change.field];
              return (
                <li>
                  {schema?.title ?? change.field}: {displayValue(schema, change.old)} →{" "}
                  <strong>{displayValue(schema, change.new)}</strong>
                </li>
              );
            })}
          </ul>
        )}
      </td>
      <td>
        {entry.action === "enrol" ? "—" : `${statusLabel(entry.statusFrom)} → ${statusLabel(entry.status)}`}
      </td>
      <td>{entry.reason ?? "—"}</td>
    </>
  );
}
