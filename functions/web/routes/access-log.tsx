import { type Context, Hono } from "hono";
import { LOGGED_ACTIONS } from "../../http/access-events.ts";
import { readAccessLogPage } from "../../http/access-log.ts";
import type { AppEnv } from "../../http/context.ts";
import { permitted } from "../../http/permissions.ts";
import { loadStudy } from "../../http/resolve.ts";
import { page } from "../page.tsx";
import { type AccessLogFilter, AccessLogPage } from "../pages/access-log.tsx";

/** The access log page: the same use case as the API's `/access-log` (http/access-log.ts), newest first. */

export const ACCESS_LOG_PAGE_SIZE = 50;

/** A seq from the query, or nothing: a mangled cursor starts from the newest entry. */
const seq = (value: string | undefined) =>
  value && /^[1-9]\d{0,11}$/.test(value) ? Number(value) : undefined;

async function showAccessLog(c: Context<AppEnv>) {
  const definition = await loadStudy(c, c.req.param("study") ?? "");
  const filter: AccessLogFilter = {
    ...(c.req.query("action") ? { action: c.req.query("action")?.slice(0, 64) } : {}),
    ...(c.req.query("person")?.trim() ? { person: c.req.query("person")?.trim().slice(0, 320) } : {}),
  };
  const before = seq(c.req.query("before"));
  const { entries, next } = await readAccessLogPage(c, definition, {
    newestFirst: true,
    limit: ACCESS_LOG_PAGE_SIZE,
    ...(before !== undefined ? { before } : {}),
    ...filter,
  });
  const base = `/studies/${definition.study.id}/access-log`;
  const older = next !== undefined ? new URLSearchParams({ ...filter, before: String(next) }) : undefined;
  return page(
    c,
    "Access log",
    <AccessLogPage
      base={base}
      actions={LOGGED_ACTIONS}
      filter={filter}
      entries={entries}
      {...(older ? { olderHref: `${base}?${older}` } : {})}
    />,
  );
}

export function accessLogPages() {
  return new Hono<AppEnv>().get("/studies/:study/access-log", permitted("read-access-log"), showAccessLog);
}
