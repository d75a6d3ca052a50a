/** Key layout of the single table (see docs/architecture.md, "Storage"). */

const pad = (n: number, width: number) => String(n).padStart(width, "0");

export const keys = {
  study: (study: string) => `STUDY#${study}`,
  /** A study an admin created (studies.ts), in the study's partition. */
  studyRecord: "STUDY",
  definition: (version: number) => `DEF#${pad(version, 6)}`,
  /** Prefix of every version item (zero-padded numbers), leaving out the current pointer. */
  definitionVersions: "DEF#0",
  currentDefinition: "DEF#CURRENT",
  /** A version's validator code, one item per instrument (validator-items.ts). */
  validator: (version: number, instrument: string) => `VAL#${pad(version, 6)}#${instrument}`,
  validators: (version: number) => `VAL#${pad(version, 6)}#`,
  /** The study's de-identification key, beside its definitions. */
  exportSalt: "EXPORT_SALT",
  site: (site: string) => `SITE#${site}`,
  subjectSequence: (site: string) => `SEQ#${site}`,
  subjectPartition: (study: string, subject: string) => `STUDY#${study}#SUBJ#${subject}`,
  subject: "SUBJECT",
  /** Prefix of every revision of one form instance; revisions sort by number. */
  revisionPrefix: (event: string, form: string, instance: number) =>
    `REV#${event}#${form}#${pad(instance, 4)}#`,
  revision: (event: string, form: string, instance: number, rev: number) =>
    `${keys.revisionPrefix(event, form, instance)}${pad(rev, 6)}`,
  /** Prefix of every revision of a subject. */
  revisions: "REV#",
  data: (event: string, form: string, instance: number) => `DATA#${event}#${form}#${pad(instance, 4)}`,
  /** Prefix of every current-state projection of a subject. */
  projections: "DATA#",
  /** The projection a revision key belongs to, and the revision's number (`REV#e#f#i#rev` → `DATA#e#f#i`, rev). */
  projectionOfRevision: (revisionKey: string) => ({
    data: `DATA#${revisionKey.slice("REV#".length, revisionKey.lastIndexOf("#"))}`,
    rev: Number(revisionKey.slice(revisionKey.lastIndexOf("#") + 1)),
  }),
  /** Every subject's dashboard summary (subject-summaries.ts): one partition per study, by site then subject. */
  summaries: (study: string) => `STUDY#${study}#SUMMARY`,
  summary: (site: string, subject: string) => `${site}#${subject}`,
  siteIndex: (study: string, site: string) => `STUDY#${study}#SITE#${site}`,
  subjectIndex: (subject: string) => `SUBJ#${subject}`,
  feed: (study: string) => `FEED#${study}`,
  /** A revision's place in the study's change feed: commit time, then its own keys (unique). */
  feedEntry: (committedAt: string, partition: string, revision: string) =>
    `${committedAt}#${partition}#${revision}`,
  token: (hash: string) => `TOKEN#${hash}`,
  tokenItem: "TOKEN",
  /** The hash a token item's partition key carries. */
  hashOfToken: (partition: string) => partition.slice("TOKEN#".length),
  /** A study's tokens in the by-site index, in creation order. */
  tokenIndex: (study: string) => `STUDY#${study}#TOKENS`,
  tokenIndexEntry: (createdAt: string, hash: string) => `${createdAt}#${hash}`,
  /** A study's access log: one partition, one append-only chain. */
  accessLog: (study: string) => `STUDY#${study}#ACCESS_LOG`,
  /** An access-log entry by its sequence number (zero-padded: key order is append order). */
  accessLogEntry: (seq: number) => `LOG#${pad(seq, 12)}`,
  accessLogPrefix: "LOG#",
  /** A subject's review log (in its partition) or the study's (in the study partition): queries, verification, locks, signatures, status. */
  reviewEntry: (seq: number) => `REVIEW#${pad(seq, 9)}`,
  reviewPrefix: "REVIEW#",
  /** The locks a review log holds, kept small beside it (lock-state.ts), in the same partition. */
  lockState: "LOCKS",
  /** Query entries of a site, in the by-site index (GSI1PK), by query then seq (GSI1SK). */
  siteQueries: (study: string, site: string) => `STUDY#${study}#SITE#${site}#QUERIES`,
  /** Subject-status entries of a site, in the by-site index (GSI1PK), by subject then seq (GSI1SK). */
  siteStatuses: (study: string, site: string) => `STUDY#${study}#SITE#${site}#STATUS`,
  /** A person (PK) and their grants, one item per study (SK). */
  person: (id: string) => `PERSON#${id}`,
  personItem: "PERSON",
  grant: (study: string) => `GRANT#${study}`,
  grantPrefix: "GRANT#",
  /** Everyone who ever signed in, in the by-site index. */
  peopleIndex: "PEOPLE",
  /** A study's grants in the by-site index, by person id. */
  grantIndex: (study: string) => `STUDY#${study}#GRANTS`,
  session: (nonce: string) => `SESSION#${nonce}`,
  sessionItem: "SESSION",
  /** A record import job (import-jobs.ts), in the study's partition; ids sort by creation time. */
  importJob: (id: string) => `IMPORT_JOB#${id}`,
  importJobPrefix: "IMPORT_JOB#",
  /** A job's form instances, one batch per chunk item, in the job's own partition. */
  importJobPartition: (study: string, id: string) => `STUDY#${study}#IMPORT#${id}`,
  importChunk: (n: number) => `CHUNK#${pad(n, 6)}`,
  /** A bulk export job (export-jobs.ts), in the study's partition; ids sort by creation time. */
  exportJob: (id: string) => `EXPORT_JOB#${id}`,
  exportJobPrefix: "EXPORT_JOB#",
  /** A scheduled export (export-schedules.ts), in the study's partition, by name. */
  exportSchedule: (name: string) => `EXPORT_SCHEDULE#${name}`,
  exportSchedulePrefix: "EXPORT_SCHEDULE#",
  /** Every study's schedules in the by-site index, for the tick. */
  exportScheduleIndex: "EXPORT_SCHEDULES",
} as const;
