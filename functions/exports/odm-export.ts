import type { StudyDefinition } from "../engine/definition.ts";
import type { Store } from "../store/store.ts";
import type { Subject } from "../store/subjects.ts";
import type { Deidentify } from "./deidentify.ts";
import { type OdmUser, odmChunks } from "./odm.ts";
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

/** The ODM file of a study as chunks: subjects read one at a time, after the metadata. */
export async function odmExport(
  store: Pick<Store, "listSubjects" | "casebooks">,
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
  const users = request.audit
    ? (await auditAuthors(store, study, subjects, request.includeEnteredInError)).map(
        (login) => known.get(login) ?? login,
      )
    : [];
  const source = request.clinicalData
    ? store.casebooks(study, subjects, {
        withRevisions: request.audit,
        includeEnteredInError: request.includeEnteredInError,
      })
    : null;
  return odmChunks(definition, source, {
    includeAudit: request.audit,
    users,
    ...(request.deidentify ? { deidentify: request.deidentify } : {}),
  });
}
