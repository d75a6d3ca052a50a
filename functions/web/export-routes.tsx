import { type Context, Hono } from "hono";
import {
  flatExportOptions,
  OdmQuery,
  streamOdm,
  streamRecords,
  visibleSites,
} from "../api/routes/exports.ts";
import { formOrder } from "../engine/form-order.ts";
import { type Row, writeRows } from "../engine/redcap/columns.ts";
import { buildDictionary } from "../engine/redcap/export-dictionary.ts";
import { neutraliseFormula } from "../engine/spreadsheet-formula.ts";
import { RECORD_ID } from "../exports/flat.ts";
import type { AppEnv } from "../http/context.ts";
import { problems } from "../http/problems.ts";
import { loadStudy } from "../http/resolve.ts";
import { ALL_SITES, newToken } from "../store/tokens.ts";
import type { Page } from "./layout.tsx";

const READERS = ["monitor", "builder", "sponsor"];
const list = (v: unknown) =>
  ([] as unknown[]).concat(v ?? []).filter((x): x is string => typeof x === "string" && x !== "");

/** Downloads for monitors and builders, and the builders' token page, on the same export code as the API. */
export function exportPages(page: Page) {
  const web = new Hono<AppEnv>();
  const guard = async (c: Context<AppEnv>, roles: string[]) => {
    const definition = await loadStudy(c, c.req.param("study") ?? "");
    if (!roles.includes(c.var.principal.role))
      throw problems.forbidden("Exports are for monitors, builders and sponsors.");
    return definition;
  };

  web.get("/studies/:study/exports", async (c) => {
    const definition = await guard(c, READERS);
    const base = `/studies/${definition.study.id}/exports`;
    return page(
      c,
      "Exports",
      <>
        <h1>Exports</h1>
        <form method="get" action={`${base}/records`} class="card">
          <h2>Records (REDCap flat format)</h2>
          <div class="field">
            <label for="f-format">Format</label>
            <select id="f-format" name="format">
              <option value="csv">CSV</option>
              <option value="json">JSON</option>
              <option value="ndjson">NDJSON</option>
            </select>
          </div>
          <div class="field">
            <fieldset>
              <legend>Values</legend>
              <label class="choice">
                <input type="radio" name="rawOrLabel" value="raw" checked /> Raw codes
              </label>
              <label class="choice">
                <input type="radio" name="rawOrLabel" value="label" /> Labels
              </label>
            </fieldset>
          </div>
          <div class="field">
            <fieldset>
              <legend>Instruments (none ticked: all)</legend>
              {formOrder(definition).map((f) => (
                <label class="choice">
                  <input type="checkbox" name="forms" value={f} /> {definition.instruments[f]?.title ?? f}
                </label>
              ))}
            </fieldset>
          </div>
          <div class="field">
            <label class="choice">
              <input type="checkbox" name="deidentify" value="true" /> De-identify (identifiers out, dates
              shifted per subject)
            </label>
            <label class="choice">
              <input type="checkbox" name="hashIds" value="true" /> Replace subject ids by a stable key
            </label>
          </div>
          <button type="submit">Download records</button>
        </form>
        <div class="card">
          <h2>Other exports</h2>
          <ul>
            <li>
              <a href={`${base}/odm`}>CDISC ODM 1.3.2 (metadata and data)</a> ·{" "}
              <a href={`${base}/odm?audit=true`}>with audit trail</a>
            </li>
            <li>
              <a href={`${base}/dictionary.csv`}>REDCap data dictionary (CSV)</a>
            </li>
          </ul>
        </div>
      </>,
    );
  });

  web.get("/studies/:study/exports/records", async (c) => {
    const definition = await guard(c, READERS);
    const q = c.req.queries();
    const format = (["csv", "json", "ndjson"] as const).find((f) => f === c.req.query("format")) ?? "csv";
    const forms = list(q.forms).filter((f) => definition.instruments[f]);
    const options = await flatExportOptions(c, definition, {
      rawOrLabel: c.req.query("rawOrLabel") === "label" ? "label" : "raw",
      forms: forms.length > 0 ? forms : undefined,
      deidentify: c.req.query("deidentify") === "true",
      hashIds: c.req.query("hashIds") === "true",
    });
    const subjects = (await c.var.store.listSubjects(definition.study.id, visibleSites(c, definition))).sort(
      (a, b) => (a.id < b.id ? -1 : 1),
    );
    const stamp = new Date().toISOString().slice(0, 10);
    return streamRecords(c, definition, subjects, options, format, {
      "Content-Disposition": `attachment; filename="${definition.study.id}-records-${stamp}.${format}"`,
    });
  });

  web.get("/studies/:study/exports/odm", async (c) => {
    const definition = await guard(c, READERS);
    const q = OdmQuery.parse(c.req.query());
    c.header(
      "Content-Disposition",
      `attachment; filename="${definition.study.id}-odm${q.audit ? "-audit" : ""}.xml"`,
    );
    return streamOdm(c, definition, q);
  });

  web.get("/studies/:study/exports/dictionary.csv", async (c) => {
    const definition = await guard(c, READERS);
    const { rows } = buildDictionary(definition.instruments, {
      recordIdField: RECORD_ID,
      formOrder: formOrder(definition),
    });
    // A download for people: formulas neutralised (the CLI's forms:export-redcap writes REDCap's exact values).
    const forPeople = rows.map(
      (r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, neutraliseFormula(v)])) as Row,
    );
    return c.body(writeRows(forPeople), 200, {
      "Content-Type": "text/csv; charset=utf-8",
      "Content-Disposition": `attachment; filename="${definition.study.id}-dictionary.csv"`,
    });
  });

  // ---- Tokens (builders).
  const tokensPage = async (
    c: Context<AppEnv>,
    created?: { token: string; user: string },
    error?: string,
  ) => {
    const definition = await guard(c, ["builder"]);
    const tokens = await c.var.store.listTokens(definition.study.id);
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
  };

  web.get("/studies/:study/builder/tokens", (c) => tokensPage(c));
  web.post("/studies/:study/builder/tokens", async (c) => {
    const definition = await guard(c, ["builder"]);
    const body = await c.req.parseBody({ all: true });
    const user = typeof body.user === "string" ? body.user.trim() : "";
    const expires = typeof body.expires === "string" ? body.expires : "";
    const expiresAt = /^\d{4}-\d{2}-\d{2}$/.test(expires) ? `${expires}T23:59:59.000Z` : "";
    const sites = list(body.sites).filter((s) => definition.study.sites.some((x) => x.id === s));
    if (!user || !expiresAt || expiresAt <= new Date().toISOString()) {
      return tokensPage(c, undefined, "Name who the token is for and a future expiry date.");
    }
    const token = newToken();
    await c.var.store.storeToken(
      token,
      {
        user,
        role: body.role === "monitor" ? "monitor" : "sponsor",
        study: definition.study.id,
        sites: sites.length > 0 ? sites : [ALL_SITES],
        expiresAt,
        ...(body.deidentified === "true" ? { deidentified: true } : {}),
      },
      c.var.principal.user,
    );
    return tokensPage(c, { token, user });
  });
  web.post("/studies/:study/builder/tokens/:id/revoke", async (c) => {
    const definition = await guard(c, ["builder"]);
    if (!(await c.var.store.revokeToken(definition.study.id, c.req.param("id"), c.var.principal.user))) {
      throw problems.notFound(`Token ${c.req.param("id")}`);
    }
    return c.redirect(`/studies/${definition.study.id}/builder/tokens`, 303);
  });
  return web;
}
