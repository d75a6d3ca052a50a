import { describe, expect, it } from "vitest";
import type { ReviewEntry } from "../../functions/engine/review.ts";
import { odmOid } from "../../functions/exports/odm/oids.ts";
import {
  elementKey,
  type ReviewContext,
  reviewMarks,
  signatureDefs,
} from "../../functions/exports/odm/review.ts";

/** How review entries become ODM Annotations and Signatures (exports/odm/review.ts), without a store. */

const vitals = { event: "screening", form: "vital_signs", instance: 1 };
let seq = 0;
function entry(fields: Record<string, unknown>): ReviewEntry {
  seq += 1;
  return {
    study: "s",
    subject: "01-001",
    site: "site-01",
    seq,
    at: `2026-01-01T00:00:0${seq % 10}.000Z`,
    by: "dev-monitor",
    target: vitals,
    previousHash: "",
    hash: "",
    mac: "",
    ...fields,
  } as ReviewEntry;
}

const context = (audit: boolean, rev = 2): ReviewContext => ({
  currentRev: new Map([["screening|vital_signs|1", rev]]),
  revisions: [{ ...vitals, rev, committedAt: "2026-01-02T00:00:00.000Z", committedBy: "dev-site-01" }],
  site: "site-01",
  audit,
  itemOid: odmOid.item,
  signatureOid: (meaning) => (meaning === "M" ? "SD.1" : ""),
  shift: (at) => at,
});

describe("review entries as ODM marks", () => {
  const log = [
    entry({ action: "verify", covers: [{ ...vitals, rev: 1 }] }),
    entry({ action: "verify", covers: [{ ...vitals, rev: 2 }] }),
    entry({ action: "query-open", query: "q1", text: "Why?", target: { ...vitals, field: "heart_rate" } }),
    entry({
      action: "query-answer",
      query: "q1",
      text: "Because",
      target: { ...vitals, field: "heart_rate" },
    }),
    entry({ action: "lock", target: { event: "screening" } }),
    entry({ action: "unlock", reason: "Late data", target: { event: "screening" } }),
    entry({
      action: "sign",
      name: "Dr A",
      meaning: "M",
      authenticatedAt: "x",
      covers: [{ ...vitals, rev: 2 }],
      target: {},
    }),
  ];

  it("places each entry at its element: subject, visit, form, or the form's item group for a field", () => {
    expect(elementKey({})).toBe("");
    expect(elementKey({ event: "unscheduled", instance: 3 })).toBe("e|unscheduled|3");
    expect(elementKey(vitals)).toBe("f|screening|vital_signs|1");
    expect(elementKey({ ...vitals, field: "heart_rate" })).toBe("g|screening|vital_signs|1");
    expect([...reviewMarks(log, context(true)).keys()].sort()).toEqual([
      "",
      "e|screening|1",
      "f|screening|vital_signs|1",
      "g|screening|vital_signs|1",
    ]);
  });

  it("writes a query once, with every message and its latest state, naming the field's item", () => {
    const [query] = reviewMarks(log, context(false)).get("g|screening|vital_signs|1")?.annotations ?? [];
    expect(query).toContain("<Comment>Item I.vital_signs.heart_rate: Query q1\n");
    expect(query).toMatch(/dev-monitor opened: Why\?\n.*dev-monitor answered: Because<\/Comment>/);
    expect(query).toContain('<FlagValue CodeListOID="CL.querystate">answered</FlagValue>');
  });

  it("keeps only the current verification and lock without the audit trail, every one with it", () => {
    const snapshot = reviewMarks(log, context(false));
    expect(snapshot.get("f|screening|vital_signs|1")?.annotations).toHaveLength(1);
    expect(snapshot.get("e|screening|1")?.annotations.join("")).toContain(">unlocked<");
    expect(snapshot.get("e|screening|1")?.annotations).toHaveLength(1);
    const audit = reviewMarks(log, context(true));
    const verified = audit.get("f|screening|vital_signs|1")?.annotations ?? [];
    expect(verified.map((a) => /CL.sdv">([^<]+)</.exec(a)?.[1])).toEqual(["re-verify", "verified"]);
    expect(verified.map((a) => /SeqNum="(\d+)"/.exec(a)?.[1])).toEqual(["2", "3"]);
  });

  it("signs with the SignatureDef of its meaning, invalid once a covered revision is superseded", () => {
    const valid = reviewMarks(log, context(false)).get("");
    expect(valid?.signature).toBe(
      '<Signature><UserRef UserOID="U.dev-monitor"/><LocationRef LocationOID="LOC.site-01"/><SignatureRef SignatureOID="SD.1"/><DateTimeStamp>2026-01-01T00:00:07.000Z</DateTimeStamp></Signature>',
    );
    expect(valid?.annotations.join("")).toContain(">valid<");
    expect(reviewMarks(log, context(false, 3)).get("")?.annotations.join("")).toContain(">invalidated<");
    expect(signatureDefs([...log, ...log])).toEqual([{ oid: "SD.1", meaning: "M" }]);
  });
});
