import type { MissingCode } from "../definition.ts";
import type { Row } from "./columns.ts";

/**
 * What a REDCap project is made of, as its exports give it: the project XML
 * and a folder of CSV exports both read into these pieces, and one import
 * (import-project.ts) turns them into a study folder.
 */

/** Something of the project that was not carried over as it stands, by item: `event visit_1_arm_1`, `setting SurveysEnabled`… */
export interface ProjectIssue {
  item: string;
  severity: "error" | "warning";
  message: string;
}

export interface ArmPiece {
  number: number;
  name: string;
}

export interface EventPiece {
  /** REDCap's unique event name, `<base>_arm_<n>`. */
  uniqueName: string;
  name: string;
  arm: number;
  dayOffset?: number;
  offsetMin?: number;
  offsetMax?: number;
  customLabel?: string;
}

/** One row of the form–event mapping. */
export interface MappingPiece {
  arm: number;
  event: string;
  form: string;
}

/** A repeating instrument at an event, or (form "") a repeating event; event "" in a classic project. */
export interface RepeatingPiece {
  event: string;
  form: string;
  label: string;
}

export interface DagPiece {
  name: string;
  uniqueName: string;
}

/** REDCap's flat records: one row per record, event and repeat instance, every value a string. */
export interface FlatRecords {
  columns: string[];
  rows: Record<string, string>[];
}

export interface ProjectPieces {
  /** "" when the source does not say. */
  title: string;
  /** Whether REDCap defines events (a classic project has none). */
  longitudinal: boolean;
  dictionary: Row[];
  /** Form labels by form name, where the source gives them. */
  formLabels: Record<string, string>;
  arms: ArmPiece[];
  /** In REDCap's order (by arm, then by day offset). */
  events: EventPiece[];
  mapping: MappingPiece[];
  repeating: RepeatingPiece[];
  dags: DagPiece[];
  missingCodes: MissingCode[];
  /** As the project names it; "" when the source does not say (the dictionary's first field is). */
  recordIdField: string;
  records?: FlatRecords;
  report: ProjectIssue[];
}

export function emptyPieces(): ProjectPieces {
  return {
    title: "",
    longitudinal: false,
    dictionary: [],
    formLabels: {},
    arms: [],
    events: [],
    mapping: [],
    repeating: [],
    dags: [],
    missingCodes: [],
    recordIdField: "",
    report: [],
  };
}

/** REDCap's missing-data codes setting: `code, label` per line (its API joins them with ` | `). */
export function readMissingCodes(text: string): MissingCode[] {
  return text
    .split(/\r?\n|\s\|\s/)
    .map((line) => line.trim())
    .filter((line) => line !== "")
    .map((line) => {
      const comma = line.indexOf(",");
      const code = (comma === -1 ? line : line.slice(0, comma)).trim();
      const label = comma === -1 ? code : line.slice(comma + 1).trim();
      return { code, label: label === "" ? code : label };
    });
}

/** `visit_1_arm_2` → arm 2 and base `visit_1`. */
export function splitUniqueEventName(unique: string): { base: string; arm?: number } {
  const m = /^(.*)_arm_(\d+)$/.exec(unique);
  return m ? { base: m[1] as string, arm: Number(m[2]) } : { base: unique };
}
