import { describe, expect, it } from "vitest";
import {
  toDefinitionPointer,
  toDefinitionVersionInfo,
  toStudyDefinition,
} from "../../functions/store/definition-item.ts";
import { toExportSalt } from "../../functions/store/exports.ts";
import { MalformedItemError } from "../../functions/store/item-fields.ts";
import {
  projectionItem,
  type Revision,
  revisionItem,
  toFeedEntry,
  toRevision,
} from "../../functions/store/revision-item.ts";
import { TABLE } from "../../functions/store/table-shape.ts";

const revision: Revision = {
  study: "demo",
  subject: "S01-001",
  site: "S01",
  event: "baseline",
  form: "vitals",
  instance: 1,
  rev: 2,
  status: "complete",
  statusFrom: "incomplete",
  data: { weight: 71.5, notes: null },
  changes: [{ field: "weight", old: 70, new: 71.5 }],
  definitionVersion: 3,
  committedAt: "2024-05-01T10:00:00.000Z",
  committedBy: "alice",
  reason: "scale recalibrated",
};

/** The error a decoder throws, so its key and field can be checked. */
function refusal(decode: () => unknown): MalformedItemError {
  try {
    decode();
  } catch (error) {
    if (error instanceof MalformedItemError) return error;
    throw error;
  }
  throw new Error("the item was accepted");
}

describe("revision items", () => {
  it("round-trip through the revision item and the projection", () => {
    expect(toRevision(revisionItem(revision))).toEqual(revision);
    expect(toRevision(projectionItem(revision))).toEqual(revision);
  });

  it("keep the optional attributes as stored: a first save, a mark, an empty reason", () => {
    const first: Revision = { ...revision, rev: 1, statusFrom: null, changes: [] };
    delete first.reason;
    expect(toRevision(revisionItem(first))).toEqual(first);
    const marked: Revision = { ...revision, action: "entered-in-error", enteredInError: true, reason: "" };
    expect(toRevision(revisionItem(marked))).toEqual(marked);
  });

  it("leave the table's own attributes (keys, type, feed index) out", () => {
    expect(Object.keys(toRevision(revisionItem(revision))).sort()).toEqual(Object.keys(revision).sort());
  });

  it.each([
    ["rev", { rev: "2" }],
    ["instance", { instance: undefined }],
    ["study", { study: 7 }],
    ["committedAt", { committedAt: undefined }],
    ["status", { status: "done" }],
    ["statusFrom", { statusFrom: undefined }],
    ["data", { data: [1] }],
    ["changes", { changes: undefined }],
    ["changes[0]", { changes: [{ old: 1, new: 2 }] }],
    ["reason", { reason: 42 }],
    ["enteredInError", { enteredInError: "yes" }],
    ["action", { action: "delete" }],
  ])("refuse an ill-typed or missing %s, naming the key and the field", (field, patch) => {
    const error = refusal(() => toRevision({ ...revisionItem(revision), ...patch }));
    expect(error.field).toBe(field);
    expect(error.key).toBe("STUDY#demo#SUBJ#S01-001 REV#baseline#vitals#0001#000002");
    expect(error.message).toContain(error.key);
    expect(error.message).toContain(`"${field}"`);
  });
});

describe("feed entries", () => {
  it("carry the revision and its place in the feed", () => {
    const item = revisionItem(revision);
    expect(toFeedEntry(item)).toEqual({ position: item[TABLE.indexes.feed.sortKey], revision });
  });

  it("refuse an entry without its place", () => {
    const item = { ...revisionItem(revision), [TABLE.indexes.feed.sortKey]: undefined };
    expect(refusal(() => toFeedEntry(item)).field).toBe(TABLE.indexes.feed.sortKey);
  });
});

describe("definition items", () => {
  const key = { PK: "STUDY#demo", SK: "DEF#000002" };
  const definition = {
    version: 2,
    study: { id: "demo", title: "Demo", arms: [], events: [], logs: [] },
    instruments: { vitals: { $id: "vitals", title: "Vitals", type: "object", properties: {} } },
  };
  const versionItem = {
    ...key,
    type: "definition",
    version: 2,
    hash: "abc",
    definition: JSON.stringify(definition),
    publishedBy: "bob",
    publishedAt: "2024-05-01T10:00:00.000Z",
    impact: { safe: 1, review: 0, destructive: 0 },
  };

  it("read the pointer", () => {
    expect(toDefinitionPointer({ version: 2, hash: "abc" })).toEqual({ version: 2, hash: "abc" });
    expect(refusal(() => toDefinitionPointer({ ...key, version: "2", hash: "abc" })).field).toBe("version");
  });

  it("list a version without its body, its absent attributes absent", () => {
    expect(toDefinitionVersionInfo(versionItem, true)).toEqual({
      version: 2,
      hash: "abc",
      publishedBy: "bob",
      publishedAt: "2024-05-01T10:00:00.000Z",
      impact: { safe: 1, review: 0, destructive: 0 },
      current: true,
    });
    const accepted = { by: "bob", at: "2024-05-01T10:00:00.000Z", reason: "ok", changes: ["c1"] };
    expect(toDefinitionVersionInfo({ ...versionItem, acceptance: accepted }, false).acceptance).toEqual(
      accepted,
    );
  });

  it("refuse a listing with an ill-typed attribute, naming it", () => {
    expect(refusal(() => toDefinitionVersionInfo({ ...versionItem, publishedBy: 1 }, true)).field).toBe(
      "publishedBy",
    );
    expect(
      refusal(() => toDefinitionVersionInfo({ ...versionItem, impact: { safe: "1" } }, true)).field,
    ).toBe("impact.safe");
    const acceptance = { by: "bob", at: "now", reason: "ok", changes: [1] };
    expect(refusal(() => toDefinitionVersionInfo({ ...versionItem, acceptance }, true)).field).toBe(
      "acceptance.changes",
    );
  });

  it("read the published definition, instruments in an object without a prototype", () => {
    const read = toStudyDefinition(versionItem);
    expect(read).toEqual({ ...definition, instruments: expect.anything() });
    expect(Object.getPrototypeOf(read.instruments)).toBeNull();
    expect(read.instruments.vitals?.title).toBe("Vitals");
    expect(read.instruments.constructor).toBeUndefined();
  });

  it("refuse a body that is not JSON, or not the definition of this version", () => {
    const broken = refusal(() => toStudyDefinition({ ...versionItem, definition: "{" }));
    expect([broken.key, broken.field]).toEqual(["STUDY#demo DEF#000002", "definition"]);
    const other = JSON.stringify({ ...definition, version: 1 });
    expect(refusal(() => toStudyDefinition({ ...versionItem, definition: other })).field).toBe("definition");
    expect(refusal(() => toStudyDefinition({ ...versionItem, definition: undefined })).field).toBe(
      "definition",
    );
  });
});

describe("the export salt", () => {
  const key = { PK: "STUDY#demo", SK: "EXPORT_SALT" };

  it("is read as stored", () => {
    expect(toExportSalt({ ...key, salt: "s3cret" })).toBe("s3cret");
  });

  it("is refused when missing or empty: an empty salt would de-identify nothing", () => {
    expect(refusal(() => toExportSalt(key)).field).toBe("salt");
    expect(refusal(() => toExportSalt({ ...key, salt: "" })).message).toContain("STUDY#demo EXPORT_SALT");
  });
});
