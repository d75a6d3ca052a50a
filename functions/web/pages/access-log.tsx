import type { AccessLogView } from "../../http/access-log.ts";
import { utcTime } from "../display-time.ts";
import { ScrollRegion } from "../scroll-region.tsx";

export interface AccessLogFilter {
  action?: string;
  person?: string;
}

/** A detail value as one line: lists joined, objects as compact JSON. */
function detailText(value: unknown): string {
  if (Array.isArray(value) && value.every((v) => typeof v !== "object")) return value.join(", ");
  if (value !== null && typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function Details(props: { details: Record<string, unknown> }) {
  const entries = Object.entries(props.details);
  if (entries.length === 0) return <span>—</span>;
  return (
    <dl class="details">
      {entries.map(([name, value]) => (
        <>
          <dt>{name}</dt>
          <dd>{detailText(value)}</dd>
        </>
      ))}
    </dl>
  );
}

/** The access log, newest first: a filter form, one page of entries, and the way to older ones. */
export function AccessLogPage(props: {
  base: string;
  actions: readonly string[];
  filter: AccessLogFilter;
  entries: AccessLogView[];
  olderHref?: string;
}) {
  const { base, actions, filter, entries, olderHref } = props;
  return (
    <>
      <h1>Access log</h1>
      <p>
        Sign-ins, sign-outs, exports, change-feed pulls, grants and publishes at this study, each with the
        server's time and where the request came from. Entries are chained and sealed: the audit check reports
        any that were changed or removed.
      </p>
      <form method="get" action={base} class="card">
        <div class="field">
          <label for="f-action">Action</label>
          <select id="f-action" name="action">
            <option value="">Any</option>
            {actions.map((a) => (
              <option value={a} selected={filter.action === a}>
                {a}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="f-person">Person (email, name, key user or person id)</label>
          <input id="f-person" name="person" type="text" value={filter.person ?? ""} />
        </div>
        <button type="submit">Filter</button>
      </form>
      <ScrollRegion label="Access log entries">
        <table>
          <caption>
            {entries.length === 0
              ? "No entries match."
              : `Entries ${entries[0]?.seq} to ${entries.at(-1)?.seq}, newest first`}
          </caption>
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">Time</th>
              <th scope="col">Who</th>
              <th scope="col">Action</th>
              <th scope="col">Details</th>
              <th scope="col">From</th>
            </tr>
          </thead>
          <tbody>
            {entries.map((e) => (
              <tr data-seq={String(e.seq)}>
                <th scope="row">{e.seq}</th>
                <td>{utcTime(e.at)}</td>
                <td>
                  {e.actor}
                  {e.person && (
                    <>
                      {" "}
                      <code>{e.person}</code>
                    </>
                  )}
                </td>
                <td>{e.action}</td>
                <td>
                  <Details details={e.details} />
                </td>
                <td>
                  {e.ip ?? "—"}
                  {e.userAgent && <div class="muted">{e.userAgent}</div>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </ScrollRegion>
      {olderHref && (
        <p>
          <a href={olderHref}>Older entries</a>
        </p>
      )}
    </>
  );
}
