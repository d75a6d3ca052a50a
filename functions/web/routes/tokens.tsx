import { type Context, Hono } from "hono";
import type { StudyDefinition } from "../../engine/definition.ts";
import type { AppEnv } from "../../http/context.ts";
import { requirePermission } from "../../http/permissions.ts";
import { ProblemError } from "../../http/problems.ts";
import { loadStudy } from "../../http/resolve.ts";
import { createToken, listTokens, revokeToken } from "../../http/tokens.ts";
import { ALL_SITES } from "../../store/principal.ts";
import { formList } from "../form-list.ts";
import type { Page } from "../layout.tsx";

/** The builders' token page: the same use case as the API's `/tokens` (http/tokens.ts), as form posts. */

async function tokenStudy(c: Context<AppEnv>) {
  const definition = await loadStudy(c, c.req.param("study") ?? "");
  requirePermission(c.var.principal, "manage-tokens");
  return definition;
}

/** The form's fields as a token request: unknown sites and roles fall back, the date ends its day. */
async function readTokenForm(c: Context<AppEnv>, definition: StudyDefinition) {
  const body = await c.req.parseBody({ all: true });
  const user = typeof body.user === "string" ? body.user.trim() : "";
  const expires = typeof body.expires === "string" ? body.expires : "";
  const sites = formList(body.sites).filter((s) => definition.study.sites.some((x) => x.id === s));
  return {
    user,
    role: body.role === "monitor" ? ("monitor" as const) : ("sponsor" as const),
    sites: sites.length > 0 ? sites : [ALL_SITES],
    expiresAt: /^\d{4}-\d{2}-\d{2}$/.test(expires) ? `${expires}T23:59:59.000Z` : "",
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
      "API tokens",
      <>
        <p>
          <a href={`/studies/${definition.study.id}/builder`}>← Study builder</a>
        </p>
        <h1>API tokens</h1>
        {created && (
          <p class="notice ok" role="status" data-new-token>
            Token for {created.user} — copy it now, it is not shown again: <code>{created.token}</code>
          </p>
        )}
        {error && (
          <p class="notice bad" role="alert">
            {error}
          </p>
        )}
        <form method="post" action={base} class="card">
          <h2>New read-only token</h2>
          <input type="hidden" name="_csrf" value={c.var.csrf ?? ""} />
          <div class="field">
            <label for="f-user">For (person or system)</label>
            <input id="f-user" name="user" type="text" required />
          </div>
          <div class="field">
            <label for="f-role">Role</label>
            <select id="f-role" name="role">
              <option value="sponsor">sponsor</option>
              <option value="monitor">monitor</option>
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
          <div class="field">
            <label for="f-expires">Expires on</label>
            <input id="f-expires" name="expires" type="date" required />
          </div>
          <label class="choice">
            <input type="checkbox" name="deidentified" value="true" /> Exports always de-identified
          </label>
          <button type="submit">Create token</button>
        </form>
        <table>
          <thead>
            <tr>
              <th scope="col">Id</th>
              <th scope="col">For</th>
              <th scope="col">Role</th>
              <th scope="col">Sites</th>
              <th scope="col">Expires</th>
              <th scope="col">State</th>
            </tr>
          </thead>
          <tbody>
            {tokens.map((t) => (
              <tr data-token={t.id}>
                <td>
                  <code>{t.id}</code>
                </td>
                <td>{t.user}</td>
                <td>{t.role}</td>
                <td>{t.sites.join(", ")}</td>
                <td>{t.expiresAt?.slice(0, 10) ?? "never"}</td>
                <td>
                  {t.revokedAt ? (
                    `revoked ${t.revokedAt.slice(0, 10)} by ${t.revokedBy}`
                  ) : (
                    <form method="post" action={`${base}/${t.id}/revoke`}>
                      <input type="hidden" name="_csrf" value={c.var.csrf ?? ""} />
                      <button type="submit" class="secondary">
                        Revoke
                      </button>
                    </form>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
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
      // The form's only refusals are a missing name and a date not in the future.
      if (!(e instanceof ProblemError && e.status === 422)) throw e;
      return renderTokens(c, definition, undefined, "Name who the token is for and a future expiry date.");
    }
  }

  return new Hono<AppEnv>()
    .get("/studies/:study/builder/tokens", showTokens)
    .post("/studies/:study/builder/tokens", createTokenFromForm)
    .post("/studies/:study/builder/tokens/:id/revoke", revokeTokenFromForm);
}
