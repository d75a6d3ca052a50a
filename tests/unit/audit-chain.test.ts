import { describe, expect, it } from "vitest";
import {
  type ChainFinding,
  type ChainHead,
  checkHead,
  describeFinding,
  entryHash,
  genesisHash,
  signHead,
  verifyChain,
} from "../../functions/engine/audit-chain.ts";
import { canonicalJson } from "../../functions/engine/canonical-json.ts";
import {
  type ChainedRevision,
  instanceChainId,
  type RevisionChainFields,
  revisionChainEntry,
  revisionContent,
} from "../../functions/engine/revision-chain.ts";
import type { Revision } from "../../functions/store/form-instances.ts";

describe("canonical JSON (RFC 8785 model)", () => {
  it("writes the RFC's §3.2.2 example as the RFC does", () => {
    const input = JSON.parse(
      '{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],' +
        '"string": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/", "literals": [null, true, false]}',
    );
    expect(canonicalJson(input)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],' +
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  it("sorts members by UTF-16 code units as in the RFC's §3.2.3 example", () => {
    const input = JSON.parse(
      '{"\\u20ac": "Euro Sign", "\\r": "Carriage Return", "\\ufb33": "Hebrew Letter Dalet With Dagesh",' +
        '"1": "One", "\\ud83d\\ude00": "Emoji: Grinning Face", "\\u0080": "Control",' +
        '"\\u00f6": "Latin Small Letter O With Diaeresis"}',
    );
    expect(canonicalJson(input)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","ö":"Latin Small Letter O With Diaeresis",' +
        '"€":"Euro Sign","😀":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it("writes numbers as the RFC's Appendix B does", () => {
    const cases: [string, string][] = [
      ["0000000000000000", "0"],
      ["8000000000000000", "0"],
      ["0000000000000001", "5e-324"],
      ["8000000000000001", "-5e-324"],
      ["7fefffffffffffff", "1.7976931348623157e+308"],
      ["ffefffffffffffff", "-1.7976931348623157e+308"],
      ["4340000000000000", "9007199254740992"],
      ["c340000000000000", "-9007199254740992"],
      ["4430000000000000", "295147905179352830000"],
      ["44b52d02c7e14af5", "9.999999999999997e+22"],
      ["44b52d02c7e14af6", "1e+23"],
      ["44b52d02c7e14af7", "1.0000000000000001e+23"],
      ["444b1ae4d6e2ef4e", "999999999999999700000"],
      ["444b1ae4d6e2ef4f", "999999999999999900000"],
      ["444b1ae4d6e2ef50", "1e+21"],
      ["3eb0c6f7a0b5ed8c", "9.999999999999997e-7"],
      ["3eb0c6f7a0b5ed8d", "0.000001"],
      ["41b3de4355555553", "333333333.3333332"],
      ["41b3de4355555554", "333333333.33333325"],
      ["41b3de4355555555", "333333333.3333333"],
      ["41b3de4355555556", "333333333.3333334"],
      ["41b3de4355555557", "333333333.33333343"],
      ["becbf647612f3696", "-0.0000033333333333333333"],
      ["43143ff3c1cb0959", "1424953923781206.2"],
    ];
    for (const [bits, text] of cases) {
      expect(canonicalJson(Buffer.from(bits, "hex").readDoubleBE(0)), bits).toBe(text);
    }
  });

  it("does not depend on key order, at any depth", () => {
    const a = { b: 1, a: { y: [1, { q: true, p: null }], x: "s" } };
    const b = { a: { x: "s", y: [1, { p: null, q: true }] }, b: 1 };
    expect(canonicalJson(a)).toBe(canonicalJson(b));
    expect(canonicalJson(a)).toBe('{"a":{"x":"s","y":[1,{"p":null,"q":true}]},"b":1}');
  });

  it("leaves out undefined members, as the table does", () => {
    expect(canonicalJson({ a: 1, reason: undefined })).toBe('{"a":1}');
  });

  it("refuses what is not JSON data, saying where", () => {
    expect(() => canonicalJson({ n: Number.NaN })).toThrow(/\$\.n: NaN/);
    expect(() => canonicalJson([Number.POSITIVE_INFINITY])).toThrow(/Infinity/);
    expect(() => canonicalJson({ a: [1, undefined] })).toThrow(/\$\.a\[1\]: undefined/);
    expect(() => canonicalJson({ at: new Date(0) })).toThrow(/Date/);
    expect(() => canonicalJson(new Set(["a"]))).toThrow(/Set/);
    expect(() => canonicalJson({ big: 1n })).toThrow(/bigint/);
  });
});

const CHAIN = instanceChainId({
  study: "s1",
  subject: "01-001",
  event: "screening",
  form: "edss",
  instance: 1,
});
const KEY = Buffer.alloc(32, 7);

type Stored = ChainedRevision & RevisionChainFields;

function revision(rev: number): ChainedRevision {
  return {
    study: "s1",
    subject: "01-001",
    site: "site-01",
    event: "screening",
    form: "edss",
    instance: 1,
    rev,
    status: rev < 3 ? "incomplete" : "complete",
    statusFrom: rev === 1 ? null : rev <= 3 ? "incomplete" : "complete",
    data: { assessment_date: "2024-01-10", fs_visual: rev % 2, edss_total: 3 + rev / 2 },
    changes: [{ field: "fs_visual", old: (rev + 1) % 2, new: rev % 2 }],
    definitionVersion: 1,
    committedAt: `2024-01-10T10:0${rev}:00.000Z`,
    committedBy: "coordinator-01",
    ...(rev > 3 ? { reason: "transcription error" } : {}),
  };
}

/** What the save path will do: each revision chained to the one before. */
function chain(length: number): Stored[] {
  const stored: Stored[] = [];
  let previousHash = genesisHash(CHAIN);
  for (let rev = 1; rev <= length; rev++) {
    const r = revision(rev);
    const hash = entryHash(previousHash, revisionContent(r));
    stored.push({ ...r, previousHash, hash });
    previousHash = hash;
  }
  return stored;
}

/** What anyone with table access can do: hashing needs no secret. */
function rehashed(r: Stored): Stored {
  return { ...r, hash: entryHash(r.previousHash, revisionContent(r)) };
}

/** The head as signed at the last save, checked as the verifier will. */
function signedHead(of: Stored, key: Uint8Array = KEY): ChainHead {
  const mac = signHead(key, CHAIN, of.rev, of.hash);
  return { rev: of.rev, hash: of.hash, authentic: checkHead(KEY, CHAIN, of.rev, of.hash, mac) };
}

function verify(stored: Stored[], head?: ChainHead): ChainFinding[] {
  return verifyChain(stored.map(revisionChainEntry), { chainId: CHAIN, ...(head ? { head } : {}) });
}

describe("verifyChain", () => {
  const clean = chain(6);
  const head = signedHead(clean[5] as Stored);
  const at = (rev: number) => ({ ...(clean[rev - 1] as Stored) });
  const replace = (rev: number, by: Stored) => clean.map((r) => (r.rev === rev ? by : r));

  it("finds nothing in an untouched chain", () => {
    expect(verify(clean, head)).toEqual([]);
    expect(verify(clean)).toEqual([]);
    expect(verifyChain([], { chainId: CHAIN })).toEqual([]);
  });

  it("reports an edited value, author or time at its rev, and only there", () => {
    const value = { ...at(3), data: { ...at(3).data, edss_total: 9 } };
    const author = { ...at(2), committedBy: "monitor-01" };
    const time = { ...at(5), committedAt: "2024-01-09T10:00:00.000Z" };
    const link = { ...at(4), previousHash: at(2).hash };
    expect(verify(replace(3, value), head)).toEqual([{ kind: "edited", rev: 3 }]);
    expect(verify(replace(2, author), head)).toEqual([{ kind: "edited", rev: 2 }]);
    expect(verify(replace(5, time), head)).toEqual([{ kind: "edited", rev: 5 }]);
    expect(verify(replace(4, link), head)).toEqual([{ kind: "edited", rev: 4 }]);
  });

  it("reports a revision rewritten and re-hashed as replaced, the latest one through the head", () => {
    const middle = rehashed({ ...at(3), data: { ...at(3).data, edss_total: 9 } });
    const latest = rehashed({ ...at(6), committedBy: "monitor-01" });
    expect(verify(replace(3, middle), head)).toEqual([{ kind: "replaced", rev: 3 }]);
    expect(verify(replace(6, latest), head)).toEqual([{ kind: "replaced", rev: 6 }]);
    // Without the signed head, a rewritten latest revision is out of reach: why the head is MACed.
    expect(verify(replace(6, latest))).toEqual([]);
  });

  it("reports a deleted latest revision as truncated against the signed head", () => {
    expect(verify(clean.slice(0, 5), head)).toEqual([{ kind: "truncated", rev: 6, lastRev: 6 }]);
    expect(verify(clean.slice(0, 3), head)).toEqual([{ kind: "truncated", rev: 4, lastRev: 6 }]);
    expect(verify([], head)).toEqual([{ kind: "truncated", rev: 1, lastRev: 6 }]);
  });

  it("reports deleted revisions in the middle as one gap", () => {
    const without = (...revs: number[]) => clean.filter((r) => !revs.includes(r.rev));
    expect(verify(without(3), head)).toEqual([{ kind: "deleted", rev: 3, lastRev: 3 }]);
    expect(verify(without(2, 3), head)).toEqual([{ kind: "deleted", rev: 2, lastRev: 3 }]);
    expect(verify(without(1), head)).toEqual([{ kind: "deleted", rev: 1, lastRev: 1 }]);
  });

  it("reports a forged revision appended after the signed head as inserted", () => {
    const last = at(6);
    const forged = rehashed({ ...revision(7), committedBy: "monitor-01", previousHash: last.hash, hash: "" });
    expect(verify([...clean, forged], head)).toEqual([{ kind: "inserted", rev: 7 }]);
  });

  it("reports a second entry claiming an existing rev as inserted, keeping the chained one", () => {
    const forged = rehashed({ ...at(3), committedBy: "monitor-01" });
    expect(verify([...clean.slice(0, 3), forged, ...clean.slice(3)], head)).toEqual([
      { kind: "inserted", rev: 3 },
    ]);
    expect(verify([forged, ...clean], head)).toEqual([{ kind: "inserted", rev: 3 }]);
  });

  it("reports a chain copied from another instance as not starting this chain", () => {
    const other = instanceChainId({
      study: "s1",
      subject: "01-002",
      event: "screening",
      form: "edss",
      instance: 1,
    });
    expect(verifyChain(clean.map(revisionChainEntry), { chainId: other })).toEqual([
      { kind: "inserted", rev: 1 },
    ]);
  });

  it("reports two swapped revisions as reordered", () => {
    const [r1, r2, r3, r4, r5, r6] = clean as [Stored, Stored, Stored, Stored, Stored, Stored];
    expect(verify([r1, r3, r2, r4, r5, r6], head)).toEqual([{ kind: "reordered", rev: 3 }]);
    expect(verify([r6, r2, r3, r4, r5, r1], head)).toEqual([
      { kind: "reordered", rev: 1 },
      { kind: "reordered", rev: 6 },
    ]);
  });

  it("reports every tamper of a chain tampered several ways, in rev order", () => {
    const edited = { ...at(2), reason: "none" };
    const stored = [at(1), edited, at(4), at(5)];
    expect(verify(stored, head)).toEqual([
      { kind: "edited", rev: 2 },
      { kind: "deleted", rev: 3, lastRev: 3 },
      { kind: "truncated", rev: 6, lastRev: 6 },
    ]);
  });

  it("does not trust a head whose MAC fails, and says so", () => {
    const stale = signedHead(at(4));
    const forged = signedHead(at(4), Buffer.alloc(32, 9));
    expect(verify(clean.slice(0, 4), forged)).toEqual([{ kind: "head-forged", rev: 4 }]);
    // A stale but authentic head is the limit of a per-chain MAC: the rollback to it goes unseen.
    expect(verify(clean.slice(0, 4), stale)).toEqual([]);
  });

  it("refuses entries whose rev is not a positive integer", () => {
    const entries = clean.map(revisionChainEntry);
    const bad = { ...(entries[2] as (typeof entries)[number]), rev: 0 };
    const findings = verifyChain([...entries.slice(0, 2), bad, ...entries.slice(3)], { chainId: CHAIN });
    expect(findings).toEqual([
      { kind: "inserted", rev: 0 },
      { kind: "deleted", rev: 3, lastRev: 3 },
    ]);
  });

  it("describes each finding in a sentence naming the rev", () => {
    expect(describeFinding({ kind: "deleted", rev: 2, lastRev: 3 })).toBe("revs 2–3 were deleted");
    expect(describeFinding({ kind: "edited", rev: 4 })).toMatch(/^rev 4 was edited/);
  });
});

describe("entry hash and genesis", () => {
  it("is SHA-256 over the previous hash and the canonical content, whatever the key order", () => {
    const previous = genesisHash(CHAIN);
    expect(entryHash(previous, { a: 1, b: [2] })).toBe(entryHash(previous, { b: [2], a: 1 }));
    expect(entryHash(previous, { a: 1 })).not.toBe(entryHash(genesisHash("other"), { a: 1 }));
    expect(entryHash(previous, { a: 1 })).toMatch(/^[0-9a-f]{64}$/);
  });

  it("refuses a previous hash that is not a digest, so that concatenation stays unambiguous", () => {
    expect(() => entryHash("abc", {})).toThrow(TypeError);
  });
});

describe("head MAC", () => {
  const hash = chain(1)[0]?.hash as string;
  const mac = signHead(KEY, CHAIN, 1, hash);

  it("checks out for the same chain, rev, hash and key only", () => {
    expect(checkHead(KEY, CHAIN, 1, hash, mac)).toBe(true);
    expect(checkHead(KEY, CHAIN, 2, hash, mac)).toBe(false);
    expect(checkHead(KEY, CHAIN, 1, genesisHash(CHAIN), mac)).toBe(false);
    expect(checkHead(KEY, "other", 1, hash, mac)).toBe(false);
    expect(checkHead(Buffer.alloc(32, 1), CHAIN, 1, hash, mac)).toBe(false);
    expect(checkHead(KEY, CHAIN, 1, hash, "not a mac")).toBe(false);
  });

  it("refuses a key too short to be a secret", () => {
    expect(() => signHead(Buffer.alloc(16), CHAIN, 1, hash)).toThrow(RangeError);
  });
});

describe("revision content", () => {
  it("hashes everything a revision says, and nothing the table adds", () => {
    const stored = {
      ...revision(4),
      action: "entered-in-error" as const,
      enteredInError: true,
      previousHash: "p",
      hash: "h",
      PK: "key",
    } as Stored;
    const content = revisionContent(stored) as Record<string, unknown>;
    expect(Object.keys(content).sort()).toEqual(
      [
        "action",
        "changes",
        "committedAt",
        "committedBy",
        "data",
        "definitionVersion",
        "enteredInError",
        "event",
        "form",
        "instance",
        "reason",
        "rev",
        "site",
        "status",
        "statusFrom",
        "study",
        "subject",
      ].sort(),
    );
    expect(Object.keys(revisionContent(revision(1)))).not.toContain("reason");
  });

  it("covers every field of the store's Revision (a compile-time check)", () => {
    type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
    const covered: Same<Exclude<keyof Revision, keyof RevisionChainFields>, keyof ChainedRevision> = true;
    expect(covered).toBe(true);
  });
});
