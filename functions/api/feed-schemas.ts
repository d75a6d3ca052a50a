import { z } from "@hono/zod-openapi";
import { FORM_STATUSES } from "../engine/definition.ts";
import { SUBJECT_STATUSES } from "../engine/review.ts";

/**
 * What `/changes` answers, one entry per committed revision or review-log
 * entry, told apart by `type`. De-identified pulls key the subject, shift its
 * dates and leave free text (a query's words, a reason) out.
 */

const FieldChange = z.object({
  field: z.string(),
  old: z.unknown(),
  new: z.unknown(),
  oldCode: z.string().nullable().optional(),
  newCode: z
    .string()
    .nullable()
    .optional()
    .openapi({ description: "The missing-data code the field had and has (null: none), when it changed" }),
});

const MissingCode = z.object({
  code: z.string(),
  reason: z.string().optional().openapi({ description: "Left out of de-identified pulls" }),
});

export const RevisionChange = z
  .object({
    type: z.literal("revision"),
    subject: z.string(),
    site: z.string(),
    event: z.string(),
    form: z.string(),
    instance: z.number().int(),
    rev: z.number().int(),
    status: z.enum(FORM_STATUSES),
    statusFrom: z.enum(FORM_STATUSES).nullable().optional(),
    committedAt: z.string(),
    committedBy: z.string(),
    definitionVersion: z.number().int(),
    reason: z.string().optional(),
    action: z.string().openapi({ description: "`save`, or how else the revision came about" }),
    enteredInError: z.boolean(),
    changes: z.array(FieldChange),
    data: z.record(z.string(), z.unknown()),
    missing: z
      .record(z.string(), MissingCode)
      .openapi({ description: "Fields holding a missing-data code instead of a value (in no `data`)" }),
  })
  .openapi("RevisionChange");

const ReviewTarget = z
  .object({
    event: z.string().optional(),
    form: z.string().optional(),
    instance: z.number().int().optional(),
    field: z.string().optional(),
  })
  .openapi({ description: "What the entry is about: empty for a subject (or, without subject, the study)" });

const CoveredRevision = z.object({
  event: z.string(),
  form: z.string(),
  instance: z.number().int(),
  rev: z.number().int(),
  hash: z.string().optional(),
  fields: z.array(z.string()).optional(),
});

export const ReviewChange = z
  .object({
    type: z.literal("review"),
    subject: z.string().optional().openapi({ description: "Absent for the study's entries (a freeze)" }),
    site: z.string().optional(),
    seq: z
      .number()
      .int()
      .openapi({ description: "The entry's place in its subject's (or the study's) review log" }),
    at: z.string(),
    by: z.string(),
    person: z.string().optional(),
    target: ReviewTarget,
    action: z.enum([
      "query-open",
      "query-answer",
      "query-close",
      "query-reopen",
      "verify",
      "lock",
      "unlock",
      "sign",
      "subject-status",
    ]),
    query: z.string().optional(),
    text: z.string().optional(),
    assignee: z.object({ role: z.string().optional(), person: z.string().optional() }).optional(),
    rule: z.string().optional(),
    correction: CoveredRevision.optional(),
    covers: z.array(CoveredRevision).optional(),
    reason: z.string().optional(),
    name: z.string().optional(),
    meaning: z.string().optional(),
    authenticatedAt: z.string().optional(),
    status: z.enum(SUBJECT_STATUSES).optional(),
    date: z.string().optional(),
  })
  .passthrough()
  .openapi("ReviewChange", {
    description:
      "A query message, a verification, a lock or unlock, a signature or a subject status change (functions/engine/review.ts)",
  });

export const FeedChange = z.discriminatedUnion("type", [RevisionChange, ReviewChange]).openapi("FeedChange");
