import type { StudyDefinition } from "../../engine/definition.ts";
import type { Query, QueryMessage, QueryStats } from "../../engine/queries.ts";
import type { QueryState, ReviewTarget } from "../../engine/review.ts";
import { utcTime } from "../display-time.ts";
import { ScrollRegion } from "../scroll-region.tsx";

/** What the person may do to queries here (their role at the subject's site). */
export interface QueryRights {
  raise: boolean;
  answer: boolean;
  close: boolean;
}

const STATE_WORD: Record<QueryState, string> = { open: "Open", answered: "Answered", closed: "Closed" };
const ACTION_WORD: Record<QueryMessage["action"], string> = {
  "query-open": "opened",
  "query-answer": "answered",
  "query-close": "closed",
  "query-reopen": "reopened",
};

export function queryAnchor(id: string): string {
  return `query-${id}`;
}

/** Where a query is, in words: "EDSS total · EDSS · Screening", "Screening", "the subject". */
export function targetWords(definition: StudyDefinition, target: ReviewTarget): string {
  if (target.event === undefined) return "the subject";
  const event = definition.study.events.find((e) => e.id === target.event)?.label ?? target.event;
  if (target.form === undefined) return target.instance ? `${event} #${target.instance}` : event;
  const instrument = definition.instruments[target.form];
  const form = `${instrument?.title ?? target.form}${(target.instance ?? 1) > 1 ? ` #${target.instance}` : ""}`;
  if (target.field === undefined) return `${form} · ${event}`;
  return `${instrument?.properties[target.field]?.title ?? target.field} · ${form} · ${event}`;
}

/** The page that shows a query's target: its form, or the subject. */
export function targetHref(study: string, subject: string, target: ReviewTarget): string {
  const base = `/studies/${study}/subjects/${subject}`;
  if (target.event === undefined || target.form === undefined) return base;
  return `${base}/events/${target.event}/forms/${target.form}/instances/${target.instance ?? 1}`;
}

function StateBadge(props: { state: QueryState }) {
  return <span class={`badge q-${props.state}`}>{STATE_WORD[props.state]}</span>;
}

/**
 * Beside a field: its queries' states and latest words, each a link to the
 * thread below the form, and for someone who raises queries, a link that
 * opens the raise form on this field.
 */
export function FieldQueries(props: { queries: Query[]; raiseHref?: string }) {
  if (props.queries.length === 0 && !props.raiseHref) return null;
  return (
    <ul class="field-queries" data-field-queries>
      {props.queries.map((q) => (
        <li data-query={q.id}>
          <a href={`#${queryAnchor(q.id)}`}>Query</a> <StateBadge state={q.state} />{" "}
          {q.messages.at(-1)?.text ?? q.messages[0]?.text}
        </li>
      ))}
      {props.raiseHref && (
        <li>
          <a href={props.raiseHref} class="raise-query">
            Raise query
          </a>
        </li>
      )}
    </ul>
  );
}

function TextForm(props: {
  action: string;
  csrf: string;
  id: string;
  label: string;
  button: string;
  required: boolean;
}) {
  return (
    <form method="post" action={props.action} class="query-action">
      <input type="hidden" name="_csrf" value={props.csrf} />
      <label for={props.id}>{props.label}</label>
      <textarea id={props.id} name="text" rows={2} required={props.required} />
      <button type="submit" class="secondary">
        {props.button}
      </button>
    </form>
  );
}

/** One query: where, who, its messages, and the actions the person may take in its state. */
export function QueryThread(props: {
  definition: StudyDefinition;
  query: Query;
  rights: QueryRights;
  csrf: string;
}) {
  const { definition, query: q, rights, csrf } = props;
  const action = `/studies/${q.study}/subjects/${q.subject}/queries/${q.id}`;
  const id = (what: string) => `f-${q.id}-${what}`;
  return (
    <article class="card query" id={queryAnchor(q.id)} data-query={q.id} data-state={q.state}>
      <p>
        <StateBadge state={q.state} /> <strong>{targetWords(definition, q.target)}</strong>
        {q.assignee && (
          <>
            {" · for "}
            {[q.assignee.role?.replace("_", " "), q.assignee.person].filter(Boolean).join(", ")}
          </>
        )}
        {q.rule && <> · opened by the check {q.rule}</>}
      </p>
      <ol class="messages">
        {q.messages.map((m) => (
          <li>
            <span class="muted">
              {m.by} {ACTION_WORD[m.action]} · {utcTime(m.at)}
            </span>
            {m.text && <p>{m.text}</p>}
            {m.correction && (
              <p class="muted">
                Corrected the data: revision {m.correction.rev} of {m.correction.form}
              </p>
            )}
          </li>
        ))}
      </ol>
      {rights.answer && q.state === "open" && (
        <TextForm
          action={`${action}/answer`}
          csrf={csrf}
          id={id("answer")}
          label="Answer"
          button="Answer"
          required
        />
      )}
      {rights.close && q.state !== "closed" && (
        <TextForm
          action={`${action}/close`}
          csrf={csrf}
          id={id("close")}
          label="Closing note (optional)"
          button="Close query"
          required={false}
        />
      )}
      {rights.close && q.state !== "open" && (
        <TextForm
          action={`${action}/reopen`}
          csrf={csrf}
          id={id("reopen")}
          label="Why reopen"
          button="Reopen query"
          required
        />
      )}
    </article>
  );
}

/** A form that raises a query on the form (or one of its fields), the visit or the subject. */
export function RaiseQueryForm(props: {
  study: string;
  subject: string;
  csrf: string;
  /** The fixed part of the target: the form instance, or nothing (the subject page). */
  target: ReviewTarget;
  /** The choices of what exactly: value `""` is the target itself. */
  choices: { value: string; label: string }[];
  selected?: string;
}) {
  const { target } = props;
  return (
    <form
      method="post"
      action={`/studies/${props.study}/subjects/${props.subject}/queries`}
      class="card"
      id="raise-query"
    >
      <input type="hidden" name="_csrf" value={props.csrf} />
      {target.event !== undefined && <input type="hidden" name="event" value={target.event} />}
      {target.form !== undefined && <input type="hidden" name="form" value={target.form} />}
      {target.instance !== undefined && (
        <input type="hidden" name="instance" value={String(target.instance)} />
      )}
      <h3>Raise a query</h3>
      <div class="field">
        <label for="f-query-on">About</label>
        <select id="f-query-on" name="on">
          {props.choices.map((choice) => (
            <option value={choice.value} selected={choice.value === (props.selected ?? "")}>
              {choice.label}
            </option>
          ))}
        </select>
      </div>
      <div class="field">
        <label for="f-query-text">Question</label>
        {/* Opened from a field's "Raise query" link (a field chosen): the question is what comes next. */}
        <textarea
          id="f-query-text"
          name="text"
          rows={3}
          required
          class="wide"
          autofocus={props.selected !== undefined}
        />
      </div>
      <div class="field">
        <label for="f-query-assignee">For</label>
        <select id="f-query-assignee" name="assignee">
          <option value="">Anyone at the site</option>
          <option value="coordinator">Coordinator</option>
          <option value="investigator">Investigator</option>
        </select>
      </div>
      <button type="submit">Raise query</button>
    </form>
  );
}

/** The queries section of a form or subject page. */
export function QueriesSection(props: {
  definition: StudyDefinition;
  queries: Query[];
  rights: QueryRights;
  csrf: string;
  raise?: Parameters<typeof RaiseQueryForm>[0];
}) {
  const { queries } = props;
  return (
    <section id="queries" data-queries>
      <h2>Queries</h2>
      {queries.length === 0 && <p>No queries.</p>}
      {queries.map((q) => (
        <QueryThread definition={props.definition} query={q} rights={props.rights} csrf={props.csrf} />
      ))}
      {props.rights.raise && props.raise && <RaiseQueryForm {...props.raise} />}
    </section>
  );
}

export interface QueryListFilter {
  site?: string;
  state?: QueryState;
  form?: string;
  assignee?: string;
  minAgeDays?: number;
}

const days = (n: number | null) => (n === null ? "—" : `${n} d`);

/** The queries of the person's sites, with filters and age statistics. */
export function QueryListPage(props: {
  definition: StudyDefinition;
  base: string;
  sites: string[];
  filter: QueryListFilter;
  queries: (Query & { ageDays: number })[];
  stats: QueryStats;
}) {
  const { definition, filter, queries, stats } = props;
  return (
    <>
      <p>
        <a href={`/studies/${definition.study.id}`}>← Dashboard</a>
      </p>
      <h1>Queries</h1>
      <form method="get" action={props.base} class="card">
        <div class="field">
          <label for="f-site">Site</label>
          <select id="f-site" name="site">
            <option value="">All your sites</option>
            {props.sites.map((s) => (
              <option value={s} selected={filter.site === s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="f-state">State</label>
          <select id="f-state" name="state">
            <option value="">Any</option>
            {(["open", "answered", "closed"] as const).map((s) => (
              <option value={s} selected={filter.state === s}>
                {STATE_WORD[s]}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="f-form">Form</label>
          <select id="f-form" name="form">
            <option value="">Any</option>
            {Object.entries(definition.instruments).map(([id, instrument]) => (
              <option value={id} selected={filter.form === id}>
                {instrument.title}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="f-assignee">Assigned to (role or person id)</label>
          <input id="f-assignee" name="assignee" type="text" value={filter.assignee ?? ""} />
        </div>
        <div class="field">
          <label for="f-age">At least this many days old</label>
          <input
            id="f-age"
            name="minAgeDays"
            type="text"
            inputmode="decimal"
            value={filter.minAgeDays === undefined ? "" : String(filter.minAgeDays)}
          />
        </div>
        <button type="submit">Filter</button>
      </form>
      <dl class="details" data-query-stats>
        <dt>Open</dt>
        <dd data-stat="open">{stats.open}</dd>
        <dt>Answered</dt>
        <dd data-stat="answered">{stats.answered}</dd>
        <dt>Closed</dt>
        <dd data-stat="closed">{stats.closed}</dd>
        <dt>Median age (open and answered)</dt>
        <dd data-stat="median">{days(stats.medianAgeDays)}</dd>
        <dt>90th percentile age</dt>
        <dd data-stat="p90">{days(stats.p90AgeDays)}</dd>
      </dl>
      <ScrollRegion label="Queries">
        <table>
          <caption>
            {queries.length === 0
              ? "No queries match."
              : `${queries.length} ${queries.length === 1 ? "query" : "queries"}, oldest first`}
          </caption>
          <thead>
            <tr>
              <th scope="col">Subject</th>
              <th scope="col">About</th>
              <th scope="col">State</th>
              <th scope="col">Age</th>
              <th scope="col">For</th>
              <th scope="col">Last message</th>
            </tr>
          </thead>
          <tbody>
            {queries.map((q) => (
              <tr data-query={q.id}>
                <th scope="row">
                  <a href={`${targetHref(q.study, q.subject, q.target)}#${queryAnchor(q.id)}`}>{q.subject}</a>
                  <div class="muted">{q.site}</div>
                </th>
                <td>{targetWords(definition, q.target)}</td>
                <td>
                  <StateBadge state={q.state} />
                </td>
                <td>{q.ageDays} d</td>
                <td>{[q.assignee?.role, q.assignee?.person].filter(Boolean).join(", ") || "—"}</td>
                <td>{q.messages.at(-1)?.text ?? q.messages[0]?.text}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </ScrollRegion>
    </>
  );
}

/** The name of the answer's text box inside the data form, one per open query. */
export const answerField = (query: string) => `_answer.${query}`;

/**
 * Inside the data form, for a site user who may save and answer: per open
 * query of this instance, an answer box and a button that posts the whole
 * form to the query's answer (`formaction`), so the correction is saved and
 * the answer names its revision in one step.
 */
export function AnswerWithSave(props: { definition: StudyDefinition; queries: Query[]; status: string }) {
  const open = props.queries.filter((q) => q.state === "open");
  if (open.length === 0) return null;
  return (
    <fieldset class="card answer-with-save" data-answer-with-save>
      <legend>Correct the data and answer a query</legend>
      <p class="help">Change the values above, write your answer, and save both at once.</p>
      {open.map((q) => (
        <div class="field">
          <label for={`f-${q.id}-with-save`}>
            Answer to “{q.messages[0]?.text}” ({targetWords(props.definition, q.target)})
          </label>
          <textarea id={`f-${q.id}-with-save`} name={answerField(q.id)} rows={2} />
          <button
            type="submit"
            class="secondary"
            name="_status"
            value={props.status}
            formaction={`/studies/${q.study}/subjects/${q.subject}/queries/${q.id}/answer`}
          >
            Save and answer
          </button>
        </div>
      ))}
    </fieldset>
  );
}
