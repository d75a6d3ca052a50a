import { entryHash, genesisHash, headMessage } from "../engine/audit-chain.ts";
import { instanceChainId, revisionContent } from "../engine/revision-chain.ts";
import type { MacKey } from "./mac-key.ts";
import type { Revision } from "./revision-item.ts";

/**
 * A revision about to be committed, given its place in its instance's chain:
 * linked to the revision it follows (the one the save already read), hashed,
 * and MACed with a key the table does not hold. Computed before the commit,
 * so the one conditional put that commits carries its own proof: nothing is
 * written twice, and a crash after the put leaves nothing half-sealed.
 *
 * A previous revision saved before chaining existed has no hash: the chain
 * then starts at this revision, from its genesis value, and what came before
 * is reported as unchained, not as tampered.
 */
export async function sealRevision(
  macKey: MacKey,
  revision: Revision,
  previous: Revision | undefined,
): Promise<Revision> {
  if ((previous?.rev ?? 0) !== revision.rev - 1)
    throw new Error(`rev ${revision.rev} cannot follow rev ${previous?.rev ?? 0}`);
  // A revision built from the one before it (a mark, a migration) carries that one's seal: never reuse it.
  const { previousHash: _previousHash, hash: _hash, mac: _mac, ...unsealed } = revision;
  const chainId = instanceChainId(unsealed);
  const previousHash = previous?.hash ?? genesisHash(chainId);
  const hash = entryHash(previousHash, revisionContent(unsealed));
  return { ...unsealed, previousHash, hash, mac: await macKey.mac(headMessage(chainId, unsealed.rev, hash)) };
}
