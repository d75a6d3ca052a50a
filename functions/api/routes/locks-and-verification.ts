import { createRoute, type RouteHandler, z } from "@hono/zod-openapi";
import { lockState } from "../../engine/locks.ts";
import type { ReviewEntry as StoredEntry } from "../../engine/review.ts";
import { progressOf, sdvWithin, statusOf, subjectProgress } from "../../engine/sdv.ts";
import type { AppEnv } from "../../http/context.ts";
import { freezeStudy, lockSubjectTarget } from "../../http/locks.ts";
import { permitted } from "../../http/permissions.ts";
import { loadStudy, loadSubject } from "../../http/resolve.ts";
import { verifyTarget } from "../../http/verification.ts";
import { createRouter } from "../router.ts";
import { problemResponses, StudyParams, SubjectParams } from "../schemas.ts";

/** Source data verification, locks and the study freeze: entries of the review logs (engine/review.ts). */
export const lockAndVerificationRoutes = createRouter();

const ReviewTarget = z
  .object({
    event: z.string().min(1).max(100).optional(),
    form: z.string().min(1).max(100).optional(),
    instance: z.number().int().min(1).optional(),
    field: z.string().min(1).max(100).optional(),
  })
  .strict()
  .openapi("ReviewTarget", {
    description:
      "What an entry is about: {} the subject, {event} a visit ({event, instance} a repeatable visit's instance), {event, form, instance} a form instance, with `field` one field of it",
  });

const Reason = z.string().max(2000).openapi({ description: "Kept in the audit trail" });

const ReviewEntryView = z
  .object({
    study: z.string(),
    subject: z.string().optional(),
    site: z.string().optional(),
    seq: z.number().int(),
    at: z.string(),
    by: z.string(),
    person: z.string().optional(),
    action: z.string(),
    target: ReviewTarget,
    reason: z.string().optional(),
    covers: z
      .array(
        z.object({
          event: z.string(),
          form: z.string(),
          instance: z.number().int(),
          rev: z.number().int(),
          hash: z.string().optional(),
          fields: z.array(z.string()).optional(),
          valueHashes: z.record(z.string(), z.string()).optional(),
        }),
      )
      .optional(),
    hash: z.string(),
  })
  .openapi("ReviewEntry");

/** What an appended entry answers with: its content and hash; the MAC stays in the table. */
function entryView(entry: StoredEntry): z.infer<typeof ReviewEntryView> {
  const { mac: _mac, previousHash: _previous, ...view } = entry;
  return view as z.infer<typeof ReviewEntryView>;
}

const created = (description: string) => ({
  201: { description, content: { "application/json": { schema: ReviewEntryView } } },
});
const jsonBody = <T extends z.ZodTypeAny>(schema: T) => ({
  required: true,
  content: { "application/json": { schema } },
});

const verifyRoute = createRoute({
  method: "post",
  path: "/studies/{study}/subjects/{subject}/verifications",
  tags: ["Review"],
  operationId: "verifySourceData",
  middleware: [permitted("verify")],
  summary:
    "Mark a visit, a form instance or a field as verified against source: covers each instance's current revision and a hash of each value vouched for; a later change shows it as needing re-verification",
  request: { params: SubjectParams, body: jsonBody(z.object({ target: ReviewTarget }).strict()) },
  responses: { ...created("The verify entry"), ...problemResponses([400, 401, 403, 404, 413, 415, 422]) },
});

const verify: RouteHandler<typeof verifyRoute, AppEnv> = async (c) => {
  const p = c.req.valid("param");
  const definition = await loadStudy(c, p.study);
  const subject = await loadSubject(c, p.study, p.subject);
  const entry = await verifyTarget(c, definition, subject, c.req.valid("json").target);
  return c.json(entryView(entry), 201);
};

lockAndVerificationRoutes.openapi(verifyRoute, verify);

const lockRoute = createRoute({
  method: "post",
  path: "/studies/{study}/subjects/{subject}/locks",
  tags: ["Review"],
  operationId: "lock",
  middleware: [permitted("lock")],
  summary:
    "Lock a form instance, a visit (its forms saved or not) or the subject's casebook: saves and entered-in-error marks within it answer 423 until it is unlocked",
  request: {
    params: SubjectParams,
    body: jsonBody(z.object({ target: ReviewTarget, reason: Reason.optional() }).strict()),
  },
  responses: {
    ...created("The lock entry"),
    ...problemResponses([400, 401, 403, 404, 409, 413, 415, 422]),
  },
});

const unlockRoute = createRoute({
  method: "post",
  path: "/studies/{study}/subjects/{subject}/unlock",
  tags: ["Review"],
  operationId: "unlock",
  middleware: [permitted("lock")],
  summary: "Lift the lock of exactly this target, with a reason (422 without): audited",
  request: {
    params: SubjectParams,
    body: jsonBody(
      z
        .object({ target: ReviewTarget, reason: Reason.optional().openapi({ description: "Required" }) })
        .strict(),
    ),
  },
  responses: {
    ...created("The unlock entry"),
    ...problemResponses([400, 401, 403, 404, 409, 413, 415, 422]),
  },
});

/** Lock and unlock differ only in the entry they append (the reason rule is `lockSubjectTarget`'s). */
function lockHandler(action: "lock" | "unlock"): RouteHandler<typeof lockRoute | typeof unlockRoute, AppEnv> {
  return async (c) => {
    const p = c.req.valid("param");
    const body = c.req.valid("json");
    const definition = await loadStudy(c, p.study);
    const subject = await loadSubject(c, p.study, p.subject);
    const entry = await lockSubjectTarget(c, definition, subject, body.target, action, body.reason);
    return c.json(entryView(entry), 201);
  };
}

lockAndVerificationRoutes.openapi(lockRoute, lockHandler("lock"));
lockAndVerificationRoutes.openapi(unlockRoute, lockHandler("unlock"));

function freezeRoute(action: "freeze" | "unfreeze") {
  return createRoute({
    method: "post",
    path: `/studies/{study}/${action}`,
    tags: ["Review"],
    operationId: action === "freeze" ? "freezeStudy" : "unfreezeStudy",
    middleware: [permitted("lock")],
    summary:
      action === "freeze"
        ? "Freeze the study before analysis: every save, entered-in-error mark and enrolment answers 423"
        : "Lift the study's freeze, with a reason (422 without): audited",
    request: {
      params: StudyParams,
      body: jsonBody(z.object({ reason: Reason.optional() }).strict()),
    },
    responses: {
      ...created(action === "freeze" ? "The freeze entry" : "The unfreeze entry"),
      ...problemResponses([400, 401, 403, 404, 409, 413, 415, 422]),
    },
  });
}

for (const action of ["freeze", "unfreeze"] as const) {
  const route = freezeRoute(action);
  const handler: RouteHandler<typeof route, AppEnv> = async (c) => {
    const { study } = c.req.valid("param");
    const definition = await loadStudy(c, study);
    const { reason } = c.req.valid("json");
    const entry = await freezeStudy(c, definition, action === "freeze" ? "lock" : "unlock", reason);
    return c.json(entryView(entry), 201);
  };
  lockAndVerificationRoutes.openapi(route, handler);
}

const Progress = z.object({
  required: z.number().int(),
  verified: z.number().int(),
  reverify: z.number().int(),
});

const ActiveLockView = z.object({
  target: ReviewTarget,
  by: z.string(),
  person: z.string().optional(),
  at: z.string(),
  reason: z.string().optional(),
  seq: z.number().int(),
});

const ReviewStateView = z
  .object({
    frozen: ActiveLockView.optional(),
    locks: z.array(ActiveLockView),
    sdv: z.object({
      progress: Progress,
      instances: z.array(
        z.object({
          event: z.string(),
          form: z.string(),
          instance: z.number().int(),
          rev: z.number().int(),
          status: z.enum(["not-required", "to-verify", "verified", "needs-reverification"]),
          fields: z.array(
            z.object({
              field: z.string(),
              required: z.boolean(),
              status: z.enum(["not-required", "to-verify", "verified", "needs-reverification"]),
              verifiedBy: z.string().optional(),
              verifiedAt: z.string().optional(),
              verifiedRev: z.number().int().optional(),
            }),
          ),
        }),
      ),
    }),
  })
  .openapi("ReviewState");

const reviewStateRoute = createRoute({
  method: "get",
  path: "/studies/{study}/subjects/{subject}/review-state",
  tags: ["Review"],
  operationId: "readReviewState",
  middleware: [permitted("read-identified")],
  summary:
    "The subject's locks in force, the study's freeze, and source data verification per form instance and field (folded from the review logs and the current state)",
  request: { params: SubjectParams },
  responses: {
    200: {
      description: "Locks and verification",
      content: { "application/json": { schema: ReviewStateView } },
    },
    ...problemResponses([401, 404]),
  },
});

const readReviewState: RouteHandler<typeof reviewStateRoute, AppEnv> = async (c) => {
  const p = c.req.valid("param");
  const definition = await loadStudy(c, p.study);
  const subject = await loadSubject(c, p.study, p.subject);
  const [projections, reviews] = await Promise.all([
    c.var.store.readProjections(subject.study, subject.id),
    c.var.store.readReviews(subject.study, subject.id),
  ]);
  const state = lockState(reviews.subject, reviews.study);
  const instances = sdvWithin(definition, projections, reviews.subject).map(({ instance, fields }) => ({
    event: instance.event,
    form: instance.form,
    instance: instance.instance,
    rev: instance.rev,
    status: statusOf(progressOf(fields)),
    fields: fields.map((f) => ({
      field: f.field,
      required: f.required,
      status: f.status,
      ...(f.mark ? { verifiedBy: f.mark.by, verifiedAt: f.mark.at, verifiedRev: f.mark.rev } : {}),
    })),
  }));
  return c.json(
    {
      ...(state.frozen ? { frozen: state.frozen } : {}),
      locks: state.locks,
      sdv: { progress: subjectProgress(definition, projections, reviews.subject), instances },
    },
    200,
  );
};

lockAndVerificationRoutes.openapi(reviewStateRoute, readReviewState);
