import type { Context } from "hono";
import type { StudyDefinition } from "../engine/definition.ts";
import type { AccessLogEntry } from "../store/access-log.ts";
import type { AppEnv } from "./context.ts";
import { requirePermission } from "./permissions.ts";

/**
 * Reading a study's access log, the one use case behind the API's
 * `/access-log` (oldest first, continue `after`) and the page (newest first,
 * continue `before`). Entries carry people's names and emails and export
 * filters with subject ids counted, never named, so admins may read it.
 */

export interface AccessLogRequest {
  /** A seq from the previous page's `next`. */
  after?: number;
  before?: number;
  newestFirst?: boolean;
  limit: number;
  action?: string;
  /** An actor label or a person id. */
  person?: string;
}

/** What a reader sees of an entry: everything but the MAC, which only the key holder can check. */
export type AccessLogView = Omit<AccessLogEntry, "mac">;

export async function readAccessLogPage(
  c: Context<AppEnv>,
  definition: StudyDefinition,
  request: AccessLogRequest,
): Promise<{ entries: AccessLogView[]; next?: number }> {
  const study = definition.study.id;
  requirePermission(c.var.principal, "read-access-log", { study });
  const { entries, next } = await c.var.store.readAccessLog(study, {
    limit: request.limit,
    ...(request.newestFirst
      ? { newestFirst: true, ...(request.before !== undefined ? { before: request.before } : {}) }
      : request.after !== undefined
        ? { after: request.after }
        : {}),
    ...(request.action ? { action: request.action } : {}),
    ...(request.person ? { who: request.person } : {}),
  });
  return {
    entries: entries.map(({ mac: _mac, ...entry }) => entry),
    ...(next !== undefined ? { next } : {}),
  };
}
