import { LOGS_EVENT, type StudyDefinition } from "./definition.ts";

/** Where an event stands in its arm's schedule, as logic reads it (REDCap's `[previous-event-name]` …). */
export interface EventNeighbours {
  $previousEvent?: string;
  $nextEvent?: string;
  $firstEvent?: string;
  $lastEvent?: string;
}

/**
 * The events before and after `event` among those of `arm`, in the
 * schedule's order, and the arm's first and last. The logs belong to no
 * point of the schedule, so they have no neighbours (REDCap: blank).
 */
export function eventNeighbours(
  study: StudyDefinition["study"],
  arm: string,
  event: string,
): EventNeighbours {
  if (event === LOGS_EVENT) return {};
  const ids = study.events.filter((e) => e.arms === undefined || e.arms.includes(arm)).map((e) => e.id);
  const at = ids.indexOf(event);
  if (at < 0) return {};
  const out: EventNeighbours = { $firstEvent: ids[0], $lastEvent: ids[ids.length - 1] };
  if (at > 0) out.$previousEvent = ids[at - 1];
  if (at < ids.length - 1) out.$nextEvent = ids[at + 1];
  return out;
}
