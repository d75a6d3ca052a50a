import { type Context, Hono } from "hono";
import type { AppEnv } from "../../http/context.ts";
import { loadStudy } from "../../http/resolve.ts";
import { validatorAsset } from "../validator-assets.ts";

const VALIDATOR_FILE = /^(.+)\.([0-9a-f]{12})\.js$/;

/**
 * An instrument's precompiled checks for one definition version (see
 * validator-assets.ts). Behind the session like the form page that loads them:
 * they spell out the protocol. Immutable: a URL names one version and one hash.
 */
async function serveValidator(c: Context<AppEnv>) {
  await loadStudy(c, c.req.param("study") ?? "");
  const version = Number(c.req.param("version"));
  const file = VALIDATOR_FILE.exec(c.req.param("file") ?? "");
  const definition = Number.isSafeInteger(version)
    ? await c.var.store.definitions.version(c.req.param("study") ?? "", version)
    : undefined;
  const id = file?.[1] ?? "";
  const instrument =
    definition && Object.hasOwn(definition.instruments, id) ? definition.instruments[id] : undefined;
  const asset = instrument && validatorAsset(instrument);
  if (!asset || asset.hash !== file?.[2]) return c.notFound();
  return c.body(asset.body, 200, {
    "Content-Type": "text/javascript; charset=utf-8",
    "Cache-Control": "private, max-age=31536000, immutable",
  });
}

export const validatorPages = new Hono<AppEnv>().get(
  "/studies/:study/validators/:version/:file",
  serveValidator,
);
