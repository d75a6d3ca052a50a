import type { WarehouseManifest } from "./warehouse-manifest.ts";
import type { ColumnType } from "./warehouse-tables.ts";

/**
 * `athena.sql`: one `CREATE EXTERNAL TABLE` per table of a manifest, read
 * with the OpenX JSON SerDe (gzip is recognised by the `.gz` name). Pure.
 *
 * A `datetime` is a STRING: Athena's TIMESTAMP reads only the Java form
 * (`2024-01-02 10:30:00`), not ISO 8601 with its `T` and zone, so queries
 * convert with `from_iso8601_timestamp(committed_at)`. A `date` is
 * `YYYY-MM-DD`, which DATE reads as is.
 */
export const ATHENA_TYPE: Record<ColumnType, string> = {
  string: "STRING",
  number: "DOUBLE",
  integer: "BIGINT",
  boolean: "BOOLEAN",
  date: "DATE",
  datetime: "STRING",
  "array<string>": "ARRAY<STRING>",
};

const identifier = (name: string) => `\`${name.replaceAll("`", "``")}\``;
const literal = (text: string) => `'${text.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;

/** A table name Athena accepts: lower case letters, digits and underscores. */
export function athenaName(text: string): string {
  return text.toLowerCase().replaceAll(/[^a-z0-9_]/g, "_");
}

/**
 * The statements for a manifest whose folder is `location` (e.g.
 * `s3://bucket/exports/<study>/<job>/`); tables are named
 * `<prefix>_<table>`, the prefix being the study's id unless given.
 */
export function athenaDdl(
  manifest: WarehouseManifest,
  location: string,
  options: { database?: string; prefix?: string } = {},
): string {
  const base = location.endsWith("/") ? location : `${location}/`;
  const prefix = athenaName(options.prefix ?? manifest.study);
  const qualified = (name: string) =>
    options.database ? `${identifier(options.database)}.${identifier(name)}` : identifier(name);
  return manifest.tables
    .map((t) =>
      [
        `CREATE EXTERNAL TABLE IF NOT EXISTS ${qualified(`${prefix}_${athenaName(t.name)}`)} (`,
        t.columns.map((c) => `  ${identifier(c.name)} ${ATHENA_TYPE[c.type]}`).join(",\n"),
        ")",
        "ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'",
        "STORED AS INPUTFORMAT 'org.apache.hadoop.mapred.TextInputFormat'",
        "OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'",
        `LOCATION ${literal(`${base}${t.location}`)};`,
      ].join("\n"),
    )
    .join("\n\n")
    .concat("\n");
}
