import { parse } from "csv-parse/sync";
import { describe, expect, it } from "vitest";
import type { FlatInstance } from "../../functions/exports/flat.ts";
import { recordChunks } from "../../functions/exports/records.ts";
import type { Store } from "../../functions/store/store.ts";
import type { Subject } from "../../functions/store/subjects.ts";
import { smallDefinition } from "./small-study.ts";

const definition = smallDefinition();
const subject = (id: string): Subject => ({
  study: "small",
  id,
  site: "s1",
  arm: "a",
  enrolledAt: "2024-01-01T00:00:00.000Z",
  enrolledBy: "t",
});
const visit = (data: Record<string, unknown>): FlatInstance => ({
  event: "baseline",
  form: "visit",
  instance: 1,
  status: "complete",
  data,
});

/** A store whose casebooks are given; it records what it was asked for. */
function storeOf(casebooks: Record<string, FlatInstance[]>) {
  const asked: unknown[] = [];
  const store = {
    async *casebooks(study: string, subjects: Subject[], options?: unknown) {
      asked.push({ study, subjects: subjects.map((s) => s.id), options });
      for (const s of subjects) yield { subject: s, instances: casebooks[s.id] ?? [] };
    },
  };
  return { store: store as unknown as Pick<Store, "casebooks">, asked };
}

async function text(chunks: AsyncIterable<string>): Promise<string> {
  let out = "";
  for await (const chunk of chunks) out += chunk;
  return out;
}

const subjects = [subject("S1-001"), subject("S1-002"), subject("S1-003")];
const data = {
  "S1-001": [visit({ initials: "=1+1", weight: 70 })],
  "S1-002": [],
  "S1-003": [visit({ weight: 80 })],
};

describe("recordChunks", () => {
  it("writes JSON as one array, a subject without rows leaving no stray comma", async () => {
    const { store } = storeOf(data);
    const json = await text(recordChunks(store, definition, subjects, {}, "json"));
    const rows = JSON.parse(json) as Record<string, unknown>[];
    expect(rows.map((r) => [r.record_id, r.weight])).toEqual([
      ["S1-001", 70],
      ["S1-003", 80],
    ]);
    expect(json.startsWith("[\n{")).toBe(true);
    expect(json.endsWith("}\n]\n")).toBe(true);
  });

  it("writes an empty JSON array when no subject has rows", async () => {
    const { store } = storeOf({});
    expect(JSON.parse(await text(recordChunks(store, definition, subjects, {}, "json")))).toEqual([]);
  });

  it("writes NDJSON one row a line", async () => {
    const { store } = storeOf(data);
    const lines = (await text(recordChunks(store, definition, subjects, {}, "ndjson"))).split("\n");
    expect(lines.at(-1)).toBe("");
    expect(lines.slice(0, -1).map((l) => JSON.parse(l).record_id)).toEqual(["S1-001", "S1-003"]);
  });

  it("writes CSV for people with formulas neutralised, for programs as they are", async () => {
    const { store } = storeOf(data);
    const forPeople = parse(await text(recordChunks(store, definition, subjects, {}, "csv"))) as string[][];
    const header = forPeople[0] ?? [];
    expect(header[0]).toBe("record_id");
    expect(forPeople[1]?.[header.indexOf("initials")]).toBe("'=1+1");
    const forPrograms = parse(
      await text(recordChunks(store, definition, subjects, {}, "csv", "programs")),
    ) as string[][];
    expect(forPrograms[1]?.[header.indexOf("initials")]).toBe("=1+1");
  });

  it("asks the store for the instances entered in error only when the export includes them", async () => {
    const { store, asked } = storeOf(data);
    await text(recordChunks(store, definition, subjects, {}, "csv"));
    await text(recordChunks(store, definition, subjects, { includeEnteredInError: true }, "csv"));
    expect(asked).toEqual([
      {
        study: "small",
        subjects: ["S1-001", "S1-002", "S1-003"],
        options: { includeEnteredInError: undefined, sinceWatermark: true },
      },
      {
        study: "small",
        subjects: ["S1-001", "S1-002", "S1-003"],
        options: { includeEnteredInError: true, sinceWatermark: true },
      },
    ]);
  });
});
