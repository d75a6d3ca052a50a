import { createRoute, type RouteHandler, z } from "@hono/zod-openapi";
import type { AppEnv } from "../../http/context.ts";
import { permitted } from "../../http/permissions.ts";
import { loadStudy, loadSubject } from "../../http/resolve.ts";
import { signatureJson, subjectSignatures } from "../../http/signatures.ts";
import { createRouter } from "../router.ts";
import { problemResponses, SubjectParams } from "../schemas.ts";

/**
 * Signatures are read here, never made: a signature needs the signer to
 * authenticate again at the identity provider at the moment of signing
 * (21 CFR 11.200), which a bearer key cannot do. Investigators sign on the
 * site pages (…/sign), through the provider.
 */
export const signatureRoutes = createRouter();

const Covered = z.object({
  event: z.string(),
  form: z.string(),
  instance: z.number().int(),
  rev: z.number().int(),
  hash: z.string().optional(),
});

const Signature = z
  .object({
    seq: z.number().int(),
    target: z
      .object({
        event: z.string().optional(),
        form: z.string().optional(),
        instance: z.number().int().optional(),
      })
      .openapi({ description: "Empty: the whole casebook; event: a visit; event, form, instance: one form" }),
    name: z.string().openapi({ description: "The signer's printed name" }),
    meaning: z.string(),
    signedAt: z.string(),
    signedBy: z.string(),
    person: z.string().optional(),
    authenticatedAt: z
      .string()
      .openapi({ description: "When the signer re-authenticated to sign (OIDC auth_time)" }),
    covers: z.array(Covered).openapi({ description: "Exactly the revisions signed" }),
    valid: z.boolean(),
    invalidatedBy: z
      .object({
        event: z.string(),
        form: z.string(),
        instance: z.number().int(),
        rev: z.number().int(),
        at: z.string(),
        by: z.string(),
        kind: z.enum(["changed", "added"]),
      })
      .optional()
      .openapi({ description: "The first revision that changed what was signed" }),
  })
  .openapi("Signature");

const listSignaturesRoute = createRoute({
  method: "get",
  path: "/studies/{study}/subjects/{subject}/signatures",
  tags: ["Signatures"],
  operationId: "listSignatures",
  middleware: [permitted("read-identified")],
  summary:
    "The subject's electronic signatures, oldest first, each valid or invalidated by a later change (signing is done on the pages, with re-authentication)",
  request: { params: SubjectParams },
  responses: {
    200: {
      description: "Signatures",
      content: { "application/json": { schema: z.object({ signatures: z.array(Signature) }) } },
    },
    ...problemResponses([401, 404]),
  },
});

const listSignatures: RouteHandler<typeof listSignaturesRoute, AppEnv> = async (c) => {
  const { study, subject: id } = c.req.valid("param");
  await loadStudy(c, study);
  const subject = await loadSubject(c, study, id);
  const states = await subjectSignatures(c, subject);
  return c.json({ signatures: states.map(signatureJson) }, 200);
};

signatureRoutes.openapi(listSignaturesRoute, listSignatures);
