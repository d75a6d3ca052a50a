import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevEnvironment } from "../../functions/dev-environment.ts";
import type { StudyDefinition } from "../../functions/engine/definition.ts";
import { formOrder } from "../../functions/engine/form-order.ts";
import { ATHENA_TYPE, athenaDdl } from "../../functions/exports/athena-ddl.ts";
import {
  type Deidentify,
  dateShift,
  deidentification,
  shiftDate,
  subjectKey,
} from "../../functions/exports/deidentify.ts";
import { openCursor } from "../../functions/exports/sealed-cursor.ts";
import {
  snapshotCursor,
  type WarehouseScope,
  warehouseChanges,
  warehouseFiles,
  warehouseIndexFiles,
} from "../../functions/exports/warehouse.ts";
import { type WarehouseManifest, warehouseManifest } from "../../functions/exports/warehouse-manifest.ts";
import { incrementTables, snapshotTables } from "../../functions/exports/warehouse-tables.ts";
import { writeInMemory } from "../helpers/export-files-in-memory.ts";
import { checked } from "../helpers/warehouse-checks.ts";
import { Product } from "./harness.ts";

/**
 * The warehouse path's files have the shape their manifest says: every line
 * of every part validates against its table's JSON Schema (made from the
 * definition), the manifest against the committed schema, and its rows,
 * bytes and SHA-256 against the stored files; de-identified, no identifier
 * column and shifted dates; an increment holds exactly the changes after the
 * snapshot's cursor, and its own cursor, fed back, yields none.
 */
let product: Product;
let definition: StudyDefinition;
let salt: string;
const subjects: string[] = [];
beforeAll(async () => {
  product = new Product(await startDevEnvironment({ feedSettleMs: 0 }));
  const found = await product.env.store.definitions.current(product.env.studyId);
  if (!found) throw new Error("no definition");
  definition = found;
  salt = await product.env.store.exportSalt(product.env.studyId);
  for (let n = 0; n < 3; n++) {
    const s = await product.enrol();
    subjects.push(s);
    const demographics = await product.save(s, "screening", "demographics", {
      data: {
        initials: `AB${"CDE"[n]}`,
        date_of_birth: "1980-05-17",
        sex: "female",
        height: 160 + n,
        weight: 60.5,
      },
    });
    expect(demographics.status, JSON.stringify(demographics.body)).toBe(200);
  }
  for (const instance of [1, 2]) {
    const ae = await product.save(
      subjects[0] ?? "",
      "logs",
      "adverse_event",
      {
        data: {
          ae_term: instance === 1 ? "Headache" : "Headache (duplicate)",
          onset_date: "2024-03-10",
          ctcae_grade: 2,
          serious: true,
          sae_criteria: ["hospitalisation", "important_medical_event"],
        },
      },
      { instance },
    );
    expect(ae.status, JSON.stringify(ae.body)).toBe(200);
  }
  const marked = await product.call(
    "POST",
    `${product.formPath(subjects[0] ?? "", "logs", "adverse_event", 2)}/entered-in-error`,
    { as: "site-01", body: { rev: 1, reason: "Duplicate of AE 1" } },
  );
  expect(marked.status, JSON.stringify(marked.body)).toBe(200);
});
afterAll(() => product.close());

interface Export {
  manifest: WarehouseManifest;
  stored: Map<string, Buffer>;
  /** Every table's rows, parsed from the stored parts in order. */
  rows: Map<string, Record<string, unknown>[]>;
}

function scope(extra: Partial<WarehouseScope> = {}): WarehouseScope {
  return { definition, sites: definition.study.sites.map((s) => s.id), partRows: 2, ...extra };
}

async function snapshot(extra: Partial<WarehouseScope> = {}): Promise<Export> {
  const settledBefore = new Date().toISOString();
  const next = await snapshotCursor(product.env.store, definition.study.id, settledBefore);
  const s = scope(extra);
  const { written, stored } = await writeInMemory(warehouseFiles(product.env.store, s));
  const manifest = warehouseManifest(written, {
    kind: "snapshot",
    study: definition.study.id,
    definitionVersion: definition.version,
    generatedAt: new Date().toISOString(),
    deidentified: s.deidentify !== undefined,
    cursor: { next },
    tables: snapshotTables(definition, s),
  });
  return { manifest, stored, rows: checked(manifest, stored) };
}

async function increment(after: string, extra: Partial<WarehouseScope> = {}): Promise<Export> {
  const s = scope(extra);
  const opened = openCursor(salt, after);
  if (!opened) throw new Error("the cursor does not open");
  const changes = warehouseChanges(product.env.store, {
    ...s,
    after: opened,
    settledBefore: new Date().toISOString(),
  });
  const { written, stored } = await writeInMemory(changes.files);
  const manifest = warehouseManifest(written, {
    kind: "increment",
    study: definition.study.id,
    definitionVersion: definition.version,
    generatedAt: new Date().toISOString(),
    deidentified: s.deidentify !== undefined,
    cursor: { from: after, next: changes.cursor() },
    tables: incrementTables(definition, s),
  });
  return { manifest, stored, rows: checked(manifest, stored) };
}

const mine = (rows: Record<string, unknown>[] | undefined, ids: string[]) =>
  (rows ?? []).filter((r) => ids.includes(String(r.subject)));

describe("the warehouse export", () => {
  let identified: Export;
  beforeAll(async () => {
    identified = await snapshot({ includeEnteredInError: true });
  });

  it("writes a table per instrument and one of subjects, typed as the definition says", () => {
    const { manifest, rows } = identified;
    expect(manifest.tables.map((t) => t.name)).toEqual(["subjects", ...formOrder(definition)]);
    expect(new Set(formOrder(definition))).toEqual(new Set(Object.keys(definition.instruments)));
    expect(mine(rows.get("subjects"), subjects).map((r) => [r.subject, r.site, r.arm])).toEqual(
      subjects.map((s) => [s, "site-01", "rrms"]),
    );
    const demographics = manifest.tables.find((t) => t.name === "demographics");
    expect(demographics?.columns.filter((c) => c.field).map((c) => [c.name, c.type])).toEqual([
      ["initials", "string"],
      ["date_of_birth", "date"],
      ["age", "integer"],
      ["sex", "string"],
      ["height", "number"],
      ["weight", "number"],
    ]);
    // Three subjects' rows at two rows a part: the parts rotate.
    expect(demographics?.files.map((f) => f.name)).toEqual([
      "form=demographics/part-00000.ndjson.gz",
      "form=demographics/part-00001.ndjson.gz",
    ]);
    expect(
      mine(rows.get("demographics"), subjects).map((r) => [r.initials, r.date_of_birth, r.height]),
    ).toEqual([
      ["ABC", "1980-05-17", 160],
      ["ABD", "1980-05-17", 161],
      ["ABE", "1980-05-17", 162],
    ]);
    const ae = mine(rows.get("adverse_event"), subjects);
    expect(
      ae.map((r) => [r.event, r.instance, r.revision, r.entered_in_error, r.onset_date, r.sae_criteria]),
    ).toEqual([
      ["logs", 1, 1, false, "2024-03-10", ["hospitalisation", "important_medical_event"]],
      ["logs", 2, 2, true, "2024-03-10", ["hospitalisation", "important_medical_event"]],
    ]);
    expect(ae[0]).toMatchObject({
      study: definition.study.id,
      site: "site-01",
      arm: "rrms",
      status: "incomplete",
    });
  });

  it("de-identified: no identifier column, keyed subjects, dates and commit times shifted", async () => {
    const deidentify: Deidentify = deidentification(salt, { shiftDates: true, hashIds: true });
    const { manifest, rows } = await snapshot({ deidentify });
    expect(manifest.deidentified).toBe(true);
    const columns = manifest.tables.find((t) => t.name === "demographics")?.columns.map((c) => c.name);
    expect(columns).not.toContain("initials");
    expect(columns).not.toContain("date_of_birth");
    const keys = subjects.map((s) => subjectKey(salt, s));
    // The table schema forbids other keys, so "no PHI column" holds for every line, not only these.
    expect(mine(rows.get("demographics"), keys).map((r) => r.height)).toEqual([160, 161, 162]);
    const shift = dateShift(salt, subjects[0] ?? "");
    const ae = mine(rows.get("adverse_event"), keys);
    expect(ae.map((r) => r.onset_date)).toEqual([shiftDate("2024-03-10", shift)]);
    const original = mine(identified.rows.get("adverse_event"), subjects)[0];
    expect(ae[0]?.committed_at).toBe(shiftDate(String(original?.committed_at), shift));
    expect(ae[0]?.committed_at).not.toBe(original?.committed_at);
    const enrolled = mine(identified.rows.get("subjects"), subjects)[0];
    expect(mine(rows.get("subjects"), keys)[0]?.enrolled_at).toBe(
      shiftDate(String(enrolled?.enrolled_at), shift),
    );
    expect(JSON.stringify([...rows.values()])).not.toContain(subjects[0]);
  });

  it("an increment holds exactly the changes after the snapshot's cursor; its own cursor yields none", async () => {
    const before = await snapshot();
    // By default, as every export: no instance entered in error.
    expect(mine(before.rows.get("adverse_event"), subjects).map((r) => r.instance)).toEqual([1]);
    const [a, b] = subjects;
    if (!a || !b) throw new Error("setup");
    const enrolled = await product.enrol("site-01", { site: "site-01", arm: "nmo" });
    expect((await product.save(b, "screening", "vital_signs", { data: { heart_rate: 71 } })).status).toBe(
      200,
    );
    const ae = await product.save(
      a,
      "logs",
      "adverse_event",
      {
        data: { ae_term: "Migraine", onset_date: "2024-03-11", serious: true, sae_criteria: ["death"] },
        rev: 1,
      },
      { instance: 1 },
    );
    expect(ae.status, JSON.stringify(ae.body)).toBe(200);
    const changes = await increment(before.manifest.cursor.next);
    const all = changes.manifest.tables
      .filter((t) => t.kind === "changes")
      .flatMap((t) => changes.rows.get(t.name) ?? []);
    expect(all.map((r) => [r.subject, r.form, r.instance, r.revision, r.operation])).toEqual([
      [b, "vital_signs", 1, 1, "save"],
      [a, "adverse_event", 1, 2, "save"],
    ]);
    expect(changes.rows.get("adverse_event_changes")?.[0]).toMatchObject({
      ae_term: "Migraine",
      onset_date: "2024-03-11",
      sae_criteria: ["death"],
    });
    // Enrolments are not in the feed: the subjects table comes whole, so a new subject joins.
    expect(changes.rows.get("subjects")?.find((r) => r.subject === enrolled)).toMatchObject({ arm: "nmo" });
    const again = await increment(changes.manifest.cursor.next);
    expect(again.manifest.tables.filter((t) => t.kind === "changes").flatMap((t) => t.files)).toEqual([]);
    expect(again.manifest.cursor.next).toBe(changes.manifest.cursor.next);
  });

  it("Athena DDL: a table per manifest table, its columns and mapped types, its folder", async () => {
    const { stored } = await writeInMemory(
      warehouseIndexFiles(identified.manifest, "s3://warehouse/exports/job-1"),
    );
    expect(JSON.parse(stored.get("manifest.json")?.toString() ?? "")).toEqual(identified.manifest);
    expect(stored.get("athena.sql")?.toString()).toBe(
      athenaDdl(identified.manifest, "s3://warehouse/exports/job-1"),
    );
    const ddl = athenaDdl(identified.manifest, "s3://warehouse/exports/job-1", { database: "edc" });
    const statements = ddl
      .trim()
      .split(/;\n\n?/)
      .filter(Boolean);
    expect(statements).toHaveLength(identified.manifest.tables.length);
    identified.manifest.tables.forEach((table, i) => {
      const statement = statements[i] ?? "";
      const prefix = definition.study.id.replaceAll("-", "_");
      expect(statement).toContain(
        `CREATE EXTERNAL TABLE IF NOT EXISTS \`edc\`.\`${prefix}_${table.name}\` (`,
      );
      const columns = [...statement.matchAll(/^ {2}`([^`]+)` ([A-Z<>]+),?$/gm)].map((m) => [m[1], m[2]]);
      expect(columns).toEqual(table.columns.map((c) => [c.name, ATHENA_TYPE[c.type]]));
      expect(statement).toContain("ROW FORMAT SERDE 'org.openx.data.jsonserde.JsonSerDe'");
      expect(statement).toContain(`LOCATION 's3://warehouse/exports/job-1/${table.location}'`);
    });
    expect(ddl).toContain("`sae_criteria` ARRAY<STRING>");
    expect(ddl).toContain("`onset_date` DATE");
    expect(ddl).toContain("`committed_at` STRING");
  });
});
