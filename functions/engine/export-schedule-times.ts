/**
 * When a scheduled export runs: once per UTC day, at or after its `at`
 * (HH:MM, UTC), starting with the first `at` after the schedule was last
 * defined (a nightly 02:00 schedule written at 10:00 first runs tomorrow).
 * Pure: the tick passes its `now`.
 */

export const SCHEDULE_AT = /^([01]\d|2[0-3]):([0-5]\d)$/;

export interface ScheduleTimes {
  /** HH:MM, UTC. */
  at: string;
  /** The last UTC day (YYYY-MM-DD) a run was decided on (started or refused). */
  lastRunDay?: string;
  /** When the schedule was last defined (ISO). */
  definedAt: string;
}

export const utcDay = (when: Date) => when.toISOString().slice(0, 10);

function atOn(day: string, at: string): Date {
  return new Date(`${day}T${at}:00.000Z`);
}

const nextDay = (day: string) => utcDay(new Date(atOn(day, "00:00").getTime() + 86_400_000));

/** The moment the schedule runs next (may be past when a tick is due). */
export function nextRunAt(schedule: ScheduleTimes, now: Date): Date {
  let day = utcDay(now);
  if (schedule.lastRunDay !== undefined && schedule.lastRunDay >= day) day = nextDay(schedule.lastRunDay);
  let run = atOn(day, schedule.at);
  while (run.toISOString() < schedule.definedAt) {
    day = nextDay(day);
    run = atOn(day, schedule.at);
  }
  return run;
}

/** Whether a tick at `now` starts today's run. */
export function isDue(schedule: ScheduleTimes, now: Date): boolean {
  const run = nextRunAt(schedule, now);
  return utcDay(run) === utcDay(now) && run.getTime() <= now.getTime();
}
