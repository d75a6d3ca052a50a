import { stringify } from "csv-stringify/sync";
import { neutraliseFormula } from "../engine/spreadsheet-formula.ts";

/**
 * Who a CSV is for. "people": a download a person opens in a spreadsheet
 * (the web export pages and the engine's own `/api/v1` CSV answers), written
 * with formulas neutralised. "programs": REDCap's API on `/api/` and the CLI's
 * dictionary for REDCap, whose values must be exactly REDCap's.
 */
export type CsvReader = "people" | "programs";

function csvCells<T>(cells: readonly T[], reader: CsvReader): (T | string)[] {
  return reader === "people" ? cells.map(neutraliseFormula) : [...cells];
}

export function csvText(rows: readonly (readonly unknown[])[], reader: CsvReader): string {
  return stringify(rows.map((r) => csvCells(r, reader)));
}
