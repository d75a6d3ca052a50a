import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { canonicalJson } from "./canonical-json.ts";

/**
 * A hash chain over audit entries, so that no one with write access to the
 * table can edit, delete, insert or reorder an entry unseen.
 *
 * Each entry's hash is SHA-256 over the previous entry's hash (64 lower-case
 * hex characters) followed by the canonical JSON of the entry's content (see
 * canonical-json.ts), both as UTF-8: `sha256(previousHash ‖ canonical(content))`.
 * The first entry's previous hash is its chain's genesis value, which names the
 * chain, so an entry copied from another chain does not link. The content must
 * include the entry's sequence number (a revision's `rev`), so that the number
 * is covered by the hash.
 *
 * A hash chain alone does not stop a writer who recomputes every hash after
 * the point of change, nor one who deletes the latest entries. The chain's head
 * (its last rev and hash) is therefore MACed with a key the table does not hold
 * (KMS in AWS, a key file locally): see `headMessage`. What a per-chain MAC
 * cannot see is a rollback to an older, authentic head together with the
 * entries after it: only a head that never goes back (kept or anchored outside
 * the table) closes that.
 *
 * Server-only: node:crypto is pure computation, but not in the browser bundle,
 * so no page script may import this module.
 */

/** Bumped whenever the encoding or the hash changes: an old chain is then verified by its own version. */
const CHAIN_VERSION = "form-engine/audit-chain/v1";
const HEAD_VERSION = "form-engine/audit-head/v1";
const HASH = /^[0-9a-f]{64}$/;
const MIN_KEY_BYTES = 32;

export function genesisHash(chainId: string): string {
  return sha256(canonicalJson([CHAIN_VERSION, chainId]));
}

export function entryHash(previousHash: string, content: unknown): string {
  // A fixed-length previous hash keeps the concatenation unambiguous.
  if (!HASH.test(previousHash)) throw new TypeError("previousHash is not a SHA-256 hex digest");
  return sha256(previousHash + canonicalJson(content));
}

/** One entry as stored: all claims, none trusted. */
export interface ChainEntry<C = unknown> {
  rev: number;
  content: C;
  previousHash: string;
  hash: string;
}

/** The chain's last rev and hash as the head record claims them, and whether its MAC checked out. */
export interface ChainHead {
  rev: number;
  hash: string;
  authentic: boolean;
}

/**
 * What a verification found, each at the rev it concerns:
 * - `edited`: the entry's content or link no longer matches its own hash;
 * - `replaced`: the entry matches its own hash, but the next entry (or the
 *   signed head) was chained to a different one: rewritten and re-hashed, or
 *   forged in place of the original;
 * - `deleted`: revs `rev`…`lastRev` are missing before a later entry;
 * - `truncated`: revs `rev`…`lastRev` are missing at the end, up to the signed head;
 * - `inserted`: an entry that was never part of this chain: a second entry
 *   with the same rev, one after the signed head, or a first rev that does
 *   not start this chain;
 * - `reordered`: the entry is stored out of rev order;
 * - `head-forged`: the head record's MAC does not check out, so the head says nothing.
 */
export type ChainFinding =
  | { kind: "edited" | "replaced" | "inserted" | "reordered" | "head-forged"; rev: number }
  | { kind: "deleted" | "truncated"; rev: number; lastRev: number };

export interface VerifyOptions {
  chainId: string;
  /** Absent for a chain without a head (then deleting the latest entries cannot be seen). */
  head?: ChainHead;
}

/**
 * Walks one chain (entries in the order the table returned them) and reports
 * every finding, each anomaly once, by its most specific explanation: an
 * entry edited in place breaks only its own hash, not its successor's link.
 */
export function verifyChain<C>(entries: readonly ChainEntry<C>[], options: VerifyOptions): ChainFinding[] {
  const findings = new Findings();
  const intact = new Set(entries.filter(isIntact));
  for (const e of entries) if (!intact.has(e)) findings.add({ kind: "edited", rev: e.rev });
  const numbered = entries.filter(hasRevNumber);
  for (const e of entries) if (!hasRevNumber(e)) findings.add({ kind: "inserted", rev: e.rev });

  const chosen = walkLinks(numbered, options.chainId, intact, findings);
  // An extra entry stored out of place is reported as inserted, not also as reordered.
  for (const e of outOfOrder(numbered))
    if (chosen.get(e.rev) === e) findings.add({ kind: "reordered", rev: e.rev });
  if (options.head) checkAgainstHead(chosen, options.head, findings);
  return findings.list();
}

function hasRevNumber(e: ChainEntry<unknown>): boolean {
  return Number.isSafeInteger(e.rev) && e.rev >= 1;
}

function isIntact(e: ChainEntry<unknown>): boolean {
  if (!HASH.test(e.previousHash) || !HASH.test(e.hash)) return false;
  try {
    return entryHash(e.previousHash, e.content) === e.hash;
  } catch {
    // Content that is not JSON data was not written by the engine.
    return false;
  }
}

/**
 * The fewest entries whose moving explains the stored order: those outside
 * one longest non-decreasing run of revs (equal revs are duplicates, which the
 * link walk reports). Two swapped entries are then reported, not all between.
 */
function outOfOrder<C>(entries: readonly ChainEntry<C>[]): ChainEntry<C>[] {
  const tails: number[] = [];
  const before: number[] = new Array(entries.length).fill(-1);
  entries.forEach((e, i) => {
    let lo = 0;
    let hi = tails.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((entries[tails[mid] as number] as ChainEntry<C>).rev <= e.rev) lo = mid + 1;
      else hi = mid;
    }
    if (lo > 0) before[i] = tails[lo - 1] as number;
    tails[lo] = i;
  });
  const inRun = new Set<number>();
  for (let i = tails.at(-1) ?? -1; i >= 0; i = before[i] as number) inRun.add(i);
  return entries.filter((_, i) => !inRun.has(i));
}

/** Follows the chain in rev order; returns, per rev, the entry taken as the chain's. */
function walkLinks<C>(
  entries: readonly ChainEntry<C>[],
  chainId: string,
  intact: Set<ChainEntry<C>>,
  findings: Findings,
): Map<number, ChainEntry<C>> {
  const groups = byRev(entries);
  const chosen = new Map<number, ChainEntry<C>>();
  let previous = { rev: 0, hash: genesisHash(chainId) };
  let linked = true;
  groups.forEach(([rev, members], g) => {
    if (rev > previous.rev + 1) {
      findings.add({ kind: "deleted", rev: previous.rev + 1, lastRev: rev - 1 });
      linked = false;
    }
    const next = groups[g + 1];
    const nextLinks = new Set(next && next[0] === rev + 1 ? next[1].map((e) => e.previousHash) : []);
    const entry = genuine(members, linked ? previous.hash : undefined, nextLinks, intact);
    for (const other of members) if (other !== entry) findings.add({ kind: "inserted", rev });
    // An edited entry's broken link is part of its edit, already reported.
    if (linked && entry.previousHash !== previous.hash && intact.has(entry)) {
      findings.add(previous.rev === 0 ? { kind: "inserted", rev } : { kind: "replaced", rev: previous.rev });
    }
    chosen.set(rev, entry);
    previous = { rev, hash: entry.hash };
    linked = true;
  });
  return chosen;
}

/** Entries grouped by rev, in ascending rev order, each group in stored order. */
function byRev<C>(entries: readonly ChainEntry<C>[]): [number, ChainEntry<C>[]][] {
  const groups = new Map<number, ChainEntry<C>[]>();
  for (const e of entries) {
    const group = groups.get(e.rev);
    if (group) group.push(e);
    else groups.set(e.rev, [e]);
  }
  return [...groups].sort(([a], [b]) => a - b);
}

/** Of several entries claiming one rev, the one the chain runs through. */
function genuine<C>(
  members: ChainEntry<C>[],
  expectedLink: string | undefined,
  nextLinks: Set<string>,
  intact: Set<ChainEntry<C>>,
): ChainEntry<C> {
  const score = (e: ChainEntry<C>) =>
    (e.previousHash === expectedLink ? 2 : 0) + (nextLinks.has(e.hash) ? 2 : 0) + (intact.has(e) ? 1 : 0);
  return members.reduce((best, e) => (score(e) > score(best) ? e : best));
}

function checkAgainstHead<C>(chosen: Map<number, ChainEntry<C>>, head: ChainHead, findings: Findings): void {
  if (!head.authentic) {
    findings.add({ kind: "head-forged", rev: head.rev });
    return;
  }
  let lastRev = 0;
  for (const rev of chosen.keys()) lastRev = Math.max(lastRev, rev);
  if (lastRev < head.rev) findings.add({ kind: "truncated", rev: lastRev + 1, lastRev: head.rev });
  const atHead = chosen.get(head.rev);
  if (atHead && atHead.hash !== head.hash) findings.add({ kind: "replaced", rev: head.rev });
  for (const rev of chosen.keys()) if (rev > head.rev) findings.add({ kind: "inserted", rev });
}

/** Findings once each, in rev order. */
class Findings {
  readonly #byKey = new Map<string, ChainFinding>();
  add(f: ChainFinding): void {
    this.#byKey.set(`${f.kind}:${f.rev}`, f);
  }
  list(): ChainFinding[] {
    return [...this.#byKey.values()].sort((a, b) => a.rev - b.rev);
  }
}

/** One line for a person reading a verification report. */
export function describeFinding(f: ChainFinding): string {
  switch (f.kind) {
    case "edited":
      return `rev ${f.rev} was edited: it no longer matches its hash`;
    case "replaced":
      return `rev ${f.rev} was replaced: it is not the entry the chain was built on (rewritten and re-hashed, or forged)`;
    case "inserted":
      return `rev ${f.rev} was inserted: it was never part of this chain`;
    case "reordered":
      return `rev ${f.rev} is stored out of order`;
    case "head-forged":
      return `the signed head (rev ${f.rev}) does not carry a valid MAC`;
    case "deleted":
      return f.rev === f.lastRev ? `rev ${f.rev} was deleted` : `revs ${f.rev}–${f.lastRev} were deleted`;
    case "truncated":
      return f.rev === f.lastRev
        ? `rev ${f.rev}, the signed head, was deleted`
        : `revs ${f.rev}–${f.lastRev}, up to the signed head, were deleted`;
  }
}

/**
 * The bytes a chain head's MAC covers (UTF-8 of this text). HMAC-SHA-256 over
 * them with a local key (`signHead`) equals what KMS GenerateMac with an
 * HMAC_256 key returns for the same bytes, so either can sign and check.
 */
export function headMessage(chainId: string, rev: number, hash: string): string {
  return canonicalJson([HEAD_VERSION, chainId, rev, hash]);
}

export function signHead(key: Uint8Array, chainId: string, rev: number, hash: string): string {
  if (key.byteLength < MIN_KEY_BYTES)
    throw new RangeError(`a head key needs at least ${MIN_KEY_BYTES} bytes`);
  return createHmac("sha256", key)
    .update(headMessage(chainId, rev, hash))
    .digest("hex");
}

export function checkHead(key: Uint8Array, chainId: string, rev: number, hash: string, mac: string): boolean {
  if (!HASH.test(mac)) return false;
  return timingSafeEqual(Buffer.from(signHead(key, chainId, rev, hash), "hex"), Buffer.from(mac, "hex"));
}

function sha256(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}
