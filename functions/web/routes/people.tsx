import { type Context, Hono } from "hono";
import type { StudyDefinition } from "../../engine/definition.ts";
import type { AppEnv } from "../../http/context.ts";
import { grantRoles, listPeopleAt, revokeRoles } from "../../http/people.ts";
import { permitted } from "../../http/permissions.ts";
import { ProblemError } from "../../http/problems.ts";
import { loadStudy } from "../../http/resolve.ts";
import { ALL_SITES, ROLES, readRole } from "../../store/principal.ts";
import { formList } from "../form-list.ts";
import { grantWords } from "../key-table.tsx";
import { page } from "../page.tsx";

/** The admins' people page: the same use case as the API's `/people` (http/people.ts), as form posts. */

const study = (c: Context<AppEnv>) => loadStudy(c, c.req.param("study") ?? "");

async function renderPeople(
  c: Context<AppEnv>,
  definition: StudyDefinition,
  message?: { ok: boolean; text: string },
) {
  const people = await listPeopleAt(c, definition);
  const base = `/studies/${definition.study.id}/people`;
  const csrf = <input type="hidden" name="_csrf" value={c.var.csrf ?? ""} />;
  return page(
    c,
    "People",
    <>
      <h1>People and their roles</h1>
      <p>Everyone who has signed in. A person can hold several roles, each at its own sites.</p>
      {message && (
        <p class={`notice ${message.ok ? "ok" : "bad"}`} role={message.ok ? "status" : "alert"}>
          {message.text}
        </p>
      )}
      {people.map((p) => {
        const active = p.grant && !p.grant.revokedAt ? p.grant : undefined;
        const id = (name: string) => `${name}-${p.id}`;
        return (
          <section class="card" data-person={p.id} aria-labelledby={id("name")}>
            <h2 id={id("name")}>{p.label}</h2>
            <p>
              {p.name && p.name !== p.label ? `${p.name}. ` : ""}
              {active
                ? `Holds: ${grantWords(active.roles)}${active.deidentified ? " (exports de-identified)" : ""}.`
                : p.grant?.revokedAt
                  ? `Revoked ${p.grant.revokedAt.slice(0, 16).replace("T", " ")} by ${p.grant.revokedBy}.`
                  : "No role at this study."}
            </p>
            <form method="post" action={`${base}/${p.id}`}>
              {csrf}
              <div class="field">
                <label for={id("role")}>Role</label>
                <select id={id("role")} name="role">
                  {ROLES.map((r) => (
                    <option value={r}>{r.replace("_", " ")}</option>
                  ))}
                </select>
              </div>
              <fieldset class="field">
                <legend>Sites (none ticked: all)</legend>
                {definition.study.sites.map((s) => (
                  <label class="choice">
                    <input type="checkbox" name="sites" value={s.id} /> {s.name} ({s.id})
                  </label>
                ))}
              </fieldset>
              {active && (
                <label class="choice">
                  <input type="checkbox" name="keep" value="true" /> Keep the roles held now (add this one)
                </label>
              )}
              <label class="choice">
                <input type="checkbox" name="deidentified" value="true" checked={active?.deidentified} />{" "}
                Exports always de-identified
              </label>
              <button type="submit">Grant</button>
            </form>
            {active && (
              <form method="post" action={`${base}/${p.id}/revoke`}>
                {csrf}
                <button type="submit" class="secondary">
                  Revoke every role of {p.label}
                </button>
              </form>
            )}
          </section>
        );
      })}
    </>,
    { status: message && !message.ok ? 422 : 200 },
  );
}

async function showPeople(c: Context<AppEnv>) {
  return renderPeople(c, await study(c));
}

async function grantFromForm(c: Context<AppEnv>) {
  const definition = await study(c);
  const person = c.req.param("person") ?? "";
  const body = await c.req.parseBody({ all: true });
  const role = readRole(body.role);
  const sites = formList(body.sites).filter((s) => definition.study.sites.some((x) => x.id === s));
  const held = (await listPeopleAt(c, definition)).find((p) => p.id === person)?.grant;
  const kept = body.keep === "true" && held && !held.revokedAt ? held.roles : [];
  if (!role) return renderPeople(c, definition, { ok: false, text: "Choose a role." });
  try {
    const granted = await grantRoles(c, definition, person, {
      roles: [
        ...kept.filter((g) => g.role !== role),
        { role, sites: sites.length > 0 ? sites : [ALL_SITES] },
      ],
      deidentified: body.deidentified === "true",
    });
    return renderPeople(c, definition, {
      ok: true,
      text: `${granted.label} now holds: ${grantWords(granted.grant?.roles ?? [])}.`,
    });
  } catch (e) {
    if (!(e instanceof ProblemError && e.status === 422)) throw e;
    return renderPeople(c, definition, { ok: false, text: e.message });
  }
}

async function revokeFromForm(c: Context<AppEnv>) {
  const definition = await study(c);
  await revokeRoles(c, definition, c.req.param("person") ?? "");
  return c.redirect(`/studies/${definition.study.id}/people`, 303);
}

export function peoplePages() {
  const admins = permitted("manage-users");
  return new Hono<AppEnv>()
    .get("/studies/:study/people", admins, showPeople)
    .post("/studies/:study/people/:person", admins, grantFromForm)
    .post("/studies/:study/people/:person/revoke", admins, revokeFromForm);
}
