import { describe, expect, it } from "vitest";
import type { ReviewEntry, ReviewTarget } from "../../functions/engine/review.ts";
import {
  coversFingerprint,
  coversOf,
  isSignableTarget,
  type RevisionFacts,
  type SignEntry,
  signatureMeaning,
  signatureState,
  signatureStates,
  signaturesOver,
} from "../../functions/engine/signatures.ts";

const rev = (event: string, form: string, instance: number, r: number, at: string): RevisionFacts => ({
  event,
  form,
  instance,
  rev: r,
  hash: `${event}/${form}/${instance}@${r}`,
  committedAt: at,
  committedBy: `editor-${r}@example.org`,
});

/** Two visits: screening (two forms), baseline (one form). */
const history: RevisionFacts[] = [
  rev("screening", "demographics", 1, 1, "2026-01-01T10:00:00Z"),
  rev("screening", "demographics", 1, 2, "2026-01-02T10:00:00Z"),
  rev("screening", "consent", 1, 1, "2026-01-01T11:00:00Z"),
  rev("baseline", "edss", 1, 1, "2026-01-03T10:00:00Z"),
];
const latest = (revisions: RevisionFacts[]) => {
  const by = new Map<string, RevisionFacts>();
  for (const r of revisions) by.set(`${r.event}/${r.form}/${r.instance}`, r);
  return [...by.values()];
};

function sign(target: ReviewTarget, revisions: RevisionFacts[], seq = 1): SignEntry {
  return {
    action: "sign",
    name: "Ivy Investigator",
    meaning: signatureMeaning(target),
    authenticatedAt: "2026-01-04T09:59:00Z",
    covers: coversOf(latest(revisions), target),
    study: "s",
    subject: "01-001",
    site: "site-01",
    seq,
    at: "2026-01-04T10:00:00Z",
    by: "investigator@example.org",
    target,
    previousHash: "",
    hash: "",
    mac: "",
  } as SignEntry;
}

describe("what a signature covers", () => {
  it("is every current revision within the target, in a stable order", () => {
    const casebook = coversOf(latest(history), {});
    expect(coversFingerprint(casebook)).toBe(
      "baseline/edss/1@1,screening/consent/1@1,screening/demographics/1@2",
    );
    expect(coversFingerprint(coversOf(latest(history), { event: "screening" }))).toBe(
      "screening/consent/1@1,screening/demographics/1@2",
    );
    expect(coversOf(latest(history), { event: "screening", form: "consent", instance: 1 })).toEqual([
      { event: "screening", form: "consent", instance: 1, rev: 1, hash: "screening/consent/1@1" },
    ]);
  });

  it("may be a casebook, a visit or a form instance, not a field", () => {
    expect(isSignableTarget({})).toBe(true);
    expect(isSignableTarget({ event: "screening" })).toBe(true);
    expect(isSignableTarget({ event: "screening", form: "consent", instance: 1 })).toBe(true);
    expect(isSignableTarget({ event: "screening", form: "consent", instance: 1, field: "x" })).toBe(false);
  });

  it("says what it means by scope", () => {
    expect(signatureMeaning({})).toMatch(/this casebook are accurate and complete/);
    expect(signatureMeaning({ event: "screening" })).toMatch(/this visit/);
    expect(signatureMeaning({ event: "screening", form: "consent", instance: 1 })).toMatch(/this form/);
  });
});

describe("signature validity", () => {
  it("holds while nothing in scope changes", () => {
    expect(signatureState(sign({}, history), history)).toMatchObject({ valid: true });
  });

  it("is invalidated by a later revision of a covered instance, named with who and when", () => {
    const entry = sign({}, history);
    const edited = [...history, rev("baseline", "edss", 1, 2, "2026-01-05T10:00:00Z")];
    expect(signatureState(entry, edited)).toMatchObject({
      valid: false,
      invalidatedBy: {
        event: "baseline",
        form: "edss",
        instance: 1,
        rev: 2,
        at: "2026-01-05T10:00:00Z",
        by: "editor-2@example.org",
        kind: "changed",
      },
    });
  });

  it("is invalidated by a new instance in scope, and names the earliest breaking change", () => {
    const entry = sign({}, history);
    const grown = [
      ...history,
      rev("logs", "adverse_event", 1, 1, "2026-01-07T10:00:00Z"),
      rev("screening", "consent", 1, 2, "2026-01-06T10:00:00Z"),
    ];
    const state = signatureState(entry, grown);
    expect(state.invalidatedBy).toMatchObject({ form: "consent", rev: 2, kind: "changed" });
    expect(
      signatureState(entry, [...history, rev("logs", "adverse_event", 1, 1, "2026-01-07T10:00:00Z")])
        .invalidatedBy,
    ).toMatchObject({ form: "adverse_event", kind: "added" });
  });

  it("is not touched by changes outside its scope", () => {
    const visit = sign({ event: "screening" }, history);
    const form = sign({ event: "baseline", form: "edss", instance: 1 }, history);
    const elsewhere = [
      ...history,
      rev("baseline", "edss", 1, 2, "2026-01-05T10:00:00Z"),
      rev("logs", "adverse_event", 1, 1, "2026-01-07T10:00:00Z"),
    ];
    expect(signatureState(visit, elsewhere).valid).toBe(true);
    expect(signatureState(form, elsewhere).valid).toBe(false);
  });

  it("is invalidated when the covered revision's hash is not the one signed", () => {
    const entry = sign({ event: "screening", form: "consent", instance: 1 }, history);
    const forged = history.map((r) => (r.form === "consent" ? { ...r, hash: "other" } : r));
    expect(signatureState(entry, forged).valid).toBe(false);
  });

  it("lists a log's signatures in order and finds those over one form", () => {
    const states = signatureStates(
      [
        sign({ event: "baseline" }, history, 2),
        sign({}, history, 1),
        { action: "lock", seq: 3, target: {} } as unknown as ReviewEntry,
      ],
      history,
    );
    expect(states.map((s) => s.entry.seq)).toEqual([1, 2]);
    expect(
      signaturesOver(states, { event: "screening", form: "consent", instance: 1 }).map((s) => s.entry.seq),
    ).toEqual([1]);
  });
});
