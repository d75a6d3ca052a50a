import { once } from "../engine/once.ts";

/**
 * @hono/zod-openapi gives zod's schemas `.openapi()` when it is evaluated, and
 * the families' schemas call it as they are built. Split into chunks, esbuild
 * does not keep that order (a schema module takes `z` from zod's chunk, not
 * from @hono/zod-openapi's), so the router, which imports @hono/zod-openapi,
 * is evaluated before any family (and before the schemas a save imports when
 * its body needs them: api/routes/form-instance-saves.ts).
 */
export const openApiRouter = once(() => import("./router.ts"));
