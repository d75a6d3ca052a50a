import type { ExportTarget } from "../store/export-target.ts";
import type { FileObjects } from "../store/file-objects.ts";
import type { Principal } from "../store/principal.ts";
import type { Store } from "../store/store.ts";

/** How record imports are split between a request and a background job. */
export interface ImportJobSettings {
  /** Form instances per batch (one stored chunk, one progress step). */
  batchSize: number;
  /** REDCap's /api/ imports at most this many form instances in the request; more go to a job. */
  syncLimit: number;
  /** Starts a runner for a job just stored: in-process locally; in AWS the table's stream starts the worker. */
  start: (study: string, id: string) => void;
}

export const DEFAULT_IMPORT_JOBS: ImportJobSettings = {
  batchSize: 200,
  syncLimit: 2_000,
  start: () => {},
};

/** Where bulk export jobs write and how one is started. */
export interface ExportJobSettings {
  /** Starts a runner for a job just stored: in-process locally; in AWS the table's stream starts the worker. */
  start: (study: string, id: string) => void;
  /** Absent, jobs are refused (503): the deployment has nowhere to keep their files. */
  target?: ExportTarget;
}

export const DEFAULT_EXPORT_JOBS: ExportJobSettings = { start: () => {} };

/** What every request handler can reach through `c.var`. */
export interface AppEnv {
  Variables: {
    store: Store;
    principal: Principal;
    /** How long a commit may take to become visible in the change feed (see store/exports.ts readFeed). */
    feedSettleMs: number;
    importJobs: ImportJobSettings;
    exportJobs: ExportJobSettings;
    /** Where uploaded files' bytes are kept; absent, file uploads are refused (503). */
    files?: FileObjects;
    /** The session's CSRF token, on browser pages only. */
    csrf?: string;
    /** The browser session's id (its nonce), on browser pages only: a signature uses its re-authentication. */
    session?: string;
  };
}
