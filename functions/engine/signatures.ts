import { type CoveredRevision, type ReviewEntry, type ReviewTarget, scopeOf, within } from "./review.ts";

/**
 * Electronic signatures (21 CFR 11.50, 11.70): a `sign` entry names exactly
 * the revisions it covers (every form instance in its scope as it stood when
 * signed). It stays valid while each covered instance is still at its covered
 * revision and no other instance has appeared in the scope; the first
 * revision that breaks either invalidates it, and is named (which instance,
 * revision, who, when) so the page can say why.
 */

/** What validity needs of a revision: its address, number, hash and commit. */
export interface RevisionFacts {
  event: string;
  form: string;
  instance: number;
  rev: number;
  hash?: string;
  committedAt: string;
  committedBy: string;
}

export type SignEntry = ReviewEntry & { action: "sign" };

export interface Invalidation {
  event: string;
  form: string;
  instance: number;
  rev: number;
  at: string;
  by: string;
  /** A covered instance changed, or an instance appeared in the scope after signing. */
  kind: "changed" | "added";
}

export interface SignatureState {
  entry: SignEntry;
  valid: boolean;
  invalidatedBy?: Invalidation;
}

/** The meaning shown to the signer and recorded with the signature, by what is signed. */
export function signatureMeaning(target: ReviewTarget): string {
  switch (scopeOf(target, "subject")) {
    case "subject":
      return "I attest that the data in this casebook are accurate and complete.";
    case "visit":
      return "I attest that the data of this visit are accurate and complete.";
    default:
      return "I attest that the data in this form are accurate and complete.";
  }
}

const instanceTarget = (r: { event: string; form: string; instance: number }): ReviewTarget => ({
  event: r.event,
  form: r.form,
  instance: r.instance,
});

const sameInstance = (
  a: { event: string; form: string; instance: number },
  b: { event: string; form: string; instance: number },
) => a.event === b.event && a.form === b.form && a.instance === b.instance;

/** A signature is on a subject, a visit or a form instance; a field or the study cannot be signed. */
export function isSignableTarget(target: ReviewTarget): boolean {
  if (target.field !== undefined) return false;
  if (target.form !== undefined) return target.event !== undefined && target.instance !== undefined;
  return true;
}

/** The current revisions a signature on `target` covers now: every instance within it, in a stable order. */
export function coversOf(current: readonly RevisionFacts[], target: ReviewTarget): CoveredRevision[] {
  return current
    .filter((r) => within(instanceTarget(r), target))
    .map((r) => ({
      event: r.event,
      form: r.form,
      instance: r.instance,
      rev: r.rev,
      ...(r.hash !== undefined ? { hash: r.hash } : {}),
    }))
    .sort(
      (a, b) => a.event.localeCompare(b.event) || a.form.localeCompare(b.form) || a.instance - b.instance,
    );
}

/** The same covers, as a short text a page can carry to prove the signer saw exactly these revisions. */
export function coversFingerprint(covers: readonly CoveredRevision[]): string {
  return covers.map((c) => `${c.event}/${c.form}/${c.instance}@${c.rev}`).join(",");
}

/** Why `revision` breaks the signature, if it does. */
function breaks(entry: SignEntry, revision: RevisionFacts): Invalidation["kind"] | undefined {
  if (!within(instanceTarget(revision), entry.target)) return undefined;
  const covered = entry.covers.find((c) => sameInstance(c, revision));
  if (!covered) return "added";
  if (revision.rev > covered.rev) return "changed";
  // The covered revision itself, with another hash: not the revision that was signed.
  if (
    revision.rev === covered.rev &&
    covered.hash !== undefined &&
    revision.hash !== undefined &&
    revision.hash !== covered.hash
  )
    return "changed";
  return undefined;
}

/** One signature against every revision of the subject (all of them, not just the latest). */
export function signatureState(entry: SignEntry, revisions: readonly RevisionFacts[]): SignatureState {
  let first: Invalidation | undefined;
  for (const r of revisions) {
    const kind = breaks(entry, r);
    if (!kind) continue;
    const candidate: Invalidation = {
      event: r.event,
      form: r.form,
      instance: r.instance,
      rev: r.rev,
      at: r.committedAt,
      by: r.committedBy,
      kind,
    };
    if (!first || candidate.at < first.at || (candidate.at === first.at && candidate.rev < first.rev))
      first = candidate;
  }
  return first ? { entry, valid: false, invalidatedBy: first } : { entry, valid: true };
}

/** Every signature of a subject's review log, oldest first, with its validity now. */
export function signatureStates(
  entries: readonly ReviewEntry[],
  revisions: readonly RevisionFacts[],
): SignatureState[] {
  return entries
    .filter((e): e is SignEntry => e.action === "sign")
    .sort((a, b) => a.seq - b.seq)
    .map((e) => signatureState(e, revisions));
}

/** The signatures whose scope includes this form instance. */
export function signaturesOver(
  states: readonly SignatureState[],
  instance: { event: string; form: string; instance: number },
): SignatureState[] {
  return states.filter((s) => within(instanceTarget(instance), s.entry.target));
}
