import {
  type ChainEntry,
  type ChainFinding,
  describeFinding,
  genesisHash,
  headMessage,
  verifyChain,
} from "../engine/audit-chain.ts";
import { type ChainedRevision, instanceChainId, revisionContent } from "../engine/revision-chain.ts";
import { accessLogChainId, accessLogContent, readAccessLogItems, seqOfKey } from "./access-log.ts";
import type { DefinitionReader } from "./definitions.ts";
import { listDefinitions } from "./definitions.ts";
import { type Db, queryAll } from "./dynamo.ts";
import type { Item } from "./item-fields.ts";
import { keys } from "./keys.ts";
import type { MacKey } from "./mac-key.ts";
import { reviewChainId, reviewContent } from "./review-log.ts";
import type { InstanceAddress } from "./revision-item.ts";
import { listSubjects, type Subject } from "./subjects.ts";

/**
 * Walks every chain of a study, as stored, and reports what no longer holds:
 * each form instance's revisions (hashes, links, MACs, and the projection's
 * claim to the head), each subject's review log and the study's, and the
 * study's access log. Reads only; repairs nothing.
 */

/** `forged`: the entry's MAC does not check out, so the engine did not write it as it is (a forgery, or a re-hash after an edit). */
export type AuditFindingKind = ChainFinding["kind"] | "forged";

/** A form instance's chain, with the subject's site (so that a reader can be shown only its own sites' findings). */
export interface InstanceChain extends InstanceAddress {
  site: string;
}

/** A review log: a subject's (with its site), or the study's (`review: "study"`, shown to every reader). */
export type ReviewChain =
  | { review: "subject"; study: string; subject: string; site: string }
  | { review: "study"; study: string; subject?: undefined; site?: undefined };

export type AuditFinding =
  | { chain: InstanceChain; rev: number; kind: AuditFindingKind; message: string }
  | { chain: "access-log"; seq: number; kind: AuditFindingKind; message: string }
  | { chain: ReviewChain; seq: number; kind: AuditFindingKind; message: string };

/** Whether a finding is about a form instance's revisions (not a log numbered by seq). */
export function isInstanceFinding(f: AuditFinding): f is Extract<AuditFinding, { chain: InstanceChain }> {
  return f.chain !== "access-log" && !("review" in f.chain);
}

/** Whether a finding is about a review log (a subject's or the study's). */
export function isReviewFinding(f: AuditFinding): f is Extract<AuditFinding, { chain: ReviewChain }> {
  return f.chain !== "access-log" && "review" in f.chain;
}

/** The site a finding is about; none for the access log and the study's review log, which every reader sees. */
export function siteOfFinding(f: AuditFinding): string | undefined {
  return f.chain === "access-log" ? undefined : f.chain.site;
}

export interface AuditCounts {
  subjects: number;
  /** Form-instance chains, review logs and the access log, each when it has entries. */
  chains: number;
  /** Revisions, review entries and access-log entries read. */
  entries: number;
  /** Revisions saved before chaining existed, each before the first chained revision of its instance. */
  unchained: number;
}

export interface AuditReport {
  study: string;
  /** The key the MACs were checked with (its name, never the key). */
  key: string;
  findings: AuditFinding[];
  counts: AuditCounts;
  /** The part of `counts` each site's subjects make (the study's review log and the access log are in no site's). */
  bySite: Record<string, AuditCounts>;
}

const noCounts = (): AuditCounts => ({ subjects: 0, chains: 0, entries: 0, unchained: 0 });
const COUNTED = ["subjects", "chains", "entries", "unchained"] as const;

/**
 * The counts as a reader of only `sites` may see them: those sites' subjects
 * and the logs every reader sees, so no one learns another site's enrolment
 * from the size of the study's record.
 */
export function countsOfSites(report: AuditReport, sites: readonly string[]): AuditCounts {
  const counts = { ...report.counts };
  for (const [site, part] of Object.entries(report.bySite))
    if (!sites.includes(site)) for (const k of COUNTED) counts[k] -= part[k];
  return counts;
}

const SUBJECTS_AT_ONCE = 8;
const HEX = /^[0-9a-f]{64}$/;

export async function verifyAudit(
  db: Db,
  macKey: MacKey,
  definitions: DefinitionReader,
  study: string,
): Promise<AuditReport> {
  const counts = noCounts();
  const bySite: Record<string, AuditCounts> = {};
  const findings: AuditFinding[] = [];
  const subjects = await allSubjects(db, definitions, study);
  for (let i = 0; i < subjects.length; i += SUBJECTS_AT_ONCE) {
    const batch = subjects.slice(i, i + SUBJECTS_AT_ONCE);
    const results = await Promise.all(batch.map((subject) => verifySubject(db, macKey, study, subject)));
    results.forEach((r, j) => {
      findings.push(...r.findings);
      const siteId = batch[j]?.site ?? "";
      const site = bySite[siteId] ?? noCounts();
      bySite[siteId] = site;
      for (const part of [counts, site]) {
        part.subjects += 1;
        part.chains += r.chains;
        part.entries += r.entries;
        part.unchained += r.unchained;
      }
    });
  }
  for (const log of [
    await verifyStudyReviewLog(db, macKey, study),
    await verifyAccessLog(db, macKey, study),
  ]) {
    findings.push(...log.findings);
    counts.entries += log.entries;
    if (log.entries > 0) counts.chains += 1;
  }
  return { study, key: macKey.id, findings, counts, bySite };
}

/** Subjects of every site any published version named: a site dropped from the protocol keeps its data. */
async function allSubjects(db: Db, definitions: DefinitionReader, study: string): Promise<Subject[]> {
  const versions = await listDefinitions(db, study);
  const sites = new Set<string>();
  for (const { version } of versions) {
    for (const site of (await definitions.version(study, version))?.study.sites ?? []) sites.add(site.id);
  }
  const subjects = await listSubjects(db, study, [...sites]);
  const byId = new Map(subjects.map((s) => [s.id, s]));
  return [...byId.values()].sort((a, b) => a.id.localeCompare(b.id));
}

interface ChainsResult {
  findings: AuditFinding[];
  chains: number;
  entries: number;
  unchained: number;
}

/** One Query of the subject's partition: its revisions, grouped per instance, and its projections. */
async function verifySubject(
  db: Db,
  macKey: MacKey,
  study: string,
  { id: subject, site }: Subject,
): Promise<ChainsResult> {
  const items = await queryAll(db, {
    KeyConditionExpression: "PK = :pk",
    ExpressionAttributeValues: { ":pk": keys.subjectPartition(study, subject) },
    ConsistentRead: true,
  });
  const revisions = new Map<string, Item[]>();
  const projections = new Map<string, Item>();
  const review: Item[] = [];
  for (const item of items) {
    const sk = String(item.SK);
    if (sk.startsWith(keys.reviewPrefix)) review.push(item);
    else if (sk.startsWith(keys.revisions)) {
      const prefix = sk.slice(0, sk.lastIndexOf("#") + 1);
      revisions.set(prefix, [...(revisions.get(prefix) ?? []), item]);
    } else if (sk.startsWith(keys.projections)) projections.set(sk, item);
  }
  const result: ChainsResult = { findings: [], chains: 0, entries: 0, unchained: 0 };
  for (const [prefix, stored] of revisions) {
    const address = { ...addressOfPrefix(study, subject, prefix), site };
    const projection = projections.get(keys.data(address.event, address.form, address.instance));
    const r = await verifyInstance(macKey, address, stored, projection);
    result.findings.push(...r.findings);
    result.chains += 1;
    result.entries += stored.length;
    result.unchained += r.unchained;
  }
  if (review.length > 0) {
    const chain: ReviewChain = { review: "subject", study, subject, site };
    for (const f of await verifyReviewLog(macKey, chain, review)) result.findings.push({ chain, ...f });
    result.chains += 1;
    result.entries += review.length;
  }
  return result;
}

/** `REV#<event>#<form>#<instance>#` → the instance it keys (event and form ids cannot hold `#`). */
function addressOfPrefix(study: string, subject: string, prefix: string): InstanceAddress {
  const [, event = "", form = "", instance = ""] = prefix.split("#");
  return { study, subject, event, form, instance: Number(instance) };
}

/**
 * One instance's chain. Its id comes from the item's key, not its content, so
 * an entry copied from another instance does not link and its MAC fails.
 * Revisions without chain fields before the first chained one (or before the
 * head the projection signs) are legacy: counted, their revs checked for
 * gaps, not reported as tampered. One without them after that point lost them.
 */
async function verifyInstance(
  macKey: MacKey,
  address: InstanceChain,
  stored: Item[],
  projection: Item | undefined,
): Promise<{ findings: AuditFinding[]; unchained: number }> {
  const { site: _site, ...instance } = address;
  const chainId = instanceChainId(instance);
  const found = new InstanceFindings(address);
  const revOf = (item: Item) => (typeof item.rev === "number" ? item.rev : Number.NaN);
  const isChained = (item: Item) => typeof item.hash === "string" || typeof item.previousHash === "string";

  for (const item of stored) {
    const keyRev = keys.projectionOfRevision(String(item.SK)).rev;
    if (revOf(item) !== keyRev)
      found.add("reordered", keyRev, `the item stored as rev ${keyRev} holds rev ${String(item.rev)}`);
    else if (!sameInstance(item, instance))
      found.add("inserted", keyRev, `rev ${keyRev} holds a revision of another form instance`);
  }

  const head = await projectionHead(macKey, chainId, projection);
  if (head && !head.authentic)
    found.add("head-forged", head.rev, describeFinding({ kind: "head-forged", rev: head.rev }));
  const chainedRevs = stored.filter(isChained).map(revOf).filter(Number.isFinite);
  const boundary = Math.min(least(chainedRevs), head?.authentic ? head.rev : Number.POSITIVE_INFINITY);
  const legacy = stored.filter((item) => !isChained(item) && revOf(item) < boundary);
  const legacySet = new Set(legacy);
  const chained = stored.filter((item) => !legacySet.has(item));
  reportLegacyGaps(legacy.map(revOf), boundary, found);

  const entries: ChainEntry<unknown>[] = chained.map((item) => ({
    rev: revOf(item),
    content: revisionContent(item as unknown as ChainedRevision),
    previousHash: typeof item.previousHash === "string" ? item.previousHash : "",
    hash: typeof item.hash === "string" ? item.hash : "",
  }));
  const lastRev = Math.max(0, greatest(entries.map((e) => e.rev)));
  // A projection behind the last revision is a writer that died before projecting: the later revisions' own MACs speak for them.
  const headForWalk = head?.authentic && head.rev >= lastRev ? head : undefined;
  for (const f of verifyChain(entries, { chainId, ...(headForWalk ? { head: headForWalk } : {}) })) {
    // Revs before the boundary are legacy, checked above.
    if ((f.kind === "deleted" || f.kind === "truncated") && f.rev < boundary) {
      if (f.lastRev < boundary) continue;
      found.add(f.kind, boundary, describeFinding({ ...f, rev: boundary }));
    } else found.add(f.kind, f.rev, describeFinding(f));
  }
  for (const item of chained) {
    if (!isChained(item)) {
      found.add("edited", revOf(item), `rev ${revOf(item)} carries no hash: its seal was removed`);
    }
  }
  if (legacy.some((item) => revOf(item) === boundary - 1)) {
    // The first chained revision after legacy ones starts from the genesis value (revision-seal.ts).
    for (const item of chained) {
      if (revOf(item) === boundary && isChained(item) && item.previousHash !== genesisHash(chainId))
        found.add(
          "edited",
          boundary - 1,
          `rev ${boundary - 1} carries no hash, but rev ${boundary} was chained to one`,
        );
    }
  }
  await Promise.all(
    chained.filter(isChained).map(async (item) => {
      const rev = revOf(item);
      if (!Number.isSafeInteger(rev) || !HEX.test(String(item.hash))) return;
      if (!(await macKey.verify(headMessage(chainId, rev, String(item.hash)), String(item.mac ?? ""))))
        found.add(
          "forged",
          rev,
          `rev ${rev} does not carry a valid MAC: the engine did not write it as it is`,
        );
    }),
  );
  return { findings: found.list(), unchained: legacy.length };
}

/* Loops, not Math.min(...xs): a chain can be longer than the arguments a call may take. */
function least(xs: number[]): number {
  let m = Number.POSITIVE_INFINITY;
  for (const x of xs) if (Number.isFinite(x) && x < m) m = x;
  return m;
}

function greatest(xs: number[]): number {
  let m = Number.NEGATIVE_INFINITY;
  for (const x of xs) if (Number.isFinite(x) && x > m) m = x;
  return m;
}

function sameInstance(item: Item, a: InstanceAddress): boolean {
  return (
    item.study === a.study &&
    item.subject === a.subject &&
    item.event === a.event &&
    item.form === a.form &&
    item.instance === a.instance
  );
}

/** The head the projection claims, and whether its MAC checks out; none for a projection saved before chaining. */
async function projectionHead(
  macKey: MacKey,
  chainId: string,
  projection: Item | undefined,
): Promise<{ rev: number; hash: string; authentic: boolean } | undefined> {
  if (!projection || typeof projection.hash !== "string") return undefined;
  const rev = Number(projection.rev);
  if (!Number.isSafeInteger(rev) || !HEX.test(projection.hash))
    return { rev, hash: projection.hash, authentic: false };
  const authentic = await macKey.verify(
    headMessage(chainId, rev, projection.hash),
    String(projection.mac ?? ""),
  );
  return { rev, hash: projection.hash, authentic };
}

/** Legacy revisions are not sealed, but revs are numbered without gaps: a missing one was deleted. */
function reportLegacyGaps(revs: number[], boundary: number, found: InstanceFindings): void {
  const present = new Set(revs);
  const end = Number.isFinite(boundary) ? boundary - 1 : Math.max(0, greatest(revs));
  let start: number | undefined;
  for (let rev = 1; rev <= end + 1; rev++) {
    const missing = rev <= end && !present.has(rev);
    if (missing && start === undefined) start = rev;
    if (!missing && start !== undefined) {
      const f = { kind: "deleted" as const, rev: start, lastRev: rev - 1 };
      found.add("deleted", start, describeFinding(f));
      start = undefined;
    }
  }
}

class InstanceFindings {
  readonly #byKey = new Map<string, AuditFinding>();
  constructor(readonly address: InstanceChain) {}
  add(kind: AuditFindingKind, rev: number, message: string): void {
    this.#byKey.set(`${kind}:${rev}`, { chain: this.address, rev, kind, message });
  }
  list(): AuditFinding[] {
    const all = [...this.#byKey.values()] as (AuditFinding & { rev: number })[];
    // An entry reported edited is not also "replaced": its broken link is part of the edit.
    const edited = new Set(all.filter((f) => f.kind === "edited").map((f) => f.rev));
    return all
      .filter((f) => !(f.kind === "replaced" && edited.has(f.rev)))
      .sort((a, b) => a.rev - b.rev || a.kind.localeCompare(b.kind));
  }
}

/** The engine's wording for revisions, told of access-log entries, which are numbered by seq. */
function inSeqs(message: string): string {
  return message.replace(/\brevs?\b/g, (word) => (word === "rev" ? "seq" : "seqs"));
}

/** One finding of a chain numbered by seq (the access log, a review log). */
interface SeqFinding {
  seq: number;
  kind: AuditFindingKind;
  message: string;
}

/**
 * A chain numbered by seq, each entry MACed, without a head (so a deleted
 * last entry is not seen). The key, not the content, places an entry; an
 * entry that `belongs` refuses (copied from another chain) is inserted.
 */
async function verifySeqChain(
  macKey: MacKey,
  chainId: string,
  items: Item[],
  spec: {
    seqOfKey: (sk: string) => number;
    content: (item: Item) => unknown;
    belongs?: (item: Item) => boolean;
  },
): Promise<SeqFinding[]> {
  const byKey = new Map<string, SeqFinding>();
  const add = (kind: AuditFindingKind, seq: number, message: string) =>
    byKey.set(`${kind}:${seq}`, { seq, kind, message });
  const seqOf = (item: Item) => (typeof item.seq === "number" ? item.seq : Number.NaN);
  for (const item of items) {
    const keySeq = spec.seqOfKey(String(item.SK));
    if (seqOf(item) !== keySeq)
      add("reordered", keySeq, `the entry stored as seq ${keySeq} holds seq ${String(item.seq)}`);
    else if (spec.belongs && !spec.belongs(item))
      add("inserted", keySeq, `seq ${keySeq} holds an entry of another chain`);
  }
  const entries = items.map((item) => ({
    rev: seqOf(item),
    content: spec.content(item),
    previousHash: typeof item.previousHash === "string" ? item.previousHash : "",
    hash: typeof item.hash === "string" ? item.hash : "",
  }));
  for (const f of verifyChain(entries, { chainId })) add(f.kind, f.rev, inSeqs(describeFinding(f)));
  await Promise.all(
    items.map(async (item) => {
      const seq = seqOf(item);
      if (!Number.isSafeInteger(seq) || !HEX.test(String(item.hash))) return;
      if (!(await macKey.verify(headMessage(chainId, seq, String(item.hash)), String(item.mac ?? ""))))
        add("forged", seq, `seq ${seq} does not carry a valid MAC: the engine did not write it as it is`);
    }),
  );
  const list = [...byKey.values()];
  const edited = new Set(list.filter((f) => f.kind === "edited").map((f) => f.seq));
  return list
    .filter((f) => !(f.kind === "replaced" && edited.has(f.seq)))
    .sort((a, b) => a.seq - b.seq || a.kind.localeCompare(b.kind));
}

/** The study's access log: one chain, in seq order, each entry MACed. */
async function verifyAccessLog(
  db: Db,
  macKey: MacKey,
  study: string,
): Promise<{ findings: AuditFinding[]; entries: number }> {
  const { items } = await readAccessLogItems(db, study);
  const found = await verifySeqChain(macKey, accessLogChainId(study), items, {
    seqOfKey,
    content: accessLogContent,
  });
  return { findings: found.map((f) => ({ chain: "access-log", ...f })), entries: items.length };
}

/**
 * A review log (a subject's, or the study's without a subject): queries,
 * verification, locks, signatures, status. The chain id comes from where the
 * items are stored, so an entry copied from another subject's log does not
 * link, and its own study or subject betrays it.
 */
async function verifyReviewLog(macKey: MacKey, chain: ReviewChain, items: Item[]): Promise<SeqFinding[]> {
  return verifySeqChain(macKey, reviewChainId(chain.study, chain.subject), items, {
    seqOfKey: (sk) => Number(sk.slice(keys.reviewPrefix.length)),
    content: reviewContent,
    belongs: (item) => item.study === chain.study && item.subject === chain.subject,
  });
}

async function verifyStudyReviewLog(
  db: Db,
  macKey: MacKey,
  study: string,
): Promise<{ findings: AuditFinding[]; entries: number }> {
  const items = await queryAll(db, {
    KeyConditionExpression: "PK = :pk AND begins_with(SK, :prefix)",
    ExpressionAttributeValues: { ":pk": keys.study(study), ":prefix": keys.reviewPrefix },
    ConsistentRead: true,
  });
  const chain: ReviewChain = { review: "study", study };
  const found = await verifyReviewLog(macKey, chain, items);
  return { findings: found.map((f) => ({ chain, ...f })), entries: items.length };
}
