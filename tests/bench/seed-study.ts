import { BatchWriteCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import {
  type FieldSchema,
  type FormData,
  type FormStatus,
  type Instrument,
  LOGS_EVENT,
  type StudyDefinition,
} from "../../functions/engine/definition.ts";
import { diffData } from "../../functions/engine/revision.ts";
import { scheduleDateFields } from "../../functions/engine/schedule.ts";
import { prepareForm } from "../../functions/engine/validate-form.ts";
import { projectionItem, type Revision, revisionItem } from "../../functions/store/revision-item.ts";
import type { Subject } from "../../functions/store/subject.ts";
import { type SummaryDates, summaryItem } from "../../functions/store/subject-summary-item.ts";
import { subjectItem } from "../../functions/store/subjects.ts";

/**
 * Seeds a realistic casebook per subject straight into the table, the way the
 * store would have left it after one save of every form: the subject item
 * (with its by-site index keys) and, for every event × form of the schedule
 * (one instance of the repeatable event) and a few log instances, revision 1
 * (`REV#…#000001`, with its feed index keys) and its `DATA#` projection.
 *
 * Values come from the instrument schemas generically (first choice code,
 * numbers inside min/max, dates from the subject's schedule, booleans, short
 * strings), then go once through the engine's `prepareForm` so calculations
 * are computed and hidden fields emptied; each (event, form) has a few
 * variants, so subjects differ.
 */

/** Log instances per subject (the logs are repeating instruments). */
export const LOG_INSTANCES: Record<string, number> = { adverse_event: 2, relapse: 1, con_med: 2 };
const VARIANTS = 8;
const REFERENCE_DAY_ONE = "2021-01-04";
const DAY_MS = 86_400_000;

interface Template {
  data: FormData;
  status: FormStatus;
}

interface Slot {
  event: string;
  form: string;
  instance: number;
  /** Days after the subject's day one (for dates). */
  day: number;
  variants: Template[];
}

export interface CasebookPlan {
  study: string;
  sites: { id: string; code: string }[];
  arms: string[];
  definitionVersion: number;
  /** What the summaries keep of each form's data (`scheduleDateFields`). */
  summaryDates: SummaryDates;
  slots: Slot[];
  /** Form instances per subject. */
  instancesPerSubject: number;
  /** Items per subject: the subject item, and a revision and a projection per instance. */
  itemsPerSubject: number;
  /** Flat export rows per subject (one per event row, one per log instance). */
  rowsPerSubject: number;
  /** Templates the engine did not accept as complete (kept as `incomplete`), by form. */
  notComplete: Record<string, string[]>;
  /** Digits of the number part of subject ids (`<site code>-<n>`). */
  idDigits: number;
}

const addDays = (iso: string, days: number) =>
  new Date(Date.parse(`${iso}T00:00:00Z`) + days * DAY_MS).toISOString().slice(0, 10);

function choiceCodes(schema: FieldSchema): (string | number)[] {
  if (schema.oneOf) return schema.oneOf.map((c) => c.const);
  if (schema.enum) return schema.enum;
  return [];
}

function numberIn(schema: FieldSchema, variant: number, integer: boolean): number {
  const low = schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + 1 : 0);
  const high = schema.maximum ?? (schema.exclusiveMaximum !== undefined ? schema.exclusiveMaximum - 1 : 100);
  // Between the middle and the upper third: plausible and inside the range.
  let v = low + (high - low) * (0.35 + 0.3 * (variant / VARIANTS));
  if (schema.multipleOf) v = Math.round(v / schema.multipleOf) * schema.multipleOf;
  else v = integer ? Math.round(v) : Math.round(v * 10) / 10;
  return Math.min(high, Math.max(low, v));
}

function stringValue(field: string, schema: FieldSchema, variant: number): string {
  if (schema.pattern === "^[A-Z]{2,3}$") return ["GB", "FR", "DE", "IT"][variant % 4] as string;
  if (schema.pattern) return `X${variant}`;
  if (schema.format === "email") return `person${variant}@example.org`;
  if (schema.format === "time") return `${String(8 + (variant % 8)).padStart(2, "0")}:30`;
  const text = `${field.replaceAll("_", " ")} noted, variant ${variant}`;
  return schema.maxLength ? text.slice(0, schema.maxLength) : text;
}

/** A plausible value for one field, or undefined to leave it empty. */
function fieldValue(field: string, schema: FieldSchema, variant: number, visitDate: string): unknown {
  if (schema.type === "null" || schema.readOnly || schema["x-calc"] !== undefined) return undefined;
  const codes = choiceCodes(schema);
  if (schema.type === "array") {
    const items = schema.items?.oneOf.map((c) => c.const) ?? [];
    return items.length > 0 ? [items[variant % items.length]] : undefined;
  }
  if (codes.length > 0) return variant === 0 ? codes[0] : codes[variant % codes.length];
  switch (schema.type) {
    case "boolean":
      return variant % 4 !== 3;
    case "integer":
      return numberIn(schema, variant, true);
    case "number":
      return numberIn(schema, variant, false);
    case "string":
      if (schema.format === "date") {
        if (/birth|dob/.test(field)) return `19${70 + (variant % 25)}-0${1 + (variant % 9)}-15`;
        return visitDate;
      }
      if (schema.format === "date-time") return `${visitDate}T10:00:00Z`;
      return stringValue(field, schema, variant);
    default:
      return undefined;
  }
}

function alternatives(schema: FieldSchema): unknown[] {
  const codes = choiceCodes(schema);
  if (codes.length > 0) return codes;
  if (schema.type === "boolean") return [true, false];
  if (schema.format === "time") return ["23:30", "00:10"];
  if (schema.type === "integer" || schema.type === "number")
    return [schema.minimum, schema.maximum].filter((n) => n !== undefined);
  return [];
}

/** Fills a form and lets the engine compute calculations and empty the fields branching hides. */
function template(
  instrument: Instrument,
  event: string,
  arm: string,
  variant: number,
  visitDate: string,
): Template & { errors: string[] } {
  const data: FormData = {};
  for (const [field, schema] of Object.entries(instrument.properties)) {
    const value = fieldValue(field, schema, variant, visitDate);
    if (value !== undefined) data[field] = value as FormData[string];
  }
  const context = { $event: event, $arm: arm };
  const settle = (values: FormData) => {
    let prepared = prepareForm(instrument, values, "complete", context);
    for (let round = 0; round < 5 && prepared.errors.some((e) => e.code === "hidden-not-empty"); round++) {
      const visible = { ...prepared.data };
      for (const field of prepared.hidden) delete visible[field];
      prepared = prepareForm(instrument, visible, "complete", context);
    }
    return prepared;
  };
  let prepared = settle(data);
  // A cross-field rule that fails: try the field's other plausible values until the engine accepts one.
  for (const error of prepared.errors.filter((e) => e.code.startsWith("rule:"))) {
    const field = error.pointer.slice(1);
    const schema = instrument.properties[field];
    if (!schema) continue;
    for (const candidate of alternatives(schema)) {
      const tried = settle({ ...data, ...prepared.data, [field]: candidate });
      if (!tried.errors.some((e) => e.code === error.code)) {
        prepared = tried;
        break;
      }
    }
  }
  const errors = prepared.errors.map((e) => `${e.pointer} ${e.code}`);
  return { data: prepared.data, status: errors.length === 0 ? "complete" : "incomplete", errors };
}

export function buildCasebookPlan(
  definition: StudyDefinition,
  options: { definitionVersion: number; maxSubjects: number },
): CasebookPlan {
  const slots: Slot[] = [];
  const notComplete: Record<string, string[]> = {};
  const arms = definition.study.arms.map((a) => a.id);
  const add = (event: string, form: string, instance: number, day: number) => {
    const instrument = definition.instruments[form];
    if (!instrument) throw new Error(`${form} is in the schedule but has no instrument`);
    const variants: Template[] = [];
    for (let v = 0; v < VARIANTS; v++) {
      const t = template(
        instrument,
        event,
        arms[v % arms.length] as string,
        v,
        addDays(REFERENCE_DAY_ONE, day),
      );
      if (t.errors.length > 0) notComplete[form] = [...new Set([...(notComplete[form] ?? []), ...t.errors])];
      variants.push({ data: t.data, status: t.status });
    }
    slots.push({ event, form, instance, day, variants });
  };
  let rows = 0;
  let lastDay = 0;
  for (const event of definition.study.events) {
    const day = event.day !== undefined ? event.day - 1 : lastDay + 30;
    lastDay = day;
    for (const form of event.forms) add(event.id, form, 1, day);
    rows += 1;
  }
  for (const form of definition.study.logs) {
    const n = LOG_INSTANCES[form] ?? 1;
    for (let i = 1; i <= n; i++) add(LOGS_EVENT, form, i, 30 * i);
    rows += n;
  }
  const sites = definition.study.sites.map((s) => ({ id: s.id, code: s.code ?? s.id }));
  const perSite = Math.ceil(options.maxSubjects / sites.length);
  return {
    study: definition.study.id,
    sites,
    arms,
    definitionVersion: options.definitionVersion,
    summaryDates: scheduleDateFields(definition),
    slots,
    instancesPerSubject: slots.length,
    itemsPerSubject: 1 + 2 * slots.length,
    rowsPerSubject: rows,
    notComplete,
    idDigits: Math.max(3, String(perSite).length),
  };
}

/** Subject number n (from 0) → site round-robin, id `<site code>-<nnn>`. */
export function subjectOf(plan: CasebookPlan, n: number) {
  const site = plan.sites[n % plan.sites.length] as { id: string; code: string };
  const id = `${site.code}-${String(Math.floor(n / plan.sites.length) + 1).padStart(plan.idDigits, "0")}`;
  return { id, site: site.id, arm: plan.arms[n % plan.arms.length] as string };
}

const shiftDates = (data: FormData, days: number): FormData => {
  if (days === 0) return data;
  const out: FormData = {};
  for (const [k, v] of Object.entries(data)) {
    out[k] =
      typeof v === "string" && /^20\d\d-\d\d-\d\d/.test(v) ? addDays(v.slice(0, 10), days) + v.slice(10) : v;
  }
  return out;
};

/** Subject number n and revision 1 of every instance of its casebook, as its saves would have made them (unsealed). */
export function casebookOf(plan: CasebookPlan, n: number): { subject: Subject; revisions: Revision[] } {
  const { id, site, arm } = subjectOf(plan, n);
  const offset = n % 365; // subjects enrolled over a year
  const enrolledAt = new Date(
    Date.parse(`${addDays(REFERENCE_DAY_ONE, offset - 20)}T09:00:00Z`),
  ).toISOString();
  const subject: Subject = { study: plan.study, id, site, arm, enrolledAt, enrolledBy: `dev-${site}` };
  const revisions = plan.slots.map((slot, i): Revision => {
    const t = slot.variants[(n + i) % slot.variants.length] as Template;
    const data = shiftDates(t.data, offset);
    const committedAt = new Date(
      Date.parse(`${addDays(REFERENCE_DAY_ONE, offset + slot.day)}T12:00:00Z`) + (n % 1000) * 1000 + i,
    ).toISOString();
    return {
      study: plan.study,
      subject: id,
      site,
      event: slot.event,
      form: slot.form,
      instance: slot.instance,
      rev: 1,
      status: t.status,
      statusFrom: null,
      data,
      changes: diffData({}, data, Object.keys(data)),
      definitionVersion: plan.definitionVersion,
      committedAt,
      committedBy: `dev-${site}`,
    };
  });
  return { subject, revisions };
}

/** Every item of subject number n's casebook (revisions unsealed: seed-fast.ts seals them). */
export function casebookItems(plan: CasebookPlan, n: number): Record<string, unknown>[] {
  const { subject, revisions } = casebookOf(plan, n);
  return [
    subjectItem(subject),
    ...revisions.flatMap((r) => [revisionItem(r), projectionItem(r)]),
    // The dashboard's summary, as the saves would have left it.
    summaryItem(subject, revisions, plan.summaryDates),
  ];
}

/**
 * Writes subjects [from, to) with BatchWriteItem, 25 items a request and
 * `inFlight` requests at once, retrying unprocessed items.
 */
export async function seedSubjects(
  doc: Pick<DynamoDBDocumentClient, "send">,
  tableName: string,
  plan: CasebookPlan,
  range: { from: number; to: number; inFlight?: number; onProgress?: (subjects: number) => void },
): Promise<{ subjects: number; instances: number; items: number; requests: number }> {
  const inFlight = range.inFlight ?? 8;
  let next = range.from;
  let buffer: Record<string, unknown>[] = [];
  let items = 0;
  let requests = 0;
  let done = 0;
  const take = (): Record<string, unknown>[] | undefined => {
    while (buffer.length < 25 && next < range.to) {
      buffer = buffer.concat(casebookItems(plan, next));
      next += 1;
      done += 1;
      if (done % 100 === 0) range.onProgress?.(done);
    }
    if (buffer.length === 0) return undefined;
    const batch = buffer.slice(0, 25);
    buffer = buffer.slice(25);
    return batch;
  };
  const worker = async () => {
    for (let batch = take(); batch; batch = take()) {
      let pending = batch.map((Item) => ({ PutRequest: { Item } }));
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (attempt > 10) throw new Error("BatchWriteItem kept returning unprocessed items");
        requests += 1;
        const out = await doc.send(new BatchWriteCommand({ RequestItems: { [tableName]: pending } }));
        pending = (out.UnprocessedItems?.[tableName] ?? []) as typeof pending;
        if (pending.length > 0) await new Promise((r) => setTimeout(r, 20 * 2 ** attempt));
      }
      items += batch.length;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const subjects = range.to - range.from;
  return { subjects, instances: subjects * plan.instancesPerSubject, items, requests };
}
