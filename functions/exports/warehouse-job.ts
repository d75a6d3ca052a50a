import type { Store } from "../store/store.ts";
import type { ExportFile, WrittenFile } from "./export-files.ts";
import {
  snapshotCursor,
  type WarehouseScope,
  warehouseChanges,
  warehouseFiles,
  warehouseIndexFiles,
} from "./warehouse.ts";
import { type WarehouseManifest, warehouseManifest } from "./warehouse-manifest.ts";
import { incrementTables, snapshotTables } from "./warehouse-tables.ts";

/**
 * A warehouse export as a bulk job writes it: the tables' files first, then
 * `manifest.json` and `athena.sql` made from what the writer reported for
 * them (sizes and SHA-256 of the stored bytes), and the cursor the next
 * increment starts from.
 */

export type WarehouseRun =
  | { kind: "snapshot" }
  /** `from` as the caller gave it (sealed), `after` opened: absent, from the feed's start. */
  | { kind: "increment"; from?: string; after?: string };

export interface WarehouseJob {
  /** The tables' part files, in the order to write them. */
  files: AsyncIterable<ExportFile>;
  /** Once `files` is exhausted: the manifest of what was written, and the files that go beside it. */
  index(
    written: WrittenFile[],
    generatedAt: string,
    location: string,
  ): {
    manifest: WarehouseManifest;
    files: ExportFile[];
  };
}

type Reads = Pick<Store, "subjectPage" | "casebooks" | "readSiteStatusEntries" | "readFeed" | "exportSalt">;

export function warehouseJob(
  store: Reads,
  scope: WarehouseScope,
  run: WarehouseRun,
  settledBefore: string,
): WarehouseJob {
  const { definition } = scope;
  const study = definition.study.id;
  let next: (() => string) | undefined;
  let files: AsyncIterable<ExportFile>;
  if (run.kind === "snapshot") {
    files = (async function* () {
      // Fixed before the first read, never after: a commit the snapshot misses must be in the next increment.
      const cursor = await snapshotCursor(store, study, settledBefore);
      next = () => cursor;
      yield* warehouseFiles(store, scope);
    })();
  } else {
    const changes = warehouseChanges(store, {
      ...scope,
      ...(run.after !== undefined ? { after: run.after } : {}),
      settledBefore,
    });
    next = changes.cursor;
    files = changes.files;
  }
  return {
    files,
    index(written, generatedAt, location) {
      if (!next) throw new Error("the warehouse index is made once its files are written");
      const manifest = warehouseManifest(written, {
        kind: run.kind,
        study,
        definitionVersion: definition.version,
        generatedAt,
        deidentified: scope.deidentify !== undefined,
        cursor: { ...(run.kind === "increment" && run.from ? { from: run.from } : {}), next: next() },
        tables:
          run.kind === "snapshot" ? snapshotTables(definition, scope) : incrementTables(definition, scope),
      });
      return { manifest, files: warehouseIndexFiles(manifest, location) };
    },
  };
}
