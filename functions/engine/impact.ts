import type {
  EventDef,
  FieldSchema,
  FormData,
  FormStatus,
  Instrument,
  StudyDefinition,
} from "./definition.ts";
import { LOGS_EVENT } from "./definition.ts";
import { eventNeighbours } from "./event-neighbours.ts";
import { DEFAULT_FILE_MAX_BYTES } from "./file-fields.ts";
import { isEmpty } from "./logic.ts";
import type { FieldKeyword } from "./meta/instrument-schema.ts";
import type { MissingData } from "./missing-codes.ts";
import { eventFormsFor, repeatsAt } from "./slots.ts";
import { softRangeWarning } from "./soft-checks.ts";
import { calculationDrift, type LogicContext, prepareForm } from "./validate-form.ts";

/**
 * What a new definition does to the current one and to the data already
 * collected, classified the way REDCap's draft-mode review does: safe,
 * needs review (with how many stored values would now fail), or destructive
 * (collected data would be orphaned or recoded).
 */

export type Severity = "safe" | "review" | "destructive";

interface KindRule {
  /** The severity when no stored data is touched. */
  severity: "safe" | "review";
  /** Destructive as soon as the change touches stored data (`affected` > 0). */
  destructiveWithData?: true;
  /** The id's prefix when it is not the kind: ids are named by acceptances, so they never change. */
  id?: string;
  /** The kind the report shows when it is not the catalogue's key. */
  shownAs?: string;
}

/**
 * Every kind of change, with how its severity is decided and how its id is
 * made: `<id prefix>:<event>.<instrument>.<field>` (the parts it has).
 */
export const CHANGE_KINDS = {
  "first-version": { severity: "safe" },
  "event-added": { severity: "safe" },
  "event-window-changed": { severity: "review" },
  "event-removed": { severity: "safe", destructiveWithData: true },
  "form-removed-from-event": { severity: "safe", destructiveWithData: true, id: "form-unscheduled" },
  "form-added-to-event": { severity: "safe", id: "form-scheduled" },
  "form-stops-repeating-at-event": { severity: "safe", destructiveWithData: true, id: "form-unrepeated" },
  "log-removed": { severity: "safe", destructiveWithData: true },
  "instrument-added": { severity: "safe" },
  "instrument-removed": { severity: "safe", destructiveWithData: true },
  "instrument-text-changed": { severity: "safe", shownAs: "text-changed" },
  "field-added": { severity: "safe" },
  "required-field-added": { severity: "review", id: "field-added" },
  "field-removed": { severity: "safe", destructiveWithData: true },
  "type-changed": { severity: "review", destructiveWithData: true },
  "choice-removed": { severity: "review", destructiveWithData: true },
  "choice-added": { severity: "safe" },
  "choice-relabelled": { severity: "safe" },
  "constraint-widened": { severity: "safe", id: "constraint-changed" },
  "constraint-narrowed": { severity: "review", id: "constraint-changed" },
  "soft-range-widened": { severity: "safe", id: "soft-range-changed" },
  "soft-range-narrowed": { severity: "review", id: "soft-range-changed" },
  "now-required": { severity: "review" },
  "no-longer-required": { severity: "safe" },
  "branching-changed": { severity: "review" },
  "calculation-changed": { severity: "review" },
  "identifier-changed": { severity: "review" },
  "text-changed": { severity: "safe" },
  "rules-changed": { severity: "review" },
  "repeating-changed": { severity: "review", destructiveWithData: true },
} as const satisfies Record<string, KindRule>;

export type ChangeKind = keyof typeof CHANGE_KINDS;

const KIND_RULES: Readonly<Partial<Record<string, KindRule>>> = CHANGE_KINDS;

/** Whether a kind turns destructive once stored data is touched (forms:check without data assumes it is). */
export function destructiveWithData(kind: string): boolean {
  return Object.hasOwn(KIND_RULES, kind) && KIND_RULES[kind]?.destructiveWithData === true;
}

export interface Change {
  /** Stable id, e.g. `field-removed:mri.comments`; acceptances name these. */
  id: string;
  severity: Severity;
  kind: string;
  instrument?: string;
  field?: string;
  event?: string;
  /** The arm whose forms at `event` changed (an event's `armForms`). */
  arm?: string;
  message: string;
  /** Stored form instances affected (values that would fail, or data that would be orphaned). */
  affected?: number;
}

export interface StoredInstance {
  subject: string;
  arm: string;
  event: string;
  form: string;
  instance: number;
  status: FormStatus;
  data: FormData;
  /** Fields holding a missing-data code: a code satisfies "required" under the new version too. */
  missing?: MissingData;
}

export interface ImpactReport {
  fromVersion: number | null;
  changes: Change[];
  summary: Record<Severity, number>;
}

type ChangeFacts = Pick<Change, "instrument" | "field" | "event" | "arm" | "message" | "affected">;
type Add = (kind: ChangeKind, facts: ChangeFacts) => void;

function change(kind: ChangeKind, facts: ChangeFacts): Change {
  const r: KindRule = CHANGE_KINDS[kind];
  const at = [facts.event, facts.instrument, facts.field].filter((p) => p !== undefined).join(".");
  const prefix = r.id ?? kind;
  return {
    id: (at === "" ? prefix : `${prefix}:${at}`) + (facts.arm === undefined ? "" : `@${facts.arm}`),
    severity: r.destructiveWithData && (facts.affected ?? 0) > 0 ? "destructive" : r.severity,
    kind: r.shownAs ?? kind,
    ...facts,
  };
}

const TEXT_KEYS = [
  "title",
  "description",
  "x-section",
  "x-unit",
  "x-widget",
  "x-annotation",
] as const satisfies readonly FieldKeyword[];
const CONSTRAINT_KEYS = [
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "exclusiveMaximum",
  "multipleOf",
  "minLength",
  "maxLength",
  "pattern",
  "format",
  "enum",
  "uniqueItems",
  "minItems",
  // A date's range is hard (REDCap's date min/max come in as these): stored dates outside it now fail.
  "x-date-min",
  "x-date-max",
  // A file field's types and size: stored files outside them fail, and their form cannot be saved until replaced.
  "x-file",
] as const satisfies readonly FieldKeyword[];
/** The expected range: a value outside is saved once confirmed, so no stored value fails, but each is counted. */
const SOFT_RANGE_KEYS = ["x-soft-minimum", "x-soft-maximum"] as const satisfies readonly FieldKeyword[];

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

function choiceCodes(schema: FieldSchema | undefined): string[] | undefined {
  const choices = schema?.oneOf ?? schema?.items?.oneOf;
  return choices?.map((c) => String(c.const));
}

function values(data: FormData, field: string): unknown[] {
  const v = data[field];
  return isEmpty(v) ? [] : Array.isArray(v) ? v : [v];
}

/** A file field's new `x-file` lets in every file the old one did: no fewer media types, no smaller size. */
function fileWidens(before: FieldSchema["x-file"], after: FieldSchema["x-file"]): boolean {
  const was = before?.mediaTypes;
  const now = after?.mediaTypes;
  // No list is any type; a list keeps its old types only if it still names each of them.
  const typesKept = now === undefined || was?.every((t) => now.includes(t)) === true;
  const size = (x: FieldSchema["x-file"]) => x?.maxBytes ?? DEFAULT_FILE_MAX_BYTES;
  return typesKept && size(after) >= size(before);
}

/** A constraint change that can only let more values in. */
function widens(before: FieldSchema, after: FieldSchema): boolean {
  const lower = (k: "minimum" | "exclusiveMinimum") =>
    after[k] === undefined || (before[k] !== undefined && (after[k] as number) <= (before[k] as number));
  const upper = (k: "maximum" | "exclusiveMaximum" | "maxLength") =>
    after[k] === undefined || (before[k] !== undefined && (after[k] as number) >= (before[k] as number));
  // Only two ISO dates compare; "today" and "study-start" move, so any change to or from them may narrow.
  const iso = (v: unknown): v is string => typeof v === "string" && /^\d{4}-\d{2}-\d{2}$/.test(v);
  const dateBound = (k: "x-date-min" | "x-date-max") =>
    after[k] === undefined ||
    (iso(before[k]) && iso(after[k]) && (k === "x-date-min" ? after[k] <= before[k] : after[k] >= before[k]));
  return CONSTRAINT_KEYS.every((k) => {
    if (same(before[k], after[k])) return true;
    if (k === "minimum" || k === "exclusiveMinimum") return lower(k);
    if (k === "maximum" || k === "exclusiveMaximum" || k === "maxLength") return upper(k);
    if (k === "x-date-min" || k === "x-date-max") return dateBound(k);
    if (k === "x-file") return fileWidens(before[k], after[k]);
    if (k === "enum")
      return (before.enum ?? []).every((v) => (after.enum ?? []).includes(v)) && after.enum !== undefined;
    return after[k] === undefined;
  });
}

export function analyseImpact(
  current: StudyDefinition | undefined,
  next: StudyDefinition,
  stored: StoredInstance[],
): ImpactReport {
  const changes: Change[] = [];
  const add: Add = (kind, facts) => changes.push(change(kind, facts));
  const byForm = new Map<string, StoredInstance[]>();
  for (const s of stored) byForm.set(s.form, [...(byForm.get(s.form) ?? []), s]);
  const withData = (form: string, field: string) =>
    (byForm.get(form) ?? []).filter((s) => values(s.data, field).length > 0);

  if (!current) {
    return summarise(null, [change("first-version", { message: "First published version." })]);
  }

  const contextOf = (s: StoredInstance): LogicContext => ({
    $event: s.event,
    $arm: s.arm,
    $studyStart: next.study.startDate,
    $instance: s.instance,
    ...eventNeighbours(next.study, s.arm, s.event),
  });
  // Calculated values the new instrument would compute differently from what is stored, per form and field.
  const drifts = new Map<string, Map<string, number>>();
  const driftsOf = (form: string): Map<string, number> => {
    const cached = drifts.get(form);
    if (cached) return cached;
    const counts = new Map<string, number>();
    const instrument = next.instruments[form];
    if (instrument)
      for (const s of byForm.get(form) ?? [])
        for (const { field } of calculationDrift(instrument, s.data, contextOf(s)))
          counts.set(field, (counts.get(field) ?? 0) + 1);
    drifts.set(form, counts);
    return counts;
  };

  // Failures of stored data under the new instrument, per form and field.
  const failures = new Map<string, Map<string, number>>();
  const failuresOf = (form: string): Map<string, number> => {
    const cached = failures.get(form);
    if (cached) return cached;
    const counts = new Map<string, number>();
    const instrument = next.instruments[form];
    if (instrument) {
      for (const s of byForm.get(form) ?? []) {
        const known = Object.fromEntries(
          Object.entries(s.data).filter(([f]) => Object.hasOwn(instrument.properties, f)),
        );
        const { errors } = prepareForm(instrument, known, s.status, contextOf(s), undefined, {
          missing: s.missing ?? {},
          declared: next.study.missingCodes ?? [],
        });
        for (const field of new Set(errors.map((e) => e.pointer.slice(1))))
          counts.set(field, (counts.get(field) ?? 0) + 1);
      }
    }
    failures.set(form, counts);
    return counts;
  };

  // Schedule: events and the forms collected at each.
  const oldEvents = new Map(current.study.events.map((e) => [e.id, e]));
  const newEvents = new Map(next.study.events.map((e) => [e.id, e]));
  for (const [id, e] of newEvents) {
    const before = oldEvents.get(id);
    if (!before) {
      add("event-added", {
        event: id,
        message: `New visit ${e.label}.`,
      });
      continue;
    }
    if (before.day !== e.day || !same(before.window, e.window)) {
      const n = stored.filter((s) => s.event === id).length;
      add("event-window-changed", {
        event: id,
        affected: n,
        message: `${e.label}: target day or window changed; deviations of ${n} stored form(s) are re-evaluated.`,
      });
    }
  }
  for (const [id, e] of oldEvents) {
    const n = stored.filter((s) => s.event === id).length;
    if (!newEvents.has(id)) {
      add("event-removed", {
        event: id,
        affected: n,
        message: `Visit ${e.label} removed${n > 0 ? `: ${n} stored form(s) would be orphaned` : ""}.`,
      });
      continue;
    }
    const after = newEvents.get(id);
    for (const form of e.forms) {
      if (after?.forms.includes(form) || !next.instruments[form]) continue;
      const m = stored.filter((s) => s.event === id && s.form === form).length;
      add("form-removed-from-event", {
        event: id,
        instrument: form,
        affected: m,
        message: `${form} no longer collected at ${e.label}${m > 0 ? `: ${m} stored instance(s) would be orphaned` : ""}.`,
      });
    }
  }
  for (const [id, e] of oldEvents) {
    const after = newEvents.get(id);
    if (after) formsLeavingArmsOrRepeats(current, next, e, after, stored, add);
  }
  for (const form of next.study.events.flatMap((e) => e.forms.map((f) => [e, f] as const))) {
    const [event, f] = form;
    if (oldEvents.get(event.id) && !oldEvents.get(event.id)?.forms.includes(f)) {
      add("form-added-to-event", {
        event: event.id,
        instrument: f,
        message: `${f} now collected at ${event.label}.`,
      });
    }
  }
  for (const log of current.study.logs) {
    if (next.study.logs.includes(log) || !next.instruments[log]) continue;
    const n = stored.filter((s) => s.event === LOGS_EVENT && s.form === log).length;
    add("log-removed", {
      instrument: log,
      affected: n,
      message: `${log} is no longer a log${n > 0 ? `: ${n} stored instance(s) would be orphaned` : ""}.`,
    });
  }

  // Instruments and fields.
  for (const [form, instrument] of Object.entries(next.instruments)) {
    const before = current.instruments[form];
    if (!before) {
      add("instrument-added", {
        instrument: form,
        message: `New instrument ${instrument.title}.`,
      });
      continue;
    }
    diffInstrument(form, before, instrument, add, withData, {
      failures: () => failuresOf(form),
      drifts: () => driftsOf(form),
      stored: byForm.get(form) ?? [],
    });
  }
  for (const [form, instrument] of Object.entries(current.instruments)) {
    if (next.instruments[form]) continue;
    const n = (byForm.get(form) ?? []).length;
    add("instrument-removed", {
      instrument: form,
      affected: n,
      message: `Instrument ${instrument.title} removed${n > 0 ? `: ${n} stored instance(s) would be orphaned` : ""}.`,
    });
  }
  return summarise(current.version, changes);
}

/**
 * Within an event kept in the schedule and a form still collected there: an
 * arm that no longer collects the form (`armForms`) orphans that arm's
 * instances, and a form leaving `repeatingForms` orphans its instances
 * after the first, as a form dropped from the event does.
 */
function formsLeavingArmsOrRepeats(
  current: StudyDefinition,
  next: StudyDefinition,
  before: EventDef,
  after: EventDef,
  stored: StoredInstance[],
  add: Add,
): void {
  const arms = new Set([...current.study.arms, ...next.study.arms].map((a) => a.id));
  for (const arm of arms) {
    const kept = eventFormsFor(after, arm);
    for (const form of eventFormsFor(before, arm)) {
      if (kept.includes(form) || !after.forms.includes(form) || !next.instruments[form]) continue;
      const m = stored.filter((s) => s.event === before.id && s.form === form && s.arm === arm).length;
      add("form-removed-from-event", {
        event: before.id,
        instrument: form,
        arm,
        affected: m,
        message: `${form} no longer collected at ${before.label} in arm ${arm}${m > 0 ? `: ${m} stored instance(s) would be orphaned` : ""}.`,
      });
    }
  }
  for (const form of before.repeatingForms ?? []) {
    if (!after.forms.includes(form) || repeatsAt(after, form, next.instruments[form])) continue;
    const m = stored.filter((s) => s.event === before.id && s.form === form && s.instance > 1).length;
    add("form-stops-repeating-at-event", {
      event: before.id,
      instrument: form,
      affected: m,
      message: `${form} no longer repeats at ${before.label}${m > 0 ? `: ${m} stored instance(s) after the first would be orphaned` : ""}.`,
    });
  }
}

function diffInstrument(
  form: string,
  before: Instrument,
  after: Instrument,
  add: Add,
  withData: (form: string, field: string) => StoredInstance[],
  facts: {
    /** Per field, the stored instances the new instrument refuses. */
    failures: () => Map<string, number>;
    /** Per calculated field, the stored instances whose value the new instrument computes differently. */
    drifts: () => Map<string, number>;
    stored: StoredInstance[];
  },
) {
  const { failures, drifts, stored } = facts;
  const oldRequired = new Set(before.required ?? []);
  const newRequired = new Set(after.required ?? []);
  const at = (field: string) => `${form}.${field}`;

  for (const [field, schema] of Object.entries(after.properties)) {
    const old = before.properties[field];
    if (!old) {
      const required = newRequired.has(field);
      const lacking = required ? (failures().get(field) ?? 0) : 0;
      add(required ? "required-field-added" : "field-added", {
        instrument: form,
        field,
        affected: required ? lacking : undefined,
        message: required
          ? `New required field ${at(field)}: ${lacking} complete instance(s) lack it.`
          : `New optional field ${at(field)}.`,
      });
      continue;
    }
    const filled = withData(form, field);
    if (old.type !== schema.type || !same(old.items?.type, schema.items?.type)) {
      // Stored values are never converted: only those the new type refuses are touched (integer → number is none).
      const n = failures().get(field) ?? 0;
      add("type-changed", {
        instrument: form,
        field,
        affected: n,
        message: `${at(field)}: type ${old.type} → ${schema.type}; ${n} stored value(s) of ${filled.length} the new type refuses.`,
      });
      continue;
    }
    const oldCodes = choiceCodes(old);
    const newCodes = choiceCodes(schema);
    if (oldCodes && newCodes) {
      const removed = oldCodes.filter((c) => !newCodes.includes(c));
      const addedCodes = newCodes.filter((c) => !oldCodes.includes(c));
      // Stored values (after the builder's migration) holding no code of the new field: those of a removed
      // code, and those a recode sent to a code the field does not have.
      const stray = filled.filter((s) => values(s.data, field).some((v) => !newCodes.includes(String(v))));
      if (removed.length > 0 || stray.length > 0) {
        const n = stray.length;
        add("choice-removed", {
          instrument: form,
          field,
          affected: n,
          message: `${at(field)}: ${removed.length > 0 ? `choice code(s) ${removed.join(", ")} removed or recoded` : "choices changed"}; ${n} stored value(s) hold a code the field no longer has.`,
        });
      }
      if (addedCodes.length > 0) {
        add("choice-added", {
          instrument: form,
          field,
          message: `${at(field)}: new choice(s) ${addedCodes.join(", ")}.`,
        });
      }
      const relabelled = (schema.oneOf ?? schema.items?.oneOf ?? []).filter((c) =>
        (old.oneOf ?? old.items?.oneOf ?? []).some((o) => o.const === c.const && o.title !== c.title),
      );
      if (relabelled.length > 0) {
        add("choice-relabelled", {
          instrument: form,
          field,
          message: `${at(field)}: choice label(s) changed for ${relabelled.map((c) => c.const).join(", ")}.`,
        });
      }
    }
    if (CONSTRAINT_KEYS.some((k) => !same(old[k], schema[k]))) {
      const n = failures().get(field) ?? 0;
      const safe = n === 0 && widens(old, schema);
      add(safe ? "constraint-widened" : "constraint-narrowed", {
        instrument: form,
        field,
        affected: n,
        message: `${at(field)}: validation changed (${CONSTRAINT_KEYS.filter((k) => !same(old[k], schema[k])).join(", ")}); ${n} stored value(s) would now fail.`,
      });
    }
    if (SOFT_RANGE_KEYS.some((k) => !same(old[k], schema[k]))) {
      const n = filled.filter((s) =>
        values(s.data, field).some((v) => softRangeWarning(field, schema, v, `/${field}`) !== undefined),
      ).length;
      const lo = schema["x-soft-minimum"];
      const hi = schema["x-soft-maximum"];
      const wider =
        (lo === undefined || (old["x-soft-minimum"] !== undefined && lo <= old["x-soft-minimum"])) &&
        (hi === undefined || (old["x-soft-maximum"] !== undefined && hi >= old["x-soft-maximum"]));
      add(n === 0 && wider ? "soft-range-widened" : "soft-range-narrowed", {
        instrument: form,
        field,
        affected: n,
        message: `${at(field)}: expected range changed (${SOFT_RANGE_KEYS.filter((k) => !same(old[k], schema[k])).join(", ")}); ${n} stored value(s) now outside it (kept as stored; a change to one asks for confirmation).`,
      });
    }
    if (!oldRequired.has(field) && newRequired.has(field)) {
      // Counted by validating, not by empty values: a missing-data code or branching that hides it satisfies it.
      const n = failures().get(field) ?? 0;
      add("now-required", {
        instrument: form,
        field,
        affected: n,
        message: `${at(field)} is now required: ${n} complete instance(s) lack it.`,
      });
    }
    if (oldRequired.has(field) && !newRequired.has(field)) {
      add("no-longer-required", {
        instrument: form,
        field,
        message: `${at(field)} is no longer required.`,
      });
    }
    if (!same(old["x-visible-if"], schema["x-visible-if"])) {
      const n = failures().get(field) ?? 0;
      add("branching-changed", {
        instrument: form,
        field,
        affected: n,
        message: `${at(field)}: branching changed; ${n} stored instance(s) would now fail on it.`,
      });
    }
    if (!same(old["x-calc"], schema["x-calc"])) {
      // Counted by computing again, not by filled values: a calculation left empty before may now give one.
      const n = drifts().get(field) ?? 0;
      add("calculation-changed", {
        instrument: form,
        field,
        affected: n,
        message: `${at(field)}: calculation changed; ${n} stored value(s) would be computed differently (each kept as stored until an edit reaches it or someone recalculates it; the form page shows the difference).`,
      });
    }
    if (Boolean(old["x-identifier"]) !== Boolean(schema["x-identifier"])) {
      add("identifier-changed", {
        instrument: form,
        field,
        message: `${at(field)} is ${schema["x-identifier"] ? "now" : "no longer"} marked as an identifier: de-identified exports change.`,
      });
    }
    const texts = TEXT_KEYS.filter((k) => !same(old[k as keyof FieldSchema], schema[k as keyof FieldSchema]));
    if (texts.length > 0) {
      add("text-changed", {
        instrument: form,
        field,
        message: `${at(field)}: ${texts.join(", ")} changed.`,
      });
    }
  }
  for (const field of Object.keys(before.properties)) {
    if (after.properties[field]) continue;
    const n = withData(form, field).length;
    add("field-removed", {
      instrument: form,
      field,
      affected: n,
      message: `${at(field)} removed${n > 0 ? `: ${n} stored value(s) would be kept only as retired data` : ""}.`,
    });
  }
  if (!same(before["x-rules"], after["x-rules"])) {
    const fields = new Set((after["x-rules"] ?? []).map((r) => r.field));
    const n = [...fields].reduce((sum, f) => sum + (failures().get(f) ?? 0), 0);
    add("rules-changed", {
      instrument: form,
      affected: n,
      message: `${form}: cross-field rules changed; ${n} stored value(s) would now fail.`,
    });
  }
  if (Boolean(before["x-repeating"]) !== Boolean(after["x-repeating"])) {
    add("repeating-changed", {
      instrument: form,
      affected: stored.length,
      message: `${form} is ${after["x-repeating"] ? "now" : "no longer"} repeating.`,
    });
  }
  if (before.title !== after.title || before.description !== after.description) {
    add("instrument-text-changed", {
      instrument: form,
      message: `${form}: title or description changed.`,
    });
  }
}

/** The report of these changes, most severe first. */
export function summarise(fromVersion: number | null, changes: Change[]): ImpactReport {
  const order: Record<Severity, number> = { destructive: 0, review: 1, safe: 2 };
  changes.sort((a, b) => order[a.severity] - order[b.severity]);
  const summary = { safe: 0, review: 0, destructive: 0 };
  for (const c of changes) summary[c.severity] += 1;
  return { fromVersion, changes, summary };
}

/** The report as text lines, for the CLI, the deploy log and `npm start`. */
export function formatImpact(report: ImpactReport): string[] {
  const from =
    report.fromVersion === null ? "nothing published yet" : `published version ${report.fromVersion}`;
  const { destructive, review, safe } = report.summary;
  return [
    `Impact against ${from}: ${destructive} destructive, ${review} to review, ${safe} safe`,
    ...report.changes.map(
      (c) =>
        `  ${c.severity.toUpperCase().padEnd(11)} ${c.id}${c.affected !== undefined ? ` [${c.affected} affected]` : ""}: ${c.message}`,
    ),
  ];
}
