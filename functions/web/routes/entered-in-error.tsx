import { type Context, Hono } from "hono";
import { LOGS_EVENT } from "../../engine/definition.ts";
import type { ErrorMarkAction } from "../../engine/entered-in-error.ts";
import type { AppEnv } from "../../http/context.ts";
import { applyErrorMark, errorMarkProblem } from "../../http/entered-in-error.ts";
import { FORM_PATH, instancePathOf } from "./forms.tsx";

/**
 * Marking goes back to the subject page, where the instance is listed struck
 * through; restoring goes back to the form.
 */
async function postErrorMark(c: Context<AppEnv>, action: ErrorMarkAction) {
  const p = instancePathOf(c);
  const body = await c.req.parseBody();
  const rev = Number(body._rev);
  const reason = typeof body._reason === "string" ? body._reason : undefined;
  const safeRev = Number.isInteger(rev) && rev >= 0 ? rev : 0;
  const result = await applyErrorMark(c, p, action, { rev: safeRev, reason });
  const problem = errorMarkProblem(p, action, result, safeRev);
  if (problem) throw problem;
  const subjectPage = `/studies/${p.study}/subjects/${p.subject}`;
  const formPage = new URL(c.req.url).pathname.slice(0, -`/${action}`.length);
  if (action === "restore") return c.redirect(formPage, 303);
  return c.redirect(`${subjectPage}#${p.event === LOGS_EVENT ? `log-${p.form}` : `event-${p.event}`}`, 303);
}

function markEnteredInError(c: Context<AppEnv>) {
  return postErrorMark(c, "entered-in-error");
}

function restore(c: Context<AppEnv>) {
  return postErrorMark(c, "restore");
}

/** The form posts of "entered in error", through the API's own code (`applyErrorMark`). */
export const enteredInErrorPages = new Hono<AppEnv>()
  .post(`${FORM_PATH}/instances/:instance/entered-in-error`, markEnteredInError)
  .post(`${FORM_PATH}/instances/:instance/restore`, restore);
