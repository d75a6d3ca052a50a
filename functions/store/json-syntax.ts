const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const MINUS = 0x2d;
const DOT = 0x2e;
const PLUS = 0x2b;

const ESCAPED = new Set([...'"\\/bfnrt'].map((c) => c.charCodeAt(0)));
const TRUE = [0x74, 0x72, 0x75, 0x65];
const FALSE = [0x66, 0x61, 0x6c, 0x73, 0x65];
const NULL = [0x6e, 0x75, 0x6c, 0x6c];

/**
 * Whether UTF-8 bytes are one JSON text that `JSON.parse` accepts (bytes past
 * 0x7f are taken as they come, as a decoded string's U+FFFD would be), without
 * decoding them or building the value: the local store's full read checks
 * ~1 GB of entries this way at a fraction of JSON.parse's cost.
 */
export function isJsonText(b: Uint8Array): boolean {
  const n = b.length;
  const open: number[] = []; // the containers around the current value
  let depth = 0;
  let i = space(b, 0);
  for (;;) {
    // A value starts at i.
    const c = b[i];
    if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      i = space(b, i + 1);
      if (b[i] !== (c === OPEN_OBJECT ? CLOSE_OBJECT : CLOSE_ARRAY)) {
        open[depth++] = c;
        if (c === OPEN_OBJECT) {
          i = key(b, i);
          if (i < 0) return false;
        }
        continue;
      }
      i++;
    } else if (c === QUOTE) i = string(b, i);
    else if (c === 0x74) i = literal(b, i, TRUE);
    else if (c === 0x66) i = literal(b, i, FALSE);
    else if (c === 0x6e) i = literal(b, i, NULL);
    else i = number(b, i);
    if (i < 0) return false;
    // After a value: close containers until a comma starts the next one.
    for (;;) {
      i = space(b, i);
      if (depth === 0) return i === n;
      const around = open[depth - 1];
      if (b[i] === COMMA) {
        i = space(b, i + 1);
        if (around === OPEN_OBJECT) i = key(b, i);
        if (i < 0) return false;
        break;
      }
      if (b[i] !== (around === OPEN_OBJECT ? CLOSE_OBJECT : CLOSE_ARRAY)) return false;
      depth--;
      i++;
    }
  }
}

function space(b: Uint8Array, i: number): number {
  while (i < b.length) {
    const c = b[i];
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
    i++;
  }
  return i;
}

/** A member's name and colon at i: the index of its value, or -1. */
function key(b: Uint8Array, i: number): number {
  if (b[i] !== QUOTE) return -1;
  const end = string(b, i);
  if (end < 0) return -1;
  const colon = space(b, end);
  return b[colon] === COLON ? space(b, colon + 1) : -1;
}

/** A string at i (its opening quote): the index after it, or -1. */
function string(b: Uint8Array, i: number): number {
  const n = b.length;
  i++;
  while (i < n) {
    const c = b[i] as number;
    if (c === QUOTE) return i + 1;
    if (c < 0x20) return -1;
    if (c === BACKSLASH) {
      const e = b[i + 1];
      if (e === 0x75) {
        for (let k = i + 2; k < i + 6; k++) if (!isHex(b[k])) return -1;
        i += 6;
      } else if (e !== undefined && ESCAPED.has(e)) i += 2;
      else return -1;
    } else i++;
  }
  return -1;
}

function isHex(c: number | undefined): boolean {
  return (
    c !== undefined && ((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66))
  );
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

function literal(b: Uint8Array, i: number, word: number[]): number {
  for (let k = 0; k < word.length; k++) if (b[i + k] !== word[k]) return -1;
  return i + word.length;
}

/** A number at i: the index after it, or -1. */
function number(b: Uint8Array, i: number): number {
  if (b[i] === MINUS) i++;
  if (b[i] === 0x30) i++;
  else if (isDigit(b[i])) while (isDigit(b[i])) i++;
  else return -1;
  if (b[i] === DOT) {
    i++;
    if (!isDigit(b[i])) return -1;
    while (isDigit(b[i])) i++;
  }
  if (b[i] === 0x65 || b[i] === 0x45) {
    i++;
    if (b[i] === PLUS || b[i] === MINUS) i++;
    if (!isDigit(b[i])) return -1;
    while (isDigit(b[i])) i++;
  }
  return i;
}
