import type { ErrorMarkAction } from "../../engine/entered-in-error.ts";
import type { ReviewEntry } from "../../engine/review.ts";
import type { InstanceState } from "../../engine/revision.ts";
import type { Deidentify } from "../deidentify.ts";
import type { OdmSignatureDef } from "./review.ts";

/** What the ODM export takes: revisions, subjects, options. */

export type DataType = "text" | "integer" | "float" | "date" | "time" | "datetime";
export type Comparator = "LT" | "LE" | "GT" | "GE";

/** What the export needs of a revision (a stored revision will do). */
export interface OdmRevision
  extends Pick<
    InstanceState,
    | "rev"
    | "status"
    | "data"
    | "committedAt"
    | "committedBy"
    | "reason"
    | "definitionVersion"
    | "enteredInError"
    | "missing"
  > {
  event: string;
  form: string;
  instance: number;
  site: string;
  action?: ErrorMarkAction;
}

export interface OdmSubject {
  subject: { id: string; site: string; arm: string };
  /** Current state of each form instance (latest revision each). */
  instances: OdmRevision[];
  /** Every revision (any order); used for the audit trail when `includeAudit`. */
  revisions?: OdmRevision[];
  /** The subject's review log (queries, verification, locks, signatures, status), when review entries are exported. */
  review?: ReviewEntry[];
}

export interface OdmOptions {
  /**
   * Write the revision history: FileType="Transactional", each field change an
   * ItemData (TransactionType Insert / Update / Remove) carrying its AuditRecord,
   * in commit order. Without it: FileType="Snapshot", current values only.
   */
  includeAudit?: boolean;
  /**
   * De-identification, the same shape as the flat export's: `dropIdentifiers`
   * leaves out the ItemDefs of fields marked `x-identifier` and their ItemData;
   * `shiftDays` moves every date and date-time value of a subject (and its
   * audit time stamps) by whole days; `subjectKey` replaces the SubjectKey.
   */
  deidentify?: Deidentify;
  /** CreationDateTime (and AsOfDateTime); default: now. */
  now?: Date;
  /** Default: `ODM.<study>.<creation time>`. */
  fileOid?: string;
  /**
   * Users declared in AdminData, for the AuditRecord UserRefs (`U.<user>`).
   * AdminData precedes ClinicalData, so a stream cannot collect them on the way:
   * pass the authors of the exported revisions (and no one else). A person
   * known by name or email is declared with them (FullName, Email).
   */
  users?: Iterable<string | OdmUser>;
  /**
   * Review entries are exported (exports/odm/review.ts): their code lists are
   * declared, and each signature's meaning as a SignatureDef in AdminData
   * (which precedes ClinicalData, so they are passed here). `study`: the
   * study's own entries (a freeze), written after the subjects.
   */
  review?: { signatures: OdmSignatureDef[]; study: ReviewEntry[] };
  /** EffectiveDate of each site's MetaDataVersionRef; default: the creation date. */
  effectiveDate?: string;
}

/** An author as AdminData declares them: the audit trail's label, and what is known of the person. */
export interface OdmUser {
  login: string;
  fullName?: string;
  email?: string;
}
