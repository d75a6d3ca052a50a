import type { Child } from "hono/jsx";

/**
 * A wide table's own sideways scroll, so a phone scrolls the table and not the
 * page. Focusable and named, so a keyboard user can scroll it too (WCAG 2.1.1).
 */
export function ScrollRegion(props: { label: string; children: Child }) {
  return (
    <section class="scroll" tabindex={0} aria-label={props.label}>
      {props.children}
    </section>
  );
}
