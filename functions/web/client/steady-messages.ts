/**
 * Messages that never move the control under the pointer. A field's check
 * runs when it loses focus, which a press on the next control causes: a
 * message shown then would push that control away before the release, and
 * the click would be lost. While a pointer is down, message updates wait
 * until after the click that its release makes. (Each field's message slot
 * also keeps its height when empty: see `.field .error` in styles.ts.)
 */
export function pointerGate(doc: Document): (update: () => void) => void {
  let down = false;
  let pending: (() => void) | undefined;
  const flush = () => {
    down = false;
    const update = pending;
    pending = undefined;
    update?.();
  };
  // A macrotask: it runs after the click event that follows pointerup.
  const release = () => setTimeout(flush, 0);
  doc.addEventListener(
    "pointerdown",
    () => {
      down = true;
    },
    true,
  );
  doc.addEventListener("pointerup", release, true);
  doc.addEventListener("pointercancel", release, true);
  doc.defaultView?.addEventListener("blur", release);
  return (update) => {
    if (down) pending = update;
    else update();
  };
}
