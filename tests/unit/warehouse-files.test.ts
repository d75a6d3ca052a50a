import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import type { StudyDefinition } from "../../functions/engine/definition.ts";
import { openCursor } from "../../functions/exports/sealed-cursor.ts";
import { warehouseChanges, warehouseFiles } from "../../functions/exports/warehouse.ts";
import { formTable, type InstanceState, instanceRow } from "../../functions/exports/warehouse-tables.ts";
import type { Subject } from "../../functions/store/subjects.ts";
import { writeInMemory } from "../helpers/export-files-in-memory.ts";
import { instrument, smallStudy, visit } from "./small-study.ts";

/** The pure parts of the warehouse export: column names, cells, and parts rotating within the memory bound. */
const definition: StudyDefinition = {
  version: 3,
  study: smallStudy(),
  instruments: {
    visit,
    labs: instrument("labs", {
      status: { type: "string", title: "A field named like a row column" },
      Site: { type: "string", title: "Another, once lower-cased" },
      codes: {
        type: "array",
        title: "Integer codes",
        items: { type: "integer", oneOf: [{ const: 1, title: "One" }] },
      },
      scan: { type: "object", title: "A file", "x-file": { mediaTypes: ["application/pdf"] } },
      note: { type: "null", title: "Descriptive", "x-widget": "descriptive" },
    }),
    adverse_event: instrument("adverse_event", { term: { type: "string", title: "Term" } }),
  },
};

function state(
  subject: string,
  form: string,
  data: Record<string, unknown>,
  extra: Partial<InstanceState> = {},
) {
  return {
    study: "small",
    subject,
    site: "s1",
    event: form === "adverse_event" ? "logs" : "baseline",
    form,
    instance: 1,
    rev: 1,
    status: "complete",
    definitionVersion: 3,
    committedAt: "2024-05-01T10:00:00.000Z",
    data,
    ...extra,
  };
}

describe("warehouse tables", () => {
  it("names a field's column so none collides, and types its cells", () => {
    const table = formTable(definition, "labs", {});
    expect(table.columns.filter((c) => c.field).map((c) => [c.field, c.name, c.type])).toEqual([
      ["status", "field_status", "string"],
      ["Site", "field_site", "string"],
      ["codes", "codes", "array<string>"],
      ["scan", "scan", "string"],
    ]);
    const scan = { sha256: "a".repeat(64), size: 3, name: "scan.pdf", mediaType: "application/pdf" };
    const row = instanceRow(
      definition,
      table,
      "a",
      state("S1-001", "labs", { status: "x", Site: "y", codes: [1], scan }, { missing: {} }),
      undefined,
    );
    expect(row).toMatchObject({
      status: "complete",
      field_status: "x",
      field_site: "y",
      codes: ["1"],
      scan: "scan.pdf",
    });
  });

  it("puts a missing-data code in missing_data, never in the field's typed column, and none of an identifier left out", () => {
    const deidentify = { dropIdentifiers: true };
    const table = formTable(definition, "visit", { deidentify });
    const row = instanceRow(
      definition,
      table,
      "a",
      state(
        "S1-001",
        "visit",
        { weight: null, initials: null },
        {
          missing: {
            weight: { code: "UNK", reason: "scale broken" },
            initials: { code: "ASKU", reason: "r" },
          },
        },
      ),
      deidentify,
    );
    expect(row.weight).toBeUndefined();
    expect(row.missing_data).toBe(JSON.stringify({ weight: "UNK" }));
  });
});

describe("warehouse parts", () => {
  const subjects: Subject[] = Array.from({ length: 30 }, (_, i) => ({
    study: "small",
    id: `S1-${String(i).padStart(3, "0")}`,
    site: "s1",
    arm: "a",
    enrolledAt: "2024-01-01T00:00:00.000Z",
    enrolledBy: "x",
  }));
  const store = {
    async subjectPage(_study: string, _sites: string[], o: { after?: string; limit: number }) {
      const rest = subjects.filter((s) => o.after === undefined || s.id > o.after);
      const page = rest.slice(0, o.limit);
      return { subjects: page, ...(rest.length > o.limit ? { next: page.at(-1)?.id } : {}) };
    },
    async *casebooks(_study: string, page: Subject[]) {
      for (const subject of page)
        yield {
          subject,
          instances: [
            state(subject.id, "visit", { weight: 70, symptoms: ["pain"] }),
            state(subject.id, "adverse_event", { term: "x".repeat(400) }),
          ],
        };
    },
    readSiteStatusEntries: async () => [],
  } as unknown as Parameters<typeof warehouseFiles>[0];

  it("hands out the largest open part when the bound is reached, numbering each table's parts, every row once", async () => {
    const files = warehouseFiles(store, {
      definition,
      sites: ["s1"],
      bufferBytes: 4_000,
      pageSize: 7,
    });
    const { written, stored } = await writeInMemory(files);
    const ae = written.filter((f) => f.name.startsWith("form=adverse_event/"));
    // Adverse events make the largest rows, so theirs are the parts handed out early.
    expect(ae.length).toBeGreaterThan(2);
    expect(ae.map((f) => f.name)).toEqual(
      ae.map((_, i) => `form=adverse_event/part-${String(i).padStart(5, "0")}.ndjson.gz`),
    );
    for (const f of written) {
      const text = gunzipSync(stored.get(f.name) ?? Buffer.alloc(0)).toString();
      // A part never holds more text than the bound allows (plus the row that reached it).
      expect(text.length).toBeLessThan(4_000 + 600);
      expect(text.split("\n").length - 1).toBe(f.rows);
    }
    const rows = (prefix: string) =>
      written.filter((f) => f.name.startsWith(prefix)).reduce((n, f) => n + f.rows, 0);
    expect([rows("subjects/"), rows("form=visit/"), rows("form=adverse_event/"), rows("form=labs/")]).toEqual(
      [30, 30, 30, 0],
    );
  });

  it("closes a part at the row bound", async () => {
    const { written } = await writeInMemory(
      warehouseFiles(store, { definition, sites: ["s1"], partRows: 8 }),
    );
    expect(written.filter((f) => f.name.startsWith("form=visit/")).map((f) => f.rows)).toEqual([8, 8, 8, 6]);
  });
});

describe("warehouse increments", () => {
  it("from the start of an empty feed, the next increment starts at the settled point", async () => {
    const store = {
      readFeed: async (_study: string, o: { cursor?: string }) => ({ changes: [], cursor: o.cursor || "0" }),
      exportSalt: async () => "salt",
      subjectPage: async () => ({ subjects: [] }),
      readSiteStatusEntries: async () => [],
    } as unknown as Parameters<typeof warehouseChanges>[0];
    const settledBefore = "2024-05-01T10:00:00.000Z";
    const changes = warehouseChanges(store, { definition, sites: ["s1"], settledBefore });
    expect(() => changes.cursor()).toThrow();
    const { written } = await writeInMemory(changes.files);
    expect(written).toEqual([]);
    expect(openCursor("salt", changes.cursor())).toBe(settledBefore);
  });
});
