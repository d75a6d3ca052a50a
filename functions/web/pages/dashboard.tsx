import type { EventDef, StudyDefinition } from "../../engine/definition.ts";
import type { Progress } from "../../engine/sdv.ts";
import { STATUS_LABEL as SUBJECT_STATUS_LABEL } from "../../engine/subject-status.ts";
import { type EventRow, STATUS_LABEL, TIMING_LABEL } from "../casebook-view.ts";
import {
  type DashboardQuery,
  type DashboardSelection,
  dashboardHref,
  STATUS_FILTERS,
  TIMING_FILTERS,
} from "../dashboard-query.ts";

/**
 * REDCap's record status dashboard: one page of the caller's subjects × visit
 * types (site, then subject id), filtered and paged on the server. Per-form detail that is the same
 * for every row (form names) is said once, in the column header; a cell
 * carries only its statuses.
 */
export function Dashboard(props: {
  definition: StudyDefinition;
  selection: DashboardSelection;
  query: DashboardQuery;
  /** Sites the caller can see. */
  sites: string[];
  canEnrol: boolean;
  canBuild: boolean;
  canExport: boolean;
  /** Whether the caller may ask for verification progress (a link turns it on or off). */
  canShowSdv?: boolean;
  today: string;
  /** Source data verification progress per site, for those who see it (then each row has its own). */
  sdvBySite?: Map<string, Progress>;
}) {
  const { definition, selection, query, sites, canEnrol, canBuild, canExport, today } = props;
  const base = `/studies/${definition.study.id}`;
  const { rows, first, overdue } = selection;
  const scope = { site: query.site, arm: query.arm, q: query.q };
  return (
    <>
      <h1>Record status dashboard</h1>
      <p>
        today {today}
        {" · "}
        {overdue.visits > 0 ? (
          <a class="t-overdue" href={dashboardHref(base, { ...scope, timing: "overdue" })}>
            {overdue.visits} overdue visit{overdue.visits === 1 ? "" : "s"}
          </a>
        ) : (
          "no overdue visits"
        )}
        {overdue.subjects > 0 && ` (${overdue.subjects} subject${overdue.subjects === 1 ? "" : "s"})`} on this
        page
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
        {props.canShowSdv && (
          <>
            {" "}
            ·{" "}
            <a
              href={dashboardHref(base, {
                ...scope,
                timing: query.timing,
                status: query.status,
                sdv: !query.sdv,
              })}
            >
              {query.sdv ? "Hide verification progress" : "Show verification progress"}
            </a>
          </>
        )}
      </p>
      <Filters definition={definition} query={query} sites={sites} base={base} />
      <p class="legend">
        Each visit: forms complete / the visit's forms (named in the column heading), shaded by its least
        advanced saved form:{" "}
        {(["incomplete", "unverified", "complete"] as const).map((k) => (
          <>
            <span class={`key v-${k}`}>{STATUS_LABEL[k]}</span>{" "}
          </>
        ))}
        · <span class="badge t-due">due</span> <span class="badge t-overdue">overdue</span>{" "}
        <span class="badge t-out-of-window">out of window</span>
      </p>
      <p>
        {rows.length === 0
          ? first === 1
            ? "No subjects match"
            : "No more subjects match"
          : `Subjects ${first}–${first + rows.length - 1}${selection.next ? ", more on the next page" : ""}`}
      </p>
      <Pager base={base} query={query} next={selection.next} previous={selection.previous} />
      <section class="dash-scroll" tabindex={0} aria-label="Subjects by visit">
        <table class="dashboard">
          <caption class="visually-hidden">Subjects by visit</caption>
          <thead>
            <tr>
              <th scope="col">Subject</th>
              {props.sdvBySite && (
                <th scope="col" title="Fields verified against source / fields that need it">
                  SDV
                </th>
              )}
              {definition.study.events.map((e) => (
                <th scope="col" title={`${e.label}: ${formTitles(definition, e)}`}>
                  {e.id}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map(({ subject, view, status, sdv }) => (
              <tr data-subject={subject.id}>
                <th scope="row">
                  <a href={`${base}/subjects/${subject.id}`}>{subject.id}</a>{" "}
                  <small>
                    {subject.site} · {subject.arm}
                    {status && status !== "enrolled" && (
                      <span data-status={status}> · {SUBJECT_STATUS_LABEL[status]}</span>
                    )}
                  </small>
                </th>
                {props.sdvBySite && (
                  <td data-sdv>
                    <SdvProgress progress={sdv} />
                  </td>
                )}
                {definition.study.events.map((e) => (
                  <VisitCell event={e} row={view.events.find((r) => r.event.id === e.id)} />
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      {/* Below the list, so the list keeps its place (and its scroll box) on every dashboard. */}
      {props.sdvBySite && <SdvBySite definition={definition} bySite={props.sdvBySite} />}
    </>
  );
}

/** "12/40 verified", and how many changed since they were verified. */
function SdvProgress(props: { progress: Progress | undefined }) {
  const p = props.progress;
  if (!p || p.required === 0) return <>—</>;
  return (
    <>
      {p.verified}/{p.required}
      {p.reverify > 0 && (
        <>
          {" "}
          <span class="badge t-overdue" title="Changed after verification">
            {p.reverify} to re-verify
          </span>
        </>
      )}
    </>
  );
}

function SdvBySite(props: { definition: StudyDefinition; bySite: Map<string, Progress> }) {
  const siteName = (id: string) => props.definition.study.sites.find((s) => s.id === id)?.name ?? id;
  return (
    <section aria-label="Source data verification by site">
      <h2>Source data verification, subjects on this page</h2>
      <table class="sdv-sites">
        <thead>
          <tr>
            <th scope="col">Site</th>
            <th scope="col">Verified / required fields</th>
            <th scope="col">Changed since verified</th>
          </tr>
        </thead>
        <tbody>
          {[...props.bySite].map(([site, p]) => (
            <tr data-site={site}>
              <th scope="row">{siteName(site)}</th>
              <td>
                {p.verified}/{p.required}
                {p.required > 0 && ` (${Math.floor((100 * p.verified) / p.required)}%)`}
              </td>
              <td>{p.reverify}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

const formTitles = (definition: StudyDefinition, e: EventDef) =>
  e.forms.map((f) => definition.instruments[f]?.title ?? f).join(", ");

/** The status a visit's cell is coloured by: the least advanced of the forms saved (none saved: not started). */
function cellStatus(row: EventRow): string | undefined {
  const saved = row.forms.filter((f) => !f.enteredInError && f.status !== "not_started");
  for (const status of ["incomplete", "unverified", "complete"] as const)
    if (saved.some((f) => f.status === status))
      return status === "complete" && saved.length < row.progress.total ? "incomplete" : status;
  return undefined;
}

/**
 * One visit of one subject, in a few bytes (a page is 50 rows of every visit): forms complete out of the
 * visit's forms, the cell coloured by the least advanced saved form, and a badge when the visit needs someone.
 * The subject's link is in the row's heading; the column heading names the visit and its forms.
 */
function VisitCell(props: { event: EventDef; row: EventRow | undefined }) {
  const { event, row } = props;
  if (!row) return <td>—</td>;
  const status = cellStatus(row);
  // The colour already shows a visit in progress; a badge is for a visit that needs someone.
  const late =
    row.timing === "due" || row.timing === "overdue" || row.timing === "out-of-window"
      ? row.timing
      : undefined;
  return (
    <td data-event={event.id} class={status && `v-${status}`}>
      {row.progress.total > 0 ? `${row.progress.complete}/${row.progress.total}` : "–"}
      {late && <b class={`t-${late}`}> {TIMING_LABEL[late]}</b>}
    </td>
  );
}

function Filters(props: {
  definition: StudyDefinition;
  query: DashboardQuery;
  sites: string[];
  base: string;
}) {
  const { definition, query, sites, base } = props;
  const siteName = (id: string) => definition.study.sites.find((s) => s.id === id)?.name ?? id;
  return (
    <form method="get" action={base} class="filters" aria-label="Filter subjects">
      <label>
        Subject id starts with <input type="text" name="q" value={query.q ?? ""} maxlength={64} />
      </label>
      {sites.length > 1 && (
        <label>
          Site{" "}
          <select name="site">
            <option value="">All sites</option>
            {sites.map((s) => (
              <option value={s} selected={query.site === s}>
                {siteName(s)}
              </option>
            ))}
          </select>
        </label>
      )}
      <label>
        Arm{" "}
        <select name="arm">
          <option value="">All arms</option>
          {definition.study.arms.map((a) => (
            <option value={a.id} selected={query.arm === a.id}>
              {a.label}
            </option>
          ))}
        </select>
      </label>
      <label>
        Visit{" "}
        <select name="timing">
          <option value="">Any</option>
          {TIMING_FILTERS.map((t) => (
            <option value={t} selected={query.timing === t}>
              {TIMING_LABEL[t]}
            </option>
          ))}
        </select>
      </label>
      <label>
        A form{" "}
        <select name="status">
          <option value="">Any status</option>
          {STATUS_FILTERS.map((s) => (
            <option value={s} selected={query.status === s}>
              {STATUS_LABEL[s]}
            </option>
          ))}
        </select>
      </label>
      <button type="submit">Show</button> <a href={base}>Clear</a>
    </form>
  );
}

/** Both ways (a page is a Query from a cursor, forwards or backwards): first, previous and next page. */
function Pager(props: { base: string; query: DashboardQuery; next?: string; previous?: string }) {
  const { base, query, next, previous } = props;
  if (!next && !previous && !query.after) return null;
  const { after: _after, ...filters } = query;
  return (
    <nav class="pager" aria-label="Pages">
      {query.after && (
        <a rel="first" href={dashboardHref(base, filters)}>
          First page
        </a>
      )}{" "}
      {previous && (
        <a rel="prev" href={dashboardHref(base, { ...filters, after: previous })}>
          Previous page
        </a>
      )}{" "}
      {next && (
        <a rel="next" href={dashboardHref(base, { ...filters, after: next })}>
          Next page
        </a>
      )}
    </nav>
  );
}
