/**
 * A load run by its first caller and shared by the rest (a module import, a client made on first use).
 * A failed load is not kept: the next call tries again.
 */
export function once<T>(load: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | undefined;
  return () => {
    if (!made) {
      const making = load();
      making.catch(() => {
        if (made === making) made = undefined;
      });
      made = making;
    }
    return made;
  };
}
