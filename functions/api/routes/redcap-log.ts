import type { Context } from "hono";
import type { StudyDefinition } from "../../engine/definition.ts";
import { csvText } from "../../exports/csv.ts";
import { uniqueGroupName } from "../../exports/flat.ts";
import {
  type LogEntry,
  type LogType,
  logRows,
  type RedcapLogRow,
  reviewLogEntry,
  subjectLogEntries,
} from "../../exports/redcap-log.ts";
import { logAccess, loggedFilters } from "../../http/access-events.ts";
import type { AppEnv } from "../../http/context.ts";
import { can, sitesOf } from "../../http/permissions.ts";
import { logTimeParam, RedcapError, type RedcapParams, refuseUnknown } from "../redcap-params.ts";

const COLUMNS: (keyof RedcapLogRow)[] = ["timestamp", "username", "action", "details", "record"];
/** Subjects whose audit is read at once: enough to overlap reads, few enough not to flood the table. */
const BATCH = 10;

/**
 * REDCap's `content=log`: the audit as REDCap's logging export. Reading it is
 * reading the audit trail, so it takes `verify-audit` (monitors, data
 * managers, admins — REDCap's "Logging" right), within the sites that grant
 * it. An admin reads no identified data: identifier values and free text
 * (reasons, query comments) are withheld from what it is shown.
 */
export async function redcapLog(
  c: Context<AppEnv>,
  params: RedcapParams,
  definition: StudyDefinition,
): Promise<Response> {
  const principal = c.var.principal;
  if (!can(principal, "verify-audit"))
    throw new RedcapError(403, "You do not have permissions to export the logging");
  params.check("log");
  const format = params.text("format") ?? "xml";
  if (format !== "json" && format !== "csv")
    throw new RedcapError(400, `The format "${format}" is not supported here: use format=json or format=csv`);
  const study = definition.study.id;
  const mine = sitesOf(
    principal,
    definition.study.sites.map((s) => s.id),
    "verify-audit",
  );
  const groups = new Map(mine.map((site) => [uniqueGroupName(site), site]));
  const dag = params.text("dag");
  refuseUnknown("dag", dag === undefined ? undefined : [dag], new Set(groups.keys()));
  const sites = dag === undefined ? mine : [groups.get(dag) as string];
  const record = params.text("record");
  const filters = {
    logtype: params.text("logtype") as LogType | undefined,
    user: params.text("user"),
    record,
    from: logTimeParam(params, "beginTime"),
    until: logTimeParam(params, "endTime"),
  };
  const reader = { identified: can(principal, "read-identified") };

  let subjects = await c.var.store.listSubjects(study, sites);
  if (record !== undefined) subjects = subjects.filter((s) => s.id === record);
  const entries: LogEntry[] = [];
  for (let i = 0; i < subjects.length; i += BATCH) {
    const batch = subjects.slice(i, i + BATCH);
    const audits = await Promise.all(
      batch.map((s) =>
        Promise.all([c.var.store.readCasebook(study, s.id), c.var.store.readReviewLog(study, s.id)]),
      ),
    );
    for (const [k, subject] of batch.entries()) {
      const [casebook, review] = audits[k] ?? [];
      entries.push(
        ...subjectLogEntries(definition, subject, casebook?.revisions ?? [], review ?? [], reader),
      );
    }
  }
  // The study's own chain (a study-wide lock) belongs to no record and no group.
  if (record === undefined && dag === undefined)
    for (const e of await c.var.store.readReviewLog(study))
      entries.push(reviewLogEntry(definition, e, reader));

  const rows = logRows(entries, filters);
  await logAccess(c, "export-redcap", {
    content: "log",
    format,
    // The record asked for is counted, never named, like every export's.
    filters: loggedFilters({
      logtype: filters.logtype,
      user: filters.user,
      dag,
      beginTime: params.text("beginTime"),
      endTime: params.text("endTime"),
      records: record === undefined ? undefined : [record],
    }),
    sites,
    deidentified: !reader.identified,
    rows: rows.length,
  });
  if (format === "json") return c.json(rows, 200);
  return c.body(csvText([COLUMNS, ...rows.map((r) => COLUMNS.map((col) => r[col]))], "programs"), 200, {
    "Content-Type": "text/csv; charset=utf-8",
  });
}
