import type { ExportFile, WrittenFile } from "./export-files.ts";
import { ROW_KEY, type WarehouseColumn, type WarehouseTable } from "./warehouse-tables.ts";

/**
 * `manifest.json`: what a lakehouse (or a loader script) needs to read a
 * warehouse export without asking the API anything: the tables, their typed
 * columns and files (rows, bytes, SHA-256 of the stored bytes), and the
 * change-feed cursor the next increment starts from. Its shape is
 * warehouse-manifest.schema.json.
 */

export const WAREHOUSE_FORMAT = "edc-warehouse";
export const WAREHOUSE_FORMAT_VERSION = 1;

export interface ManifestTable {
  name: string;
  kind: WarehouseTable["kind"];
  form?: string;
  location: string;
  columns: WarehouseColumn[];
  rows: number;
  bytes: number;
  files: { name: string; rows: number; bytes: number; sha256: string }[];
}

export interface WarehouseManifest {
  format: typeof WAREHOUSE_FORMAT;
  formatVersion: number;
  kind: "snapshot" | "increment";
  study: string;
  definitionVersion: number;
  generatedAt: string;
  deidentified: boolean;
  /** Files are gzipped NDJSON, one JSON object per line. */
  fileFormat: "ndjson.gz";
  cursor: {
    /** Where an increment started (its `from` is the previous manifest's `next`). */
    from?: string;
    /** Where the next increment starts: give it back as the change feed's cursor. */
    next: string;
    delivery: "at-least-once";
    /** The columns that identify a row's state: of two rows with the same instance, the higher revision wins. */
    key: readonly string[];
  };
  tables: ManifestTable[];
}

export interface ManifestMeta {
  kind: WarehouseManifest["kind"];
  study: string;
  definitionVersion: number;
  generatedAt: string;
  deidentified: boolean;
  cursor: { from?: string; next: string };
  tables: WarehouseTable[];
}

/** Every table of the export, with the written files that lie in its folder; a file in none is a mistake, not a table. */
export function warehouseManifest(written: WrittenFile[], meta: ManifestMeta): WarehouseManifest {
  const placed = new Set<string>();
  const tables = meta.tables.map((t): ManifestTable => {
    const files = written
      .filter((f) => f.name.startsWith(t.location) && !f.name.slice(t.location.length).includes("/"))
      .sort((a, b) => (a.name < b.name ? -1 : 1))
      .map((f) => {
        placed.add(f.name);
        return { name: f.name, rows: f.rows, bytes: f.bytes, sha256: f.sha256 };
      });
    return {
      name: t.name,
      kind: t.kind,
      ...(t.form ? { form: t.form } : {}),
      location: t.location,
      columns: t.columns,
      rows: files.reduce((n, f) => n + f.rows, 0),
      bytes: files.reduce((n, f) => n + f.bytes, 0),
      files,
    };
  });
  const stray = written.filter((f) => !placed.has(f.name)).map((f) => f.name);
  if (stray.length > 0) throw new Error(`files outside every table: ${stray.join(", ")}`);
  return {
    format: WAREHOUSE_FORMAT,
    formatVersion: WAREHOUSE_FORMAT_VERSION,
    kind: meta.kind,
    study: meta.study,
    definitionVersion: meta.definitionVersion,
    generatedAt: meta.generatedAt,
    deidentified: meta.deidentified,
    fileFormat: "ndjson.gz",
    cursor: {
      ...(meta.cursor.from ? { from: meta.cursor.from } : {}),
      next: meta.cursor.next,
      delivery: "at-least-once",
      key: ROW_KEY,
    },
    tables,
  };
}

/** A text file of the job (the manifest, the DDL) as the writer takes it. */
export function textFile(name: string, contentType: string, text: string): ExportFile {
  return {
    name,
    contentType,
    chunks: (async function* () {
      yield text;
    })(),
    rows: () => 0,
  };
}

export function manifestFile(manifest: WarehouseManifest): ExportFile {
  return textFile("manifest.json", "application/json", `${JSON.stringify(manifest, null, 2)}\n`);
}
