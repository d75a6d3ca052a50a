import type { ReviewEntry, ReviewTarget } from "../../engine/review.ts";
import { type RevisionFacts, signatureState } from "../../engine/signatures.ts";
import { attrs, el, textEl } from "../xml.ts";
import { CL, odmOid } from "./oids.ts";

/**
 * Review entries (queries, verification, locks, signatures, subject status)
 * as ODM 1.3.2 allows them, written at the element they concern (see
 * docs/architecture.md "Review entries in ODM"):
 * - a query → one Annotation: Comment with every message (time, author,
 *   step, text) and Flag QUERY = its state (open / answered / closed);
 * - a verification → Flag SDV = verified, or re-verify once a covered
 *   revision is no longer the instance's current one;
 * - a lock or unlock → Flag LOCK = locked / unlocked, Comment with the reason;
 * - a signature → Flag SIGNATURE = valid / invalidated with a Comment (printed
 *   name, meaning), and the level's one `Signature` element (the latest);
 *   its `SignatureDef` (meaning, legal reason) is declared in AdminData;
 * - a status change → Flag SUBJECT-STATUS on SubjectData;
 * - the study's own entries (a freeze) → ClinicalData's `Annotations`.
 * A field's entries sit on its form's ItemGroupData (ItemData may repeat in
 * an audit, or be absent for an empty field), their Comment naming the item.
 * Without the audit trail only the current state is written (the latest
 * verification, lock, signature and status per element); with it, every entry.
 */

export const REVIEW_FLAG_TYPES = [
  { const: "QUERY", title: "State of a query (discrepancy note)" },
  { const: "SDV", title: "Source data verification" },
  { const: "LOCK", title: "Lock" },
  { const: "SIGNATURE", title: "Electronic signature" },
  { const: "SUBJECT-STATUS", title: "Status of the subject" },
] as const;

/** The value code lists of the review flags, by OID: `[coded value, decode]`. */
export const REVIEW_FLAG_VALUES: Record<string, { name: string; values: [string, string][] }> = {
  [CL.queryState]: {
    name: "Query state",
    values: [
      ["open", "Open"],
      ["answered", "Answered"],
      ["closed", "Closed"],
    ],
  },
  [CL.sdv]: {
    name: "Verification",
    values: [
      ["verified", "Verified"],
      ["re-verify", "Changed since verified"],
    ],
  },
  [CL.lock]: {
    name: "Lock",
    values: [
      ["locked", "Locked"],
      ["unlocked", "Unlocked"],
    ],
  },
  [CL.signature]: {
    name: "Signature",
    values: [
      ["valid", "Valid"],
      ["invalidated", "Invalidated by a later change"],
    ],
  },
  [CL.subjectStatus]: {
    name: "Subject status",
    values: [
      ["screened", "Screened"],
      ["screen-failure", "Screen failure"],
      ["enrolled", "Enrolled"],
      ["withdrawn", "Withdrawn"],
      ["lost-to-follow-up", "Lost to follow-up"],
      ["completed", "Completed"],
    ],
  },
};

export const REVIEW_CODE_LISTS = Object.keys(REVIEW_FLAG_VALUES);

/** Written in AdminData: one per distinct meaning, in order of first use. */
export interface OdmSignatureDef {
  oid: string;
  meaning: string;
}

export const SIGNATURE_LEGAL_REASON =
  "Electronic signature under 21 CFR Part 11 (§11.50, §11.70, §11.200), after re-authentication";

/** The signature definitions of a set of entries: one per meaning. */
export function signatureDefs(entries: Iterable<ReviewEntry>): OdmSignatureDef[] {
  const byMeaning = new Map<string, OdmSignatureDef>();
  for (const e of entries)
    if (e.action === "sign" && !byMeaning.has(e.meaning))
      byMeaning.set(e.meaning, { oid: `SD.${byMeaning.size + 1}`, meaning: e.meaning });
  return [...byMeaning.values()];
}

export function signatureDefXml(def: OdmSignatureDef): string {
  return el(
    "SignatureDef",
    { OID: def.oid, Methodology: "Electronic" },
    textEl("Meaning", def.meaning) + textEl("LegalReason", SIGNATURE_LEGAL_REASON),
  );
}

/** What an element of ClinicalData carries of the review: its Signature (at most one) and Annotations. */
export interface ReviewMarks {
  signature: string;
  annotations: string[];
}

/**
 * The element a target's marks go to: `""` the subject, `e|<event>|<n>` a
 * visit, `f|<event>|<form>|<n>` a form (FormData), `g|…` a field of it (the
 * form's ItemGroupData).
 */
export function elementKey(target: ReviewTarget): string {
  if (target.field !== undefined && target.form !== undefined && target.event !== undefined)
    return `g|${target.event}|${target.form}|${target.instance ?? 1}`;
  if (target.form !== undefined && target.event !== undefined)
    return `f|${target.event}|${target.form}|${target.instance ?? 1}`;
  if (target.event !== undefined) return `e|${target.event}|${target.instance ?? 1}`;
  return "";
}

export interface ReviewContext {
  /** The current rev of each form instance, by `event|form|instance` (a verification is current only while these hold). */
  currentRev: Map<string, number>;
  /** The subject's revisions (or current instances): a signature is valid until one changes or enters its scope (engine/signatures.ts). */
  revisions: readonly RevisionFacts[];
  site: string;
  audit: boolean;
  /** The OID of a field's item, for a Comment that names it. */
  itemOid: (form: string, field: string) => string;
  signatureOid: (meaning: string) => string;
  /** Dates (entries already de-identified otherwise). */
  shift: (at: string) => string;
}

const QUERY_STEP = {
  "query-open": "opened",
  "query-answer": "answered",
  "query-close": "closed",
  "query-reopen": "reopened",
} as const;

const QUERY_STATE = {
  "query-open": "open",
  "query-answer": "answered",
  "query-close": "closed",
  "query-reopen": "open",
} as const;

function flag(type: string, value: string, codeList: string): string {
  return el(
    "Flag",
    {},
    textEl("FlagValue", value, { CodeListOID: codeList }) +
      textEl("FlagType", type, { CodeListOID: CL.flagType }),
  );
}

function annotation(seq: number, comment: string, flags: string): string {
  return el("Annotation", { SeqNum: seq }, (comment ? textEl("Comment", comment) : "") + flags);
}

/** The Comment prefix of a field's entry, naming its item. */
function about(target: ReviewTarget, ctx: ReviewContext): string {
  return target.field !== undefined && target.form !== undefined
    ? `Item ${ctx.itemOid(target.form, target.field)}: `
    : "";
}

function stillCurrent(e: ReviewEntry & { action: "verify" }, ctx: ReviewContext): boolean {
  return e.covers.every((c) => ctx.currentRev.get(`${c.event}|${c.form}|${c.instance}`) === c.rev);
}

/**
 * The marks of one subject's entries (or the study's), by element key, each
 * element's Annotations numbered from `firstSeq` (SeqNum 1 is the arm's or the
 * entered-in-error note's).
 */
export function reviewMarks(
  entries: ReviewEntry[],
  ctx: ReviewContext,
  firstSeq = 2,
): Map<string, ReviewMarks> {
  const queries = new Map<string, ReviewEntry[]>();
  const kept: ReviewEntry[] = [];
  const latest = new Map<string, ReviewEntry>();
  for (const e of entries) {
    if (e.action.startsWith("query-") && "query" in e) {
      const list = queries.get(e.query) ?? [];
      if (list.length === 0) kept.push(e);
      list.push(e);
      queries.set(e.query, list);
      continue;
    }
    if (ctx.audit) kept.push(e);
    else {
      const kind = e.action === "unlock" ? "lock" : e.action;
      latest.set(`${kind}\u0000${JSON.stringify(e.target)}`, e);
    }
  }
  if (!ctx.audit) kept.push(...latest.values());
  kept.sort((a, b) => a.seq - b.seq);

  const marks = new Map<string, ReviewMarks>();
  const markOf = (target: ReviewTarget) => {
    const key = elementKey(target);
    let m = marks.get(key);
    if (!m) {
      m = { signature: "", annotations: [] };
      marks.set(key, m);
    }
    return m;
  };
  for (const e of kept) {
    const m = markOf(e.target);
    const seq = firstSeq + m.annotations.length;
    const when = `${ctx.shift(e.at)} ${e.by}`;
    const prefix = about(e.target, ctx);
    switch (e.action) {
      case "query-open":
      case "query-answer":
      case "query-close":
      case "query-reopen": {
        const thread = queries.get(e.query) ?? [e];
        const last = thread.at(-1) ?? e;
        const lines = thread.map((q) => {
          const text = "text" in q && q.text ? `: ${q.text}` : "";
          return `${ctx.shift(q.at)} ${q.by} ${QUERY_STEP[q.action as keyof typeof QUERY_STEP]}${text}`;
        });
        const comment = `${prefix}Query ${e.query}\n${lines.join("\n")}`;
        const state = QUERY_STATE[last.action as keyof typeof QUERY_STATE];
        m.annotations.push(annotation(seq, comment, flag("QUERY", state, CL.queryState)));
        break;
      }
      case "verify": {
        const covered = e.covers.map((c) => `${c.event}/${c.form} #${c.instance} rev ${c.rev}`).join(", ");
        const value = stillCurrent(e, ctx) ? "verified" : "re-verify";
        m.annotations.push(
          annotation(seq, `${prefix}Verified ${when} (${covered})`, flag("SDV", value, CL.sdv)),
        );
        break;
      }
      case "lock":
      case "unlock": {
        const verb = e.action === "lock" ? "Locked" : "Unlocked";
        const reason = e.reason ? `: ${e.reason}` : "";
        const value = e.action === "lock" ? "locked" : "unlocked";
        m.annotations.push(
          annotation(seq, `${prefix}${verb} ${when}${reason}`, flag("LOCK", value, CL.lock)),
        );
        break;
      }
      case "sign": {
        const value = signatureState(e, ctx.revisions).valid ? "valid" : "invalidated";
        const comment = `${prefix}Signed ${ctx.shift(e.at)} by ${e.name} (${e.by}): ${e.meaning}`;
        m.annotations.push(annotation(seq, comment, flag("SIGNATURE", value, CL.signature)));
        m.signature = el(
          "Signature",
          {},
          el("UserRef", { UserOID: odmOid.user(e.by) }) +
            el("LocationRef", { LocationOID: odmOid.location(e.site ?? ctx.site) }) +
            el("SignatureRef", { SignatureOID: ctx.signatureOid(e.meaning) }) +
            textEl("DateTimeStamp", ctx.shift(e.at)),
        );
        break;
      }
      case "subject-status": {
        const date = e.date ? ` on ${e.date}` : "";
        const reason = e.reason ? `: ${e.reason}` : "";
        const comment = `${prefix}${e.status}${date}, recorded ${when}${reason}`;
        m.annotations.push(annotation(seq, comment, flag("SUBJECT-STATUS", e.status, CL.subjectStatus)));
        break;
      }
    }
  }
  return marks;
}

/** The study's own entries (a freeze): ClinicalData's Annotations, after the subjects. */
export function studyAnnotationsXml(entries: ReviewEntry[], ctx: ReviewContext): string {
  const marks = reviewMarks(entries, ctx, 1).get("");
  if (!marks || marks.annotations.length === 0) return "";
  return `<Annotations${attrs({})}>${marks.annotations.join("")}</Annotations>\n`;
}
