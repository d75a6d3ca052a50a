import { readdirSync } from "node:fs";
import path from "node:path";
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { loadFamily, ROUTE_FAMILIES } from "../../functions/api/route-families.ts";
import type { AppEnv } from "../../functions/http/context.ts";
import { webErrorPage } from "../../functions/web/error-page.tsx";

const ROUTES_DIR = path.resolve(import.meta.dirname, "../../functions/api/routes");
/**
 * Modules of api/routes that are not /api/v1 families: REDCap's endpoint and its parts (api/routes.ts), and the
 * export jobs' handlers (export-jobs.ts imports them on the first job request).
 */
const NOT_FAMILIES = new Set(["redcap", "redcap-file", "redcap-log"]);

describe("/api/v1 route families", () => {
  it("lists every operation each family answers, in its order, and nothing else", async () => {
    for (const family of ROUTE_FAMILIES) {
      const router = await loadFamily(family);
      const operations = [...new Set(router.routes.map((r) => `${r.method} ${r.path}`))];
      expect(
        family.operations.map(([method, p]) => `${method} ${p}`),
        family.module,
      ).toEqual(operations);
    }
  });

  it("has a family for every route module", () => {
    const modules = readdirSync(ROUTES_DIR)
      .filter((f) => f.endsWith(".ts"))
      .map((f) => f.replace(/\.ts$/, ""))
      .filter((m) => !NOT_FAMILIES.has(m));
    expect(ROUTE_FAMILIES.map((f) => f.module).sort()).toEqual(modules.sort());
  });
});

describe("the site's error page", () => {
  it("answers a zod error thrown by a page as a bad request, not a 500", async () => {
    const app = new Hono<AppEnv>();
    app.get("/", () => {
      z.object({ visit: z.string() }).parse({ visit: 1 });
      return new Response("unreachable");
    });
    app.onError((error, c) => webErrorPage(c, error));
    const res = await app.request("/");
    expect(res.status).toBe(400);
    expect(await res.text()).toContain("visit:");
  });
});
