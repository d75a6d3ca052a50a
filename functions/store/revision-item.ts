import { FORM_STATUSES, type FormStatus } from "../engine/definition.ts";
import type { ErrorMarkAction } from "../engine/entered-in-error.ts";
import type { MissingData } from "../engine/missing-codes.ts";
import type { FieldChange, InstanceState } from "../engine/revision.ts";
import type { FieldWarning } from "../engine/soft-checks.ts";
import {
  type Item,
  isMap,
  MalformedItemError,
  maybeBoolean,
  maybeString,
  oneOf,
  requiredList,
  requiredMap,
  requiredNumber,
  requiredString,
} from "./item-fields.ts";
import { keys } from "./keys.ts";
import { TABLE } from "./table-shape.ts";

export interface InstanceAddress {
  study: string;
  subject: string;
  event: string;
  form: string;
  instance: number;
}

/**
 * One immutable revision of a form instance: the commit, the audit entry and
 * the full new values in one item.
 */
export interface Revision extends InstanceAddress, InstanceState {
  site: string;
  statusFrom: FormStatus | null;
  changes: FieldChange[];
  /** What the revision did besides a data save (absent: a save). */
  action?: ErrorMarkAction;
  /**
   * Its place in the instance's hash chain (see revision-seal.ts): the hash it
   * links to, its own hash, and the MAC over its rev and hash. Absent on
   * revisions saved before chaining, and on lean reads of projections.
   */
  previousHash?: string;
  hash?: string;
  mac?: string;
}

const ACTIONS: readonly ErrorMarkAction[] = ["entered-in-error", "restore"];
const CHAIN_FIELDS = ["previousHash", "hash", "mac"] as const;

/** The revision item: its own key, and its place in the study's change feed. */
export function revisionItem(r: Revision): Item {
  return {
    PK: keys.subjectPartition(r.study, r.subject),
    SK: keys.revision(r.event, r.form, r.instance, r.rev),
    type: "revision",
    ...r,
    [TABLE.indexes.feed.partitionKey]: keys.feed(r.study),
    [TABLE.indexes.feed.sortKey]: keys.feedEntry(
      r.committedAt,
      keys.subjectPartition(r.study, r.subject),
      keys.revision(r.event, r.form, r.instance, r.rev),
    ),
  };
}

/** The current-state projection of an instance: the revision it was moved to, under the instance's key. */
export function projectionItem(r: Revision): Item {
  return {
    PK: keys.subjectPartition(r.study, r.subject),
    SK: keys.data(r.event, r.form, r.instance),
    type: "current",
    ...r,
  };
}

/**
 * The decoder of revision items and of projections (which carry the same
 * attributes). Read in the thousands by the feed and the exports, so it checks
 * each attribute's type once and copies nothing it does not return.
 */
export function toRevision(item: Item): Revision {
  const revision: Revision = {
    study: requiredString(item, "study"),
    subject: requiredString(item, "subject"),
    site: requiredString(item, "site"),
    event: requiredString(item, "event"),
    form: requiredString(item, "form"),
    instance: requiredNumber(item, "instance"),
    rev: requiredNumber(item, "rev"),
    status: oneOf(item, "status", FORM_STATUSES),
    statusFrom: item.statusFrom === null ? null : oneOf(item, "statusFrom", FORM_STATUSES),
    data: requiredMap(item, "data"),
    changes: toChanges(item),
    definitionVersion: requiredNumber(item, "definitionVersion"),
    committedAt: requiredString(item, "committedAt"),
    committedBy: requiredString(item, "committedBy"),
  };
  const reason = maybeString(item, "reason");
  if (reason !== undefined) revision.reason = reason;
  const enteredInError = maybeBoolean(item, "enteredInError");
  if (enteredInError !== undefined) revision.enteredInError = enteredInError;
  if (item.action !== undefined) revision.action = oneOf(item, "action", ACTIONS);
  if (item.missing !== undefined) revision.missing = toMissing(item);
  if (item.confirmedWarnings !== undefined) revision.confirmedWarnings = toWarnings(item);
  for (const field of CHAIN_FIELDS) {
    const value = maybeString(item, field);
    if (value !== undefined) revision[field] = value;
  }
  return revision;
}

function toMissing(item: Item): MissingData {
  const map = requiredMap(item, "missing");
  const out: MissingData = {};
  for (const [field, entry] of Object.entries(map)) {
    if (!isMap(entry) || typeof entry.code !== "string" || typeof entry.reason !== "string")
      throw new MalformedItemError(item, `missing.${field}`, "a missing-data code and reason");
    out[field] = { code: entry.code, reason: entry.reason };
  }
  return out;
}

function toWarnings(item: Item): FieldWarning[] {
  return requiredList(item, "confirmedWarnings").map((w, i) => {
    if (
      !isMap(w) ||
      typeof w.pointer !== "string" ||
      typeof w.rule !== "string" ||
      typeof w.message !== "string"
    )
      throw new MalformedItemError(item, `confirmedWarnings[${i}]`, "a confirmed warning");
    return { pointer: w.pointer, rule: w.rule, message: w.message };
  });
}

function toChanges(item: Item): FieldChange[] {
  const list = requiredList(item, "changes");
  const changes: FieldChange[] = new Array(list.length);
  for (let i = 0; i < list.length; i++) {
    const c = list[i];
    if (!isMap(c) || typeof c.field !== "string")
      throw new MalformedItemError(item, `changes[${i}]`, "a change");
    const change: FieldChange = { field: c.field, old: c.old, new: c.new };
    if (c.oldCode !== undefined || c.newCode !== undefined) {
      change.oldCode = codeOrNull(c.oldCode);
      change.newCode = codeOrNull(c.newCode);
    }
    changes[i] = change;
  }
  return changes;
}

const codeOrNull = (v: unknown): string | null => (typeof v === "string" ? v : null);

/** A revision as the change feed lists it: with its place in the feed (the next pull's cursor). */
export interface FeedEntry {
  position: string;
  revision: Revision;
}

export function toFeedEntry(item: Item): FeedEntry {
  return { position: requiredString(item, TABLE.indexes.feed.sortKey), revision: toRevision(item) };
}
