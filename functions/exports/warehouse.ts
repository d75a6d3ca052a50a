import type { StudyDefinition } from "../engine/definition.ts";
import type { Store } from "../store/store.ts";
import type { Subject } from "../store/subjects.ts";
import { athenaDdl } from "./athena-ddl.ts";
import type { Deidentify } from "./deidentify.ts";
import type { ExportFile } from "./export-files.ts";
import { subjectStatuses } from "./records.ts";
import { sealCursor } from "./sealed-cursor.ts";
import { manifestFile, textFile, type WarehouseManifest } from "./warehouse-manifest.ts";
import {
  changesTable,
  formTable,
  instanceRow,
  SUBJECTS_TABLE,
  subjectRow,
  type WarehouseRow,
  type WarehouseTable,
  warehouseForms,
} from "./warehouse-tables.ts";

/**
 * The warehouse path's files: partitioned NDJSON (gzipped by the writer), a
 * table per instrument plus subjects, read through the exports' one reading
 * path (subject pages, casebooks) and de-identified by deidentify.ts.
 *
 * The study is read once: each subject's rows go to their tables' buffers,
 * and a buffer becomes a part file when it reaches the part bound or when
 * all buffers together reach `bufferBytes` (the largest goes first). The
 * writer stores one file at a time, so this is what bounds memory; a part
 * stays far below the ~128 MB a lakehouse likes at most per file.
 */

export interface WarehouseScope {
  definition: StudyDefinition;
  /** The caller's sites (export-scope.ts exportSites). */
  sites: string[];
  /** The export scope's de-identification (export-scope.ts exportOptions), forced or asked for. */
  deidentify?: Deidentify;
  includeEnteredInError?: boolean;
  forms?: string[];
  /** A part is closed at this many rows (default 250,000). */
  partRows?: number;
  /** Text held across all tables' open parts before the largest is handed out (default 16 MiB). */
  bufferBytes?: number;
  /** Subjects read per page (default 200). */
  pageSize?: number;
}

export const NDJSON = "application/x-ndjson";
const DEFAULTS = { partRows: 250_000, bufferBytes: 16 * 1024 * 1024, pageSize: 200 };

/** An open part: its text in chunks of about 64 KiB (one write each, and few strings to hold). */
interface OpenPart {
  table: WarehouseTable;
  chunks: string[];
  current: string;
  rows: number;
  bytes: number;
}

/** Open parts, one per table, and the part numbers handed out so far. */
class Parts {
  private open = new Map<string, OpenPart>();
  private numbers = new Map<string, number>();
  private held = 0;
  constructor(private readonly bounds: { partRows: number; bufferBytes: number }) {}

  /** Adds a row; returns the parts that are due. */
  add(table: WarehouseTable, row: WarehouseRow): ExportFile[] {
    const line = `${JSON.stringify(row)}\n`;
    const part = this.open.get(table.name) ?? { table, chunks: [], current: "", rows: 0, bytes: 0 };
    this.open.set(table.name, part);
    part.current += line;
    if (part.current.length >= 65_536) {
      part.chunks.push(part.current);
      part.current = "";
    }
    part.rows += 1;
    part.bytes += line.length;
    this.held += line.length;
    const due: ExportFile[] = [];
    if (part.rows >= this.bounds.partRows) due.push(this.close(table.name));
    while (this.held >= this.bounds.bufferBytes) {
      const largest = [...this.open.entries()].sort((a, b) => b[1].bytes - a[1].bytes)[0];
      if (!largest) break;
      due.push(this.close(largest[0]));
    }
    return due;
  }

  rest(): ExportFile[] {
    return [...this.open.keys()].map((name) => this.close(name));
  }

  private close(name: string): ExportFile {
    const part = this.open.get(name);
    if (!part) throw new Error(`no open part of ${name}`);
    this.open.delete(name);
    this.held -= part.bytes;
    const n = this.numbers.get(name) ?? 0;
    this.numbers.set(name, n + 1);
    const chunks = part.current ? [...part.chunks, part.current] : part.chunks;
    return {
      name: `${part.table.location}part-${String(n).padStart(5, "0")}.ndjson.gz`,
      contentType: NDJSON,
      chunks: (async function* () {
        // shift, not iterate: a chunk once written is not kept until the part ends.
        for (let chunk = chunks.shift(); chunk !== undefined; chunk = chunks.shift()) yield chunk;
      })(),
      rows: () => part.rows,
    };
  }
}

/**
 * A snapshot of the study's current state. Call `snapshotCursor` before
 * reading it (see there) so the increments start where this began.
 */
export async function* warehouseFiles(
  store: Pick<Store, "subjectPage" | "casebooks" | "readSiteStatusEntries">,
  scope: WarehouseScope,
): AsyncGenerator<ExportFile> {
  const { definition, deidentify } = scope;
  const study = definition.study.id;
  const bounds = { ...DEFAULTS, ...scope };
  const tables = new Map(
    warehouseForms(definition, scope).map((f) => [f, formTable(definition, f, scope)] as const),
  );
  const parts = new Parts(bounds);
  for await (const page of subjectPages(store, scope)) {
    yield* subjectRows(store, scope, page, parts);
    const read = { includeEnteredInError: scope.includeEnteredInError };
    for await (const { subject, instances } of store.casebooks(study, page, read)) {
      for (const instance of instances) {
        const table = tables.get(instance.form);
        if (table) yield* parts.add(table, instanceRow(definition, table, subject.arm, instance, deidentify));
      }
    }
  }
  yield* parts.rest();
}

/** The scope's subjects, a page at a time, in id order. */
async function* subjectPages(
  store: Pick<Store, "subjectPage">,
  scope: WarehouseScope,
): AsyncGenerator<Subject[]> {
  let after: string | undefined;
  do {
    const page = await store.subjectPage(scope.definition.study.id, scope.sites, {
      after,
      limit: scope.pageSize ?? DEFAULTS.pageSize,
    });
    yield page.subjects;
    after = page.next;
  } while (after);
}

async function* subjectRows(
  store: Pick<Store, "readSiteStatusEntries">,
  scope: WarehouseScope,
  subjects: Subject[],
  parts: Parts,
): AsyncGenerator<ExportFile> {
  const statuses = await subjectStatuses(store, scope.definition.study.id, subjects);
  for (const s of subjects)
    yield* parts.add(SUBJECTS_TABLE, subjectRow(s, statuses.get(s.id), scope.deidentify));
}

/**
 * The feed position a snapshot starts from, sealed as the change feed's
 * cursors are. It is the settled point (`settledBefore`), fixed before the
 * snapshot reads anything: every commit stamped before it is visible by
 * then, so it is in the snapshot; every commit after it is in the next
 * increment. A commit landing between this point and the read is in both:
 * at-least-once, and the copies are the same (subject, event, form,
 * instance, revision), so keeping the highest revision per instance
 * resolves them. The feed's latest entry would not do: a commit stamped
 * just before it may become visible later, and would be in neither.
 */
export async function snapshotCursor(
  store: Pick<Store, "exportSalt">,
  study: string,
  settledBefore: string,
): Promise<string> {
  return sealCursor(await store.exportSalt(study), settledBefore);
}

export interface ChangesScope extends WarehouseScope {
  /** The opened cursor (export-scope.ts openFeedCursor): the feed position after which to read; none, from the start. */
  after?: string;
  /** Changes stamped at or after this are left for the next increment (store/exports.ts readFeed). */
  settledBefore: string;
}

/**
 * An increment: every data revision after the cursor, as rows of the
 * instruments' shape plus `operation` (save, entered-in-error, restore),
 * under `changes/form=<id>/`. Review-log entries are passed over (the cursor
 * still moves past them); marks are always delivered, so a warehouse can
 * drop an instance its snapshot holds. The subjects table comes whole
 * (a line per subject, small): enrolments are not in the feed, and a
 * subject enrolled since the snapshot must join. `cursor()`, read once `files` is
 * exhausted, is the next increment's start, sealed.
 */
export function warehouseChanges(
  store: Pick<Store, "readFeed" | "exportSalt" | "subjectPage" | "readSiteStatusEntries">,
  scope: ChangesScope,
): { files: AsyncGenerator<ExportFile>; cursor(): string } {
  const { definition, deidentify } = scope;
  const study = definition.study.id;
  const bounds = { ...DEFAULTS, ...scope };
  const tables = new Map(
    warehouseForms(definition, scope).map((f) => [f, changesTable(definition, f, scope)] as const),
  );
  const sites = new Set(scope.sites);
  let next: string | undefined;
  async function* files(): AsyncGenerator<ExportFile> {
    const salt = await store.exportSalt(study);
    const parts = new Parts(bounds);
    let position = scope.after;
    const limit = 500;
    for (;;) {
      const page = await store.readFeed(study, {
        cursor: position,
        settledBefore: scope.settledBefore,
        limit,
      });
      for (const change of page.changes) {
        if (change.kind !== "revision" || !sites.has(change.site)) continue;
        const table = tables.get(change.form);
        if (table) yield* parts.add(table, instanceRow(definition, table, undefined, change, deidentify));
      }
      position = page.cursor;
      if (page.changes.length < limit) break;
    }
    for await (const page of subjectPages(store, scope)) yield* subjectRows(store, scope, page, parts);
    yield* parts.rest();
    // Nothing ever read: everything before the settled point was delivered (none), so the next starts there.
    next = sealCursor(salt, position === undefined || position === "0" ? scope.settledBefore : position);
  }
  return {
    files: files(),
    cursor() {
      if (next === undefined) throw new Error("the increment's cursor is known once its files are read");
      return next;
    },
  };
}

/** What goes beside the tables: `manifest.json`, and `athena.sql` for the folder the job's files are in. */
export function warehouseIndexFiles(manifest: WarehouseManifest, location: string): ExportFile[] {
  return [manifestFile(manifest), textFile("athena.sql", "application/sql", athenaDdl(manifest, location))];
}
