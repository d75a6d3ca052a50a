import { parse } from "csv-parse/sync";

/**
 * Two REDCap flat CSV exports compared cell by cell: REDCap's own (expected)
 * and ours (actual). Rows are matched by record id, event, repeat instrument
 * and instance; every cell of every expected row is counted. Values are equal
 * as text, or equal under one of the named rules below, each counted so a
 * report shows how much was normalised; nothing else is forgiven.
 */

export const KEY_COLUMNS = ["redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance"];

export type DateFormat = "YMD" | "MDY" | "DMY";

export interface CompareOptions {
  /** The expected file's date format, when it was exported with another than YMD (ours is always YMD). */
  expectedDateFormat?: DateFormat;
}

export interface Mismatch {
  record: string;
  event: string;
  instrument: string;
  instance: string;
  column: string;
  expected: string;
  /** Undefined when our export has no such row or column. */
  actual: string | undefined;
}

export interface Comparison {
  /** Every non-key cell of every expected row. */
  cells: number;
  matched: number;
  /** How many cells each normalisation rule made equal. */
  normalised: Record<NormalisationRule, number>;
  mismatches: Mismatch[];
  /** Row keys (record / event / instrument / instance) REDCap has and we do not. */
  missingRows: string[];
  /** Row keys we export and REDCap does not. */
  extraRows: string[];
  /** Columns we export and REDCap does not. */
  extraColumns: string[];
  /** Columns REDCap exports and we do not. */
  missingColumns: string[];
  /** Whether the columns both sides have come in the same order. */
  sameColumnOrder: boolean;
}

export type NormalisationRule = "number-notation" | "date-format";

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** "31.0" and "31", ".5" and "0.5": the same number written differently. */
function sameNumber(a: string, b: string): boolean {
  return NUMBER.test(a.trim()) && NUMBER.test(b.trim()) && Number(a) === Number(b);
}

/** A date (and any time after it) in `format` as YMD; undefined when it is not one. */
export function toYmd(value: string, format: DateFormat): string | undefined {
  const match = /^(\d{1,4})[-/](\d{1,2})[-/](\d{1,4})( .*)?$/.exec(value.trim());
  if (!match) return undefined;
  const [, a = "", b = "", c = "", time = ""] = match;
  const [y, m, d] = format === "YMD" ? [a, b, c] : format === "MDY" ? [c, a, b] : [c, b, a];
  if (y.length !== 4) return undefined;
  return `${y}-${m.padStart(2, "0")}-${d.padStart(2, "0")}${time}`;
}

export interface FlatFile {
  columns: string[];
  rows: Record<string, string>[];
}

export function parseFlatCsv(text: string): FlatFile {
  const records = parse(text.replace(/^\uFEFF/, ""), {
    relax_column_count: false,
    skip_empty_lines: true,
  }) as string[][];
  const [columns = [], ...body] = records;
  return {
    columns,
    rows: body.map((cells) => Object.fromEntries(columns.map((c, i) => [c, cells[i] ?? ""]))),
  };
}

interface Keyed {
  record: string;
  event: string;
  instrument: string;
  instance: string;
}

function keyOf(row: Record<string, string>, idColumn: string): Keyed {
  return {
    record: row[idColumn] ?? "",
    event: row.redcap_event_name ?? "",
    instrument: row.redcap_repeat_instrument ?? "",
    instance: row.redcap_repeat_instance ?? "",
  };
}

const keyText = (k: Keyed) => [k.record, k.event, k.instrument, k.instance].join(" / ");

function byKey(file: FlatFile): Map<string, Record<string, string>> {
  const idColumn = file.columns[0] ?? "";
  const map = new Map<string, Record<string, string>>();
  for (const row of file.rows) {
    const key = keyText(keyOf(row, idColumn));
    if (map.has(key)) throw new Error(`two rows for ${key}`);
    map.set(key, row);
  }
  return map;
}

export function compareFlat(
  expectedCsv: string,
  actualCsv: string,
  options: CompareOptions = {},
): Comparison {
  const expected = parseFlatCsv(expectedCsv);
  const actual = parseFlatCsv(actualCsv);
  const expectedId = expected.columns[0] ?? "";
  const actualId = actual.columns[0] ?? "";
  const keyColumns = new Set([expectedId, ...KEY_COLUMNS]);
  const valueColumns = expected.columns.filter((c) => !keyColumns.has(c));
  const actualColumns = new Set(actual.columns);
  const result: Comparison = {
    cells: 0,
    matched: 0,
    normalised: { "number-notation": 0, "date-format": 0 },
    mismatches: [],
    missingRows: [],
    extraRows: [],
    extraColumns: actual.columns.filter(
      (c) => c !== actualId && !KEY_COLUMNS.includes(c) && !expected.columns.includes(c),
    ),
    missingColumns: valueColumns.filter((c) => !actualColumns.has(c)),
    sameColumnOrder:
      expected.columns.filter((c) => actualColumns.has(c)).join(",") ===
      actual.columns.filter((c) => expected.columns.includes(c)).join(","),
  };
  if (expectedId !== actualId) result.missingColumns.unshift(expectedId);
  const ours = byKey(actual);
  const theirs = byKey(expected);
  for (const [key, row] of theirs) {
    const other = ours.get(key);
    if (!other) result.missingRows.push(key);
    const where = keyOf(row, expectedId);
    for (const column of valueColumns) {
      result.cells++;
      const want = row[column] ?? "";
      const got = other && actualColumns.has(column) ? (other[column] ?? "") : undefined;
      if (got === want) {
        result.matched++;
        continue;
      }
      if (got !== undefined && sameNumber(want, got)) {
        result.matched++;
        result.normalised["number-notation"]++;
        continue;
      }
      const format = options.expectedDateFormat;
      if (got !== undefined && format && format !== "YMD" && toYmd(want, format) === got) {
        result.matched++;
        result.normalised["date-format"]++;
        continue;
      }
      result.mismatches.push({ ...where, column, expected: want, actual: got });
    }
  }
  for (const key of ours.keys()) if (!theirs.has(key)) result.extraRows.push(key);
  return result;
}

/** A kind of mismatch the acceptance test knows and explains. */
export interface MismatchKind {
  name: string;
  matches: (m: Mismatch) => boolean;
}

/** Mismatches counted by the first kind that explains each; those no kind explains are returned as they are. */
export function classify(
  mismatches: Mismatch[],
  kinds: MismatchKind[],
): { counts: Record<string, number>; unexplained: Mismatch[] } {
  const counts: Record<string, number> = {};
  const unexplained: Mismatch[] = [];
  for (const m of mismatches) {
    const kind = kinds.find((k) => k.matches(m));
    if (kind) counts[kind.name] = (counts[kind.name] ?? 0) + 1;
    else unexplained.push(m);
  }
  return { counts, unexplained };
}

/** Matched cells as a share of all cells, in percent with one decimal (100 when there is nothing to compare). */
export function matchRate(c: Pick<Comparison, "cells" | "matched">): number {
  return c.cells === 0 ? 100 : Math.round((c.matched / c.cells) * 1000) / 10;
}
