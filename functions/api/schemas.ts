import { z } from "@hono/zod-openapi";
import { FORM_STATUSES } from "../engine/definition.ts";
import { MAX_SUBJECT_ID_LENGTH } from "../store/subjects.ts";

/** Request and response bodies of /api/v1: validated with zod, and the source of the OpenAPI document. */

export const Problem = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    errors: z
      .array(z.object({ pointer: z.string(), code: z.string(), message: z.string() }))
      .optional()
      .openapi({ description: "One entry per refused field; `pointer` points into the form data." }),
  })
  .passthrough()
  .openapi("Problem");

export const StudyParams = z.object({ study: z.string().openapi({ example: "hucmsc-ms-nmo" }) });
export const SubjectParams = StudyParams.extend({ subject: z.string().openapi({ example: "01-001" }) });
export const FormParams = SubjectParams.extend({
  event: z
    .string()
    .openapi({ example: "screening", description: "An event id, or `logs` for repeating logs" }),
  form: z.string().openapi({ example: "edss" }),
});
export const InstanceParams = FormParams.extend({ instance: z.string().openapi({ example: "1" }) });

export const EnrolBody = z
  .object({
    site: z.string().min(1),
    arm: z.string().min(1),
    subjectId: z.string().min(1).max(MAX_SUBJECT_ID_LENGTH).optional(),
  })
  .strict()
  .openapi("EnrolSubject");

/**
 * Form data as sent, every own key kept: z.record would rebuild the object by
 * assignment and silently lose a "__proto__" key, which the engine must
 * refuse as an unknown field instead.
 */
const SubmittedData = z
  .custom<Record<string, unknown>>((v) => v !== null && typeof v === "object" && !Array.isArray(v), {
    message: "must be an object of field values",
  })
  .openapi({ type: "object", additionalProperties: {} });

export const SaveBody = z
  .object({
    data: SubmittedData.openapi({
      description: "Field values; calculated fields are ignored (computed on the server)",
    }),
    status: z.enum(FORM_STATUSES),
    rev: z
      .number()
      .int()
      .min(0)
      .openapi({ description: "The revision the edit started from; 0 for a new instance" }),
    reason: z
      .string()
      .max(2000)
      .optional()
      .openapi({ description: "Required when changing a completed form" }),
    recalculate: z.array(z.string().max(200)).max(100).optional().openapi({
      description:
        "Calculated fields to compute again from current data (e.g. a later weight); the others keep their stored value unless a field they read changes",
    }),
    missing: z
      .record(
        z.string().max(200),
        z.object({ code: z.string().max(32), reason: z.string().max(2000) }).strict(),
      )
      .optional()
      .openapi({
        description:
          "Fields that hold one of the study's missing-data codes instead of a value (the field is left out of `data`), each with a reason",
      }),
    confirmWarnings: z
      .union([z.literal(true), z.array(z.string().max(300)).max(500)])
      .optional()
      .openapi({
        description:
          "Soft-check warnings the person confirms: `true` for all, or the JSON pointers of the fields. Unconfirmed warnings answer 422 urn:edc:problem:unconfirmed-warnings and save nothing; each confirmed one opens a query",
      }),
  })
  .strict()
  .openapi("SaveFormInstance");

export const Subject = z
  .object({
    id: z.string(),
    site: z.string(),
    arm: z.string(),
    enrolledAt: z.string(),
    enrolledBy: z.string(),
  })
  .openapi("Subject");

export const Deviation = z
  .object({
    code: z.string(),
    event: z.string(),
    form: z.string(),
    instance: z.number(),
    field: z.string(),
    date: z.string(),
    earliest: z.string(),
    latest: z.string(),
    days: z.number(),
    message: z.string(),
  })
  .openapi("Deviation");

export const FieldChange = z
  .object({
    field: z.string(),
    old: z.unknown(),
    new: z.unknown(),
    oldCode: z
      .string()
      .nullable()
      .optional()
      .openapi({ description: "The missing-data code before, when it changed" }),
    newCode: z
      .string()
      .nullable()
      .optional()
      .openapi({ description: "The missing-data code after, when it changed" }),
  })
  .openapi("FieldChange");

export const Warning = z
  .object({
    pointer: z.string(),
    rule: z.string().openapi({ description: "The rule's id, or x-soft-minimum / x-soft-maximum" }),
    message: z.string(),
  })
  .openapi("SoftCheckWarning");

export const InstanceSummary = z
  .object({
    event: z.string(),
    form: z.string(),
    instance: z.number().int(),
    status: z.enum(FORM_STATUSES),
    rev: z.number().int(),
    definitionVersion: z.number().int(),
    committedAt: z.string(),
    committedBy: z.string(),
    deviations: z.array(Deviation),
  })
  .openapi("InstanceSummary");

export const Casebook = Subject.extend({
  dayOne: z.string().nullable(),
  instances: z.array(InstanceSummary),
}).openapi("Casebook");

export const FormInstance = z
  .object({
    event: z.string(),
    form: z.string(),
    instance: z.number().int(),
    rev: z.number().int().openapi({ description: "0 when nothing has been saved yet" }),
    status: z.enum(FORM_STATUSES).nullable(),
    data: z.record(z.string(), z.unknown()),
    definitionVersion: z.number().int().nullable(),
    committedAt: z.string().nullable(),
    committedBy: z.string().nullable(),
    enteredInError: z.boolean().openapi({
      description: "Marked as entered in error: kept and audited, left out of exports by default",
    }),
    missing: z
      .record(z.string(), z.object({ code: z.string(), reason: z.string() }))
      .openapi({ description: "Fields holding a missing-data code instead of a value, with the reason" }),
    confirmedWarnings: z
      .array(Warning)
      .openapi({ description: "Soft-check warnings confirmed with this revision; each opened a query" }),
  })
  .openapi("FormInstance");

export const ErrorMarkBody = z
  .object({
    rev: z.number().int().min(0).openapi({ description: "The latest revision, as the caller saw it" }),
    reason: z
      .string()
      .max(2000)
      .optional()
      .openapi({ description: "Required (422 without it); kept in the audit trail" }),
  })
  .strict()
  .openapi("EnteredInErrorMark");

export const SaveResult = FormInstance.extend({
  changes: z.array(FieldChange),
  deviations: z.array(Deviation),
}).openapi("SaveResult");

export const AuditEntry = z
  .object({
    at: z.string(),
    by: z.string(),
    action: z.enum(["enrol", "save", "entered-in-error", "restore"]),
    event: z.string().optional(),
    form: z.string().optional(),
    instance: z.number().int().optional(),
    rev: z.number().int().optional(),
    statusFrom: z.string().nullable().optional(),
    status: z.string().optional(),
    reason: z.string().optional(),
    definitionVersion: z.number().int().optional(),
    changes: z.array(FieldChange),
  })
  .openapi("AuditEntry");

export const Study = z
  .object({
    id: z.string(),
    title: z.string(),
    version: z.number().int(),
    arms: z.array(z.object({ id: z.string(), label: z.string(), number: z.number().int().optional() })),
    sites: z.array(z.object({ id: z.string(), name: z.string(), code: z.string() })),
    subjectIdPattern: z.string(),
    dayOne: z.object({ event: z.string(), form: z.string(), field: z.string() }).optional(),
    events: z.array(z.record(z.string(), z.unknown())),
    logs: z.array(z.string()),
    instruments: z.record(z.string(), z.record(z.string(), z.unknown())),
  })
  .openapi("Study");

export const problemResponses = (codes: number[]) =>
  Object.fromEntries(
    codes.map((code) => [
      code,
      {
        description: PROBLEM_DESCRIPTIONS[code] ?? "Problem",
        content: { "application/problem+json": { schema: Problem } },
      },
    ]),
  );

const PROBLEM_DESCRIPTIONS: Record<number, string> = {
  400: "Malformed request",
  401: "Missing or invalid token",
  403: "The token's role may not do this",
  404: "No such study, subject (or not at the caller's sites), event, form or instance",
  409: "Stale revision: the body's `current` holds the state to re-apply edits on",
  413: "Body over 256 KB",
  412: "Stale: If-Match names a version that is no longer the current one (`version` holds the current)",
  415: "Not JSON",
  422: "Field-level validation errors",
  423: "Locked: a lock or the study's freeze holds what the request would change (`lock` says which, who, when)",
  428: "It exists: replacing it needs If-Match with its ETag (`version` holds the current)",
};
