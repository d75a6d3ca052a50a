/**
 * REDCap data dictionary import and export (CSV with REDCap's 18 columns).
 * Pure: strings and objects in, strings and objects out.
 */

export { COLUMNS, type Column, type Issue, type Row, readRows, writeRows } from "./columns.ts";
export {
  buildDictionary,
  type ExportOptions,
  type ExportResult,
  exportDictionary,
} from "./export-dictionary.ts";
export { DROPPED_COLUMNS } from "./field-rows.ts";
export { formTitle, type ImportResult, importDictionary, type RecordId } from "./import-dictionary.ts";
