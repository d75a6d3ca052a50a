import type { StudyDefinition } from "../engine/definition.ts";
import type { ReviewEntry, SubjectStatus } from "../engine/review.ts";
import { type Progress, sdvFields, subjectProgress } from "../engine/sdv.ts";
import { isClosedStatus } from "../engine/subject-status.ts";
import type { Revision } from "../store/form-instances.ts";
import type { Store } from "../store/store.ts";
import type { Subject } from "../store/subjects.ts";
import { type CasebookView, casebookView, casebookViewFields } from "./casebook-view.ts";
import type { DashboardRow } from "./dashboard-query.ts";

/**
 * The dashboard's view of each casebook, kept between requests in this
 * process, so a page costs the subject list, one read of the change feed and
 * the casebooks that changed, not every casebook of the study.
 *
 * What was read stays true until the feed (GSI2, every revision ever
 * committed) says otherwise: each request reads the feed from a checkpoint
 * and forgets the subjects it names. The checkpoint trails the clock by the
 * feed's settle window and the window is read again every time, because a
 * commit can appear in the index a little after its timestamp (the change
 * feed's own rule). Casebooks are read with `readCurrentState` (the log's
 * truth, projections repaired), lean: statuses, day one and visit dates only.
 */

interface Entry {
  instances: Revision[];
  view?: { key: string; view: CasebookView };
  /** Source data verification progress, for those who see it (see `withSdv`), per definition version. */
  sdv?: { version: number; progress: Progress };
}

interface StudyCache {
  /** The lean read's field list: a definition that needs other fields starts afresh. */
  fields: string;
  /** Feed position (an ISO time) from which the next request looks for changes. */
  checkpoint: string;
  /** Start times of requests still reading: the checkpoint must not pass them (see `dashboardRows`). */
  running: Set<number>;
  subjects: Map<string, Entry>;
}

/** Per store (tests run several products in one process), per study. */
const caches = new WeakMap<object, Map<string, StudyCache>>();
/** Past this, a study's cache starts again (bounds memory: ~1–2 KB a subject). */
const MAX_SUBJECTS = 100_000;
const FEED_PAGE = 500;

export async function dashboardRows(
  store: Store,
  definition: StudyDefinition,
  subjects: Subject[],
  options: {
    today: string;
    settleMs: number;
    readsInFlight: number;
    now?: () => number;
    /** Each subject's recorded status (readSiteStatusEntries, read fresh per request): a closed one has no overdue visits. */
    statuses?: ReadonlyMap<string, SubjectStatus>;
    /** Add each subject's verification progress (the monitor's dashboard). */
    sdv?: boolean;
  },
): Promise<DashboardRow[]> {
  const now = options.now ?? Date.now;
  const study = definition.study.id;
  // Progress folds the values the study verifies: those who see it read them too, in a cache of their own
  // (so a process serving both kinds of dashboard does not start afresh at every turn).
  const fieldList = options.sdv
    ? [...new Set([...casebookViewFields(definition), ...sdvFields(definition)])]
    : casebookViewFields(definition);
  const fields = fieldList.join("\n");
  const cacheKey = `${study}${options.sdv ? "\nsdv" : ""}`;
  const started = now();
  const perStore = caches.get(store) ?? new Map<string, StudyCache>();
  caches.set(store, perStore);
  let cache = perStore.get(cacheKey);
  const fresh = !cache || cache.fields !== fields || cache.subjects.size > MAX_SUBJECTS;
  if (!cache || fresh) {
    cache = {
      fields,
      checkpoint: new Date(started - options.settleMs).toISOString(),
      running: new Set(),
      subjects: new Map(),
    };
    perStore.set(cacheKey, cache);
  }
  const current = cache;
  current.running.add(started);
  try {
    if (!fresh)
      await forgetChanged(store, study, current, new Date(started + options.settleMs).toISOString());
    const known = current.subjects;
    const missing = subjects.filter((s) => !known.has(s.id));
    const { version } = definition;
    // Review logs are read beside the casebooks, not after them: a cold page waits for the slower of the two.
    const [, logs] = await Promise.all([
      (async () => {
        for await (const { subject, instances } of store.casebooks(study, missing, {
          ahead: options.readsInFlight,
          dataFields: fieldList,
        }))
          known.set(subject.id, { instances });
      })(),
      options.sdv
        ? readReviewLogs(
            store,
            study,
            subjects.filter((s) => known.get(s.id)?.sdv?.version !== version),
            options.readsInFlight,
          )
        : new Map<string, ReviewEntry[]>(),
    ]);
    for (const [id, log] of logs) {
      const entry = known.get(id);
      if (entry) entry.sdv = { version, progress: subjectProgress(definition, entry.instances, log) };
    }
    return subjects.map((subject) => {
      const entry = known.get(subject.id) as Entry;
      const status = options.statuses?.get(subject.id);
      const closed = isClosedStatus(status);
      const viewKey = `${definition.version}|${options.today}|${closed}`;
      if (entry.view?.key !== viewKey)
        entry.view = {
          key: viewKey,
          view: casebookView(definition, subject.arm, entry.instances, options.today, { closed }),
        };
      return {
        subject,
        view: entry.view.view,
        ...(status ? { status } : {}),
        ...(entry.sdv ? { sdv: entry.sdv.progress } : {}),
      };
    });
  } finally {
    // A change committed while a request was reading may have been forgotten by another request before
    // this one stored its (older) read: the next request must read the feed from before any such read began.
    current.running.delete(started);
    const oldest = Math.min(started, ...current.running);
    current.checkpoint = new Date(oldest - options.settleMs).toISOString();
  }
}

/**
 * Forgets the subjects of every commit stamped from the checkpoint up to `until` (now plus the settle
 * window: commits are stamped by our servers' clocks, whose skew the window covers like the feed's).
 */
async function forgetChanged(store: Store, study: string, cache: StudyCache, until: string): Promise<void> {
  let cursor = cache.checkpoint;
  for (;;) {
    const page = await store.readFeed(study, { cursor, settledBefore: until, limit: FEED_PAGE });
    for (const change of page.changes) {
      // A study-wide entry (a freeze) concerns every subject.
      if (change.subject === undefined) cache.subjects.clear();
      else cache.subjects.delete(change.subject);
    }
    if (page.changes.length < FEED_PAGE) return;
    cursor = page.cursor;
  }
}

/**
 * The review logs of these subjects, a few at a time, for their verification
 * progress. The progress is kept with the view, so it is forgotten with it
 * when the feed names the subject: a save, and a verification too (review
 * entries are in the feed).
 */
async function readReviewLogs(
  store: Store,
  study: string,
  subjects: Subject[],
  inFlight: number,
): Promise<Map<string, ReviewEntry[]>> {
  const logs = new Map<string, ReviewEntry[]>();
  for (let i = 0; i < subjects.length; i += inFlight) {
    await Promise.all(
      subjects.slice(i, i + inFlight).map(async (subject) => {
        logs.set(subject.id, await store.readReviewLog(study, subject.id));
      }),
    );
  }
  return logs;
}
