import type { Hono } from "hono";
import type { AppEnv } from "../../functions/http/context.ts";
import { createWebRoutes } from "../../functions/web/routes.tsx";
import { SCRIPT_PATHS } from "../../functions/web/script-paths.generated.ts";

/**
 * Every route the app answers: its own (the API, REDCap) and the site pages',
 * which the app imports on their first request (functions/app.ts,
 * `lazySitePages`), so they are not in `app.routes` until then. The pages'
 * routes do not depend on the options they are built with.
 */
export function appRoutes(app: Hono<AppEnv>): Hono<AppEnv>["routes"] {
  const pages = createWebRoutes({
    sessionSecret: async () => "",
    idleMs: 1,
    scripts: SCRIPT_PATHS,
    assets: [],
  });
  return [...app.routes, ...pages.routes];
}
