import { type CellStatus, STATUS_LABEL } from "./casebook-view.ts";

/**
 * A form status as a coloured mark with its words beside it. The mark is
 * decoration (aria-hidden): the words are the text equivalent, so status is
 * never told by colour or a `title` alone.
 */
export function Status(props: { status: CellStatus }) {
  return (
    <span class="status">
      <span class={`st st-${props.status}`} aria-hidden="true" /> {STATUS_LABEL[props.status]}
    </span>
  );
}

/** A date (or date range) kept on one line: a phone must not break 2026-01-31 at its hyphens. */
export function DateText(props: { children: string }) {
  return <span class="date">{props.children}</span>;
}
