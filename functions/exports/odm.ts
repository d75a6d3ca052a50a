import type { StudyDefinition } from "../engine/definition.ts";
import { deidentifyReview } from "./deidentify.ts";
import { subjectDataChunks } from "./odm/clinical-data.ts";
import { metadataChunks } from "./odm/metadata.ts";
import { buildModel } from "./odm/model.ts";
import { odmOid, oidPart } from "./odm/oids.ts";
import { signatureDefXml, studyAnnotationsXml } from "./odm/review.ts";
import type { OdmOptions, OdmSubject, OdmUser } from "./odm/types.ts";
import { attrs, el, textEl } from "./xml.ts";

/**
 * CDISC ODM 1.3.2 XML export, written as a stream of string chunks: the
 * metadata (Study) first, then AdminData (sites, users), then one SubjectData
 * per subject as the subjects arrive. Only the definition and one subject's
 * casebook are held at a time. Pure: no I/O besides the given iterable.
 *
 * Mapping:
 * - events → StudyEventDef `SE.<event>` (repeatable → Repeating="Yes", a
 *   StudyEventData per instance with StudyEventRepeatKey); the logs are one
 *   StudyEventDef `SE.logs` (Type="Common") whose forms repeat (FormRepeatKey);
 * - an instrument → FormDef `F.<form>` with one ItemGroupDef `IG.<form>`;
 * - a field → ItemDef `I.<form>.<field>`; a multiple choice → one ItemDef per
 *   option `I.<form>.<field>___<code>` holding 1/0 (ODM has no multi-select);
 *   yes/no → integer 1/0 with the shared code list `CL.yesno`; choices →
 *   `CL.<form>.<field>` (EnumeratedItems for a bare `enum`); x-unit →
 *   `MU.<slug>`; minimum/maximum → RangeCheck; x-calc → MethodDef (JSON
 *   Logic); x-visible-if → the ItemRef's CollectionExceptionCondition;
 * - the form status → ItemDef `I.<form>.__status` named `<form>_complete`,
 *   0 incomplete, 1 unverified, 2 complete (as REDCap and the flat export);
 * - identifiers → `<Alias Context="x-identifier" Name="Yes"/>`;
 * - the subject's arm → an Annotation Flag (FlagValue in `CL.arm`);
 * - audit → each change of an item is an ItemData (Insert / Update / Remove,
 *   in commit order) with its own AuditRecord (at most one per ItemData);
 * - entered in error (exported only when asked) → the FormData carries an
 *   Annotation whose Comment is "Entered in error: <reason>"; in the audit, a
 *   mark or restore is an Update of the status item (value unchanged) whose
 *   ReasonForChange starts "Entered in error: " or "Restored: ";
 * - review entries (queries, verification, locks, signatures, status), when
 *   `review` is given → Annotations, Signatures and SignatureDefs: see
 *   odm/review.ts.
 */

export { odmOid, oidPart, unitSlug } from "./odm/oids.ts";
export type { OdmOptions, OdmRevision, OdmSubject, OdmUser } from "./odm/types.ts";
export { decimal } from "./odm/values.ts";

const p = oidPart;

/**
 * The ODM document as chunks. `subjects` null: metadata only
 * (Granularity="Metadata"). Each subject is read from the iterable only after
 * the previous one has been written.
 */
export async function* odmChunks(
  definition: StudyDefinition,
  subjects: AsyncIterable<OdmSubject> | Iterable<OdmSubject> | null,
  options: OdmOptions = {},
): AsyncGenerator<string> {
  const model = buildModel(definition, options);
  const { study } = definition;
  const now = options.now ?? new Date();
  const created = now.toISOString();
  const studyOid = odmOid.study(study.id);
  const mdvOid = odmOid.metaDataVersion(definition.version);
  const audit = options.includeAudit === true && subjects !== null;
  const deid = options.deidentify;
  const deidentified = [
    deid?.dropIdentifiers ? "identifiers removed" : "",
    deid?.shiftDays ? "dates shifted" : "",
    deid?.subjectKey ? "subject keys replaced" : "",
  ].filter(Boolean);

  yield '<?xml version="1.0" encoding="UTF-8"?>\n';
  yield `<ODM${attrs({
    xmlns: "http://www.cdisc.org/ns/odm/v1.3",
    ODMVersion: "1.3.2",
    FileType: audit ? "Transactional" : "Snapshot",
    Granularity: subjects === null ? "Metadata" : undefined,
    FileOID: options.fileOid ?? `ODM.${p(study.id)}.${created.replace(/[-:.]/g, "")}`,
    CreationDateTime: created,
    AsOfDateTime: subjects === null ? undefined : created,
    SourceSystem: "form-engine",
    Description: `${study.title}${deidentified.length > 0 ? ` (${deidentified.join(", ")})` : ""}`,
  })}>\n`;
  yield `<Study${attrs({ OID: studyOid })}>\n`;
  yield* metadataChunks(definition, model, mdvOid);
  yield "</Study>\n";

  if (subjects !== null) {
    const effective = options.effectiveDate ?? created.slice(0, 10);
    let admin = declaredUsers(options.users ?? [])
      .map((u) =>
        el(
          "User",
          { OID: odmOid.user(u.login) },
          [
            textEl("LoginName", u.login),
            u.fullName ? textEl("FullName", u.fullName) : "",
            u.email ? textEl("Email", u.email) : "",
          ].join(""),
        ),
      )
      .join("\n");
    if (admin) admin += "\n";
    admin += study.sites
      .map((site) =>
        el(
          "Location",
          { OID: odmOid.location(site.id), Name: site.name || site.id, LocationType: "Site" },
          el("MetaDataVersionRef", {
            StudyOID: studyOid,
            MetaDataVersionOID: mdvOid,
            EffectiveDate: effective,
          }),
        ),
      )
      .join("\n");
    const signatures = options.review?.signatures ?? [];
    if (signatures.length > 0) admin += `\n${signatures.map(signatureDefXml).join("\n")}`;
    if (admin) yield `${el("AdminData", { StudyOID: studyOid }, `\n${admin}\n`)}\n`;

    yield `<ClinicalData${attrs({ StudyOID: studyOid, MetaDataVersionOID: mdvOid })}>\n`;
    const signatureOid = (meaning: string) => signatures.find((d) => d.meaning === meaning)?.oid ?? "";
    const review = options.review ? { signatureOid } : undefined;
    for await (const s of subjects)
      yield* subjectDataChunks(definition, model, s, audit, options.deidentify, review);
    if (options.review) {
      const entries = options.review.study;
      const deid = options.deidentify;
      yield studyAnnotationsXml(deid ? entries.map((e) => deidentifyReview(e, deid)) : entries, {
        currentRev: new Map(),
        revisions: [],
        site: "",
        audit,
        itemOid: odmOid.item,
        signatureOid,
        shift: (at) => at,
      });
    }
    yield "</ClinicalData>\n";
  }
  yield "</ODM>\n";
}

/** One declaration per login, in the order first given; a bare login gives way to one with a name or email. */
function declaredUsers(users: Iterable<string | OdmUser>): OdmUser[] {
  const byLogin = new Map<string, OdmUser>();
  for (const u of users) {
    const user = typeof u === "string" ? { login: u } : u;
    const known = byLogin.get(user.login);
    if (!known || (!known.fullName && !known.email)) byLogin.set(user.login, { ...known, ...user });
  }
  return [...byLogin.values()];
}

/** The whole document as one string (small studies and tests; stream `odmChunks` otherwise). */
export async function odmString(
  definition: StudyDefinition,
  subjects: AsyncIterable<OdmSubject> | Iterable<OdmSubject> | null,
  options: OdmOptions = {},
): Promise<string> {
  let out = "";
  for await (const chunk of odmChunks(definition, subjects, options)) out += chunk;
  return out;
}
