import { raw } from "hono/html";
import { hasPiping } from "../engine/piping.ts";
import { hasMarkup, safeHtml } from "../engine/safe-html.ts";

/** A text's piped rendering for this page: the form's values and the subject's other values filled in. */
export type Pipe = (text: string) => string;

/**
 * A protocol text: with pipes, rendered now as plain text (JSX escapes it) and
 * carrying its template so the page script renders it again as the person
 * types; without, its safe HTML subset (engine/safe-html.ts).
 */
export function Piped({ text, pipe }: { text: string | undefined; pipe: Pipe | undefined }) {
  if (text === undefined) return null;
  if (!pipe || !hasPiping(text)) return <Markup text={text} />;
  return <span data-pipe={text}>{pipe(text)}</span>;
}

/** REDCap labels carry a little HTML: its safe subset rendered, anything else as text. */
export function Markup({ text }: { text: string }) {
  return <>{hasMarkup(text) ? raw(safeHtml(text).html) : text}</>;
}
