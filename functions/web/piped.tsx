import { hasPiping } from "../engine/piping.ts";

/** A text's piped rendering for this page: the form's values and the subject's other values filled in. */
export type Pipe = (text: string) => string;

/**
 * A text that may pipe values: rendered now (JSX escapes it), and carrying its
 * template so the page script renders it again as the person types.
 */
export function Piped({ text, pipe }: { text: string | undefined; pipe: Pipe | undefined }) {
  if (text === undefined) return null;
  if (!pipe || !hasPiping(text)) return <>{text}</>;
  return <span data-pipe={text}>{pipe(text)}</span>;
}
