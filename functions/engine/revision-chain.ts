import type { ChainEntry } from "./audit-chain.ts";
import { canonicalJson } from "./canonical-json.ts";
import type { FormStatus } from "./definition.ts";
import type { ErrorMarkAction } from "./entered-in-error.ts";
import type { FieldChange, InstanceState } from "./revision.ts";

/**
 * A form instance's revisions form one chain. This declares, in the engine's
 * own terms, what a stored revision holds (the store's `Revision` has this
 * shape) and which of it the hash covers.
 */
export interface ChainedRevision extends InstanceState {
  study: string;
  subject: string;
  site: string;
  event: string;
  form: string;
  instance: number;
  statusFrom: FormStatus | null;
  changes: FieldChange[];
  action?: ErrorMarkAction;
}

/** The fields a revision stores about its own chain, which its hash cannot cover. */
export interface RevisionChainFields {
  previousHash: string;
  hash: string;
  /** MAC over `headMessage(chainId, rev, hash)` with a key the table does not hold (checked apart from the chain walk). */
  mac?: string;
}

/**
 * Everything a revision says is hashed: who, when, what, why, under which
 * definition. Listing the fields (rather than hashing "all but the hash
 * fields") keeps the table's own keys and index attributes out; the type makes
 * the list complete, so a field added to `ChainedRevision` cannot be left
 * unprotected by forgetting it here.
 */
const HASHED = {
  study: true,
  subject: true,
  site: true,
  event: true,
  form: true,
  instance: true,
  rev: true,
  status: true,
  statusFrom: true,
  data: true,
  changes: true,
  definitionVersion: true,
  committedAt: true,
  committedBy: true,
  reason: true,
  enteredInError: true,
  action: true,
  missing: true,
  confirmedWarnings: true,
} as const satisfies Record<keyof ChainedRevision, true>;

export type RevisionContent = Pick<ChainedRevision, keyof typeof HASHED>;

export function revisionContent(revision: ChainedRevision): RevisionContent {
  const content: Record<string, unknown> = {};
  for (const field of Object.keys(HASHED) as (keyof ChainedRevision)[]) {
    if (revision[field] !== undefined) content[field] = revision[field];
  }
  return content as unknown as RevisionContent;
}

/** One chain per form instance; the id is unambiguous whatever characters the ids hold. */
export function instanceChainId(
  a: Pick<ChainedRevision, "study" | "subject" | "event" | "form" | "instance">,
) {
  return canonicalJson(["instance", a.study, a.subject, a.event, a.form, a.instance]);
}

/** A stored revision as a chain entry; its rev comes from the hashed content, so it cannot be renumbered unseen. */
export function revisionChainEntry(
  stored: ChainedRevision & RevisionChainFields,
): ChainEntry<RevisionContent> {
  return {
    rev: stored.rev,
    content: revisionContent(stored),
    previousHash: stored.previousHash,
    hash: stored.hash,
  };
}
