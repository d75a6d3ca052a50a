import type { Context } from "hono";
import type { StudyDefinition } from "../engine/definition.ts";
import {
  ageDays,
  filterQueries,
  type Query,
  type QueryFilter,
  type QueryStats,
  type QueryTransition,
  queryStats,
  refusal,
} from "../engine/queries.ts";
import type { Assignee, CoveredRevision, ReviewTarget } from "../engine/review.ts";
import { resolveSlot } from "../engine/slots.ts";
import { ROLES } from "../store/principal.ts";
import type { Subject } from "../store/subjects.ts";
import type { AppEnv } from "./context.ts";
import { type Action, requirePermission, sitesOf } from "./permissions.ts";
import { type FieldProblem, ProblemError, problems } from "./problems.ts";
import { loadStudy, loadSubject } from "./resolve.ts";
import { type SaveInput, saveForm, saveProblem } from "./save-form.ts";

/**
 * Raising and acting on queries, for the API and the pages alike: path
 * resolution (other sites' subjects are 404), the permission of each
 * transition, the target checked against the definition, and the answer
 * that corrects the data in the same step.
 */

export interface SubjectPath {
  study: string;
  subject: string;
}

const PERMISSION: Record<QueryTransition, Action> = {
  answer: "answer-query",
  close: "close-query",
  reopen: "close-query",
};

/**
 * The target as stored: a form names its instance (1 unless given), a field
 * its form, a form its event; each must exist for the subject's arm. Errors
 * point into the request body under `/target`.
 */
export function checkTarget(
  definition: StudyDefinition,
  subject: Subject,
  target: ReviewTarget,
): { target: ReviewTarget } | { errors: FieldProblem[] } {
  const problem = (key: string, message: string) => ({
    errors: [{ pointer: `/target/${key}`, code: "unknown-target", message }],
  });
  const { event, form, field } = target;
  if (field !== undefined && form === undefined) return problem("form", "a field query names its form");
  if (form !== undefined && event === undefined) return problem("event", "a form query names its event");
  if (event === undefined) return { target: {} };
  if (form === undefined) {
    const known = definition.study.events.find(
      (e) => e.id === event && (!e.arms || e.arms.includes(subject.arm)),
    );
    if (!known) return problem("event", `no event ${event} for this subject`);
    if (target.instance !== undefined && !known.repeatable)
      return problem("instance", `${event} is not a repeatable visit`);
    return { target: { event, ...(target.instance !== undefined ? { instance: target.instance } : {}) } };
  }
  const instance = target.instance ?? 1;
  const slot = resolveSlot(definition, subject.arm, event, form, instance);
  if (!slot.ok) return problem(slot.missing, `no ${slot.missing} ${target[slot.missing] ?? instance} here`);
  if (field !== undefined && !Object.hasOwn(slot.instrument.properties, field))
    return problem("field", `${form} has no field ${field}`);
  return { target: { event, form, instance, ...(field !== undefined ? { field } : {}) } };
}

/** An assignee is a role of the product and/or a person who holds a grant at the study (422 otherwise). */
async function checkAssignee(
  c: Context<AppEnv>,
  study: string,
  assignee: Assignee | undefined,
): Promise<Assignee | undefined> {
  const role = assignee?.role || undefined;
  const person = assignee?.person || undefined;
  if (role !== undefined && !(ROLES as readonly string[]).includes(role))
    throw problems.invalid(`No role ${role}.`, [
      { pointer: "/assignee/role", code: "unknown-role", message: `one of ${ROLES.join(", ")}` },
    ]);
  if (person !== undefined) {
    const grant = await c.var.store.findGrant(study, person);
    if (!grant || grant.revokedAt)
      throw problems.invalid(`No person ${person} holds a role at this study.`, [
        { pointer: "/assignee/person", code: "unknown-person", message: "not a person of this study" },
      ]);
  }
  if (role === undefined && person === undefined) return undefined;
  return { ...(role ? { role } : {}), ...(person ? { person } : {}) };
}

export async function raiseQuery(
  c: Context<AppEnv>,
  p: SubjectPath,
  body: { target: ReviewTarget; text: string; assignee?: Assignee },
): Promise<Query> {
  const definition = await loadStudy(c, p.study);
  const subject = await loadSubject(c, p.study, p.subject);
  requirePermission(c.var.principal, "raise-query", { study: subject.study, site: subject.site });
  const checked = checkTarget(definition, subject, body.target);
  if ("errors" in checked)
    throw problems.invalid("The query's target is not part of this casebook.", checked.errors);
  const assignee = await checkAssignee(c, subject.study, body.assignee);
  const { principal } = c.var;
  return c.var.store.openQuery({
    subject,
    target: checked.target,
    text: body.text,
    ...(assignee ? { assignee } : {}),
    by: principal.user,
    ...(principal.person ? { person: principal.person } : {}),
  });
}

/** A subject's queries, for a caller who may read it. */
export async function subjectQueries(c: Context<AppEnv>, p: SubjectPath): Promise<Query[]> {
  await loadStudy(c, p.study);
  await loadSubject(c, p.study, p.subject);
  return (await c.var.store.readSubjectQueries(p.study, p.subject)).queries;
}

const queryStateProblem = (detail: string, code: string) =>
  new ProblemError(409, "query-state", "The query is not in a state that allows this", detail, { code });

/**
 * Answers, closes or reopens a query. An answer may carry a save of the
 * query's form instance: the save goes first, through the ordinary save (its
 * own permission, validation and optimistic `rev`), and the answer records
 * the revision it made. The state is checked before the save, so an answer
 * the query cannot take saves nothing; a refused save appends nothing.
 */
export async function actOnQuery(
  c: Context<AppEnv>,
  p: SubjectPath & { query: string },
  transition: QueryTransition,
  body: { text?: string; save?: SaveInput },
): Promise<Query> {
  await loadStudy(c, p.study);
  const subject = await loadSubject(c, p.study, p.subject);
  requirePermission(c.var.principal, PERMISSION[transition], { study: subject.study, site: subject.site });
  const before = (await c.var.store.readSubjectQueries(p.study, p.subject)).queries.find(
    (q) => q.id === p.query,
  );
  if (!before) throw problems.notFound(`Query ${p.query}`);
  const refused = refusal(before.state, transition);
  if (refused) throw queryStateProblem(refused.message, refused.code);
  if ((transition === "answer" || transition === "reopen") && !body.text?.trim())
    throw problems.invalid(
      `Say why: ${transition === "answer" ? "an answer" : "a reopening"} needs a text.`,
      [{ pointer: "/text", code: "required", message: "a text is required" }],
    );
  if (body.save && transition !== "answer")
    throw problems.invalid("Only an answer can carry a save.", [
      { pointer: "/save", code: "not-an-answer", message: "send the save with the answer" },
    ]);
  const correction = body.save && (await saveCorrection(c, subject, before, body.save));
  const { principal } = c.var;
  const result = await c.var.store.transitionQuery({
    subject,
    query: before.id,
    transition,
    ...(body.text?.trim() ? { text: body.text.trim() } : {}),
    ...(correction ? { correction } : {}),
    by: principal.user,
    ...(principal.person ? { person: principal.person } : {}),
  });
  if (result.kind === "not-found") throw problems.notFound(`Query ${p.query}`);
  if (result.kind === "refused") throw queryStateProblem(result.refusal.message, result.refusal.code);
  return result.query;
}

/** Saves the correction an answer carries; the revision it made, or none when nothing changed. */
async function saveCorrection(
  c: Context<AppEnv>,
  subject: Subject,
  query: Query,
  save: SaveInput,
): Promise<CoveredRevision | undefined> {
  const { event, form, instance } = query.target;
  if (event === undefined || form === undefined)
    throw problems.invalid("Only a query on a form or a field can be answered with a correction.", [
      { pointer: "/save", code: "no-form", message: "this query is not about a form" },
    ]);
  const path = { study: subject.study, subject: subject.id, event, form, instance: String(instance ?? 1) };
  const result = await saveForm(c, path, save);
  if (result.kind === "unchanged") return undefined;
  if (result.kind !== "saved") throw saveProblem(path, result, save.rev);
  const { rev, hash } = result.state;
  return { event, form, instance: instance ?? 1, rev, ...(hash ? { hash } : {}) };
}

export interface QueryListRequest extends QueryFilter {
  /** One of the caller's sites; all of them when absent. */
  site?: string;
}

/** The queries of the caller's sites (or one of them), filtered, each with its age, and their statistics. */
export async function siteQueryList(
  c: Context<AppEnv>,
  study: string,
  request: QueryListRequest,
  now = new Date(),
): Promise<{ queries: (Query & { ageDays: number })[]; stats: QueryStats; sites: string[] }> {
  const definition = await loadStudy(c, study);
  const sites = sitesOf(
    c.var.principal,
    definition.study.sites.map((s) => s.id),
    "read-identified",
  );
  if (request.site !== undefined && !sites.includes(request.site))
    throw problems.notFound(`Site ${request.site}`);
  const all = await c.var.store.readSiteQueries(study, request.site ? [request.site] : sites);
  const queries = filterQueries(all, request, now).sort((a, b) => a.openedAt.localeCompare(b.openedAt));
  return {
    queries: queries.map((q) => ({ ...q, ageDays: Math.round(ageDays(q, now) * 10) / 10 })),
    stats: queryStats(queries, now),
    sites,
  };
}
