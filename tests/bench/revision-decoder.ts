/**
 * What the revision decoder costs: `node --import tsx tests/bench/revision-decoder.ts [-- --rounds=21]`.
 *
 * Decodes 10,000 revision items (20 data fields, 5 changes each, as the
 * change feed and the ODM audit export read them) with `toRevision`, and
 * "without": what the store did before decoders, dropping the table's own
 * attributes and casting the rest. Rounds alternate which goes first; prints
 * the medians per 10,000 items. Not part of `npm test`.
 */
import { performance } from "node:perf_hooks";
import { type Revision, revisionItem, toRevision } from "../../functions/store/revision-item.ts";
import { TABLE } from "../../functions/store/table-shape.ts";

const ITEMS = 10_000;
const rounds = Number(process.argv.find((a) => a.startsWith("--rounds="))?.split("=")[1] ?? 21);

const items = Array.from({ length: ITEMS }, (_, i) => {
  const data = Object.fromEntries(Array.from({ length: 20 }, (_, f) => [`field_${f}`, f % 3 ? `v${i}` : i]));
  const r: Revision = {
    study: "demo",
    subject: `S01-${String(i % 500).padStart(3, "0")}`,
    site: "S01",
    event: "baseline",
    form: "vitals",
    instance: 1,
    rev: 1 + (i % 7),
    status: "complete",
    statusFrom: "incomplete",
    data,
    changes: Array.from({ length: 5 }, (_, c) => ({
      field: `field_${c}`,
      old: null,
      new: data[`field_${c}`],
    })),
    definitionVersion: 3,
    committedAt: new Date(1_700_000_000_000 + i * 1000).toISOString(),
    committedBy: "alice",
    ...(i % 4 === 0 ? { reason: "corrected" } : {}),
  };
  // Through JSON, as the SDK hands items over: fresh objects, no shared shapes with the writer.
  return JSON.parse(JSON.stringify(revisionItem(r)));
});

/** The store's read before decoders. */
function castRevision(item: Record<string, unknown>): Revision {
  const {
    PK: _pk,
    SK: _sk,
    type: _type,
    [TABLE.indexes.feed.partitionKey]: _fpk,
    [TABLE.indexes.feed.sortKey]: _fsk,
    ...rest
  } = item;
  return rest as unknown as Revision;
}

let sink = 0;
function time(decode: (item: Record<string, unknown>) => Revision): number {
  const start = performance.now();
  for (const item of items) sink += decode(item).rev;
  return performance.now() - start;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
};

for (let i = 0; i < 3; i++) time(toRevision) + time(castRevision); // warm-up
const withDecoder: number[] = [];
const without: number[] = [];
for (let i = 0; i < rounds; i++) {
  if (i % 2 === 0) {
    withDecoder.push(time(toRevision));
    without.push(time(castRevision));
  } else {
    without.push(time(castRevision));
    withDecoder.push(time(toRevision));
  }
}
const [a, b] = [median(withDecoder), median(without)];
const sign = (x: number) => (x >= 0 ? "+" : "");
console.log(
  `${ITEMS} revision items, ${rounds} rounds (medians): decoder ${a.toFixed(2)} ms, cast ${b.toFixed(2)} ms, ` +
    `difference ${sign(a - b)}${(a - b).toFixed(2)} ms (${sign(a - b)}${((a / b - 1) * 100).toFixed(0)}%, ` +
    `${sign(a - b)}${(((a - b) / ITEMS) * 1000).toFixed(3)} µs per item) [${sink > 0 ? "ok" : "?"}]`,
);
