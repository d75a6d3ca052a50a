/** Formats a bulk export job writes, each one file (WAREHOUSE adds "warehouse": partitioned NDJSON files and a manifest). */
export const EXPORT_JOB_FORMATS = ["csv", "json", "ndjson", "odm"] as const;
export type ExportJobFormat = (typeof EXPORT_JOB_FORMATS)[number];
