import type { StudyDefinition } from "../engine/definition.ts";
import { type Progress, subjectProgress } from "../engine/sdv.ts";
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
    /** Add each subject's verification progress (the monitor's dashboard). */
    sdv?: boolean;
  },
): Promise<DashboardRow[]> {
  const now = options.now ?? Date.now;
  const study = definition.study.id;
  const fieldList = casebookViewFields(definition);
  const fields = fieldList.join("\n");
  const started = now();
  const perStore = caches.get(store) ?? new Map<string, StudyCache>();
  caches.set(store, perStore);
  let cache = perStore.get(study);
  const fresh = !cache || cache.fields !== fields || cache.subjects.size > MAX_SUBJECTS;
  if (!cache || fresh) {
    cache = {
      fields,
      checkpoint: new Date(started - options.settleMs).toISOString(),
      running: new Set(),
      subjects: new Map(),
    };
    perStore.set(study, cache);
  }
  const current = cache;
  current.running.add(started);
  try {
    if (!fresh)
      await forgetChanged(store, study, current, new Date(started + options.settleMs).toISOString());
    const known = current.subjects;
    const missing = subjects.filter((s) => !known.has(s.id));
    for await (const { subject, instances } of store.casebooks(study, missing, {
      ahead: options.readsInFlight,
      dataFields: fieldList,
    }))
      known.set(subject.id, { instances });
    if (options.sdv) await withSdv(store, definition, subjects, known, options.readsInFlight);
    const viewKey = `${definition.version}|${options.today}`;
    return subjects.map((subject) => {
      const entry = known.get(subject.id) as Entry;
      if (entry.view?.key !== viewKey)
        entry.view = {
          key: viewKey,
          view: casebookView(definition, subject.arm, entry.instances, options.today),
        };
      return { subject, view: entry.view.view, ...(entry.sdv ? { sdv: entry.sdv.progress } : {}) };
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
 * Verification progress of every subject that lacks it: its current states
 * with their values (the lean read has none to hash) and its review log, a
 * few subjects at a time. Kept with the view, so it is forgotten with it when
 * the feed names the subject: a save, and a verification too (review entries
 * are in the feed).
 */
async function withSdv(
  store: Store,
  definition: StudyDefinition,
  subjects: Subject[],
  known: Map<string, Entry>,
  inFlight: number,
): Promise<void> {
  const { version } = definition;
  const missing = subjects.filter((s) => known.get(s.id)?.sdv?.version !== version);
  for (let i = 0; i < missing.length; i += inFlight) {
    await Promise.all(
      missing.slice(i, i + inFlight).map(async (subject) => {
        const [instances, log] = await Promise.all([
          store.readProjections(definition.study.id, subject.id),
          store.readReviewLog(definition.study.id, subject.id),
        ]);
        const entry = known.get(subject.id);
        if (entry) entry.sdv = { version, progress: subjectProgress(definition, instances, log) };
      }),
    );
  }
}
