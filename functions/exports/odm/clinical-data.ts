import {
  FORM_STATUS_CODE,
  type FormData,
  LOGS_EVENT,
  type StudyDefinition,
} from "../../engine/definition.ts";
import type { MissingValue } from "../../engine/missing-codes.ts";
import { deidentifyReview, shiftDate } from "../deidentify.ts";
import { attrs, el, textEl } from "../xml.ts";
import type { Model, OdmForm } from "./model.ts";
import { CL, odmOid } from "./oids.ts";
import { type ReviewMarks, reviewMarks } from "./review.ts";
import type { OdmOptions, OdmRevision, OdmSubject } from "./types.ts";

/** One SubjectData: its events, forms and items, with the audit trail when asked. */

const MARK = { "entered-in-error": "Entered in error", restore: "Restored" } as const;

/** The reason of a revision, a mark saying which it is (its reason too, when the export keeps reasons). */
function reasonForChange(r: OdmRevision): string {
  const text = r.reason?.trim() ?? "";
  const mark = r.action ? MARK[r.action] : undefined;
  if (!mark) return text;
  return text ? `${mark}: ${text}` : mark;
}

/**
 * A subject's revisions without their free text (the reason of a change, of a
 * missing-data code): a de-identified export leaves it out, as it leaves out
 * review entries' text, since a site's words may name the person.
 */
function withoutReasons(s: OdmSubject): OdmSubject {
  const scrub = (r: OdmRevision): OdmRevision => {
    const { reason: _reason, ...kept } = r;
    if (!r.missing) return kept;
    const missing = Object.fromEntries(Object.entries(r.missing).map(([f, m]) => [f, { ...m, reason: "" }]));
    return { ...kept, missing };
  };
  return {
    ...s,
    instances: s.instances.map(scrub),
    ...(s.revisions ? { revisions: s.revisions.map(scrub) } : {}),
  };
}

function auditRecord(r: OdmRevision, shift: number): string {
  const reason = reasonForChange(r);
  return el(
    "AuditRecord",
    {},
    el("UserRef", { UserOID: odmOid.user(r.committedBy) }) +
      el("LocationRef", { LocationOID: odmOid.location(r.site) }) +
      textEl("DateTimeStamp", shiftDate(r.committedAt, shift)) +
      (reason ? textEl("ReasonForChange", reason) : "") +
      textEl("SourceID", `revision ${r.rev} (definition version ${r.definitionVersion})`),
  );
}

function itemData(oid: string, value: string | null, transaction?: string, audit?: string): string {
  return el(
    "ItemData",
    { ItemOID: oid, TransactionType: transaction, Value: value ?? undefined },
    audit ?? "",
  );
}

/**
 * A field holding a missing-data code: ItemData IsNull="Yes" (no Value), with
 * an Annotation whose Flag carries the code (CodeList CL.missing) and whose
 * Comment says the code and the reason.
 */
function codedItemData(oid: string, coded: MissingValue, transaction?: string, audit?: string): string {
  return el(
    "ItemData",
    { ItemOID: oid, TransactionType: transaction, IsNull: "Yes" },
    (audit ?? "") +
      el(
        "Annotation",
        { SeqNum: 1 },
        textEl("Comment", coded.reason ? `${coded.code}: ${coded.reason}` : coded.code, {
          SponsorOrSite: "Site",
        }) + el("Flag", {}, textEl("FlagValue", coded.code, { CodeListOID: CL.missing })),
      ),
  );
}

const codeOf = (r: OdmRevision | undefined, field: string | undefined) =>
  field !== undefined && r?.missing && Object.hasOwn(r.missing, field) ? r.missing[field] : undefined;

/** The ItemData of one form instance: its current values, or its history when revisions are given. */
function itemGroupContent(
  form: OdmForm,
  current: OdmRevision | undefined,
  history: OdmRevision[],
  shift: number,
): string {
  const values = form.items.filter((i) => i.oid !== form.statusOid);
  if (history.length === 0) {
    if (!current) return "";
    let out = "";
    for (const item of values) {
      const v = item.encode(current.data, shift);
      const coded = codeOf(current, item.field);
      if (v !== null) out += itemData(item.oid, v);
      else if (coded) out += codedItemData(item.oid, coded);
    }
    return out + itemData(form.statusOid, String(FORM_STATUS_CODE[current.status]));
  }
  let out = "";
  let prev: FormData = {};
  let prevRevision: OdmRevision | undefined;
  let prevStatus: string | null = null;
  history.forEach((r, index) => {
    // A history that does not start at revision 1 does not say what was there before.
    const unknownBase = index === 0 && r.rev > 1;
    const audit = auditRecord(r, shift);
    const change = (oid: string, before: string | null, after: string | null) => {
      if (before === after) return;
      if (after === null) {
        if (!unknownBase) out += itemData(oid, null, "Remove", audit);
        return;
      }
      out += itemData(oid, after, unknownBase ? "Upsert" : before === null ? "Insert" : "Update", audit);
    };
    for (const item of values) {
      const coded = codeOf(r, item.field);
      const was = codeOf(prevRevision, item.field);
      if (coded && JSON.stringify(coded) !== JSON.stringify(was ?? null)) {
        const had = item.encode(prev, shift) !== null || was !== undefined;
        out += codedItemData(item.oid, coded, unknownBase ? "Upsert" : had ? "Update" : "Insert", audit);
      } else if (!coded && was && item.encode(r.data, shift) === null) {
        if (!unknownBase) out += itemData(item.oid, null, "Remove", audit);
      } else change(item.oid, item.encode(prev, shift), item.encode(r.data, shift));
    }
    const status = String(FORM_STATUS_CODE[r.status]);
    // A mark or restore changes no value: it is told as an Update of the status item carrying its reason.
    if (r.action && prevStatus === status) out += itemData(form.statusOid, status, "Update", audit);
    else change(form.statusOid, prevStatus, status);
    prev = r.data;
    prevRevision = r;
    prevStatus = status;
  });
  return out;
}

interface Slot {
  current?: OdmRevision;
  history: OdmRevision[];
}

const NO_MARKS: ReviewMarks = { signature: "", annotations: [] };

function formDataXml(
  form: OdmForm,
  slot: Slot,
  shift: number,
  repeatKey?: number,
  marks: { form?: ReviewMarks; group?: ReviewMarks } = {},
): string {
  const content = itemGroupContent(form, slot.current, slot.history, shift);
  if (content === "" && !marks.form && !marks.group) return "";
  const own = marks.form ?? NO_MARKS;
  const group = marks.group ?? NO_MARKS;
  const marked = slot.current?.enteredInError
    ? el(
        "Annotation",
        { SeqNum: 1 },
        textEl("Comment", reasonForChange({ ...slot.current, action: "entered-in-error" }), {
          SponsorOrSite: "Site",
        }),
      )
    : "";
  return el(
    "FormData",
    { FormOID: form.oid, FormRepeatKey: repeatKey },
    own.signature +
      marked +
      own.annotations.join("") +
      el(
        "ItemGroupData",
        { ItemGroupOID: form.igOid },
        group.signature + group.annotations.join("") + content,
      ),
  );
}

export function* subjectDataChunks(
  definition: StudyDefinition,
  model: Model,
  input: OdmSubject,
  audit: boolean,
  deidentify: OdmOptions["deidentify"],
  review?: { signatureOid: (meaning: string) => string },
): Generator<string> {
  const s = deidentify ? withoutReasons(input) : input;
  const shift = deidentify?.shiftDays?.(s.subject.id) ?? 0;
  const entries = review && s.review ? s.review : [];
  const marks = reviewMarks(deidentify ? entries.map((e) => deidentifyReview(e, deidentify)) : entries, {
    currentRev: new Map(s.instances.map((r) => [`${r.event}|${r.form}|${r.instance}`, r.rev])),
    revisions: s.revisions ?? s.instances,
    site: s.subject.site,
    audit,
    itemOid: odmOid.item,
    signatureOid: review?.signatureOid ?? (() => ""),
    // De-identified entries are shifted already.
    shift: (at) => at,
  });
  const formMarks = (event: string, form: string, n: number) => ({
    form: marks.get(`f|${event}|${form}|${n}`),
    group: marks.get(`g|${event}|${form}|${n}`),
  });
  const slots = new Map<string, Slot>();
  const key = (event: string, form: string, instance: number) => `${event}\u0000${form}\u0000${instance}`;
  const slot = (r: Pick<OdmRevision, "event" | "form" | "instance">): Slot => {
    const k = key(r.event, r.form, r.instance);
    let found = slots.get(k);
    if (!found) {
      found = { history: [] };
      slots.set(k, found);
    }
    return found;
  };
  for (const r of s.instances) slot(r).current = r;
  // A form reviewed before any data was saved to it still has an element to carry its marks.
  for (const e of entries)
    if (e.target.event !== undefined && e.target.form !== undefined)
      slot({ event: e.target.event, form: e.target.form, instance: e.target.instance ?? 1 });
  if (audit) {
    for (const r of s.revisions ?? []) slot(r).history.push(r);
    for (const v of slots.values()) v.history.sort((a, b) => a.rev - b.rev);
  }
  const byForm = new Map<string, [number, Slot][]>();
  for (const [k, found] of slots) {
    const [event = "", form = "", n = "0"] = k.split("\u0000");
    const list = byForm.get(`${event}\u0000${form}`) ?? [];
    list.push([Number(n), found]);
    byForm.set(`${event}\u0000${form}`, list);
  }
  for (const list of byForm.values()) list.sort((a, b) => a[0] - b[0]);
  /** The instances of a form in an event, by number. */
  const slotsOf = (event: string, form: string): [number, Slot][] =>
    byForm.get(`${event}\u0000${form}`) ?? [];

  const { subject } = s;
  let head = `<SubjectData${attrs({
    SubjectKey: deidentify?.subjectKey?.(subject.id) ?? subject.id,
    TransactionType: audit ? "Upsert" : undefined,
  })}>`;
  const own = marks.get("") ?? NO_MARKS;
  head += own.signature;
  head += el("SiteRef", { LocationOID: odmOid.location(subject.site) });
  if (subject.arm && definition.study.arms.length > 0) {
    head += el(
      "Annotation",
      { SeqNum: 1 },
      el(
        "Flag",
        {},
        textEl("FlagValue", subject.arm, { CodeListOID: CL.arm }) +
          textEl("FlagType", "ARM", { CodeListOID: CL.flagType }),
      ),
    );
  }
  head += own.annotations.join("");
  yield `${head}\n`;
  /** A visit's Signature and Annotations, before its forms. */
  const visitMarks = (event: string, n: number) => {
    const m = marks.get(`e|${event}|${n}`);
    return m ? m.signature + m.annotations.join("") : "";
  };

  for (const e of definition.study.events) {
    const forms = e.forms.map((f) => model.forms.get(f)).filter((f): f is OdmForm => f !== undefined);
    if (e.repeatable) {
      const visited = entries.flatMap((r) =>
        r.target.event === e.id && r.target.form === undefined ? [r.target.instance ?? 1] : [],
      );
      const keys = [
        ...new Set([...forms.flatMap((f) => slotsOf(e.id, f.id).map(([n]) => n)), ...visited]),
      ].sort((a, b) => a - b);
      for (const n of keys) {
        const body =
          visitMarks(e.id, n) +
          forms
            .map((f) => {
              const found = slots.get(key(e.id, f.id, n));
              return found
                ? formDataXml(f, found, shift, f.repeating ? n : undefined, formMarks(e.id, f.id, n))
                : "";
            })
            .join("");
        if (body) {
          yield `${el("StudyEventData", { StudyEventOID: odmOid.event(e.id), StudyEventRepeatKey: n }, body)}\n`;
        }
      }
      continue;
    }
    const body =
      visitMarks(e.id, 1) +
      forms
        .flatMap((f) =>
          slotsOf(e.id, f.id).map(([n, found]) =>
            formDataXml(f, found, shift, f.repeating || n !== 1 ? n : undefined, formMarks(e.id, f.id, n)),
          ),
        )
        .join("");
    if (body) yield `${el("StudyEventData", { StudyEventOID: odmOid.event(e.id) }, body)}\n`;
  }
  const logs = definition.study.logs
    .map((f) => model.forms.get(f))
    .filter((f): f is OdmForm => f !== undefined);
  const body = logs
    .flatMap((f) =>
      slotsOf(LOGS_EVENT, f.id).map(([n, found]) =>
        formDataXml(f, found, shift, n, formMarks(LOGS_EVENT, f.id, n)),
      ),
    )
    .join("");
  if (body) yield `${el("StudyEventData", { StudyEventOID: odmOid.event(LOGS_EVENT) }, body)}\n`;
  yield "</SubjectData>\n";
}
