import { eventValues, latestValues } from "../engine/casebook.ts";
import type { FormData, FormStatus, StudyDefinition } from "../engine/definition.ts";
import { eventNeighbours } from "../engine/event-neighbours.ts";
import { type ActiveLock, lockOn, lockState } from "../engine/locks.ts";
import { normaliseMissing } from "../engine/missing-codes.ts";
import type { ReviewEntry } from "../engine/review.ts";
import { decideRevision, type FieldChange, type InstanceState } from "../engine/revision.ts";
import { cachedSaveReads } from "../engine/save-reads.ts";
import { type Deviation, dayOneOf, scheduleDateFields, visitDeviations } from "../engine/schedule.ts";
import { type FieldWarning, unconfirmed, type WarningConfirmation } from "../engine/soft-checks.ts";
import { type FieldError, pointer, prepareForm, retiredValues } from "../engine/validate-form.ts";
import { takeStamp } from "./commit-window.ts";
import type { Db } from "./dynamo.ts";
import { itemKey } from "./dynamo.ts";
import {
  commitAndProject,
  type InstanceAddress,
  projectRevision,
  type Revision,
  readLatestRevision,
  readProjectionsAndItems,
} from "./form-instances.ts";
import { type LockMark, lockStateKey, marksLeaveFree, repairLockState, toLockMarks } from "./lock-state.ts";
import type { MacKey } from "./mac-key.ts";
import { readReviewLog } from "./review-log.ts";
import type { Subject } from "./subjects.ts";
import { openWarningQueries } from "./warning-queries.ts";

export interface SaveRequest {
  definition: StudyDefinition;
  subject: Subject;
  event: string;
  form: string;
  instance: number;
  data: FormData;
  status: FormStatus;
  /** The revision the editor started from (0 for a new instance). */
  rev: number;
  reason?: string;
  /** Calculated fields to compute again from current data; others keep their stored value (engine `StoredForm`). */
  recalculate?: string[];
  actor: string;
  /** The person saving, when a person acts: the queries confirmed warnings open carry it. */
  person?: string;
  /** Fields holding a missing-data code instead of a value, each with a reason. */
  missing?: Record<string, { code?: string; reason?: string }>;
  /** The soft-check warnings the person confirms: all (`true`) or the fields' pointers. */
  confirmWarnings?: WarningConfirmation;
  now?: Date;
  /**
   * The subject's current states and the instance's latest revision, when the
   * caller read them in this request already (the form page does, to draw
   * itself): the save then reads nothing before its commit. A write since that
   * read still loses nothing: the commit is conditional on the next revision
   * not existing, and answers stale otherwise. `current` must be the revision
   * item as stored (`readLatestRevision`), chain fields included: the new
   * revision is chained to its hash. `reviews` are the subject's and the
   * study's review logs (for their locks).
   */
  read?: BeforeSave;
}

/** What a save reads before it commits, or is handed over. */
export interface BeforeSave {
  projections: Revision[];
  current: Revision | undefined;
  /**
   * Where `current` was read: the log (or a caller, which reads the log), or
   * the instance's projection, which trails the log when a writer died
   * between its commit and its projection. A commit from a trailing one loses
   * its conditional put; anything else the save answers from it is confirmed
   * by the log first.
   */
  currentFrom?: "log" | "projection";
  /** The review logs, when read (a caller's); else the lock state items (lock-state.ts), undefined where missing. */
  reviews?: Reviews;
  marks?: { subject: LockMark[] | undefined; study: LockMark[] | undefined };
}

/** The subject's review log and the study's (the freeze), as a save and the form page read them. */
export interface Reviews {
  subject: ReviewEntry[];
  study: ReviewEntry[];
}

/** What holds an instance when a save or a mark is refused: the study's freeze or the widest lock. */
export interface LockHeld {
  scope: "study" | "subject" | "visit" | "form";
  lock: ActiveLock;
}

/** The lock that refuses a change to this instance, if any. */
export function lockHolding(reviews: Reviews, address: { event: string; form: string; instance: number }) {
  return lockOn(lockState(reviews.subject, reviews.study), {
    event: address.event,
    form: address.form,
    instance: address.instance,
  });
}

/** Both review logs at once, so a caller can read them in parallel with its own reads. */
export async function readReviews(db: Db, study: string, subject: string): Promise<Reviews> {
  const [own, studyLog] = await Promise.all([readReviewLog(db, study, subject), readReviewLog(db, study)]);
  return { subject: own, study: studyLog };
}

/** What a save would store, from a check that commits nothing (an import's first pass). */
export interface WouldSave {
  kind: "would-save";
  changes: FieldChange[];
  warnings: FieldWarning[];
}

export type SaveResult =
  | { kind: "saved"; state: Revision; changes: FieldChange[]; deviations: Deviation[] }
  | { kind: "unchanged"; state: InstanceState; deviations: Deviation[] }
  | { kind: "invalid"; errors: FieldError[] }
  | { kind: "unconfirmed-warnings"; warnings: FieldWarning[] }
  | { kind: "reason-required" }
  | { kind: "entered-in-error" }
  | ({ kind: "locked" } & LockHeld)
  | { kind: "stale"; current: Revision | undefined };

const saveReadsOf = cachedSaveReads();

/**
 * Everything a save reads before its commit, at once and mostly in one call
 * (one BatchGetItem): the current states its form's logic and day one refer
 * to (nothing else, so the reads do not grow with the casebook), the
 * instance's own projection (its chain head: rev, hash, MAC), and the lock
 * state items of the subject's and the study's review logs. A form read whole
 * at an event, or `$latest`, adds a Query at the same time.
 * A caller may start it before it has authorized the request, as long as it
 * authorizes before it hands the result to the save.
 */
export async function readBeforeSave(
  db: Db,
  definition: StudyDefinition,
  address: InstanceAddress,
): Promise<BeforeSave> {
  const subjectLocks = lockStateKey(address.study, address.subject);
  const studyLocks = lockStateKey(address.study);
  const { projections, own, items } = await readProjectionsAndItems(
    db,
    address,
    saveReadsOf(definition, address.form),
    [subjectLocks, studyLocks],
  );
  return {
    projections,
    current: own,
    currentFrom: "projection",
    marks: {
      subject: toLockMarks(items.get(itemKey(subjectLocks))),
      study: toLockMarks(items.get(itemKey(studyLocks))),
    },
  };
}

/**
 * What the caller handed over, unless its latest revision lacks the chain
 * fields (a lean read, a projection or a revision saved before chaining):
 * that one is read from the log, so the new revision never starts a fresh
 * chain by mistake.
 */
async function handedOverOrRead(
  db: Db,
  definition: StudyDefinition,
  address: InstanceAddress,
  handed: SaveRequest["read"],
): Promise<BeforeSave> {
  const read = handed ?? (await readBeforeSave(db, definition, address));
  if (read.current && read.current.hash === undefined)
    return { ...read, current: await readLatestRevision(db, address), currentFrom: "log" };
  return read;
}

/**
 * The lock or freeze that holds the instance, if any. The state items answer
 * alone when they show it free; otherwise the logs, read after the items,
 * decide. When they let the save through, `bringInLine` writes the items as
 * the logs have them (a mark left by a crash cleared, a missing item
 * written): the caller runs it only once the save is stored, so a refused
 * save or a check writes nothing.
 */
async function lockHeldOn(
  db: Db,
  address: InstanceAddress,
  read: BeforeSave,
): Promise<{ held: LockHeld } | { held: undefined; bringInLine?: () => Promise<unknown> }> {
  if (read.reviews) {
    const held = lockHolding(read.reviews, address);
    return held ? { held } : { held: undefined };
  }
  const marks = read.marks ?? { subject: undefined, study: undefined };
  if (marksLeaveFree(marks.subject, marks.study, address)) return { held: undefined };
  const reviews = await readReviews(db, address.study, address.subject);
  const held = lockHolding(reviews, address);
  if (held) return { held };
  return {
    held: undefined,
    bringInLine: () =>
      Promise.all([
        repairLockState(db, lockStateKey(address.study, address.subject), marks.subject, reviews.subject),
        repairLockState(db, lockStateKey(address.study), marks.study, reviews.study),
      ]),
  };
}

/**
 * Saves one form instance. Store calls, in order: read the subject's current
 * states its logic refers to (`readBeforeSave`: `$events` and day 1 one Query
 * each, `$latest` all states), the instance's latest revision and the
 * subject's and the study's review logs (for locks and the freeze), all at
 * once, unless the caller hands them over (`read`); commit the next revision
 * (the audit entry); move the projection. A process that dies after the
 * commit leaves a projection that readers repair.
 */
export async function saveFormInstance(db: Db, macKey: MacKey, req: SaveRequest): Promise<SaveResult> {
  const result = await saveOrCheck(db, macKey, req, false);
  if (result.kind === "would-save") throw new Error("a save that was not a check answered as one");
  return result;
}

/** Every step of a save but the commit: what `saveFormInstance` would answer, or what it would store. */
export function checkFormInstance(db: Db, macKey: MacKey, req: SaveRequest): Promise<SaveResult | WouldSave> {
  return saveOrCheck(db, macKey, req, true);
}

async function saveOrCheck(
  db: Db,
  macKey: MacKey,
  req: SaveRequest,
  dryRun: boolean,
): Promise<SaveResult | WouldSave> {
  const { definition, subject, event, form, instance } = req;
  const address = { study: subject.study, subject: subject.id, event, form, instance };
  const read = await handedOverOrRead(db, definition, address, req.read);
  // Refused before anything else: a locked instance takes no value, valid or not.
  const locks = await lockHeldOn(db, address, read);
  if (locks.held) return { kind: "locked", ...locks.held };
  const result = await decideConfirmed(db, macKey, req, read, dryRun);
  if (result.kind === "saved") await locks.bringInLine?.();
  return result;
}

/**
 * `decideAndCommit`, confirmed by the log when it answered from the
 * projection: a commit from a trailing projection lost its conditional put
 * (answered from the log); anything else answered from the projection
 * (unchanged, stale, a refusal) holds only if the log agrees.
 */
async function decideConfirmed(
  db: Db,
  macKey: MacKey,
  req: SaveRequest,
  read: BeforeSave,
  dryRun: boolean,
): Promise<SaveResult | WouldSave> {
  const decided = await decideAndCommit(db, macKey, req, read, dryRun);
  if (read.currentFrom !== "projection" || decided.fromLog) return decided.result;
  const { result } = decided;
  if (result.kind === "saved" || result.kind === "would-save") return result;
  const { subject, event, form, instance } = req;
  const address = { study: subject.study, subject: subject.id, event, form, instance };
  const latest = await readLatestRevision(db, address);
  if ((latest?.rev ?? 0) === (read.current?.rev ?? 0)) return result;
  if (latest) await projectRevision(db, latest);
  return (await decideAndCommit(db, macKey, req, { ...read, current: latest, currentFrom: "log" }, dryRun))
    .result;
}

/** The save's decision from what was read, and its commit; `fromLog` when the answer came from the log. */
async function decideAndCommit(
  db: Db,
  macKey: MacKey,
  req: SaveRequest,
  { projections, current }: BeforeSave,
  dryRun: boolean,
): Promise<{ result: SaveResult | WouldSave; fromLog?: true }> {
  const { definition, subject, event, form, instance } = req;
  const address = { study: subject.study, subject: subject.id, event, form, instance };
  if (req.rev !== (current?.rev ?? 0)) return { result: { kind: "stale", current } };
  // Refused before validation: whatever the values, nothing is stored (decideRevision says the same).
  if (current?.enteredInError) return { result: { kind: "entered-in-error" } };

  const instrument = definition.instruments[form];
  if (!instrument) throw new Error(`unknown form ${form}: resolve the slot before saving`);
  const others = projections.filter(
    (p) => !(p.event === event && p.form === form && p.instance === instance),
  );
  const stamp = takeStamp(req.now);
  const committedAt = stamp.at;
  const context = {
    $event: event,
    $arm: subject.arm,
    $latest: latestValues(others),
    $events: eventValues(others),
    $studyStart: definition.study.startDate,
    // The revision's committedAt is the "today" of its calculations: a stored value can be explained later.
    $now: committedAt,
    $instance: instance,
    ...eventNeighbours(definition.study, subject.arm, event),
  };
  // Values of fields a later protocol version removed are kept as they are, never dropped or edited.
  const retired = retiredValues(instrument, current?.data ?? {});
  const submitted = { ...req.data };
  const retiredErrors: FieldError[] = [];
  for (const [field, value] of Object.entries(retired)) {
    if (!Object.hasOwn(submitted, field)) continue;
    if (JSON.stringify(submitted[field]) !== JSON.stringify(value)) {
      retiredErrors.push({
        pointer: pointer(field),
        code: "retired-field",
        message: "was retired by a protocol change; its stored value is kept and cannot change",
      });
    }
    delete submitted[field];
  }
  const stored = current ? { data: current.data, recalculate: req.recalculate } : undefined;
  const prepared = prepareForm(instrument, submitted, req.status, context, stored, {
    missing: normaliseMissing(req.missing),
    declared: definition.study.missingCodes ?? [],
  });
  const errors = [...retiredErrors, ...prepared.errors];
  if (errors.length > 0) return { result: { kind: "invalid", errors } };
  // Nothing is written until every new warning is confirmed: the answer lists them to confirm.
  const open = unconfirmed(prepared.warnings, req.confirmWarnings);
  if (open.length > 0) return { result: { kind: "unconfirmed-warnings", warnings: open } };
  prepared.data = { ...prepared.data, ...retired };

  const deviationsFor = (data: FormData) =>
    visitDeviations(definition, dayOneOf(definition, [...others, { event, form, instance, data }]), {
      event,
      form,
      instance,
      data,
    });
  const decision = decideRevision({
    current,
    baseRev: req.rev,
    status: req.status,
    data: prepared.data,
    reason: req.reason,
    fields: Object.keys(instrument.properties),
    missing: prepared.missing,
  });
  switch (decision.kind) {
    case "stale":
      return { result: { kind: "stale", current } };
    case "reason-required":
    case "entered-in-error":
      return { result: decision };
    case "unchanged":
      return {
        result: {
          kind: "unchanged",
          state: decision.current,
          deviations: deviationsFor(decision.current.data),
        },
      };
    case "commit": {
      if (dryRun)
        return { result: { kind: "would-save", changes: decision.changes, warnings: prepared.warnings } };
      const revision: Revision = {
        ...address,
        site: subject.site,
        rev: decision.rev,
        status: req.status,
        statusFrom: decision.statusFrom,
        data: prepared.data,
        changes: decision.changes,
        definitionVersion: definition.version,
        committedAt,
        committedBy: req.actor,
        ...(req.reason?.trim() ? { reason: req.reason.trim() } : {}),
        ...(Object.keys(prepared.missing).length > 0 ? { missing: prepared.missing } : {}),
        ...(prepared.warnings.length > 0 ? { confirmedWarnings: prepared.warnings } : {}),
      };
      const outcome = await commitAndProject(
        db,
        macKey,
        stamp,
        revision,
        current,
        scheduleDateFields(definition),
      );
      if (outcome.kind === "stale") return { result: outcome, fromLog: true };
      // The crash window: a process dying here leaves a revision whose confirmed warnings have no
      // query yet. The query ids come from the revision, so the next save of this instance (below,
      // for the revision it builds on) or `repairWarningQueries` opens exactly the missing ones.
      if (current?.confirmedWarnings?.length) await openWarningQueries(db, macKey, current);
      await openWarningQueries(db, macKey, outcome.revision, req.person);
      return {
        result: {
          kind: "saved",
          state: outcome.revision,
          changes: decision.changes,
          deviations: deviationsFor(prepared.data),
        },
      };
    }
  }
}
