/**
 * Room under the focused control for the sticky save bar. The page keeps a
 * fixed `scroll-padding-bottom` (styles.ts) so that a control reached with Tab
 * scrolls clear of the bar; but the bar wraps to more rows on a narrow screen
 * (three on a phone, over 10rem), and a fixed padding then left fields under
 * it while they were typed in. The bar's measured height, whatever it wraps
 * to, becomes the padding (`--save-bar`).
 */
export function keepRoomForSaveBar(bar: HTMLElement): void {
  const root = bar.ownerDocument.documentElement;
  const GAP_PX = 16;
  const measure = () => root.style.setProperty("--save-bar", `${Math.ceil(bar.offsetHeight) + GAP_PX}px`);
  measure();
  if (typeof ResizeObserver === "function") new ResizeObserver(measure).observe(bar);
}
