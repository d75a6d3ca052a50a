/**
 * The parameters of REDCap's API (`POST /api/`), read and checked before
 * anything is done: a parameter this server does not implement, or a value
 * it cannot honour, is an error rather than silently ignored, so a REDCap
 * client never takes a partial answer for the one it asked for. The values
 * REDCap clients send by default (REDCap's API playground, PyCap, REDCapR)
 * are accepted where they change nothing.
 */

import { LOG_TYPES } from "../exports/redcap-log.ts";

export class RedcapError extends Error {
  constructor(
    readonly status: 400 | 401 | 403,
    message: string,
  ) {
    super(message);
  }
}

export const CONTENTS = [
  "record",
  "metadata",
  "instrument",
  "event",
  "arm",
  "formEventMapping",
  "exportFieldNames",
  "project",
  "version",
  "generateNextRecordName",
  "dag",
  "userDagMapping",
  "repeatingFormsEvents",
  "log",
  "file",
] as const;
export type Content = (typeof CONTENTS)[number];

/** A parameter's accepted values: a list, free text, an uploaded file, or only these values (the first is the default). */
type Accepts = "list" | "text" | "file" | readonly string[];

const BOOLEAN_OFF = ["false", "0"] as const;
const BOOLEAN_ANY = ["false", "true", "0", "1"] as const;

/** Sent by every client on every call. */
const COMMON: Record<string, Accepts> = {
  token: "text",
  content: "text",
  format: "text",
  returnFormat: ["json", "csv", "xml"],
  action: ["export"],
};

const ALLOWED: Record<Content, Record<string, Accepts>> = {
  record: {
    type: ["flat"],
    records: "list",
    fields: "list",
    forms: "list",
    events: "list",
    rawOrLabel: ["raw", "label"],
    rawOrLabelHeaders: ["raw"],
    // Only changes checkbox values exported as labels: checked below against rawOrLabel.
    exportCheckboxLabel: BOOLEAN_ANY,
    // No instrument is a survey (project: surveys_enabled 0), so REDCap adds nothing either way.
    exportSurveyFields: BOOLEAN_ANY,
    // Sites are what REDCap calls data access groups: true adds redcap_data_access_group.
    exportDataAccessGroups: BOOLEAN_ANY,
    exportBlankForGrayFormStatus: BOOLEAN_OFF,
    // PyCap sends eventName=label by default; REDCap ignores it and names events by their unique names, as here.
    eventName: ["label", "unique"],
    filterLogic: "text",
    dateRangeBegin: "text",
    dateRangeEnd: "text",
    csvDelimiter: [","],
    decimalCharacter: [".", "dot"],
  },
  metadata: { fields: "list", forms: "list" },
  instrument: {},
  event: { arms: "list" },
  arm: { arms: "list" },
  formEventMapping: { arms: "list" },
  exportFieldNames: { field: "text" },
  project: {},
  version: {},
  generateNextRecordName: {},
  dag: {},
  userDagMapping: {},
  repeatingFormsEvents: {},
  log: {
    logtype: LOG_TYPES,
    user: "text",
    record: "text",
    dag: "text",
    beginTime: "text",
    endTime: "text",
  },
  // One file field's bytes: which action may carry `file` is the file route's to check.
  file: {
    action: ["export", "import", "delete"],
    record: "text",
    field: "text",
    event: "text",
    repeat_instance: "text",
    // REDCapR sends it with repeat_instance; the field names its instrument anyway.
    repeat_instrument: "text",
    file: "file",
  },
};

/** content=record with `data`: REDCap's import (`action=import` is implied by `data`, as in REDCap). */
export const IMPORT_PARAMS: Record<string, Accepts> = {
  ...COMMON,
  action: ["import"],
  type: ["flat"],
  data: "text",
  overwriteBehavior: ["normal", "overwrite"],
  forceAutoNumber: BOOLEAN_ANY,
  returnContent: ["count", "ids", "auto_ids", "nothing"],
  dateFormat: ["YMD", "MDY", "DMY"],
  csvDelimiter: [","],
  // Our extension: check everything, write nothing, answer what would change.
  dryRun: BOOLEAN_ANY,
};

/** The request's parameters by name, PHP-style arrays (`fields[0]=a`, `fields[]=a`) folded into their name. */
export class RedcapParams {
  private readonly values = new Map<string, string[]>();
  /** Keys sent as something other than text (files, repeated scalars). */
  private readonly odd = new Set<string>();
  /** Uploaded parts of a multipart body, by name. */
  private readonly files = new Map<string, File[]>();

  constructor(body: Record<string, unknown>) {
    for (const [key, value] of Object.entries(body)) {
      const name = /^([^[\]]+)\[\d*\]$/.exec(key)?.[1] ?? key;
      const list = this.values.get(name) ?? [];
      for (const v of ([] as unknown[]).concat(value)) {
        if (typeof v === "string") list.push(v);
        else {
          this.odd.add(name);
          if (v instanceof File) this.files.set(name, [...(this.files.get(name) ?? []), v]);
        }
      }
      this.values.set(name, list);
    }
  }

  has(name: string): boolean {
    return this.values.has(name) || this.odd.has(name);
  }

  /** A yes/no parameter as REDCap clients send it: "true"/"1", or R's "TRUE" and Python's "True". */
  flag(name: string): boolean {
    return ["true", "1"].includes(this.text(name)?.toLowerCase() ?? "");
  }

  /** A single value; "" counts as absent, as REDCap clients send empty optional parameters. */
  text(name: string): string | undefined {
    const v = this.values.get(name);
    if (this.odd.has(name) || (v && v.length > 1))
      throw new RedcapError(400, `The parameter "${name}" must be given once, as text`);
    return v?.[0] === "" ? undefined : v?.[0];
  }

  /** An uploaded file part, given once and as a file (not text). */
  file(name: string): File | undefined {
    const parts = this.files.get(name) ?? [];
    if ((this.values.get(name) ?? []).length > 0 || parts.length > 1)
      throw new RedcapError(400, `The parameter "${name}" must be one uploaded file (a multipart file part)`);
    return parts[0];
  }

  /** A list, as a PHP-style array or a comma-separated value; empty counts as absent. */
  list(name: string): string[] | undefined {
    if (this.odd.has(name)) throw new RedcapError(400, `The parameter "${name}" must be text`);
    const items = (this.values.get(name) ?? [])
      .flatMap((v) => v.split(","))
      .map((s) => s.trim())
      .filter(Boolean);
    return items.length > 0 ? items : undefined;
  }

  /** Refuses any parameter `content` does not take, and any value outside a parameter's accepted ones. */
  check(content: Content | "record import") {
    const allowed = content === "record import" ? IMPORT_PARAMS : { ...COMMON, ...ALLOWED[content] };
    for (const name of [...this.values.keys(), ...this.odd]) {
      // Own keys only: a parameter named "constructor" or "__proto__" is just unknown.
      const accepts = Object.hasOwn(allowed, name) ? allowed[name] : undefined;
      if (accepts === undefined) {
        throw new RedcapError(
          400,
          `The parameter "${name}" is not supported by this server for content=${content}`,
        );
      }
      if (accepts === "list") this.list(name);
      else if (accepts === "file") this.file(name);
      else {
        const given = this.text(name);
        // Booleans in any case: REDCapR (httr) sends R's FALSE as "FALSE", PyCap (requests) Python's False as "False".
        const value = accepts === BOOLEAN_ANY || accepts === BOOLEAN_OFF ? given?.toLowerCase() : given;
        if (value !== undefined && accepts !== "text" && !accepts.includes(value))
          throw new RedcapError(
            400,
            `The value of the parameter "${name}" is not supported by this server: it takes ${accepts.join(" or ")}`,
          );
      }
    }
  }
}

/** REDCap's answer to names that are not the project's. */
export function refuseUnknown(parameter: string, given: readonly string[] | undefined, known: Set<string>) {
  const bad = (given ?? []).filter((v) => !known.has(v));
  if (bad.length > 0)
    throw new RedcapError(
      400,
      `The following values in the parameter "${parameter}" are not valid: ${bad.join(", ")}`,
    );
}

/**
 * REDCap's `dateRangeBegin`/`dateRangeEnd`: "YYYY-MM-DD HH:MM:SS" (time optional), server time (UTC here).
 * Anything else, or a date that does not exist, is REDCap's error, not a crash.
 */
export function dateTimeParam(params: RedcapParams, name: string): string | undefined {
  const value = params.text(name);
  if (value === undefined) return undefined;
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(value.trim());
  const [y, mo, d, h, mi, s] = Array.from({ length: 6 }, (_, i) => Number(m?.[i + 1] ?? 0));
  const date = new Date(Date.UTC(y ?? 0, (mo ?? 0) - 1, d ?? 0, h, mi, s));
  // Date.UTC rolls 2024-02-30 over to March: a date that does not come back as given does not exist.
  const exists =
    m !== null &&
    date.getUTCFullYear() === y &&
    date.getUTCMonth() === (mo ?? 0) - 1 &&
    date.getUTCDate() === d &&
    date.getUTCHours() === h &&
    date.getUTCMinutes() === mi &&
    date.getUTCSeconds() === s;
  if (!exists)
    throw new RedcapError(
      400,
      `The value of the parameter "${name}" is not a valid date-time: use the format YYYY-MM-DD HH:MM:SS`,
    );
  return date.toISOString();
}

/**
 * The log's `beginTime`/`endTime`: REDCap's `YYYY-MM-DD HH:MM` (PyCap adds
 * seconds; REDCapR sends `24:00` for the end of a day), UTC here. A begin is
 * where it starts; an end includes the minute (or second, or day) it names.
 */
export function logTimeParam(params: RedcapParams, name: "beginTime" | "endTime"): string | undefined {
  const value = params.text(name);
  if (value === undefined) return undefined;
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(value.trim());
  const [y, mo, d, h, mi, s] = Array.from({ length: 6 }, (_, i) => Number(m?.[i + 1] ?? 0));
  const endOfDay = h === 24 && mi === 0 && s === 0;
  const day = new Date(Date.UTC(y ?? 0, (mo ?? 0) - 1, d ?? 0));
  const exists =
    m !== null &&
    day.getUTCFullYear() === y &&
    day.getUTCMonth() === (mo ?? 0) - 1 &&
    day.getUTCDate() === d &&
    ((h ?? 0) < 24 || endOfDay) &&
    (mi ?? 0) < 60 &&
    (s ?? 0) < 60;
  if (!exists)
    throw new RedcapError(
      400,
      `The value of the parameter "${name}" is not a valid date-time: use the format YYYY-MM-DD HH:MM`,
    );
  const at = day.getTime() + (((h ?? 0) * 60 + (mi ?? 0)) * 60 + (s ?? 0)) * 1000;
  if (name === "beginTime") return new Date(at).toISOString();
  const precision = endOfDay ? 0 : m?.[6] ? 1000 : m?.[4] ? 60_000 : 86_400_000;
  return new Date(at + precision).toISOString();
}
