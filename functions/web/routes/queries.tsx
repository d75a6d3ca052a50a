import { type Context, Hono } from "hono";
import { FORM_STATUSES } from "../../engine/definition.ts";
import type { QueryTransition } from "../../engine/queries.ts";
import type { QueryState, ReviewTarget } from "../../engine/review.ts";
import type { AppEnv } from "../../http/context.ts";
import { can, permitted } from "../../http/permissions.ts";
import { actOnQuery, raiseQuery, siteQueryList } from "../../http/queries.ts";
import { loadSlot, loadStudy, loadSubject } from "../../http/resolve.ts";
import type { SaveInput } from "../../http/save-form.ts";
import type { Subject } from "../../store/subjects.ts";
import { type FormEntries, readFormEntries } from "../form-values.ts";
import { page } from "../page.tsx";
import {
  answerField,
  type QueryListFilter,
  QueryListPage,
  type QueryRights,
  queryAnchor,
  targetHref,
} from "../pages/queries.tsx";

/**
 * The query pages: form posts that raise, answer, close and reopen through
 * the API's own code (http/queries.ts), each going back to the page that
 * shows the query; and the list of the person's sites.
 */

const SUBJECT_PATH = "/studies/:study/subjects/:subject/queries";

/** What the person may do to queries of this subject. */
export function queryRights(c: Context<AppEnv>, subject: Subject): QueryRights {
  const resource = { study: subject.study, site: subject.site };
  return {
    raise: can(c.var.principal, "raise-query", resource),
    answer: can(c.var.principal, "answer-query", resource),
    close: can(c.var.principal, "close-query", resource),
  };
}

const text = (value: unknown) => (typeof value === "string" ? value.slice(0, 4000) : "");

/**
 * The target a raise form names: its hidden form instance (if any), narrowed
 * by `on` to one field (`field:<name>`) or, from the subject page, one visit
 * (`event:<id>`). The API's check then refuses what the definition lacks.
 */
function postedTarget(body: Record<string, unknown>): ReviewTarget {
  const on = text(body.on);
  const instance = Number(text(body.instance));
  const target: ReviewTarget = {
    ...(text(body.event) ? { event: text(body.event) } : {}),
    ...(text(body.form) ? { form: text(body.form) } : {}),
    ...(Number.isInteger(instance) && instance >= 1 ? { instance } : {}),
  };
  if (on.startsWith("field:")) return { ...target, field: on.slice("field:".length) };
  if (on.startsWith("event:") && target.form === undefined) return { event: on.slice("event:".length) };
  return target;
}

async function raise(c: Context<AppEnv>) {
  const p = { study: c.req.param("study") ?? "", subject: c.req.param("subject") ?? "" };
  const body = await c.req.parseBody();
  const role = text(body.assignee);
  const query = await raiseQuery(c, p, {
    target: postedTarget(body),
    text: text(body.text).trim(),
    ...(role === "coordinator" || role === "investigator" ? { assignee: { role } } : {}),
  });
  return c.redirect(`${targetHref(p.study, p.subject, query.target)}#${queryAnchor(query.id)}`, 303);
}

function transition(name: QueryTransition) {
  return async function act(c: Context<AppEnv>) {
    const p = {
      study: c.req.param("study") ?? "",
      subject: c.req.param("subject") ?? "",
      query: c.req.param("query") ?? "",
    };
    const body = (await c.req.parseBody({ all: true })) as FormEntries;
    const withSave = name === "answer" && body._status !== undefined;
    const query = withSave
      ? await actOnQuery(c, p, name, await answerWithSave(c, p, body))
      : await actOnQuery(c, p, name, { text: text(body.text) });
    return c.redirect(`${targetHref(p.study, p.subject, query.target)}#${queryAnchor(query.id)}`, 303);
  };
}

/**
 * The data form posted to an answer (its "Save and answer" button): the
 * form's values read by the query's instrument, as the form page's own save
 * reads them, and the answer from this query's box. A refused save is its
 * problem's page; the form page's script has checked the values before.
 */
async function answerWithSave(
  c: Context<AppEnv>,
  p: { study: string; subject: string; query: string },
  body: FormEntries,
): Promise<{ text: string; save?: SaveInput }> {
  const definition = await loadStudy(c, p.study);
  const subject = await loadSubject(c, p.study, p.subject);
  const { queries } = await c.var.store.readSubjectQueries(p.study, p.subject);
  const target = queries.find((q) => q.id === p.query)?.target;
  const answer = text(body[answerField(p.query)]);
  if (!target?.event || !target.form) return { text: answer };
  const slot = loadSlot(definition, subject, target.event, target.form, String(target.instance ?? 1));
  const rev = Number(body._rev);
  const status = FORM_STATUSES.find((s) => s === body._status) ?? "incomplete";
  const reason = text(body._reason);
  const recalculate = [body._recalculate ?? []].flat().filter((v) => typeof v === "string");
  return {
    text: answer,
    save: {
      data: readFormEntries(slot.instrument, body),
      status,
      rev: Number.isInteger(rev) && rev >= 0 ? rev : 0,
      ...(reason ? { reason } : {}),
      ...(recalculate.length ? { recalculate } : {}),
    },
  };
}

const STATES: readonly QueryState[] = ["open", "answered", "closed"];

/** The filters as the query string gives them; anything malformed is no filter. */
function readFilter(c: Context<AppEnv>): QueryListFilter {
  const q = (name: string) => c.req.query(name)?.trim().slice(0, 320) || undefined;
  const state = STATES.find((s) => s === q("state"));
  const age = Number(q("minAgeDays"));
  const site = q("site");
  const form = q("form");
  const assignee = q("assignee");
  return {
    ...(site ? { site } : {}),
    ...(state ? { state } : {}),
    ...(form ? { form } : {}),
    ...(assignee ? { assignee } : {}),
    ...(q("minAgeDays") !== undefined && Number.isFinite(age) && age >= 0 ? { minAgeDays: age } : {}),
  };
}

async function showQueries(c: Context<AppEnv>) {
  const definition = await loadStudy(c, c.req.param("study") ?? "");
  const filter = readFilter(c);
  const { queries, stats, sites } = await siteQueryList(c, definition.study.id, filter);
  return page(
    c,
    "Queries",
    <QueryListPage
      definition={definition}
      base={`/studies/${definition.study.id}/queries`}
      sites={sites}
      filter={filter}
      queries={queries}
      stats={stats}
    />,
  );
}

export function queryPages() {
  return new Hono<AppEnv>()
    .get("/studies/:study/queries", permitted("read-identified"), showQueries)
    .post(SUBJECT_PATH, permitted("raise-query"), raise)
    .post(`${SUBJECT_PATH}/:query/answer`, permitted("answer-query"), transition("answer"))
    .post(`${SUBJECT_PATH}/:query/close`, permitted("close-query"), transition("close"))
    .post(`${SUBJECT_PATH}/:query/reopen`, permitted("close-query"), transition("reopen"));
}
