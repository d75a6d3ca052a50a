import { createHash } from "node:crypto";
import { canonicalJson } from "./canonical-json.ts";
import type { FormData, Instrument, SdvMode, StudyDefinition } from "./definition.ts";
import type { CoveredRevision, ReviewEntry, ReviewTarget } from "./review.ts";
import { within } from "./review.ts";

/**
 * Source data verification, folded from the subject's review log and the
 * current states of its form instances. A `verify` entry records, for every
 * field it vouches for, a hash of the value it saw; a mark holds while the
 * current value hashes the same. A later save that changes the value clears
 * it: that revision (itself audited) says who changed it and when. Nothing
 * is written when a mark clears, and no old revision is read to know it.
 *
 * Server-only (node:crypto), like audit-chain.ts.
 */

export type SdvStatus = "not-required" | "to-verify" | "verified" | "needs-reverification";

/** The current state of one form instance, as the projections hold it. */
export interface InstanceNow {
  event: string;
  form: string;
  instance: number;
  rev: number;
  hash?: string;
  data: FormData;
  enteredInError?: boolean;
}

/** One revision of an instance, enough to say which one changed a field. */
export interface RevisionFacts {
  rev: number;
  committedAt: string;
  committedBy: string;
  changes: { field: string }[];
}

/** The last mark a field received. */
export interface FieldMark {
  by: string;
  person?: string;
  at: string;
  /** The verify entry. */
  seq: number;
  /** The revision verified. */
  rev: number;
  valueHash?: string;
}

export interface FieldSdv {
  field: string;
  /** Whether the study requires it verified (a monitor may verify more; that counts for nothing). */
  required: boolean;
  status: SdvStatus;
  mark?: FieldMark;
  /** For a mark that no longer holds, the first revision after it that changed the field (when revisions were given). */
  changedBy?: { rev: number; at: string; by: string };
}

export interface Progress {
  /** Fields that need verification (held a value, or were verified once). */
  required: number;
  verified: number;
  /** Fields verified once whose value changed since. */
  reverify: number;
}

/** The hash a verification records for a value: SHA-256 of its canonical JSON (absent and null alike). */
export function valueHash(value: unknown): string {
  return createHash("sha256")
    .update(canonicalJson(value ?? null), "utf8")
    .digest("hex");
}

/** The study's plan for a form: its own entry, else the default; a study that says nothing verifies all. */
export function sdvModeOf(definition: StudyDefinition, form: string): SdvMode {
  const plan = definition.study.sdv;
  return plan?.forms?.[form] ?? plan?.default ?? "all";
}

/** Fields that can be checked against a source at all: not display-only, not calculated. */
export function verifiableFields(instrument: Instrument): string[] {
  return Object.entries(instrument.properties)
    .filter(([, f]) => f.type !== "null" && f["x-calc"] === undefined)
    .map(([name]) => name);
}

/** The fields of a form the study requires verified. */
export function requiredFields(definition: StudyDefinition, form: string): string[] {
  const instrument = definition.instruments[form];
  if (!instrument) return [];
  const mode = sdvModeOf(definition, form);
  if (mode === "none") return [];
  const fields = verifiableFields(instrument);
  return mode === "all"
    ? fields
    : fields.filter((f) => instrument.properties[f]?.["x-sdv-critical"] === true);
}

/** Every field name some form requires verified: what a lean read must carry to fold progress. */
export function sdvFields(definition: StudyDefinition): string[] {
  return [
    ...new Set(Object.keys(definition.instruments).flatMap((form) => requiredFields(definition, form))),
  ];
}

const instanceKey = (i: { event: string; form: string; instance: number }) =>
  `${i.event}\u0000${i.form}\u0000${i.instance}`;

/** What a verification of these instances records: each one's revision and its fields' value hashes. */
export function coverOf(instance: InstanceNow, fields: readonly string[]): CoveredRevision {
  return {
    event: instance.event,
    form: instance.form,
    instance: instance.instance,
    rev: instance.rev,
    ...(instance.hash !== undefined ? { hash: instance.hash } : {}),
    fields: [...fields],
    valueHashes: Object.fromEntries(fields.map((f) => [f, valueHash(instance.data[f])])),
  };
}

/** The latest mark of every field, by instance: later verifications replace earlier ones. */
export function fieldMarks(entries: readonly ReviewEntry[]): Map<string, Map<string, FieldMark>> {
  const marks = new Map<string, Map<string, FieldMark>>();
  for (const entry of entries) {
    if (entry.action !== "verify") continue;
    for (const cover of entry.covers) {
      const key = instanceKey(cover);
      const fields = marks.get(key) ?? new Map<string, FieldMark>();
      marks.set(key, fields);
      for (const field of cover.fields ?? []) {
        const valueHash = cover.valueHashes?.[field];
        fields.set(field, {
          by: entry.by,
          at: entry.at,
          seq: entry.seq,
          rev: cover.rev,
          ...(entry.person !== undefined ? { person: entry.person } : {}),
          ...(valueHash !== undefined ? { valueHash } : {}),
        });
      }
    }
  }
  return marks;
}

const holdsValue = (value: unknown) =>
  value !== undefined && value !== null && value !== "" && !(Array.isArray(value) && value.length === 0);

/** Whether a mark still vouches for the value now: the same value hash, or (without one) the same revision. */
function markHolds(mark: FieldMark, instance: InstanceNow, field: string): boolean {
  if (mark.valueHash !== undefined) return mark.valueHash === valueHash(instance.data[field]);
  return mark.rev === instance.rev;
}

/**
 * Every field of one instance: required or not, verified, or changed since.
 * `revisions` (the instance's, any order) name the revision that cleared a
 * mark; without them the status is the same, only `changedBy` is missing.
 */
export function instanceSdv(
  definition: StudyDefinition,
  instance: InstanceNow,
  marks: Map<string, Map<string, FieldMark>>,
  revisions: readonly RevisionFacts[] = [],
): FieldSdv[] {
  const instrument = definition.instruments[instance.form];
  if (!instrument) return [];
  const required = new Set(instance.enteredInError ? [] : requiredFields(definition, instance.form));
  const own = marks.get(instanceKey(instance));
  return Object.keys(instrument.properties).map((field): FieldSdv => {
    const mark = own?.get(field);
    if (!required.has(field)) {
      const verified = mark !== undefined && markHolds(mark, instance, field);
      return {
        field,
        required: false,
        status: verified ? "verified" : "not-required",
        ...(verified ? { mark } : {}),
      };
    }
    if (!mark)
      return {
        field,
        required: holdsValue(instance.data[field]),
        status: holdsValue(instance.data[field]) ? "to-verify" : "not-required",
      };
    // An empty field verified empty counts for nothing, as one never verified.
    if (markHolds(mark, instance, field))
      return { field, required: holdsValue(instance.data[field]), status: "verified", mark };
    const changer = [...revisions]
      .sort((a, b) => a.rev - b.rev)
      .find((r) => r.rev > mark.rev && r.changes.some((c) => c.field === field));
    return {
      field,
      required: true,
      status: "needs-reverification",
      mark,
      ...(changer
        ? { changedBy: { rev: changer.rev, at: changer.committedAt, by: changer.committedBy } }
        : {}),
    };
  });
}

/** Counts of the fields that need verification. */
export function progressOf(fields: readonly FieldSdv[]): Progress {
  const p: Progress = { required: 0, verified: 0, reverify: 0 };
  for (const f of fields) {
    if (!f.required) continue;
    p.required += 1;
    if (f.status === "verified") p.verified += 1;
    if (f.status === "needs-reverification") p.reverify += 1;
  }
  return p;
}

export function addProgress(a: Progress, b: Progress): Progress {
  return {
    required: a.required + b.required,
    verified: a.verified + b.verified,
    reverify: a.reverify + b.reverify,
  };
}

/** A form's, visit's or subject's status from its counts. */
export function statusOf(p: Progress): SdvStatus {
  if (p.required === 0) return "not-required";
  if (p.reverify > 0) return "needs-reverification";
  return p.verified === p.required ? "verified" : "to-verify";
}

/** The fields of every current instance within `target` (the whole subject for an empty target). */
export function sdvWithin(
  definition: StudyDefinition,
  instances: readonly InstanceNow[],
  entries: readonly ReviewEntry[],
  target: ReviewTarget = {},
): { instance: InstanceNow; fields: FieldSdv[] }[] {
  const marks = fieldMarks(entries);
  return instances
    .filter((i) =>
      within({ event: i.event, form: i.form, instance: i.instance }, { ...target, field: undefined }),
    )
    .map((instance) => ({
      instance,
      fields: instanceSdv(definition, instance, marks).filter(
        (f) => target.field === undefined || f.field === target.field,
      ),
    }));
}

/** A subject's progress (or a visit's, a form's): verified over required fields. */
export function subjectProgress(
  definition: StudyDefinition,
  instances: readonly InstanceNow[],
  entries: readonly ReviewEntry[],
  target: ReviewTarget = {},
): Progress {
  return sdvWithin(definition, instances, entries, target)
    .map((i) => progressOf(i.fields))
    .reduce(addProgress, { required: 0, verified: 0, reverify: 0 });
}

/**
 * What a verification of `target` records: every saved instance within it
 * (not entered in error), vouching for the one field a field target names or
 * for every verifiable field of the form. Empty when nothing there is saved.
 */
export function verificationCovers(
  definition: StudyDefinition,
  instances: readonly InstanceNow[],
  target: ReviewTarget,
): CoveredRevision[] {
  return instances
    .filter(
      (i) =>
        !i.enteredInError &&
        within({ event: i.event, form: i.form, instance: i.instance }, { ...target, field: undefined }),
    )
    .flatMap((i) => {
      const instrument = definition.instruments[i.form];
      if (!instrument) return [];
      const fields = target.field !== undefined ? [target.field] : verifiableFields(instrument);
      return fields.length > 0 ? [coverOf(i, fields)] : [];
    });
}
