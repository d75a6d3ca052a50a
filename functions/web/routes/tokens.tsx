import { type Context, Hono } from "hono";
import type { StudyDefinition } from "../../engine/definition.ts";
import type { AppEnv } from "../../http/context.ts";
import { requirePermission } from "../../http/permissions.ts";
import { ProblemError } from "../../http/problems.ts";
import { loadStudy } from "../../http/resolve.ts";
import { createToken, listTokens, revokeToken, type ServiceKeyRequest } from "../../http/tokens.ts";
import { ALL_SITES, ROLES, readRole } from "../../store/principal.ts";
import { formList } from "../form-list.ts";
import { endOfDay, KeyOptions, KeyTable, NewKey } from "../key-table.tsx";
import type { Page } from "../layout.tsx";

/**
 * The admins' key page: service keys made for a named owner, and every key of
 * the study to revoke. The same use case as the API's `/tokens`
 * (http/tokens.ts), as form posts.
 */

async function tokenStudy(c: Context<AppEnv>) {
  const definition = await loadStudy(c, c.req.param("study") ?? "");
  requirePermission(c.var.principal, "manage-tokens");
  return definition;
}

/** The form's fields as a service key request: unknown sites fall back to all, the date ends its day. */
async function readTokenForm(c: Context<AppEnv>, definition: StudyDefinition): Promise<ServiceKeyRequest> {
  const body = await c.req.parseBody({ all: true });
  const sites = formList(body.sites).filter((s) => definition.study.sites.some((x) => x.id === s));
  return {
    user: typeof body.user === "string" ? body.user.trim() : "",
    owner: typeof body.owner === "string" ? body.owner.trim() : "",
    scope: [{ role: readRole(body.role) ?? "sponsor", sites: sites.length > 0 ? sites : [ALL_SITES] }],
    expiresAt: endOfDay(body.expires),
    format: body.format === "redcap" ? "redcap" : "edc",
    ...(body.deidentified === "true" ? { deidentified: true } : {}),
  };
}

async function revokeTokenFromForm(c: Context<AppEnv>) {
  const definition = await tokenStudy(c);
  await revokeToken(c, definition, c.req.param("id") ?? "");
  return c.redirect(`/studies/${definition.study.id}/builder/tokens`, 303);
}

export function tokenPages(page: Page) {
  async function renderTokens(
    c: Context<AppEnv>,
    definition: StudyDefinition,
    created?: { token: string; user: string },
    error?: string,
  ) {
    const tokens = await listTokens(c, definition);
    const base = `/studies/${definition.study.id}/builder/tokens`;
    return page(
      c,
      "API keys",
      <>
        <h1>API keys</h1>
        <p>
          Service keys belong to a named person who answers for them and must hold their roles; a key stops
          working as soon as its owner loses them. People make their own keys at{" "}
          <a href="/account/keys">their keys page</a>.
        </p>
        {created && <NewKey token={created.token} label={created.user} />}
        {error && (
          <p class="notice bad" role="alert">
            {error}
          </p>
        )}
        <form method="post" action={base} class="card">
          <h2>New service key</h2>
          <input type="hidden" name="_csrf" value={c.var.csrf ?? ""} />
          <div class="field">
            <label for="f-user">Service account</label>
            <input id="f-user" name="user" type="text" required />
          </div>
          <div class="field">
            <label for="f-owner">Owner (email or person id)</label>
            <input id="f-owner" name="owner" type="text" required />
          </div>
          <div class="field">
            <label for="f-role">Role</label>
            <select id="f-role" name="role">
              {ROLES.map((r) => (
                <option value={r} selected={r === "sponsor"}>
                  {r.replace("_", " ")}
                </option>
              ))}
            </select>
          </div>
          <div class="field">
            <fieldset>
              <legend>Sites (none ticked: all)</legend>
              {definition.study.sites.map((s) => (
                <label class="choice">
                  <input type="checkbox" name="sites" value={s.id} /> {s.name}
                </label>
              ))}
            </fieldset>
          </div>
          <KeyOptions idPrefix="f" />
          <button type="submit">Create key</button>
        </form>
        <h2>Every key of the study</h2>
        <KeyTable keys={tokens} revokeBase={base} csrf={c.var.csrf ?? ""} showOwner />
      </>,
      { status: error ? 422 : 200 },
    );
  }

  async function showTokens(c: Context<AppEnv>) {
    return renderTokens(c, await tokenStudy(c));
  }

  async function createTokenFromForm(c: Context<AppEnv>) {
    const definition = await tokenStudy(c);
    const request = await readTokenForm(c, definition);
    try {
      const created = await createToken(c, definition, request);
      return renderTokens(c, definition, { token: created.token, user: request.user });
    } catch (e) {
      if (!(e instanceof ProblemError && e.status === 422)) throw e;
      const reasons = ((e.extra.errors ?? []) as { message: string; pointer: string }[])
        .map((x) => `${x.pointer.slice(1)} ${x.message}`)
        .join("; ");
      return renderTokens(c, definition, undefined, `The key was not created: ${reasons}.`);
    }
  }

  return new Hono<AppEnv>()
    .get("/studies/:study/builder/tokens", showTokens)
    .post("/studies/:study/builder/tokens", createTokenFromForm)
    .post("/studies/:study/builder/tokens/:id/revoke", revokeTokenFromForm);
}
