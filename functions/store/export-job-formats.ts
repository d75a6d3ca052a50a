/**
 * Formats a bulk export job writes: one file (csv, json, ndjson, odm), or
 * the warehouse path's partitioned NDJSON with a manifest, as a snapshot
 * ("warehouse") or the changes after a cursor ("warehouse-changes").
 */
export const EXPORT_JOB_FORMATS = ["csv", "json", "ndjson", "odm", "warehouse", "warehouse-changes"] as const;
export type ExportJobFormat = (typeof EXPORT_JOB_FORMATS)[number];

export const WAREHOUSE_FORMATS: readonly ExportJobFormat[] = ["warehouse", "warehouse-changes"];
