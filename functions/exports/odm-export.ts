import type { StudyDefinition } from "../engine/definition.ts";
import type { ReviewEntry } from "../engine/review.ts";
import type { Store } from "../store/store.ts";
import type { Subject } from "../store/subjects.ts";
import type { Deidentify } from "./deidentify.ts";
import { signatureDefs } from "./odm/review.ts";
import { type OdmSubject, type OdmUser, odmChunks } from "./odm.ts";
import { subjectsById } from "./records.ts";

export interface OdmExportRequest {
  /** Whose subjects: the caller's sites, already narrowed to the ones asked for. */
  sites: string[];
  /** Only these subject ids. */
  subjects?: string[];
  clinicalData: boolean;
  audit: boolean;
  includeEnteredInError: boolean;
  deidentify?: Deidentify;
  /** What is known of the people who may be authors, by their audit label (name, email). */
  people?: OdmUser[];
}

/**
 * The users an audited ODM declares: only the authors of the revisions it
 * exports, never the study's other token holders. AdminData comes before
 * ClinicalData, so they are read in a first pass over the same subjects.
 */
async function auditAuthors(
  store: Pick<Store, "casebooks">,
  study: string,
  subjects: Subject[],
  includeEnteredInError: boolean,
): Promise<string[]> {
  const users = new Set<string>();
  const options = { withRevisions: true, includeEnteredInError };
  for await (const { revisions = [] } of store.casebooks(study, subjects, options))
    for (const r of revisions) users.add(r.committedBy);
  return [...users];
}

/**
 * The review logs of the exported subjects and the study's. Read in a first
 * pass, like the authors: AdminData declares the signers and the meanings
 * they signed before ClinicalData. Review logs are short beside the data.
 */
async function reviewLogs(
  store: Pick<Store, "readReviewLog">,
  study: string,
  subjects: Subject[],
): Promise<{ bySubject: Map<string, ReviewEntry[]>; study: ReviewEntry[] }> {
  const bySubject = new Map<string, ReviewEntry[]>();
  for (let i = 0; i < subjects.length; i += 8) {
    const batch = subjects.slice(i, i + 8);
    const logs = await Promise.all(batch.map((s) => store.readReviewLog(study, s.id)));
    for (const [j, s] of batch.entries()) bySubject.set(s.id, logs[j] ?? []);
  }
  return { bySubject, study: await store.readReviewLog(study) };
}

/** The ODM file of a study as chunks: subjects read one at a time, after the metadata. */
export async function odmExport(
  store: Pick<Store, "listSubjects" | "casebooks" | "readReviewLog">,
  definition: StudyDefinition,
  request: OdmExportRequest,
): Promise<AsyncGenerator<string>> {
  const study = definition.study.id;
  const subjects = request.clinicalData
    ? (await subjectsById(store, study, request.sites)).filter(
        (s) => !request.subjects || request.subjects.includes(s.id),
      )
    : [];
  const known = new Map((request.people ?? []).map((p) => [p.login, p]));
  const users: (string | OdmUser)[] = request.audit
    ? (await auditAuthors(store, study, subjects, request.includeEnteredInError)).map(
        (login) => known.get(login) ?? login,
      )
    : [];
  const review = request.clinicalData ? await reviewLogs(store, study, subjects) : undefined;
  const entries = [...(review?.bySubject.values() ?? [])].flat().concat(review?.study ?? []);
  // A Signature names its signer by UserRef: every signer is declared, with or without the audit trail.
  for (const e of entries)
    if (e.action === "sign") users.push(known.get(e.by) ?? { login: e.by, fullName: e.name });
  const casebooks = request.clinicalData
    ? store.casebooks(study, subjects, {
        withRevisions: request.audit,
        includeEnteredInError: request.includeEnteredInError,
      })
    : null;
  const source = casebooks && review ? withReview(casebooks, review.bySubject) : null;
  return odmChunks(definition, source, {
    includeAudit: request.audit,
    users,
    // A study without review entries exports as before: no review code lists.
    ...(review && entries.length > 0
      ? { review: { signatures: signatureDefs(entries), study: review.study } }
      : {}),
    ...(request.deidentify ? { deidentify: request.deidentify } : {}),
  });
}

async function* withReview(
  casebooks: AsyncIterable<OdmSubject>,
  bySubject: Map<string, ReviewEntry[]>,
): AsyncGenerator<OdmSubject> {
  for await (const c of casebooks) yield { ...c, review: bySubject.get(c.subject.id) ?? [] };
}
