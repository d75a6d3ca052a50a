import { type Context, Hono } from "hono";
import type { StudyDefinition } from "../../engine/definition.ts";
import type { AppEnv } from "../../http/context.ts";
import { requirePermission } from "../../http/permissions.ts";
import { ProblemError } from "../../http/problems.ts";
import { loadStudy } from "../../http/resolve.ts";
import { createOwnKey, type KeyRequest, listOwnKeys, revokeOwnKey } from "../../http/tokens.ts";
import { formList } from "../form-list.ts";
import { endOfDay, grantWords, KeyOptions, KeyTable, NewKey } from "../key-table.tsx";
import { page } from "../page.tsx";

/**
 * A person's own API keys at the study they are signed in to: the same use
 * case as the API's `/keys` (http/tokens.ts), as form posts.
 */

const BASE = "/account/keys";

async function keyStudy(c: Context<AppEnv>) {
  const definition = await loadStudy(c, c.var.principal.study);
  requirePermission(c.var.principal, "manage-own-keys");
  return definition;
}

/** Ticked roles by their place in the principal's grants (none ticked: all of them). */
async function readKeyForm(c: Context<AppEnv>): Promise<KeyRequest> {
  const body = await c.req.parseBody({ all: true });
  const held = c.var.principal.roles;
  const ticked = formList(body.roles).flatMap((i) => held[Number(i)] ?? []);
  return {
    scope: ticked.length > 0 ? ticked : held,
    expiresAt: endOfDay(body.expires),
    format: body.format === "redcap" ? "redcap" : "edc",
    ...(body.deidentified === "true" ? { deidentified: true } : {}),
  };
}

async function renderKeys(
  c: Context<AppEnv>,
  definition: StudyDefinition,
  created?: string,
  error?: string,
): Promise<Response> {
  const keys = await listOwnKeys(c, definition);
  const csrf = c.var.csrf ?? "";
  return page(
    c,
    "Your API keys",
    <>
      <h1>Your API keys</h1>
      <p>
        A key acts for you at {definition.study.title}, with the roles you tick, and only while you still hold
        them. It always expires, within a year. Use a REDCap-format key with REDCapR or PyCap at{" "}
        <code>/api/</code>.
      </p>
      {created && <NewKey token={created} label={c.var.principal.user} />}
      {error && (
        <p class="notice bad" role="alert">
          {error}
        </p>
      )}
      <form method="post" action={BASE} class="card">
        <h2>New key</h2>
        <input type="hidden" name="_csrf" value={csrf} />
        <div class="field">
          <fieldset>
            <legend>Roles (none ticked: all you hold)</legend>
            {c.var.principal.roles.map((g, i) => (
              <label class="choice">
                <input type="checkbox" name="roles" value={String(i)} /> {grantWords([g])}
              </label>
            ))}
          </fieldset>
        </div>
        <KeyOptions idPrefix="k" />
        <button type="submit">Create key</button>
      </form>
      <KeyTable keys={keys} revokeBase={BASE} csrf={csrf} showOwner={false} />
    </>,
    { status: error ? 422 : 200 },
  );
}

async function showKeys(c: Context<AppEnv>) {
  return renderKeys(c, await keyStudy(c));
}

async function createKeyFromForm(c: Context<AppEnv>) {
  const definition = await keyStudy(c);
  try {
    const created = await createOwnKey(c, definition, await readKeyForm(c));
    return renderKeys(c, definition, created.token);
  } catch (e) {
    if (!(e instanceof ProblemError && e.status === 422)) throw e;
    const reasons = ((e.extra.errors ?? []) as { message: string; pointer: string }[])
      .map((x) => `${x.pointer.slice(1)} ${x.message}`)
      .join("; ");
    return renderKeys(c, definition, undefined, `The key was not created: ${reasons}.`);
  }
}

async function revokeKeyFromForm(c: Context<AppEnv>) {
  await revokeOwnKey(c, await keyStudy(c), c.req.param("id") ?? "");
  return c.redirect(BASE, 303);
}

export const accountKeyPages = new Hono<AppEnv>()
  .get(BASE, showKeys)
  .post(BASE, createKeyFromForm)
  .post(`${BASE}/:id/revoke`, revokeKeyFromForm);
