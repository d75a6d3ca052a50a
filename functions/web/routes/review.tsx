import { type Context, Hono } from "hono";
import { LOGS_EVENT } from "../../engine/definition.ts";
import type { AppEnv } from "../../http/context.ts";
import { lockSubjectTarget } from "../../http/locks.ts";
import { permitted } from "../../http/permissions.ts";
import { problems } from "../../http/problems.ts";
import { loadStudy, loadSubject } from "../../http/resolve.ts";
import type { TargetInput } from "../../http/review-target.ts";
import { verifyTarget } from "../../http/verification.ts";
import { FORM_PATH, instancePathOf } from "./forms.tsx";

type Body = Record<string, string | File | (string | File)[]>;

const text = (body: Body, name: string) => {
  const value = body[name];
  return typeof value === "string" && value !== "" ? value : undefined;
};
const number = (body: Body, name: string) => {
  const value = text(body, name);
  return value !== undefined && /^[1-9][0-9]{0,5}$/.test(value) ? Number(value) : undefined;
};

/** The target a lock form names; `_scope` must say how wide, so a bare post locks nothing. */
function lockTarget(body: Body): { target: TargetInput; back: (subjectPath: string) => string } {
  const scope = text(body, "_scope");
  const event = text(body, "_event");
  const form = text(body, "_form");
  const instance = number(body, "_instance");
  const visitInstance = number(body, "_visitInstance");
  const anchor = event === LOGS_EVENT ? `log-${form ?? ""}` : `event-${event ?? ""}`;
  switch (scope) {
    case "subject":
      return { target: {}, back: (s) => s };
    case "visit":
      return {
        target: { event, ...(visitInstance !== undefined ? { instance: visitInstance } : {}) },
        back: (s) => `${s}#${anchor}`,
      };
    case "form":
      return {
        target: { event, form, instance: instance ?? 1 },
        back: (s) => `${s}/events/${event}/forms/${form}/instances/${instance ?? 1}`,
      };
    default:
      throw problems.badRequest("Say what to lock: the form, the visit or the casebook.", [
        { pointer: "/_scope", code: "invalid", message: "must be subject, visit or form" },
      ]);
  }
}

async function postLock(c: Context<AppEnv>, action: "lock" | "unlock") {
  const definition = await loadStudy(c, c.req.param("study") ?? "");
  const subject = await loadSubject(c, definition.study.id, c.req.param("subject") ?? "");
  const body = (await c.req.parseBody()) as Body;
  const { target, back } = lockTarget(body);
  await lockSubjectTarget(c, definition, subject, target, action, text(body, "_reason"));
  return c.redirect(back(`/studies/${definition.study.id}/subjects/${subject.id}`), 303);
}

/** Verifies the form shown, or the one field its button names; back to the form. */
async function postVerify(c: Context<AppEnv>) {
  const p = instancePathOf(c);
  const definition = await loadStudy(c, p.study);
  const subject = await loadSubject(c, definition.study.id, p.subject);
  const body = (await c.req.parseBody()) as Body;
  const field = text(body, "_field");
  const instance = /^[1-9][0-9]{0,5}$/.test(p.instance) ? Number(p.instance) : 0;
  await verifyTarget(c, definition, subject, {
    event: p.event,
    form: p.form,
    instance,
    ...(field !== undefined ? { field } : {}),
  });
  return c.redirect(new URL(c.req.url).pathname.slice(0, -"/verify".length), 303);
}

/** The form posts of locks and verification, through the API's own code (http/locks.ts, http/verification.ts). */
export const reviewPages = new Hono<AppEnv>()
  .post("/studies/:study/subjects/:subject/locks", permitted("lock"), (c) => postLock(c, "lock"))
  .post("/studies/:study/subjects/:subject/unlock", permitted("lock"), (c) => postLock(c, "unlock"))
  .post(`${FORM_PATH}/instances/:instance/verify`, permitted("verify"), postVerify);
