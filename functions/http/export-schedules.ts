import type { Context } from "hono";
import type { StudyDefinition } from "../engine/definition.ts";
import { isDue, nextRunAt, utcDay } from "../engine/export-schedule-times.ts";
import type { ExportSchedule, ExportScheduleKind } from "../store/export-schedules.ts";
import { newJobId } from "../store/job-lease.ts";
import type { Principal } from "../store/principal.ts";
import type { Store } from "../store/store.ts";
import { logAccess } from "./access-events.ts";
import type { AppEnv } from "./context.ts";
import {
  allSitesOf,
  checkFormatChoices,
  checkStart,
  jobRequestOf,
  queueJob,
  type StartBody,
  visible,
} from "./export-job-requests.ts";
import { checkExportFilters } from "./export-scope.ts";
import { principalOfGrant } from "./people.ts";
import { can, sitesOf } from "./permissions.ts";
import { ProblemError, problems } from "./problems.ts";
import { loadStudy } from "./resolve.ts";

/**
 * Scheduled exports: a sponsor's nightly full export, or an incremental one
 * that goes on from the change feed cursor its last done job ended at. Defined
 * as a job start is (the same checks, export-job-requests.ts); a tick
 * (`runDueSchedules`) starts each schedule's job of the day as an ordinary
 * export job, as the schedule's creator as the store has them at that moment.
 */

export interface ScheduleBody extends StartBody {
  kind: ExportScheduleKind;
  at: string;
}

export const scheduleUrl = (study: string, name: string) =>
  `/api/v1/studies/${study}/export-schedules/${name}`;

export const etagOf = (schedule: Pick<ExportSchedule, "version">) => `"${schedule.version}"`;

/** An If-Match's version: `"3"`, `W/"3"` or 3; `-1` for anything else (it matches no version). */
function versionOf(ifMatch: string): number {
  const m = /^\s*(?:W\/)?"?(\d{1,15})"?\s*$/.exec(ifMatch);
  return m?.[1] ? Number(m[1]) : -1;
}

const stale = (current: ExportSchedule) =>
  new ProblemError(
    412,
    "stale-schedule",
    "The schedule was changed by someone else",
    `It is at version ${current.version} now (ETag ${etagOf(current)}); read it and send If-Match with its ETag.`,
    { version: current.version },
  );

const exists = (current: ExportSchedule) =>
  new ProblemError(
    428,
    "schedule-exists",
    "The schedule exists: replacing it needs If-Match",
    `Send If-Match: ${etagOf(current)} (its version now) to replace it, so that no one's change is lost.`,
    { version: current.version },
  );

export async function scheduleView(store: Store, schedule: ExportSchedule, now = new Date()) {
  const { format, cursor: _fixed, ...filters } = schedule.request;
  const last = schedule.lastJob ? await store.exportJobs.get(schedule.study, schedule.lastJob) : undefined;
  return {
    name: schedule.name,
    kind: schedule.kind,
    at: schedule.at,
    format,
    filters:
      schedule.request.cursor !== undefined ? { ...filters, cursor: schedule.request.cursor } : filters,
    version: schedule.version,
    createdBy: schedule.createdBy.user,
    createdAt: schedule.createdAt,
    updatedAt: schedule.updatedAt,
    ...(schedule.lastRunDay ? { lastRunDay: schedule.lastRunDay } : {}),
    ...(schedule.lastJob ? { lastJob: { id: schedule.lastJob, state: last?.state ?? "missing" } } : {}),
    ...(schedule.kind === "incremental" && schedule.cursor ? { cursor: schedule.cursor } : {}),
    ...(schedule.lastError ? { lastError: schedule.lastError } : {}),
    nextRunAt: nextRunAt(
      {
        at: schedule.at,
        definedAt: schedule.updatedAt,
        ...(schedule.lastRunDay ? { lastRunDay: schedule.lastRunDay } : {}),
      },
      now,
    ).toISOString(),
    self: scheduleUrl(schedule.study, schedule.name),
  };
}

export type ScheduleView = Awaited<ReturnType<typeof scheduleView>>;

/** The schedule if the caller may see it (as its jobs: the creator's sites all among the caller's). */
async function visibleSchedule(
  c: Context<AppEnv>,
  definition: StudyDefinition,
  name: string,
): Promise<ExportSchedule | undefined> {
  const found = await c.var.store.exportSchedules.get(definition.study.id, name);
  return found && visible(c, definition, found) ? found : undefined;
}

/** Creates (no If-Match) or replaces (If-Match: its ETag) the schedule; never a silent overwrite. */
export async function putSchedule(
  c: Context<AppEnv>,
  study: string,
  name: string,
  body: ScheduleBody,
  ifMatch: string | undefined,
): Promise<{ created: boolean; schedule: ExportSchedule }> {
  const definition = await checkStart(c, study, body);
  if (body.kind === "incremental" && body.format !== "warehouse-changes")
    throw problems.badRequest("An incremental schedule exports the changes since its last job.", [
      {
        pointer: "/format",
        code: "kind",
        message: "an incremental schedule's format is warehouse-changes",
      },
    ]);
  const current = await c.var.store.exportSchedules.get(study, name);
  if (current && !visible(c, definition, current)) throw problems.notFound(`Export schedule ${name}`);
  if (current && ifMatch === undefined) throw exists(current);
  if (!current && ifMatch !== undefined) throw problems.notFound(`Export schedule ${name}`);
  const principal = c.var.principal;
  const { kind, at, ...job } = body;
  const { cursor, ...request } = jobRequestOf(principal, job);
  const put = await c.var.store.exportSchedules.put(
    {
      study,
      name,
      kind,
      at,
      request: kind === "full" && cursor !== undefined ? { ...request, cursor } : request,
      createdBy: principal,
      sites: sitesOf(principal, allSitesOf(definition), "export"),
      ...(kind === "incremental" && cursor !== undefined ? { cursor } : {}),
    },
    ifMatch === undefined ? undefined : versionOf(ifMatch),
  );
  if ("schedule" in put) {
    // After the write, as grants are: a schedule exports data as its creator from now on, so who set it is kept.
    const { format, ...filters } = put.schedule.request;
    await logAccess(c, "export-schedule-set", {
      schedule: name,
      version: put.schedule.version,
      kind,
      at,
      format,
      filters,
    });
    return { created: put.outcome === "created", schedule: put.schedule };
  }
  if (!put.current) throw problems.notFound(`Export schedule ${name}`);
  throw put.outcome === "exists" ? exists(put.current) : stale(put.current);
}

export async function getSchedule(c: Context<AppEnv>, study: string, name: string) {
  const definition = await loadStudy(c, study);
  const schedule = await visibleSchedule(c, definition, name);
  if (!schedule) throw problems.notFound(`Export schedule ${name}`);
  return schedule;
}

export async function listSchedules(c: Context<AppEnv>, study: string) {
  const definition = await loadStudy(c, study);
  const all = await c.var.store.exportSchedules.list(study);
  return Promise.all(all.filter((s) => visible(c, definition, s)).map((s) => scheduleView(c.var.store, s)));
}

export async function deleteSchedule(
  c: Context<AppEnv>,
  study: string,
  name: string,
  ifMatch: string | undefined,
): Promise<void> {
  const schedule = await getSchedule(c, study, name);
  const deleted = await c.var.store.exportSchedules.delete(
    study,
    name,
    ifMatch === undefined ? undefined : versionOf(ifMatch),
  );
  if (deleted === "missing") throw problems.notFound(`Export schedule ${name}`);
  if (deleted === "stale") {
    const current = await c.var.store.exportSchedules.get(study, name);
    throw stale(current ?? schedule);
  }
  await logAccess(c, "export-schedule-delete", { schedule: name, version: schedule.version });
}

/** What one tick did, schedule by schedule (`study/name`). */
export interface TickReport {
  started: { schedule: string; job: string }[];
  refused: { schedule: string; error: string }[];
}

/**
 * The creator as the store has them now: their key (still theirs, not revoked
 * or expired, cut to their current grant) or their grant; why not, otherwise.
 */
async function creatorNow(
  store: Store,
  creator: Principal,
  now: Date,
): Promise<{ principal: Principal } | { error: string }> {
  if (creator.key) {
    const found = await store.findTokenById(creator.study, creator.key.id, now);
    if (!found.principal) return { error: `The creator's API key admits no one now (${found.refused}).` };
    return { principal: found.principal };
  }
  const grant = creator.person ? await store.findGrant(creator.study, creator.person) : undefined;
  const principal = grant && principalOfGrant(grant, creator.user);
  return principal ? { principal } : { error: "The creator no longer holds a grant at the study." };
}

/** Today's job's body as the creator may start it now, or why it cannot start. */
async function todaysJob(
  store: Store,
  schedule: ExportSchedule,
  now: Date,
): Promise<{ principal: Principal; definition: StudyDefinition; body: StartBody } | { error: string }> {
  const creator = await creatorNow(store, schedule.createdBy, now);
  if ("error" in creator) return creator;
  if (!can(creator.principal, "export", { study: schedule.study }))
    return { error: "The creator may no longer export data." };
  const definition = await store.definitions.current(schedule.study);
  if (!definition) return { error: "The study has no published definition." };
  const body: StartBody = {
    ...schedule.request,
    ...(schedule.kind === "incremental" && schedule.cursor ? { cursor: schedule.cursor } : {}),
  };
  try {
    // The protocol may have changed since the schedule was defined: a form it names may be gone.
    checkExportFilters(definition, body);
    checkFormatChoices(body);
  } catch (error) {
    if (error instanceof ProblemError) return { error: `The export cannot start: ${error.message}` };
    throw error;
  }
  return { principal: creator.principal, definition, body };
}

/** An incremental's last job, once ended, folded into the schedule: the schedule as it now stands, or undefined while the job runs. */
async function settled(store: Store, schedule: ExportSchedule): Promise<ExportSchedule | undefined> {
  const id = schedule.pendingJob;
  if (!id) return schedule;
  const job = await store.exportJobs.get(schedule.study, id);
  if (job && job.state !== "done" && job.state !== "failed") return undefined;
  const end =
    job?.state === "done"
      ? job.nextCursor
        ? { nextCursor: job.nextCursor }
        : {}
      : { error: `Job ${id} ${job ? `failed: ${job.error ?? "no reason given"}` : "was never made"}` };
  await store.exportSchedules.settle(schedule, id, end);
  const { pendingJob: _done, ...rest } = schedule;
  return {
    ...rest,
    ...("nextCursor" in end ? { cursor: end.nextCursor } : {}),
    ...("error" in end ? { lastError: end.error } : {}),
  };
}

async function tickOne(
  store: Store,
  read: ExportSchedule,
  now: Date,
  start: (study: string, id: string) => void,
  report: TickReport,
): Promise<void> {
  const label = `${read.study}/${read.name}`;
  const schedule = await settled(store, read);
  // An incremental waits for its last job: another one from the same cursor would repeat its range.
  if (!schedule) return;
  const times = {
    at: schedule.at,
    definedAt: schedule.updatedAt,
    ...(schedule.lastRunDay ? { lastRunDay: schedule.lastRunDay } : {}),
  };
  if (!isDue(times, now)) return;
  const job = await todaysJob(store, schedule, now);
  const id = newJobId(now);
  const day = utcDay(now);
  const claimed = await store.exportSchedules.claimDay(
    schedule,
    day,
    "error" in job ? job : { job: id, pending: schedule.kind === "incremental" },
  );
  if (!claimed) return;
  if ("error" in job) {
    await store.appendAccessLog(schedule.study, {
      actor: schedule.createdBy.user,
      ...(schedule.createdBy.person ? { person: schedule.createdBy.person } : {}),
      action: "export-schedule-refused",
      details: { schedule: schedule.name, day, reason: job.error },
    });
    report.refused.push({ schedule: label, error: job.error });
    return;
  }
  const { principal } = job;
  try {
    await queueJob(
      {
        store,
        principal,
        log: async (action, details) => {
          await store.appendAccessLog(schedule.study, {
            actor: principal.user,
            ...(principal.person ? { person: principal.person } : {}),
            action,
            details,
          });
        },
        start,
      },
      job.definition,
      job.body,
      { id, schedule: schedule.name },
    );
    report.started.push({ schedule: label, job: id });
  } catch (error) {
    const message = `The job could not be started: ${(error as Error).message}`;
    await store.exportSchedules.noteError(schedule, message);
    if (schedule.kind === "incremental") await store.exportSchedules.settle(schedule, id, { error: message });
    report.refused.push({ schedule: label, error: message });
  }
}

/**
 * One tick over every study's schedules: each due one starts its job of the
 * day (at most one, whatever ticks race: the day is claimed with a
 * conditional write first). `start` runs a job in-process (locally); in AWS
 * the job item's stream starts the worker.
 */
export async function runDueSchedules(
  store: Store,
  now: Date = new Date(),
  start: (study: string, id: string) => void = () => {},
): Promise<TickReport> {
  const report: TickReport = { started: [], refused: [] };
  for (const schedule of await store.exportSchedules.listAll()) {
    try {
      await tickOne(store, schedule, now, start, report);
    } catch (error) {
      // One schedule's failure stops no other's; the next tick tries it again.
      console.error(`export schedule ${schedule.study}/${schedule.name}:`, error);
    }
  }
  return report;
}
