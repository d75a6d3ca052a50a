/** Key layout of the single table (see docs/architecture.md, "Storage"). */

const pad = (n: number, width: number) => String(n).padStart(width, "0");

export const keys = {
  study: (study: string) => `STUDY#${study}`,
  definition: (version: number) => `DEF#${pad(version, 6)}`,
  currentDefinition: "DEF#CURRENT",
  site: (site: string) => `SITE#${site}`,
  subjectSequence: (site: string) => `SEQ#${site}`,
  subjectPartition: (study: string, subject: string) => `STUDY#${study}#SUBJ#${subject}`,
  subject: "SUBJECT",
  /** Prefix of every revision of one form instance; revisions sort by number. */
  revisionPrefix: (event: string, form: string, instance: number) =>
    `REV#${event}#${form}#${pad(instance, 4)}#`,
  revision: (event: string, form: string, instance: number, rev: number) =>
    `${keys.revisionPrefix(event, form, instance)}${pad(rev, 6)}`,
  data: (event: string, form: string, instance: number) => `DATA#${event}#${form}#${pad(instance, 4)}`,
  siteIndex: (study: string, site: string) => `STUDY#${study}#SITE#${site}`,
  subjectIndex: (subject: string) => `SUBJ#${subject}`,
  feed: (study: string) => `FEED#${study}`,
  token: (hash: string) => `TOKEN#${hash}`,
} as const;
