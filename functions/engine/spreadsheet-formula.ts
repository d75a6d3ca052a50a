/**
 * Spreadsheet formulas in CSV cells (OWASP "CSV injection"). Downloads meant
 * for people are opened in spreadsheets, which run a cell starting with
 * = + - @ TAB or CR as a formula; such a cell is written with a leading `'`,
 * which spreadsheets show as text. Answers meant for programs (REDCap's API
 * on `/api/`, the dictionary the CLI writes for REDCap) keep values exactly.
 * Where each CSV belongs is written down in docs/architecture.md (Exports).
 */

const FORMULA_START = /^[=+\-@\t\r]/;

export function neutraliseFormula<T>(value: T): T | string {
  return typeof value === "string" && FORMULA_START.test(value) ? `'${value}` : value;
}

/** Undoes `neutraliseFormula`, so a downloaded dictionary read back in means what it meant before. */
export function restoreFormula(value: string): string {
  return value.startsWith("'") && FORMULA_START.test(value.slice(1)) ? value.slice(1) : value;
}
