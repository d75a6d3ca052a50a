import { type EventDef, LOGS_EVENT, type StudyDefinition } from "../engine/definition.ts";
import {
  dayOneOf,
  type VisitTiming,
  type VisitWindowDates,
  visitDeviations,
  visitTiming,
  visitWindow,
} from "../engine/schedule.ts";
import { eventFormsFor, repeatsAt } from "../engine/slots.ts";
import type { Revision } from "../store/form-instances.ts";

/** What the dashboard and the subject page show of one casebook: per visit, its window, timing and form statuses. */

export type CellStatus = "not_started" | "incomplete" | "unverified" | "complete";

export interface FormCell {
  form: string;
  title: string;
  instance: number;
  status: CellStatus;
  rev: number;
  enteredInError: boolean;
  /** Whether the form holds numbered instances here (a repeatable visit, repeatingForms, x-repeating). */
  numbered: boolean;
}

export interface EventRow {
  event: EventDef;
  window?: VisitWindowDates;
  timing?: VisitTiming;
  /** Instance numbers present (repeatable events); [1] otherwise. */
  instances: number[];
  /** The forms the subject's arm collects at this visit, in order. */
  eventForms: string[];
  forms: FormCell[];
  /** How many of the visit's forms (every instance) are complete, out of how many. */
  progress: { complete: number; total: number };
  deviations: string[];
}

export interface LogView {
  form: string;
  title: string;
  instances: Revision[];
}

export interface CasebookView {
  dayOne?: string;
  events: EventRow[];
  logs: LogView[];
}

/** The only data fields `casebookView` reads: day one and the visit dates (a lean read needs no others). */
export function casebookViewFields(definition: StudyDefinition): string[] {
  const visitDates = Object.values(definition.instruments).flatMap((i) =>
    Object.entries(i.properties)
      .filter(([, schema]) => schema["x-visit-date"])
      .map(([field]) => field),
  );
  const dayOne = definition.study.dayOne;
  return [...new Set([...(dayOne ? [dayOne.field] : []), ...visitDates])];
}

/**
 * `closed`: the subject's status ends the schedule (withdrawn, lost to
 * follow-up, screen failure, completed): a visit with nothing saved is no
 * longer upcoming, due or overdue; what was saved keeps its timing.
 */
/** Timings that only say the schedule expects the visit: none of them hold once the subject's schedule ended. */
const SCHEDULED_ONLY: ReadonlySet<VisitTiming> = new Set(["upcoming", "due", "overdue"]);

export function casebookView(
  definition: StudyDefinition,
  arm: string,
  instances: Revision[],
  today: string,
  options: { closed?: boolean } = {},
): CasebookView {
  const dayOne = dayOneOf(definition, instances);
  const at = (event: string, form: string, instance: number) =>
    instances.find((i) => i.event === event && i.form === form && i.instance === instance);
  const events = definition.study.events
    .filter((e) => !e.arms || e.arms.includes(arm))
    .map((event): EventRow => {
      const all = instances.filter((i) => i.event === event.id);
      const numbers = event.repeatable ? [...new Set(all.map((i) => i.instance))].sort((a, b) => a - b) : [1];
      // A visit entered in error is listed (struck through) but counts for nothing: not progress, not deviations.
      const own = all.filter((i) => !i.enteredInError);
      const deviations = own.flatMap((i) => visitDeviations(definition, dayOne, i)).map((d) => d.message);
      const eventForms = eventFormsFor(event, arm);
      const cell = (form: string, n: number, numbered: boolean): FormCell => {
        const saved = at(event.id, form, n);
        return {
          form,
          title: definition.instruments[form]?.title ?? form,
          instance: n,
          status: (saved?.status ?? "not_started") as CellStatus,
          rev: saved?.rev ?? 0,
          enteredInError: saved?.enteredInError === true,
          numbered,
        };
      };
      // A repeatable visit numbers all its forms together; a form repeating at a one-off visit numbers its own instances.
      const forms = event.repeatable
        ? numbers.flatMap((n) => eventForms.map((form) => cell(form, n, true)))
        : eventForms.flatMap((form) => {
            if (!repeatsAt(event, form, definition.instruments[form])) return [cell(form, 1, false)];
            const own = [...new Set(all.filter((i) => i.form === form).map((i) => i.instance))];
            return (own.length > 0 ? own.sort((a, b) => a - b) : [1]).map((n) => cell(form, n, true));
          });
      const counted = forms.filter((f) => !f.enteredInError);
      const complete = counted.filter((f) => f.status === "complete").length;
      const timing = visitTiming(event, dayOne, today, {
        any: own.length > 0,
        allComplete: counted.length > 0 && complete === counted.length,
        deviations: deviations.length,
      });
      return {
        event,
        window: dayOne ? visitWindow(event, dayOne) : undefined,
        timing: options.closed && timing && SCHEDULED_ONLY.has(timing) ? undefined : timing,
        instances: numbers,
        eventForms,
        forms,
        progress: { complete, total: counted.length },
        deviations,
      };
    });
  const logs = definition.study.logs.map((form) => ({
    form,
    title: definition.instruments[form]?.title ?? form,
    instances: instances
      .filter((i) => i.event === LOGS_EVENT && i.form === form)
      .sort((a, b) => a.instance - b.instance),
  }));
  return { dayOne, events, logs };
}

export const STATUS_LABEL: Record<CellStatus, string> = {
  not_started: "Not started",
  incomplete: "Incomplete",
  unverified: "Unverified",
  complete: "Complete",
};

export const TIMING_LABEL: Record<VisitTiming, string> = {
  upcoming: "upcoming",
  due: "due",
  overdue: "overdue",
  "in-progress": "in progress",
  done: "done",
  "out-of-window": "out of window",
};

/** The words for a visit's progress, read out where colour shows it: "3 of 8 forms complete". */
export function progressText(progress: { complete: number; total: number }): string {
  return `${progress.complete} of ${progress.total} form${progress.total === 1 ? "" : "s"} complete`;
}

/** One form's status in words, for a screen reader and a tooltip alike. */
export function statusText(
  cell: { title: string; status: CellStatus; instance?: number },
  numbered = false,
): string {
  return `${cell.title}${numbered ? ` #${cell.instance}` : ""}: ${STATUS_LABEL[cell.status]}`;
}
