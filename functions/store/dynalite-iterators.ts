import { createRequire } from "node:module";

/**
 * dynalite 4 reads LevelDB through streams whose `destroy()` closes the
 * iterator with `iterator.return()`, a method abstract-level 3 iterators do not
 * have (theirs is `close()`). So every Query and Scan left an iterator open:
 * its native LevelDB iterator and snapshot (~60 KB RSS on disk) and its entry in
 * the database's set of open resources (~1.5 KB of heap), for as long as the
 * process lives. dynalite's database is private to it, so the fix gives the
 * iterators the method dynalite calls. `enabled: false` takes it away again,
 * for the memory bench's before-and-after only.
 */
export function closeIteratorsWhenDestroyed(enabled = true): void {
  for (const prototype of iteratorPrototypes()) {
    if (enabled)
      Object.defineProperty(prototype, "return", {
        configurable: true,
        writable: true,
        value(this: { close(): Promise<void> }) {
          return this.close();
        },
      });
    else delete (prototype as { return?: unknown }).return;
  }
}

/** The base of every abstract-level iterator dynalite can create, on disk (level) and in memory (memory-level). */
function iteratorPrototypes(): Set<object> {
  const fromDynalite = createRequire(createRequire(import.meta.url).resolve("dynalite"));
  const fromLevel = createRequire(fromDynalite.resolve("level"));
  const backends = [
    createRequire(fromLevel.resolve("classic-level")),
    createRequire(fromDynalite.resolve("memory-level")),
  ];
  return new Set(
    backends.map((backend) => {
      const { AbstractIterator } = backend("abstract-level") as { AbstractIterator: { prototype: object } };
      // Keys, values and entries iterators all extend the class above AbstractIterator.
      return Object.getPrototypeOf(AbstractIterator.prototype) as object;
    }),
  );
}
