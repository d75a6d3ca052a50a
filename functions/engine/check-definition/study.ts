import { parseDateText } from "../date-text.ts";
import { type EventDef, type Instrument, LOGS_EVENT, type StudyFile } from "../definition.ts";
import { patternProblem } from "../pattern.ts";
import { duplicates, reporterFor, reservedName } from "./helpers.ts";
import { join, suggest } from "./pointers.ts";
import type { DefinitionError, Reporter, SourceFile } from "./types.ts";

/** The study file: arms, sites, events and their forms, day one, logs, the study start. */

export function checkStudy(
  file: SourceFile,
  study: StudyFile,
  instruments: Map<string, Instrument | undefined>,
  errors: DefinitionError[],
): void {
  const report = reporterFor(file, errors);
  const known = [...instruments.keys()];
  reservedName(study.id, "study id", "/id", report);
  study.arms.forEach((a, i) => {
    reservedName(a.id, "arm id", `/arms/${i}/id`, report);
  });
  study.sites.forEach((site, i) => {
    reservedName(site.id, "site id", `/sites/${i}/id`, report);
    reservedName(site.code, "site code", `/sites/${i}/code`, report);
  });
  study.events.forEach((e, i) => {
    reservedName(e.id, "event id", `/events/${i}/id`, report);
  });
  duplicates(
    study.arms,
    (a) => a.id,
    (i, v) => report(`/arms/${i}/id`, `duplicate arm id "${String(v)}"`),
  );
  duplicates(
    study.sites,
    (s) => s.id,
    (i, v) => report(`/sites/${i}/id`, `duplicate site id "${String(v)}"`),
  );
  duplicates(
    study.sites,
    (s) => s.code,
    (i, v) => report(`/sites/${i}/code`, `duplicate site code "${String(v)}"`),
  );
  duplicates(
    study.events,
    (e) => e.id,
    (i, v) => report(`/events/${i}/id`, `duplicate event id "${String(v)}"`),
  );
  duplicates(
    study.missingCodes ?? [],
    (m) => m.code.toUpperCase(),
    (i, v) => report(`/missingCodes/${i}/code`, `duplicate missing-data code "${String(v)}"`),
  );
  (study.missingCodes ?? []).forEach((m, i) => {
    reservedName(m.code, "missing-data code", `/missingCodes/${i}/code`, report);
  });
  const subjectIdProblem = patternProblem(study.subjectIdPattern);
  if (subjectIdProblem) report("/subjectIdPattern", subjectIdProblem);

  const armIds = new Set(study.arms.map((a) => a.id));
  const logs = new Set(study.logs);
  study.events.forEach((event, i) => {
    const at = `/events/${i}`;
    if (event.id === LOGS_EVENT) report(`${at}/id`, `"${LOGS_EVENT}" is reserved for the repeating logs`);
    if (event.day === 0)
      report(`${at}/day`, "there is no study day 0: day 1 is the day-one date, the day before is -1");
    if (event.repeatable === true && event.day !== undefined) {
      report(`${at}/day`, "a repeatable event is not scheduled: remove its day");
    }
    if (event.window !== undefined && event.day === undefined) {
      report(`${at}/window`, "a window needs a target day");
    } else if (event.window !== undefined && !study.dayOne) {
      // Without day 1 there is no target date; `day` alone still orders the schedule (REDCap's day offset).
      report(`${at}/window`, "a visit window needs the study's dayOne");
    }
    (event.arms ?? []).forEach((arm, j) => {
      if (!armIds.has(arm)) report(`${at}/arms/${j}`, `unknown arm "${arm}"${suggest(arm, armIds)}`);
    });
    event.forms.forEach((form, j) => {
      if (!instruments.has(form)) {
        report(
          `${at}/forms/${j}`,
          `no instrument "${form}" (instruments/${form}.json)${suggest(form, known)}`,
        );
        return;
      }
      if (logs.has(form))
        report(`${at}/forms/${j}`, `"${form}" is a log: it is kept per subject, not per visit`);
      const instrument = instruments.get(form);
      if (
        event.repeatable !== true &&
        instrument?.["x-repeating"] === true &&
        !logs.has(form) &&
        !event.repeatingForms?.includes(form)
      ) {
        report(
          `${at}/forms/${j}`,
          `"${form}" is x-repeating: it can only be a log, belong to a repeatable event or be in the event's repeatingForms`,
        );
      }
    });
    checkArmForms(event, at, armIds, report);
    checkRepeatingForms(event, at, logs, report);
  });

  study.logs.forEach((form, i) => {
    if (!instruments.has(form)) {
      report(`/logs/${i}`, `no instrument "${form}" (instruments/${form}.json)${suggest(form, known)}`);
      return;
    }
    const instrument = instruments.get(form);
    if (instrument && instrument["x-repeating"] !== true) {
      report(`/logs/${i}`, `log "${form}" must be an x-repeating instrument`);
    }
  });

  checkDayOne(study, instruments, report);
  checkSdvPlan(study, instruments, report);
  (study.formOrder ?? []).forEach((form, i) => {
    if (!instruments.has(form))
      report(`/formOrder/${i}`, `no instrument "${form}" (instruments/${form}.json)${suggest(form, known)}`);
  });
}

/** Each arm's own forms at an event: an arm the event occurs in, a subset of `forms` in its order. */
function checkArmForms(event: EventDef, at: string, armIds: Set<string>, report: Reporter): void {
  const eventArms = event.arms ? new Set(event.arms) : armIds;
  for (const [arm, forms] of Object.entries(event.armForms ?? {})) {
    const where = join(`${at}/armForms`, arm);
    if (!eventArms.has(arm)) {
      report(
        where,
        armIds.has(arm)
          ? `event "${event.id}" does not occur in arm "${arm}"`
          : `unknown arm "${arm}"${suggest(arm, armIds)}`,
      );
      continue;
    }
    let last = -1;
    forms.forEach((form, j) => {
      const position = event.forms.indexOf(form);
      if (position < 0) {
        report(`${where}/${j}`, `"${form}" is not in the event's forms${suggest(form, event.forms)}`);
        return;
      }
      if (position < last)
        report(`${where}/${j}`, `"${form}" is out of order: list the arm's forms in the event's forms order`);
      last = Math.max(last, position);
    });
  }
}

/** Forms repeating at one event: forms of that event, not logs, and only where the event itself does not repeat. */
function checkRepeatingForms(event: EventDef, at: string, logs: Set<string>, report: Reporter): void {
  if (event.repeatingForms && event.repeatable === true)
    report(
      `${at}/repeatingForms`,
      "a repeatable event repeats all its forms already: remove repeatingForms or repeatable",
    );
  (event.repeatingForms ?? []).forEach((form, j) => {
    if (logs.has(form))
      report(`${at}/repeatingForms/${j}`, `"${form}" is a log: it is kept per subject, not per visit`);
    else if (!event.forms.includes(form))
      report(
        `${at}/repeatingForms/${j}`,
        `"${form}" is not in the event's forms${suggest(form, event.forms)}`,
      );
  });
}

/** The verification plan names instruments that exist. */
function checkSdvPlan(study: StudyFile, instruments: Map<string, Instrument | undefined>, report: Reporter) {
  const known = [...instruments.keys()];
  for (const form of Object.keys(study.sdv?.forms ?? {})) {
    if (!instruments.has(form))
      report(
        join("/sdv/forms", form),
        `no instrument "${form}" (instruments/${form}.json)${suggest(form, known)}`,
      );
  }
}

/** `x-sdv-critical` marks a value someone recorded from a source: a calculation has none. */
export function checkSdvCritical(
  sources: Map<string, SourceFile>,
  instruments: Map<string, Instrument | undefined>,
  errors: DefinitionError[],
): void {
  for (const [id, instrument] of instruments) {
    for (const [name, field] of Object.entries(instrument?.properties ?? {})) {
      if (field["x-sdv-critical"] === true && field["x-calc"] !== undefined)
        errors.push({
          file: sources.get(id)?.path ?? "",
          pointer: join("/properties", name, "x-sdv-critical"),
          message: "a calculated field is not verified against source: remove x-sdv-critical or x-calc",
        });
    }
  }
}

function checkDayOne(
  study: StudyFile,
  instruments: Map<string, Instrument | undefined>,
  report: Reporter,
): void {
  if (!study.dayOne) return;
  const { event: eventId, form, field } = study.dayOne;
  const event: EventDef | undefined = study.events.find((e) => e.id === eventId);
  if (!event) {
    report(
      "/dayOne/event",
      `no event "${eventId}"${suggest(
        eventId,
        study.events.map((e) => e.id),
      )}`,
    );
    return;
  }
  if (event.day !== undefined && event.day !== 1) {
    report("/dayOne/event", `event "${eventId}" defines day 1 but is scheduled on day ${event.day}`);
  }
  if (event.repeatable === true)
    report("/dayOne/event", `event "${eventId}" is repeatable: day 1 must be one date`);
  if (event.arms !== undefined && study.arms.some((a) => !event.arms?.includes(a.id))) {
    report("/dayOne/event", `event "${eventId}" is not in every arm, so some subjects would have no day 1`);
  }
  if (!event.forms.includes(form)) {
    report("/dayOne/form", `form "${form}" is not collected at event "${eventId}"`);
    return;
  }
  const without = Object.entries(event.armForms ?? {}).find(([, forms]) => !forms.includes(form));
  if (without)
    report(
      "/dayOne/form",
      `arm "${without[0]}" does not collect "${form}" at event "${eventId}": no day 1 there`,
    );
  const instrument = instruments.get(form);
  if (!instrument) return;
  const schema = instrument.properties[field];
  if (!schema) {
    report(
      "/dayOne/field",
      `instrument "${form}" has no field "${field}"${suggest(field, Object.keys(instrument.properties))}`,
    );
  } else if (schema.format !== "date") {
    report("/dayOne/field", `"${form}.${field}" must be a date field ("format": "date")`);
  }
}

/** x-repeating instruments must be logs, belong to a repeatable event, or repeat at an event (repeatingForms). */
export function checkRepeatingUse(
  files: Map<string, SourceFile>,
  study: StudyFile,
  instruments: Map<string, Instrument | undefined>,
  errors: DefinitionError[],
): void {
  const used = new Set(study.logs);
  for (const e of study.events) {
    if (e.repeatable === true) for (const f of e.forms) used.add(f);
    for (const f of e.repeatingForms ?? []) used.add(f);
  }
  for (const [id, instrument] of instruments) {
    if (instrument?.["x-repeating"] === true && !used.has(id)) {
      errors.push({
        file: files.get(id)?.path ?? id,
        pointer: "/x-repeating",
        message: `"${id}" is x-repeating but is neither in the study's logs, nor in a repeatable event, nor in an event's repeatingForms`,
      });
    }
  }
}

/** A date bound "study-start" needs study.json's startDate, a real calendar day. */
export function checkStudyStart(
  studyFile: SourceFile,
  study: StudyFile,
  sources: Map<string, SourceFile>,
  instruments: Map<string, Instrument | undefined>,
  errors: DefinitionError[],
): void {
  if (study.startDate !== undefined && !parseDateText(study.startDate).ok)
    errors.push({
      file: studyFile.path,
      pointer: "/startDate",
      message: `"${study.startDate}" is not a day of the calendar`,
    });
  if (study.startDate !== undefined) return;
  for (const [id, instrument] of instruments) {
    for (const [name, field] of Object.entries(instrument?.properties ?? {})) {
      for (const keyword of ["x-date-min", "x-date-max"] as const) {
        if (field[keyword] === "study-start")
          errors.push({
            file: sources.get(id)?.path ?? "",
            pointer: join("/properties", name, keyword),
            message: `"study-start" needs "startDate" in study.json`,
          });
      }
    }
  }
}

/** Whether the runtime knows an IANA time zone name ("Europe/Berlin", "UTC"). */
function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** study.json's timeZone names a real IANA zone (the one place local date-times get their zone from). */
export function checkTimeZone(studyFile: SourceFile, study: StudyFile, errors: DefinitionError[]): void {
  if (study.timeZone !== undefined && !isTimeZone(study.timeZone))
    errors.push({
      file: studyFile.path,
      pointer: "/timeZone",
      message: `"${study.timeZone}" is not an IANA time zone (e.g. "Europe/Berlin", "UTC")`,
    });
}
