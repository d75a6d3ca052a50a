/**
 * The shape of a study protocol as data. `forms/study.json` is a StudyFile;
 * each `forms/instruments/<id>.json` is an Instrument (a JSON Schema 2020-12
 * object schema with `x-` annotations). A StudyDefinition is both, bundled and
 * versioned: it is what gets published and what every form instance is saved
 * against.
 */

/** JSON Logic expression (json-logic-js); evaluated identically on server and browser. */
export type Logic = unknown;

export interface Arm {
  id: string;
  label: string;
  /** REDCap's arm number (`arm_num`, in `<event>_arm_<n>`); default the arm's position from 1. */
  number?: number;
}

export interface Site {
  id: string;
  name: string;
  /** Short numeric code used in generated subject ids, e.g. "01" → "01-003". */
  code: string;
}

/**
 * Study days follow the CDISC convention: day 1 is the reference date, the day
 * before it is day -1 (there is no day 0).
 */
export interface VisitWindow {
  /** Days allowed before the target day (inclusive). */
  before: number;
  /** Days allowed after the target day (inclusive). */
  after: number;
}

export interface EventDef {
  id: string;
  label: string;
  /** Target study day; absent for visits that are not scheduled (unscheduled, end of study). */
  day?: number;
  window?: VisitWindow;
  /** A repeatable event (unscheduled visits) holds numbered instances of each of its forms. */
  repeatable?: boolean;
  /** Instrument ids collected at this visit in any arm, in display order. */
  forms: string[];
  /** Restrict the event to some arms; absent means every arm. */
  arms?: string[];
  /**
   * Where an arm collects fewer forms here than `forms` (REDCap's form–event
   * mapping differs per arm): that arm's forms, a subset of `forms` in the
   * same order. Arms not listed collect `forms`.
   */
  armForms?: Record<string, string[]>;
  /** Forms that repeat at this event only (REDCap's repeating instruments), a subset of `forms`. */
  repeatingForms?: string[];
}

export interface StudyFile {
  id: string;
  title: string;
  description?: string;
  arms: Arm[];
  sites: Site[];
  /** Subject ids must match this pattern (regular expression source). */
  subjectIdPattern: string;
  /** Where day 1 comes from: the date field of a form at an event. Absent: no target dates or visit windows. */
  dayOne?: { event: string; form: string; field: string };
  events: EventDef[];
  /** Repeating instruments kept per subject rather than per visit (the "logs" pseudo-event). */
  logs: string[];
  /** The first day the study's data can be dated (ISO): what a date field's bound "study-start" means. */
  startDate?: string;
  /** IANA time zone where the study's local date-times (`"format": "local-date-time"`) were read off a clock. */
  timeZone?: string;
  /** Codes a field can hold instead of a value (NA, UNK, …), each with a reason (engine/missing-codes.ts). */
  missingCodes?: MissingCode[];
  /** Which data a monitor verifies against source (engine/sdv.ts); absent means all of it. */
  sdv?: SdvPlan;
  /**
   * Instruments in the order exports, data dictionaries and pages list them
   * (REDCap's instrument order); instruments not named follow in the default
   * order, as first collected in the schedule, then the logs.
   */
  formOrder?: string[];
  /** The name of the record id column in exports and the data dictionary (REDCap's first field); default `record_id`. */
  recordIdField?: string;
}

export interface MissingCode {
  code: string;
  label: string;
}

/** How much of a form needs source data verification: every field, the `x-sdv-critical` ones, or none. */
export type SdvMode = "all" | "critical" | "none";

export interface SdvPlan {
  default: SdvMode;
  /** Per-form exceptions to the default, by instrument id. */
  forms?: Record<string, SdvMode>;
}

export type ChoiceCode = string | number;

export interface Choice {
  const: ChoiceCode;
  title: string;
}

/** How a field is shown; the default follows the type, format and choices. */
export type Widget =
  | "text"
  | "textarea"
  | "radio"
  | "select"
  /** A select list the user can search by typing (REDCap dropdown with "autocomplete"). */
  | "autocomplete"
  | "checkbox"
  | "yesno"
  /** A boolean shown as True / False (REDCap "truefalse"); stored like yesno. */
  | "truefalse"
  /** A number chosen on a scale, 0 to 100 unless minimum/maximum say otherwise (REDCap "slider"). */
  | "slider"
  /** Display-only text (REDCap "descriptive"): `"type": "null"`, never holds a value. */
  | "descriptive"
  /** An uploaded file (`"type": "object"` with `"x-file"`); the default for such a field. */
  | "file"
  /** A signature drawn in the browser, stored as a PNG file (REDCap "file" with validation "signature"). */
  | "signature";

/** Slider presentation (REDCap "slider" labels and "show slider number"). */
export interface SliderOptions {
  /** Labels under the left end, the middle and the right end of the scale ("" for none). */
  labels?: string[];
  /** Show the chosen number beside the slider. */
  showNumber?: boolean;
}

/** One field of an instrument: a JSON Schema property plus engine annotations. */
export interface FieldSchema {
  /** "null" only for display-only fields (`"x-widget": "descriptive"`); "object" only for file fields (`"x-file"`). */
  type?: "string" | "number" | "integer" | "boolean" | "array" | "null" | "object";
  title?: string;
  description?: string;
  format?: "date" | "time" | "date-time" | "local-date-time" | "email";
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  multipleOf?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  enum?: ChoiceCode[];
  oneOf?: Choice[];
  items?: { type?: "string" | "integer"; oneOf: Choice[] };
  uniqueItems?: boolean;
  minItems?: number;
  readOnly?: boolean;
  "x-identifier"?: boolean;
  "x-widget"?: Widget;
  "x-unit"?: string;
  "x-section"?: string;
  "x-visible-if"?: Logic;
  /** A REDCap branching logic the engine cannot evaluate, kept verbatim so it exports back unchanged; the field is always shown. */
  "x-visible-if-redcap"?: string;
  "x-calc"?: Logic;
  /** A REDCap calculation the engine cannot compute, kept verbatim so it exports back unchanged; the field stays read-only and empty. */
  "x-calc-redcap"?: string;
  /** This date is the date the visit took place: it is checked against the visit window. */
  "x-visit-date"?: boolean;
  /** Plausible range of a date field: an ISO date, "today" or "study-start" (engine/date-bounds.ts); the floor is 1900-01-01. */
  "x-date-min"?: string;
  "x-date-max"?: string;
  /** Free-text annotation kept verbatim (REDCap "Field Annotation": notes and action tags such as @HIDDEN, which the engine does not interpret). */
  "x-annotation"?: string;
  /** Matrix group: adjacent choice fields with the same choices, shown as one grid (REDCap "Matrix Group Name"). */
  "x-matrix"?: string;
  "x-slider"?: SliderOptions;
  /**
   * REDCap text validation type kept verbatim where type, format and pattern do not say it
   * (date_dmy, number_2dp, phone …). A display and import hint: the engine enforces only
   * type, format, pattern, minimum and maximum.
   */
  "x-text-validation"?: string;
  /** The expected format of a `pattern` field in a few words for people ("2 or 3 capitals, e.g. JD"): a pattern error names it. */
  "x-format"?: string;
  /** REDCap validation bounds that are not numbers (dates, "today"), kept verbatim and not enforced. */
  "x-text-validation-min"?: string;
  "x-text-validation-max"?: string;
  /**
   * The soft range of a number (REDCap's min/max): a value outside it is a
   * warning, saved once the person confirms it, and opens a query; the hard
   * `minimum`/`maximum` still refuse.
   */
  "x-soft-minimum"?: number;
  "x-soft-maximum"?: number;
  /** This field needs source data verification where the study verifies critical data only (`sdv`). */
  "x-sdv-critical"?: boolean;
  /** Not shown on the form page (REDCap @HIDDEN, @HIDDEN-FORM); its value is kept, saved and exported. */
  "x-hidden"?: boolean;
  /** Shown but not editable on the form page (REDCap @READONLY, @READONLY-FORM); an API save may still set it, as a REDCap import may. */
  "x-readonly"?: boolean;
  /** The value a new instance opens with on the form page: a value, or "today" / "now" (REDCap @DEFAULT, @TODAY, @NOW). */
  "x-default"?: PresetValue;
  /** Like `x-default`, and also fills the field when a saved instance is opened with it empty (REDCap @SETVALUE). */
  "x-set-value"?: PresetValue;
  /** Checkbox codes that cannot be ticked with any other box (REDCap @NONEOFTHEABOVE). */
  "x-none-of-the-above"?: ChoiceCode[];
  /** A file field (`"type": "object"`): what it accepts; its value is a reference (engine/file-fields.ts). */
  "x-file"?: FileOptions;
  /** Typed with a decimal comma ("1,5") on the page and REDCap's /api/; stored as a number. */
  "x-decimal-comma"?: boolean;
  /** REDCap's question number, shown before the label ("1a"). */
  "x-question-number"?: string;
  /** REDCap's custom alignment: label left or right, choices horizontal or vertical. */
  "x-align"?: "LH" | "LV" | "RH" | "RV";
}

/** What a file field accepts (engine/file-fields.ts checks values against it). */
export interface FileOptions {
  /** Allowed media types (`image/png`, `application/pdf`, `image/*`); absent: any. */
  mediaTypes?: string[];
  /** Largest file accepted, in bytes; absent: the engine's default (10 MB). */
  maxBytes?: number;
}

/** A value a field opens with: one of the field's type, or "today" / "now" resolved when the form opens. */
export type PresetValue = string | number | boolean | ChoiceCode[];

export interface CrossFieldRule {
  id: string;
  /** JSON Logic that must be true for the data to be valid (skipped while any referenced field is empty). */
  logic: Logic;
  /** The field the error is reported against. */
  field: string;
  message: string;
  /** "warning": saved once confirmed, with a query opened; "error" (absent) refuses the save. */
  severity?: "error" | "warning";
}

export interface Instrument {
  $schema?: string;
  $id: string;
  title: string;
  description?: string;
  type: "object";
  properties: Record<string, FieldSchema>;
  required?: string[];
  additionalProperties?: false;
  "x-repeating"?: boolean;
  "x-rules"?: CrossFieldRule[];
}

export interface StudyDefinition {
  /** Monotonic published version; 0 for a definition that has not been published. */
  version: number;
  study: StudyFile;
  instruments: Record<string, Instrument>;
}

/**
 * Instruments by id in an object without a prototype, so a lookup by a name
 * from a URL or a query (`constructor`, `__proto__`, `toString`) finds no
 * instrument instead of a member every object has. Every definition the
 * engine hands out (checked or read from the store) is built with it.
 */
export function instrumentsById(entries: Iterable<[string, Instrument]>): Record<string, Instrument> {
  const out: Record<string, Instrument> = Object.create(null);
  for (const [id, instrument] of entries) out[id] = instrument;
  return out;
}

/** The pseudo-event under which repeating logs (adverse events, relapses, con meds) live. */
export const LOGS_EVENT = "logs";

export const FORM_STATUSES = ["incomplete", "unverified", "complete"] as const;
export type FormStatus = (typeof FORM_STATUSES)[number];
/** A status as REDCap's `<form>_complete` codes it (the flat and ODM exports both write these). */
export const FORM_STATUS_CODE: Record<FormStatus, 0 | 1 | 2> = { incomplete: 0, unverified: 1, complete: 2 };
/** Its label in exports (REDCap's words). */
export const FORM_STATUS_LABEL: Record<FormStatus, string> = {
  incomplete: "Incomplete",
  unverified: "Unverified",
  complete: "Complete",
};

export type FormData = Record<string, unknown>;
