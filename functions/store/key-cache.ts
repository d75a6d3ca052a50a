import type { KeyResolution } from "./tokens.ts";

/**
 * How long a process trusts a key it resolved before reading the key and its
 * owner's grant again. A revocation made through this process takes effect at
 * once (it drops every entry); one made through another process (another
 * Lambda instance) takes effect here within this time. docs/architecture.md
 * ("Caches") states the bound.
 */
export const KEY_CACHE_TTL_MS = 5_000;

/** Entries past this count are dropped oldest first: a process serves few keys at a time. */
const MAX_ENTRIES = 10_000;

interface Entry {
  resolution: Extract<KeyResolution, { principal: object }>;
  readAt: number;
}

/**
 * Keys resolved to a principal, by token hash, for at most `ttlMs`. Only
 * admitted keys are kept: a refusal is read again every time, so a key made
 * or a grant given just now works at once. A hit past the key's own expiry
 * is no hit.
 */
export function keyCache(options: { ttlMs?: number; clock?: () => number } = {}) {
  const ttlMs = options.ttlMs ?? KEY_CACHE_TTL_MS;
  const clock = options.clock ?? Date.now;
  const entries = new Map<string, Entry>();
  // Bumped by every clear: a read that began before a revocation must not put its answer back.
  let generation = 0;

  return {
    now: () => clock(),
    async resolve(hash: string, read: (now: Date) => Promise<KeyResolution>): Promise<KeyResolution> {
      const now = clock();
      const hit = entries.get(hash);
      if (hit && now - hit.readAt < ttlMs) {
        const { expiresAt } = hit.resolution.principal;
        if (!expiresAt || expiresAt > new Date(now).toISOString()) {
          // A copy: the request may add to its principal, the next one must not see it.
          return { principal: { ...hit.resolution.principal } };
        }
      }
      entries.delete(hash);
      const readFrom = generation;
      const resolution = await read(new Date(now));
      if (resolution.principal && readFrom === generation) {
        if (entries.size >= MAX_ENTRIES) entries.delete(entries.keys().next().value as string);
        entries.set(hash, { resolution: { principal: { ...resolution.principal } }, readAt: now });
      }
      return resolution;
    },
    /** After a revocation or a grant change through this process: nothing cached survives it. */
    clear: () => {
      generation += 1;
      entries.clear();
    },
  };
}
