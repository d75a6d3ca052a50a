/**
 * What the Lambda bundles get for `import … from "zod"` (the stack aliases
 * "zod" here): zod's own entry, line for line, but with `locales` holding
 * English only. zod's entry re-exports every locale as a namespace, and
 * @hono/zod-openapi passes the whole `z` namespace to zod-to-openapi, so no
 * bundler can drop the other 60-odd locales (264 KB, a sixth of the bundle).
 * English is what zod sets by itself on the first schema; nothing here calls
 * `z.config(z.locales.xx())`. tests/unit/zod-english.test.ts checks that
 * this module still exports exactly what zod does.
 */
import * as z from "./zod-english-external.js";

export * from "./zod-english-external.js";
export { z, z as default };
