import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { Ajv2020 } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { expect } from "vitest";
import type { WarehouseManifest } from "../../functions/exports/warehouse-manifest.ts";
import { tableJsonSchema } from "../../functions/exports/warehouse-tables.ts";

/** The warehouse path's checks, shared by the producers' test and the export jobs' test. */

const MANIFEST_SCHEMA = JSON.parse(
  readFileSync(
    path.join(import.meta.dirname, "../../functions/exports/warehouse-manifest.schema.json"),
    "utf8",
  ),
);

/** One compiler for the file, each schema compiled once (compiling is most of a small export's check). */
const validators = (() => {
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  addFormats.default(ajv, ["date-time"]);
  const compiled = new Map<string, ReturnType<typeof ajv.compile>>();
  return (schema: object) => {
    const key = JSON.stringify(schema);
    const found = compiled.get(key) ?? ajv.compile(schema);
    compiled.set(key, found);
    return found;
  };
})();

/** The proof of shape: the manifest against its schema, the files against the manifest, each line against its table's schema. */
export function checked(
  manifest: WarehouseManifest,
  stored: Map<string, Buffer>,
): Map<string, Record<string, unknown>[]> {
  const validManifest = validators(MANIFEST_SCHEMA);
  expect(validManifest(manifest), JSON.stringify(validManifest.errors)).toBe(true);
  expect(manifest.tables.flatMap((t) => t.files.map((f) => f.name)).sort()).toEqual(
    [...stored.keys()].sort(),
  );
  const rows = new Map<string, Record<string, unknown>[]>();
  for (const table of manifest.tables) {
    const validLine = validators(tableJsonSchema(table));
    const lines: Record<string, unknown>[] = [];
    for (const file of table.files) {
      const bytes = stored.get(file.name);
      if (!bytes) throw new Error(`${file.name} is not stored`);
      expect(bytes.byteLength).toBe(file.bytes);
      expect(createHash("sha256").update(bytes).digest("hex")).toBe(file.sha256);
      const text = gunzipSync(bytes).toString("utf8");
      expect(text.endsWith("\n")).toBe(true);
      const parsed = text
        .slice(0, -1)
        .split("\n")
        .map((l) => JSON.parse(l));
      expect(parsed).toHaveLength(file.rows);
      for (const line of parsed) expect(validLine(line), JSON.stringify(validLine.errors)).toBe(true);
      lines.push(...parsed);
    }
    expect(lines).toHaveLength(table.rows);
    rows.set(table.name, lines);
  }
  return rows;
}
