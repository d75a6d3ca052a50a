import { checkDefinition, type SourceFile } from "../check-definition.ts";
import type { Arm, EventDef, Instrument, MissingCode, Site, StudyFile } from "../definition.ts";
import { SLUG_PATTERN } from "../meta/study-schema.ts";
import { type Issue, writeRows } from "./columns.ts";
import { formTitle, importDictionary } from "./import-dictionary.ts";
import { renamePipedEvents } from "./piping.ts";
import {
  type EventPiece,
  type FlatRecords,
  type ProjectIssue,
  type ProjectPieces,
  splitUniqueEventName,
} from "./project-pieces.ts";

/**
 * The pieces of a REDCap project → a study folder: study.json, one
 * instrument per form and, when the project had data, its records as
 * REDCap flat rows named for the study (event names, sites), ready for the
 * `/api/` record import. REDCap events become events named by their unique
 * name without `_arm_<n>`; the same name in several arms is one event. What
 * cannot be represented is in the report, by item.
 */

export interface ProjectImport {
  study: StudyFile;
  instruments: Record<string, Instrument>;
  records?: FlatRecords;
  report: ProjectIssue[];
}

export interface ProjectImportOptions {
  /** The study id; default the project title as a slug. */
  id?: string;
}

/** The pattern of REDCap record names: letters, digits, `_` and `-`. */
const REDCAP_RECORD = "^[A-Za-z0-9_-]+$";
const DEFAULT_SITE: Site = { id: "main", name: "Main site", code: "01" };

export function importProject(pieces: ProjectPieces, options: ProjectImportOptions = {}): ProjectImport {
  const report: ProjectIssue[] = [...pieces.report];
  const dictionary = importDictionary(writeRows(pieces.dictionary));
  for (const issue of dictionary.report) report.push(fromDictionary(issue));
  const instruments = dictionary.instruments;
  for (const [form, instrument] of Object.entries(instruments)) {
    const label = pieces.formLabels[form]?.trim();
    if (label && instrument.title === formTitle(form)) instrument.title = label;
  }
  if (pieces.recordIdField !== "" && pieces.recordIdField !== dictionary.recordIdField)
    report.push({
      item: `field ${dictionary.recordIdField}`,
      severity: "warning",
      message: `the project names "${pieces.recordIdField}" as its record id, the dictionary's first field is "${dictionary.recordIdField}": the dictionary wins`,
    });

  const title = pieces.title || options.id || "REDCap project";
  const id = options.id ?? slug(title);
  if (!new RegExp(SLUG_PATTERN).test(id))
    report.push({
      item: "study id",
      severity: "error",
      message: `"${id}" is not a study id (lowercase letters, digits, -)`,
    });
  report.push({
    item: "schedule",
    severity: "warning",
    message: "REDCap has no day one: the study has none, so events have no target dates or visit windows",
  });

  const schedule = pieces.longitudinal
    ? longitudinalSchedule(pieces, instruments, report)
    : classicSchedule(pieces, instruments, report);
  const grouped = withGroupsOfRecords(pieces, report);
  const sites = sitesOf(grouped, report);
  const subjectIdPattern = subjectIdPatternOf(pieces, dictionary.recordIdField, report);
  const missingCodes = missingCodesOf(pieces.missingCodes, report);

  const study: StudyFile = {
    id,
    title,
    arms: schedule.arms,
    sites,
    subjectIdPattern,
    events: schedule.events,
    logs: schedule.logs,
    ...(inScheduleOrder(schedule, Object.keys(instruments)) ? {} : { formOrder: Object.keys(instruments) }),
    ...(missingCodes.length > 0 ? { missingCodes } : {}),
    ...(dictionary.recordIdField !== "" ? { recordIdField: dictionary.recordIdField } : {}),
  };
  const forms = new Set([...study.events.flatMap((e) => e.forms), ...study.logs]);
  for (const form of Object.keys(instruments)) {
    if (!forms.has(form))
      report.push({
        item: `form ${form}`,
        severity: "warning",
        message: "no event collects this form: the instrument is kept, unused",
      });
  }
  // Piping names REDCap's unique event names; the study's events drop the arm.
  const eventIds = new Map(
    [...schedule.eventNames].map(([unique, id]) => [unique, id.replace(/_arm_\d+$/, "")]),
  );
  for (const instrument of Object.values(instruments)) renamePipedEvents(instrument, eventIds);
  report.push(...engineCheck(study, instruments));
  const records = pieces.records
    ? recordsFor(
        pieces.records,
        { eventNames: schedule.eventNames, sites, instruments },
        grouped,
        dictionary.recordIdField,
        report,
      )
    : undefined;
  return { study, instruments, ...(records ? { records } : {}), report };
}

export function slug(text: string): string {
  const s = text
    .toLowerCase()
    .normalize("NFKD")
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 64)
    .replace(/-+$/, "");
  return s === "" ? "redcap-project" : s;
}

function fromDictionary(i: Issue): ProjectIssue {
  const where =
    i.field !== "" ? `field ${i.form}.${i.field}` : i.form !== "" ? `form ${i.form}` : "dictionary";
  return { item: i.column ? `${where} [${i.column}]` : where, severity: i.severity, message: i.message };
}

/** Whether the schedule, read as the engine reads it (`formOrder`), lists the instruments in the dictionary's order. */
function inScheduleOrder(schedule: Schedule, dictionaryOrder: string[]): boolean {
  const derived = [...new Set([...schedule.events.flatMap((e) => e.forms), ...schedule.logs])];
  const rest = dictionaryOrder.filter((f) => !derived.includes(f));
  return [...derived, ...rest].join() === dictionaryOrder.join();
}

interface Schedule {
  arms: Arm[];
  events: EventDef[];
  logs: string[];
  /** REDCap's unique event name → the study's (`<event>_arm_<n>`), for the records. */
  eventNames: Map<string, string>;
}

function classicSchedule(
  pieces: ProjectPieces,
  instruments: Record<string, Instrument>,
  report: ProjectIssue[],
): Schedule {
  const repeating = new Set(pieces.repeating.filter((r) => r.form !== "").map((r) => r.form));
  const logs: string[] = [];
  const forms: string[] = [];
  for (const [form, instrument] of Object.entries(instruments)) {
    if (repeating.has(form)) {
      instrument["x-repeating"] = true;
      logs.push(form);
    } else forms.push(form);
  }
  for (const r of pieces.repeating) {
    if (r.form === "")
      report.push({
        item: `event ${r.event}`,
        severity: "warning",
        message: "a classic project's event cannot repeat: not kept",
      });
    if (r.label !== "")
      report.push({
        item: `form ${r.form}`,
        severity: "warning",
        message: `the repeat instance label "${r.label}" is not kept`,
      });
  }
  if (forms.length === 0)
    report.push({
      item: "event event_1",
      severity: "error",
      message: "the one event has no form (every form repeats, or there is none)",
    });
  return {
    arms: [{ id: "arm_1", label: "Arm 1", number: 1 }],
    events: [{ id: "event_1", label: "Event 1", forms }],
    logs,
    eventNames: new Map([["event_1_arm_1", "event_1_arm_1"]]),
  };
}

function longitudinalSchedule(
  pieces: ProjectPieces,
  instruments: Record<string, Instrument>,
  report: ProjectIssue[],
): Schedule {
  const arms: Arm[] = pieces.arms.map((a) => ({
    id: `arm_${a.number}`,
    label: a.name.trim() || `Arm ${a.number}`,
    number: a.number,
  }));
  const armNumbers = new Set(pieces.arms.map((a) => a.number));
  const events = pieces.events.filter((e) => {
    if (armNumbers.has(e.arm)) return true;
    report.push({
      item: `event ${e.uniqueName}`,
      severity: "error",
      message: `arm ${e.arm} is not defined: not kept`,
    });
    return false;
  });
  const bases = new Map<string, string>();
  const baseOf = (e: EventPiece) => {
    const known = bases.get(e.uniqueName);
    if (known !== undefined) return known;
    const { base, arm } = splitUniqueEventName(e.uniqueName);
    if (arm !== undefined && arm !== e.arm)
      report.push({
        item: `event ${e.uniqueName}`,
        severity: "warning",
        message: `its name says arm ${arm}, REDCap lists it in arm ${e.arm}`,
      });
    // Event ids start with a letter; REDCap's may start with a digit ("3_month").
    const id = /^[a-z]/.test(base) ? base : `event_${base}`;
    if (id !== base)
      report.push({
        item: `event ${e.uniqueName}`,
        severity: "warning",
        message: `an event id starts with a letter: it is "${id}", so REDCap clients see ${id}_arm_${e.arm}`,
      });
    bases.set(e.uniqueName, id);
    return id;
  };
  const sequences = pieces.arms.map((a) => events.filter((e) => e.arm === a.number).map(baseOf));
  const mergedOrder = mergeOrders(sequences);
  const together = mergedOrder !== undefined;
  let merged: string[] = mergedOrder ?? [];
  if (!together) {
    report.push({
      item: "events",
      severity: "warning",
      message:
        "the arms list their shared events in different orders: each arm's events are kept as separate events (<event>_<arm>)",
    });
    merged = events.map((e) => `${baseOf(e)}_${e.arm}`);
  }
  const idOf = (e: EventPiece) => (together ? baseOf(e) : `${baseOf(e)}_${e.arm}`);
  const formOrder = Object.keys(instruments);
  const out: EventDef[] = [];
  const eventNames = new Map<string, string>();
  for (const eventId of merged) {
    const members = events.filter((e) => idOf(e) === eventId);
    const first = members[0] as EventPiece;
    const memberArms = members.map((e) => `arm_${e.arm}`);
    const formsOf = (e: EventPiece) => {
      const mapped = pieces.mapping.filter((m) => m.event === e.uniqueName).map((m) => m.form);
      for (const form of mapped) {
        if (!instruments[form])
          report.push({
            item: `event ${e.uniqueName}`,
            severity: "warning",
            message: `form "${form}" is not an instrument (only the record id, or unknown): not collected`,
          });
      }
      return formOrder.filter((f) => mapped.includes(f));
    };
    const perArm = new Map(members.map((e) => [`arm_${e.arm}`, formsOf(e)]));
    const forms = formOrder.filter((f) => [...perArm.values()].some((list) => list.includes(f)));
    if (forms.length === 0) {
      for (const e of members)
        report.push({
          item: `event ${e.uniqueName}`,
          severity: "warning",
          message: "no form is collected here: the event is not kept",
        });
      continue;
    }
    const event: EventDef = { id: eventId, label: first.name.trim() || eventId, forms };
    for (const e of members) {
      eventNames.set(e.uniqueName, `${eventId}_arm_${e.arm}`);
      if (e.name.trim() !== first.name.trim())
        report.push({
          item: `event ${e.uniqueName}`,
          severity: "warning",
          message: `labelled "${e.name}" in arm ${e.arm}: the event keeps "${event.label}"`,
        });
      if (e.customLabel)
        report.push({
          item: `event ${e.uniqueName}`,
          severity: "warning",
          message: `the custom event label "${e.customLabel}" is not kept`,
        });
      if ((e.offsetMin ?? 0) !== 0 || (e.offsetMax ?? 0) !== 0)
        report.push({
          item: `event ${e.uniqueName}`,
          severity: "warning",
          message: `the window (-${e.offsetMin ?? 0}/+${e.offsetMax ?? 0} days) is not kept: there is no day one`,
        });
    }
    const repeats = members.filter((e) =>
      pieces.repeating.some((r) => r.event === e.uniqueName && r.form === ""),
    );
    if (repeats.length > 0) {
      event.repeatable = true;
      if (repeats.length < members.length)
        report.push({
          item: `event ${eventId}`,
          severity: "warning",
          message: `repeats in ${repeats.map((e) => `arm ${e.arm}`).join(", ")} only: it repeats in every arm`,
        });
    } else {
      const days = [...new Set(members.map((e) => e.dayOffset).filter((d) => d !== undefined))];
      if (days.length === 1) event.day = studyDay(days[0] as number);
      else if (days.length > 1)
        report.push({
          item: `event ${eventId}`,
          severity: "warning",
          message: `day offsets differ across arms (${days.join(", ")}): no day kept`,
        });
    }
    if (memberArms.length < arms.length) event.arms = memberArms;
    const armForms = Object.fromEntries([...perArm].filter(([, list]) => list.length < forms.length));
    for (const [arm, list] of Object.entries(armForms)) {
      if (list.length === 0) {
        report.push({
          item: `event ${eventId}`,
          severity: "warning",
          message: `${arm} collects no form here: it is left out of the event`,
        });
        event.arms = (event.arms ?? memberArms).filter((a) => a !== arm);
        delete armForms[arm];
      }
    }
    if (Object.keys(armForms).length > 0) event.armForms = armForms;
    const repeatingForms = forms.filter((f) =>
      members.some((e) => pieces.repeating.some((r) => r.event === e.uniqueName && r.form === f)),
    );
    if (repeatingForms.length > 0 && !event.repeatable) event.repeatingForms = repeatingForms;
    for (const r of pieces.repeating) {
      if (r.label !== "" && members.some((e) => e.uniqueName === r.event))
        report.push({
          item: `event ${r.event}`,
          severity: "warning",
          message: `the repeat instance label "${r.label}" is not kept`,
        });
    }
    out.push(event);
  }
  report.push({
    item: "events",
    severity: "warning",
    message: "REDCap day offsets give each event's day for ordering only",
  });
  return { arms, events: out, logs: [], eventNames };
}

/** Day offset 0 is the first day: study days have no day 0 (CDISC), so offsets from 0 on are shifted by one. */
function studyDay(offset: number): number {
  return offset >= 0 ? Math.round(offset) + 1 : Math.round(offset);
}

/**
 * One order holding every arm's own order of events (a topological merge,
 * earlier arms first when free); undefined when two arms disagree.
 */
export function mergeOrders(sequences: string[][]): string[] | undefined {
  const nodes: string[] = [];
  const after = new Map<string, Set<string>>();
  const before = new Map<string, number>();
  for (const seq of sequences) {
    for (const n of seq) {
      if (!after.has(n)) {
        nodes.push(n);
        after.set(n, new Set());
        before.set(n, 0);
      }
    }
    for (let i = 1; i < seq.length; i++) {
      const a = seq[i - 1] as string;
      const b = seq[i] as string;
      const next = after.get(a) as Set<string>;
      if (!next.has(b)) {
        next.add(b);
        before.set(b, (before.get(b) ?? 0) + 1);
      }
    }
  }
  const out: string[] = [];
  const ready = nodes.filter((n) => before.get(n) === 0);
  while (ready.length > 0) {
    ready.sort((a, b) => nodes.indexOf(a) - nodes.indexOf(b));
    const n = ready.shift() as string;
    out.push(n);
    for (const m of after.get(n) ?? []) {
      const left = (before.get(m) ?? 0) - 1;
      before.set(m, left);
      if (left === 0) ready.push(m);
    }
  }
  return out.length === nodes.length ? out : undefined;
}

/** Records naming data access groups the source does not list (a folder without the DAG export): those groups. */
function withGroupsOfRecords(pieces: ProjectPieces, report: ProjectIssue[]): ProjectPieces {
  if (pieces.dags.length > 0) return pieces;
  const named = [
    ...new Set((pieces.records?.rows ?? []).map((r) => (r.redcap_data_access_group ?? "").trim())),
  ].filter((g) => g !== "");
  if (named.length === 0) return pieces;
  report.push({
    item: "sites",
    severity: "warning",
    message: `the records name data access groups the project does not list (${named.join(", ")}): each is a site`,
  });
  return { ...pieces, dags: named.map((g) => ({ name: g, uniqueName: g })) };
}

function sitesOf(pieces: ProjectPieces, report: ProjectIssue[]): Site[] {
  if (pieces.dags.length === 0) return [DEFAULT_SITE];
  const sites: Site[] = [];
  pieces.dags.forEach((dag, i) => {
    const id = slug(dag.uniqueName || dag.name);
    if (sites.some((s) => s.id === id)) {
      report.push({
        item: `site ${dag.name}`,
        severity: "error",
        message: `a second data access group named "${id}": not kept`,
      });
      return;
    }
    sites.push({ id, name: dag.name.trim() || id, code: String(i + 1).padStart(2, "0") });
  });
  report.push({
    item: "sites",
    severity: "warning",
    message: `data access groups became sites with codes ${sites.map((s) => `${s.code} (${s.name})`).join(", ")}: check the codes`,
  });
  return sites;
}

function subjectIdPatternOf(pieces: ProjectPieces, recordId: string, report: ProjectIssue[]): string {
  const names = [...new Set((pieces.records?.rows ?? []).map((r) => r[recordId] ?? ""))];
  const odd = names.filter((n) => !new RegExp(REDCAP_RECORD).test(n));
  if (odd.length === 0) return REDCAP_RECORD;
  report.push({
    item: `field ${recordId}`,
    severity: "warning",
    message: `record names such as "${odd[0]}" are not letters, digits, _ and -: subject ids accept any text`,
  });
  return "^.+$";
}

const CODE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;

function missingCodesOf(codes: MissingCode[], report: ProjectIssue[]): MissingCode[] {
  return codes.filter((m) => {
    if (CODE.test(m.code)) return true;
    report.push({
      item: `missing-data code ${m.code}`,
      severity: "error",
      message: "not a code the engine accepts (letters, digits, _ . -, at most 32): not kept",
    });
    return false;
  });
}

/** The engine's own definition check on the result, as report entries. */
function engineCheck(study: StudyFile, instruments: Record<string, Instrument>): ProjectIssue[] {
  const files: SourceFile[] = Object.entries(instruments).map(([id, json]) => ({
    path: `instruments/${id}.json`,
    json,
  }));
  const { errors } = checkDefinition({ study: { path: "study.json", json: study }, instruments: files });
  return errors.map((e) => ({
    item: `${e.file}${e.pointer ? ` ${e.pointer}` : ""}`,
    severity: "error",
    message: `engine check: ${e.message}`,
  }));
}

/** The records with the study's event names and sites, so `/api/` imports them as they are. */
function recordsFor(
  records: FlatRecords,
  study: { eventNames: Map<string, string>; sites: Site[]; instruments: Record<string, Instrument> },
  pieces: ProjectPieces,
  recordId: string,
  report: ProjectIssue[],
): FlatRecords {
  const { eventNames, sites, instruments } = study;
  const known = new Set([recordId, ...FLAT_FIXED]);
  for (const [form, instrument] of Object.entries(instruments)) {
    known.add(`${form}_complete`);
    for (const field of Object.keys(instrument.properties)) known.add(field);
  }
  // A checkbox is one column per choice, `<field>___<code>`.
  const columns = records.columns.filter((c) => {
    if (known.has(c) || known.has(c.replace(/___[^_].*$/, ""))) return true;
    const given = records.rows.filter((r) => (r[c] ?? "") !== "").length;
    report.push({
      item: `records [${c}]`,
      severity: given > 0 ? "error" : "warning",
      message: `no field of the study holds this column: ${given} value(s) not kept`,
    });
    return false;
  });
  const siteOf = new Map(pieces.dags.map((d, i) => [d.uniqueName, sites[i]?.id ?? ""]));
  const rows = records.rows.map((row) => {
    const out = Object.fromEntries(columns.map((c) => [c, row[c] ?? ""]));
    const event = row.redcap_event_name;
    if (event !== undefined && event !== "") {
      const renamed = eventNames.get(event);
      if (renamed === undefined)
        report.push({
          item: `record ${row[recordId] ?? ""}`,
          severity: "warning",
          message: `event "${event}" is not in the study: its row will be refused`,
        });
      else out.redcap_event_name = renamed;
    }
    const dag = row.redcap_data_access_group;
    if (dag) out.redcap_data_access_group = siteOf.get(dag) ?? dag;
    return out;
  });
  return { columns, rows };
}

const FLAT_FIXED = [
  "redcap_event_name",
  "redcap_repeat_instrument",
  "redcap_repeat_instance",
  "redcap_data_access_group",
];
