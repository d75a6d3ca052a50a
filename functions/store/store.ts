import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { StudyDefinition } from "../engine/definition.ts";
import type { ReviewEntry } from "../engine/review.ts";
import {
  type AccessEvent,
  type AccessLogQuery,
  type AccessOrigin,
  appendAccessLog,
  readAccessLog,
} from "./access-log.ts";
import { createDefinitionReader, listDefinitions } from "./definitions.ts";
import { createClients, type Db } from "./dynamo.ts";
import type { ExportJob, ExportJobStep, NewExportJob } from "./export-jobs.ts";
import type { DayOutcome, ExportSchedule, ExportScheduleDefinition } from "./export-schedules.ts";
import { casebooks, exportSalt, findExportSalt, readFeed, subjectPage } from "./exports.ts";
import {
  type InstanceAddress,
  readCasebook,
  readCurrentState,
  readLatestRevision,
  readProjections,
  readRevisions,
} from "./form-instances.ts";
import {
  claimImportJob,
  createImportJob,
  deleteImportChunks,
  getImportJob,
  type ImportJob,
  type JobStep,
  listImportJobs,
  type NewImportJob,
  notePlanned,
  readImportChunk,
  stepImportJob,
} from "./import-jobs.ts";
import { keyCache } from "./key-cache.ts";
import type { MacKey } from "./mac-key.ts";
import { type ErrorMarkRequest, markEnteredInError } from "./mark-entered-in-error.ts";
import {
  findGrant,
  findPerson,
  findPersonByHandle,
  type GrantRequest,
  grantsOfPerson,
  listGrants,
  listPeople,
  revokeGrant,
  setGrant,
  upsertPerson,
} from "./people.ts";
import type { advanceProjectionWatermark } from "./projection-watermark.ts";
import type { PublishRequest } from "./publish.ts";
import {
  type OpenQueryRequest,
  openQuery,
  readSiteQueries,
  readSubjectQueries,
  type TransitionRequest,
  transitionQuery,
} from "./queries.ts";
import {
  appendDecided,
  appendReview,
  type ReviewRequest,
  readReviewLog,
  readSiteStatusEntries,
} from "./review-log.ts";
import {
  checkFormInstance,
  readBeforeSave,
  readReviews,
  type SaveRequest,
  saveFormInstance,
} from "./save-form-instance.ts";
import {
  allowSigning,
  endSession,
  readSession,
  type StoredSession,
  startSession,
  takeSigning,
  touchSession,
} from "./sessions.ts";
import { type CreateStudyRequest, createStudy, findStudyRecord, studyExists } from "./studies.ts";
import {
  readSummaries,
  repairSubjectSummary,
  repairSummaries,
  type SummaryRange,
  summarizeMissing,
} from "./subject-summaries.ts";
import type { SummaryDates } from "./subject-summary-item.ts";
import { enrolSubject, getSubject, listSubjects, type Subject, subjectCache } from "./subjects.ts";
import {
  type ApiKey,
  findToken,
  findTokenByHash,
  hashToken,
  type KeyResolution,
  listTokens,
  revokeToken,
  storeToken,
  type UseSource,
} from "./tokens.ts";
import { verifyAudit } from "./verify-audit.ts";

export interface StoreOptions {
  tableName?: string;
  endpoint?: string;
  /** Inject a client (tests wrap it to simulate a process dying between calls). */
  doc?: Pick<DynamoDBDocumentClient, "send">;
  pointerTtlMs?: number;
  /** MACs every audit entry the store writes (mac-key.ts); a key the table does not hold. */
  macKey: MacKey;
  /** How long a resolved API key is trusted before it is read again (key-cache.ts); 0 reads it every time. */
  keyCacheTtlMs?: number;
  /** The time as the key cache sees it (tests move it on). */
  clock?: () => number;
  /** Tests only: a shorter commit window (commit-window.ts), to show a stalled writer refused. */
  commitWindowMs?: number;
}

/** Everything the API needs from DynamoDB, bound to one table. */
const exportJobs = () => import("./export-jobs.ts");
const exportSchedules = () => import("./export-schedules.ts");

export function createStore(options: StoreOptions) {
  const tableName = options.tableName ?? process.env.TABLE_NAME;
  if (!tableName) throw new Error("TABLE_NAME is not set");
  const db: Db = {
    doc: options.doc ?? createClients({ endpoint: options.endpoint }).doc,
    tableName,
    ...(options.commitWindowMs !== undefined ? { commitWindowMs: options.commitWindowMs } : {}),
  };
  const definitions = createDefinitionReader(db, options.pointerTtlMs);
  const { macKey } = options;
  const resolvedKeys = keyCache({ ttlMs: options.keyCacheTtlMs, clock: options.clock });
  const subjects = subjectCache((study, id) => getSubject(db, study, id));
  const resolveKey = (hash: string, source?: UseSource) =>
    resolvedKeys.resolve(hash, (now) => findTokenByHash(db, macKey, hash, { source, now }));
  /** A write that can take a key's rights away, then every cached key dropped (key-cache.ts). */
  const thenForgetKeys = async <T>(write: Promise<T>): Promise<T> => {
    try {
      return await write;
    } finally {
      resolvedKeys.clear();
    }
  };
  return {
    db,
    macKey,
    definitions,
    /** Impact analysis, then publish unless a destructive change is neither migrated nor accepted. */
    // Imported by the first publish (with the impact analysis), not at a cold start.
    publish: async (request: PublishRequest) =>
      (await import("./publish.ts")).publishWithImpact(db, macKey, definitions, request),
    listDefinitions: (study: string) => listDefinitions(db, study),
    /** A new study on this deployment, its creator granted admin and builder at it. */
    createStudy: (request: CreateStudyRequest) => createStudy(db, macKey, definitions, request),
    findStudyRecord: (id: string) => findStudyRecord(db, id),
    studyExists: (id: string) => studyExists(db, definitions, id),
    enrolSubject: (args: Parameters<typeof enrolSubject>[1]) => enrolSubject(db, args),
    getSubject: subjects.get,
    listSubjects: (study: string, sites: string[], idPrefix?: string) =>
      listSubjects(db, study, sites, idPrefix),
    readCasebook: (study: string, subject: string) => readCasebook(db, study, subject),
    readLatestRevision: (address: InstanceAddress) => readLatestRevision(db, address),
    readRevisions: (address: InstanceAddress) => readRevisions(db, address),
    readProjections: (study: string, subject: string) => readProjections(db, study, subject),
    readCurrentState: (study: string, subject: string) => readCurrentState(db, study, subject),
    /** What a save of this instance reads before its commit (hand it to the save as `read`). */
    readBeforeSave: (definition: StudyDefinition, address: InstanceAddress) =>
      readBeforeSave(db, definition, address),
    saveFormInstance: (request: SaveRequest) => saveFormInstance(db, macKey, request),
    checkFormInstance: (request: SaveRequest) => checkFormInstance(db, macKey, request),
    /** Record imports run as background jobs (import-jobs.ts). */
    importJobs: {
      create: (request: NewImportJob) => createImportJob(db, request),
      get: (study: string, id: string) => getImportJob(db, study, id),
      list: (study: string) => listImportJobs(db, study),
      claim: (study: string, id: string, owner: string, now: number, until: number) =>
        claimImportJob(db, study, id, owner, now, until),
      step: (from: ImportJob, owner: string, step: JobStep) => stepImportJob(db, from, owner, step),
      readChunk: <T>(study: string, id: string, n: number) => readImportChunk<T>(db, study, id, n),
      notePlanned: (study: string, id: string, n: number, planned: number) =>
        notePlanned(db, study, id, n, planned),
      deleteChunks: (study: string, id: string, chunks: number) => deleteImportChunks(db, study, id, chunks),
    },
    /** Bulk exports run as background jobs (export-jobs.ts, imported by the first job call, not at a cold start). */
    exportJobs: {
      create: async (job: NewExportJob) => (await exportJobs()).createExportJob(db, job),
      get: async (study: string, id: string) => (await exportJobs()).getExportJob(db, study, id),
      list: async (study: string, page: { limit: number; before?: string }) =>
        (await exportJobs()).listExportJobs(db, study, page),
      claim: async (study: string, id: string, owner: string, now: number, until: number) =>
        (await exportJobs()).claimExportJob(db, study, id, owner, now, until),
      step: async (from: ExportJob, owner: string, step: ExportJobStep) =>
        (await exportJobs()).stepExportJob(db, from, owner, step),
    },
    /** Scheduled exports (export-schedules.ts, imported by their first use, not at a cold start). */
    exportSchedules: {
      put: async (
        schedule: ExportScheduleDefinition & { cursor?: string },
        expectedVersion: number | undefined,
      ) => (await exportSchedules()).putExportSchedule(db, schedule, expectedVersion),
      get: async (study: string, name: string) =>
        (await exportSchedules()).getExportSchedule(db, study, name),
      list: async (study: string) => (await exportSchedules()).listExportSchedules(db, study),
      listAll: async () => (await exportSchedules()).listAllExportSchedules(db),
      delete: async (study: string, name: string, expectedVersion?: number) =>
        (await exportSchedules()).deleteExportSchedule(db, study, name, expectedVersion),
      claimDay: async (schedule: ExportSchedule, day: string, outcome: DayOutcome) =>
        (await exportSchedules()).claimScheduleDay(db, schedule, day, outcome),
      settle: async (schedule: ExportSchedule, job: string, end: { nextCursor?: string; error?: string }) =>
        (await exportSchedules()).settlePendingJob(db, schedule, job, end),
      noteError: async (schedule: ExportSchedule, error: string) =>
        (await exportSchedules()).noteScheduleError(db, schedule, error),
    },
    markEnteredInError: (request: ErrorMarkRequest) => markEnteredInError(db, macKey, request),
    appendReview: (request: ReviewRequest) => appendReview(db, macKey, request),
    /** Appends what `decide` makes of the log, decided again if another entry gets in first (review-log.ts). */
    appendDecided: (
      log: { study: string; subject?: string },
      decide: (entries: ReviewEntry[]) => ReviewRequest,
    ) => appendDecided(db, macKey, log, decide),
    /** A subject's review log, or the study's without a subject. */
    readReviewLog: (study: string, subject?: string) => readReviewLog(db, study, subject),
    /** The subject's and the study's review logs together (locks, the freeze, verifications). */
    readReviews: (study: string, subject: string) => readReviews(db, study, subject),
    storeToken: (token: string, key: ApiKey, createdBy?: string) => storeToken(db, token, key, { createdBy }),
    listTokens: (study: string) => listTokens(db, study),
    revokeToken: (study: string, id: string, by: string) => thenForgetKeys(revokeToken(db, study, id, by)),
    /**
     * The key's principal now (as read at most `keyCacheTtlMs` ago), or why it
     * admits no one; the first use of a day is logged.
     */
    findToken: (token: string, source?: UseSource) => resolveKey(hashToken(token), source),
    findTokenByHash: resolveKey,
    /** The principal the study's key `id` (its public handle) speaks for at `now`, read afresh and not counted as a use. */
    findTokenById: async (study: string, id: string, now: Date): Promise<KeyResolution> => {
      const token = (await listTokens(db, study)).find((t) => t.id === id);
      return token
        ? findTokenByHash(db, macKey, token.hash, { now, recordUse: false })
        : { refused: "unknown" };
    },
    /** Whether the key admits anyone, without counting it as a use. */
    checkToken: (token: string) => findToken(db, macKey, token, { recordUse: false }),
    startSession: (session: Omit<StoredSession, "ended">) => startSession(db, session),
    readSession: (nonce: string) => readSession(db, nonce),
    touchSession: (nonce: string, now: number) => touchSession(db, nonce, now),
    endSession: (nonce: string) => endSession(db, nonce),
    /** A fresh re-authentication for one signature (see sessions.ts). */
    allowSigning: (nonce: string, authenticatedAt: number) => allowSigning(db, nonce, authenticatedAt),
    takeSigning: (nonce: string) => takeSigning(db, nonce),
    upsertPerson: (...args: Parameters<typeof upsertPerson> extends [Db, ...infer R] ? R : never) =>
      upsertPerson(db, ...args),
    findPerson: (id: string) => findPerson(db, id),
    findPersonByHandle: (handle: string) => findPersonByHandle(db, handle),
    listPeople: () => listPeople(db),
    findGrant: (study: string, person: string) => findGrant(db, study, person),
    listGrants: (study: string) => listGrants(db, study),
    grantsOfPerson: (person: string) => grantsOfPerson(db, person),
    setGrant: (request: GrantRequest, by: string, origin?: AccessOrigin) =>
      thenForgetKeys(setGrant(db, macKey, request, by, origin ? { origin } : {})),
    revokeGrant: (study: string, person: string, by: string, origin?: AccessOrigin) =>
      thenForgetKeys(revokeGrant(db, macKey, study, person, by, origin ? { origin } : {})),
    subjectPage: (study: string, sites: string[], options: Parameters<typeof subjectPage>[3]) =>
      subjectPage(db, study, sites, options),
    casebooks: (study: string, subjects: Subject[], options?: Parameters<typeof casebooks>[3]) =>
      casebooks(db, study, subjects, options),
    readFeed: (study: string, options: Parameters<typeof readFeed>[2]) => readFeed(db, study, options),
    /**
     * The projection repair pass (projection-watermark.ts): commits since the watermark checked
     * against their projections, laggards repaired, the watermark moved to `now − settleMs`.
     */
    // Loaded by the first export, not at a cold start.
    advanceProjectionWatermark: async (
      study: string,
      options: Parameters<typeof advanceProjectionWatermark>[2],
    ) => (await import("./projection-watermark.ts")).advanceProjectionWatermark(db, study, options),
    exportSalt: (study: string) => exportSalt(db, study),
    findExportSalt: (study: string) => findExportSalt(db, study),
    appendAccessLog: (study: string, event: AccessEvent) => appendAccessLog(db, macKey, study, event),
    readAccessLog: (study: string, options?: AccessLogQuery) => readAccessLog(db, study, options),
    readSiteStatusEntries: (study: string, site: string) => readSiteStatusEntries(db, study, site),
    /** One Query of the dashboard's subject summaries (subject-summaries.ts). */
    readSummaries: (
      study: string,
      range: SummaryRange,
      options: { after?: string; before?: string; limit: number },
    ) => readSummaries(db, study, range, options),
    /** Brings a subject's summary up to its logs (after a crash between a commit and its summary). */
    repairSubjectSummary: (subject: Subject, dates?: SummaryDates) =>
      repairSubjectSummary(db, subject, dates),
    /** Builds or repairs every summary of these sites; the ones it changed (`npm run summaries:repair`). */
    repairSummaries: (study: string, sites: string[], dates?: SummaryDates) =>
      repairSummaries(db, study, sites, dates),
    /** Builds the summaries no subject of these sites has yet (run at every publish). */
    summarizeMissing: (study: string, sites: string[], dates?: SummaryDates) =>
      summarizeMissing(db, study, sites, dates),
    openQuery: (request: OpenQueryRequest) => openQuery(db, macKey, request),
    /** Answers, closes or reopens a query, checked against the log as it is just before the append. */
    transitionQuery: (request: TransitionRequest) => transitionQuery(db, macKey, request),
    readSubjectQueries: (study: string, subject: string) => readSubjectQueries(db, study, subject),
    readSiteQueries: (study: string, sites: string[]) => readSiteQueries(db, study, sites),
    /** Every chain of the study checked: hashes, links, MACs, projection heads, the access log. */
    verifyAudit: (study: string) => verifyAudit(db, macKey, definitions, study),
  };
}

export type Store = ReturnType<typeof createStore>;
