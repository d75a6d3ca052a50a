import { type Context, Hono } from "hono";
import { createMiddleware } from "hono/factory";
import { HTTPException } from "hono/http-exception";
import { validator } from "hono/validator";
import { once } from "../../engine/once.ts";
import type { AppEnv } from "../../http/context.ts";
import { instanceView } from "../../http/instance-view.ts";
import { permitted } from "../../http/permissions.ts";
import type { InstancePath } from "../../http/resolve.ts";
import { type SaveInput, saveForm, saveProblem } from "../../http/save-form.ts";
import type { Revision } from "../../store/form-instances.ts";
import { openApiRouter } from "../openapi-router.ts";
import { acceptSaveBody } from "../save-body.ts";

/**
 * Form saves (PUT a form instance) as a plain Hono router: the request a cold
 * start serves most, answered without zod (docs/architecture.md, "Cold
 * start"). form-instances.ts describes these two operations for the OpenAPI
 * document (its `SaveBody` is the body's one definition); each request here
 * runs what @hono/zod-openapi ran for them, in its order: the permission,
 * the media type, the body.
 */
export const formInstanceSaveRoutes = new Hono<AppEnv>();

/** The body schema and its problem, for a body the zod-free check does not accept outright. */
const saveBodySchema = once(async () => {
  // The router first: @hono/zod-openapi gives zod `.openapi()`, which the schemas call as they are built.
  const { zodProblem } = await openApiRouter();
  const { SaveBody } = await import("../schemas.ts");
  return { SaveBody, zodProblem };
});

/** @hono/zod-openapi's check of a JSON body's media type (its `jsonRequestRegex`), answered as it answers. */
const JSON_REQUEST = /^application\/([a-z-.]+\+)?json(;\s*[a-zA-Z0-9-]+=([^;]+))*$/i;
const jsonMediaType = createMiddleware<AppEnv>(async (c, next) => {
  // A missing or non-JSON type never gets here: api/routes.ts answers it 415 first.
  const type = c.req.header("content-type");
  if (type && !JSON_REQUEST.test(type)) throw new HTTPException(415, { message: "Unsupported Media Type" });
  await next();
});

const saveBody = validator("json", async (body): Promise<SaveInput> => {
  const accepted = acceptSaveBody(body);
  if (accepted) return accepted;
  const { SaveBody, zodProblem } = await saveBodySchema();
  const result = SaveBody.safeParse(body);
  if (!result.success) throw zodProblem(result.error, "body");
  return result.data;
});

async function saveInstance(c: Context<AppEnv>, p: InstancePath, body: SaveInput) {
  const result = await saveForm(c, p, body);
  const address = { event: p.event, form: p.form, instance: Number(p.instance) };
  switch (result.kind) {
    case "unchanged":
      return {
        ...instanceView(address, result.state as Revision),
        changes: [],
        deviations: result.deviations,
      };
    case "saved":
      return {
        ...instanceView(address, result.state),
        changes: result.changes,
        deviations: result.deviations,
      };
    default:
      throw saveProblem(p, result, body.rev);
  }
}

const FORM = "/studies/:study/subjects/:subject/events/:event/forms/:form";

formInstanceSaveRoutes.put(FORM, permitted("enter-data"), jsonMediaType, saveBody, async (c) => {
  const p = { ...c.req.param(), instance: "1" };
  return c.json(await saveInstance(c, p, c.req.valid("json")), 200);
});

formInstanceSaveRoutes.put(
  `${FORM}/instances/:instance`,
  permitted("enter-data"),
  jsonMediaType,
  saveBody,
  async (c) => c.json(await saveInstance(c, c.req.param(), c.req.valid("json")), 200),
);
