/**
 * A stored instant as people read it, with its zone said: stamps are stored in
 * UTC and a site may be anywhere, so "14:05" alone would be a guess.
 */
export function utcTime(iso: string): string {
  return `${iso.replace("T", " ").slice(0, 16)} UTC`;
}
