import { parse } from "csv-parse/sync";
import { stringify } from "csv-stringify/sync";
import { restoreFormula } from "../spreadsheet-formula.ts";

/** The 18 columns of a REDCap data dictionary, with REDCap's exact headers, in order. */
export const COLUMNS = [
  "Variable / Field Name",
  "Form Name",
  "Section Header",
  "Field Type",
  "Field Label",
  "Choices, Calculations, OR Slider Labels",
  "Field Note",
  "Text Validation Type OR Show Slider Number",
  "Text Validation Min",
  "Text Validation Max",
  "Identifier?",
  "Branching Logic (Show field only if...)",
  "Required Field?",
  "Custom Alignment",
  "Question Number (surveys only)",
  "Matrix Group Name",
  "Matrix Ranking?",
  "Field Annotation",
] as const;

export type Column = (typeof COLUMNS)[number];

/** The same columns as REDCap's API metadata export names them. */
export const API_COLUMNS = [
  "field_name",
  "form_name",
  "section_header",
  "field_type",
  "field_label",
  "select_choices_or_calculations",
  "field_note",
  "text_validation_type_or_show_slider_number",
  "text_validation_min",
  "text_validation_max",
  "identifier",
  "branching_logic",
  "required_field",
  "custom_alignment",
  "question_number",
  "matrix_group_name",
  "matrix_ranking",
  "field_annotation",
] as const;

export type Row = Record<Column, string>;

/** Something in a dictionary that was not translated as it stands, by form, field and column. */
export interface Issue {
  /** The instrument (REDCap form); "" for the file as a whole. */
  form: string;
  /** The field; "" for an instrument or the file. */
  field: string;
  column: Column | "";
  /** error: meaning was lost (a field, a rule, a constraint); warning: presentation only, or kept but not enforced. */
  severity: "error" | "warning";
  message: string;
}

export const emptyRow = (): Row => Object.fromEntries(COLUMNS.map((c) => [c, ""])) as Row;

/** The rows of a dictionary CSV (REDCap's headers, or its API's snake_case ones). */
export function readRows(csvText: string): { rows: Row[]; issues: Issue[] } {
  let records: string[][];
  try {
    records = parse(csvText, { bom: true, relax_column_count: true, skip_empty_lines: true }) as string[][];
  } catch (e) {
    return { rows: [], issues: [fileIssue(`not a CSV file: ${(e as Error).message}`)] };
  }
  const header = (records.shift() ?? []).map((h) => h.trim());
  const names = header[0] === COLUMNS[0] ? COLUMNS : header[0] === API_COLUMNS[0] ? API_COLUMNS : undefined;
  if (!names) {
    return {
      rows: [],
      issues: [
        fileIssue(
          `the first column must be "${COLUMNS[0]}" (a REDCap data dictionary), not "${header[0] ?? ""}"`,
        ),
      ],
    };
  }
  const issues: Issue[] = [];
  const index = new Map<Column, number>();
  COLUMNS.forEach((column, i) => {
    const at = header.indexOf(names[i] as string);
    if (at !== -1) index.set(column, at);
    else if (ESSENTIAL.includes(column)) issues.push(fileIssue(`column "${names[i]}" is missing`, column));
    else issues.push(fileIssue(`column "${names[i]}" is missing: read as empty`, column, "warning"));
  });
  header.forEach((h) => {
    if (!(names as readonly string[]).includes(h))
      issues.push(fileIssue(`unknown column "${h}" is ignored`, "", "warning"));
  });
  const rows = records
    .filter((r) => r.some((cell) => cell.trim() !== ""))
    .map((r) => {
      const row = emptyRow();
      // A dictionary downloaded for people has its formulas neutralised (`'@HIDDEN`): read it as it was.
      for (const [column, at] of index) row[column] = restoreFormula(r[at] ?? "");
      return row;
    });
  return { rows, issues };
}

/** Without these a row means nothing; the others read as empty when absent (older REDCap versions lack some). */
const ESSENTIAL: readonly Column[] = ["Variable / Field Name", "Form Name", "Field Type", "Field Label"];

function fileIssue(message: string, column: Column | "" = "", severity: Issue["severity"] = "error"): Issue {
  return { form: "", field: "", column, severity, message };
}

/** A dictionary CSV with REDCap's 18 headers. */
export function writeRows(rows: Row[]): string {
  return stringify(
    rows.map((r) => COLUMNS.map((c) => r[c])),
    { header: true, columns: [...COLUMNS], record_delimiter: "unix" },
  );
}
