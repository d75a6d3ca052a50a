import type { StudyDefinition } from "./definition.ts";

/**
 * Instruments in protocol order: the study's own `formOrder` if it gives one,
 * then as first collected in the schedule, then the logs, then any other
 * instrument. Exports, data dictionaries and pages list forms in this order.
 */
export function formOrder(definition: Pick<StudyDefinition, "study" | "instruments">): string[] {
  const { study, instruments } = definition;
  const order = new Set([
    ...(study.formOrder ?? []),
    ...study.events.flatMap((e) => e.forms),
    ...study.logs,
    ...Object.keys(instruments),
  ]);
  return [...order].filter((f) => instruments[f] !== undefined);
}
