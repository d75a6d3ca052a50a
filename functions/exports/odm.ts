import {
  type Choice,
  type ChoiceCode,
  type FieldSchema,
  FORM_STATUS_CODE,
  type FormData,
  type Instrument,
  LOGS_EVENT,
  type StudyDefinition,
} from "../engine/definition.ts";
import type { ErrorMarkAction } from "../engine/entered-in-error.ts";
import { formOrder } from "../engine/form-order.ts";
import { isEmpty } from "../engine/logic.ts";
import type { InstanceState } from "../engine/revision.ts";
import { type Deidentify, shiftDate } from "./deidentify.ts";
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
 *   ReasonForChange starts "Entered in error: " or "Restored: ".
 */

type DataType = "text" | "integer" | "float" | "date" | "time" | "datetime";
type Comparator = "LT" | "LE" | "GT" | "GE";

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
   * pass the authors of the exported revisions (and no one else).
   */
  users?: Iterable<string>;
  /** EffectiveDate of each site's MetaDataVersionRef; default: the creation date. */
  effectiveDate?: string;
}

const utf8 = new TextEncoder();

/**
 * An id as part of an OID: letters, digits, `_` and `-` as they are, any other
 * character as `~XX` per UTF-8 byte (so `.` never appears inside a part and
 * distinct ids give distinct OIDs).
 */
export function oidPart(id: string): string {
  let out = "";
  for (const ch of id) {
    if (/[A-Za-z0-9_-]/.test(ch)) out += ch;
    else for (const b of utf8.encode(ch)) out += `~${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out === "" ? "~" : out;
}

const p = oidPart;

/** The OIDs of the export, deterministic from the definition's ids. */
export const odmOid = {
  study: (id: string) => `S.${p(id)}`,
  metaDataVersion: (version: number) => `MDV.${version}`,
  event: (id: string) => `SE.${p(id)}`,
  form: (id: string) => `F.${p(id)}`,
  itemGroup: (form: string) => `IG.${p(form)}`,
  item: (form: string, field: string) => `I.${p(form)}.${p(field)}`,
  choiceItem: (form: string, field: string, code: ChoiceCode) =>
    `I.${p(form)}.${p(field)}___${p(String(code))}`,
  statusItem: (form: string) => `I.${p(form)}.__status`,
  codeList: (form: string, field: string) => `CL.${p(form)}.${p(field)}`,
  unit: (slug: string) => `MU.${slug}`,
  location: (site: string) => `LOC.${p(site)}`,
  user: (user: string) => `U.${p(user)}`,
  condition: (form: string, field: string) => `COND.${p(form)}.${p(field)}`,
  method: (form: string, field: string) => `MT.${p(form)}.${p(field)}`,
} as const;

/** Shared code lists (their OIDs have one dot, per-field ones two: they cannot collide). */
const CL = {
  yesno: "CL.yesno",
  truefalse: "CL.truefalse",
  status: "CL.status",
  arm: "CL.arm",
  flagType: "CL.flagtype",
} as const;

/** A readable slug of a unit for `MU.<slug>` (µmol/L → umol_per_L, °C → degC, % → pct). */
export function unitSlug(unit: string): string {
  const s = unit
    .replace(/[µμ]/g, "u")
    .replace(/°/g, "deg")
    .replace(/%/g, "pct")
    .replace(/×/g, "x")
    .replace(/\//g, "_per_")
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/[^A-Za-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "");
  return s === "" ? "unit" : s;
}

/** A number as an xs:decimal literal (never exponent notation). */
export function decimal(n: number): string {
  const s = String(n);
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(s);
  if (!m) return s;
  const [, sign = "", int = "", frac = "", exp = "0"] = m;
  const digits = int + frac;
  const point = 1 + Number(exp);
  if (point <= 0) return `${sign}0.${"0".repeat(-point)}${digits}`;
  if (point >= digits.length) return sign + digits + "0".repeat(point - digits.length);
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

function scalar(value: unknown, dataType: DataType): string | null {
  if (isEmpty(value)) return null;
  if (typeof value === "number") return decimal(value);
  if (typeof value === "boolean") return value ? "1" : "0";
  if (typeof value === "string") {
    // The engine allows HH:MM; ODM time is xs:time (HH:MM:SS).
    return dataType === "time" && /^\d{2}:\d{2}$/.test(value) ? `${value}:00` : value;
  }
  return JSON.stringify(value);
}

interface OdmItem {
  oid: string;
  name: string;
  dataType: DataType;
  question: string;
  description?: string;
  length?: number;
  origin?: string;
  unitOid?: string;
  ranges: [Comparator, string][];
  codeListOid?: string;
  aliases: [string, string][];
  mandatory: boolean;
  conditionOid?: string;
  methodOid?: string;
  /** The item's Value in a form's data, or null for no data; dates moved by `shift` days. */
  encode: (data: FormData, shift: number) => string | null;
}

interface OdmForm {
  id: string;
  oid: string;
  igOid: string;
  title: string;
  description?: string;
  repeating: boolean;
  items: OdmItem[];
  statusOid: string;
}

interface Model {
  forms: Map<string, OdmForm>;
  /** Protocol order: as first collected in the schedule, then the logs, then the rest. */
  formOrder: string[];
  units: Map<string, string>;
  codeLists: string[];
  sharedCodeLists: Set<string>;
  conditions: string[];
  methods: string[];
}

function dataTypeOf(schema: FieldSchema): DataType {
  if (schema.type === "integer") return "integer";
  if (schema.type === "number") return "float";
  if (schema.type === "boolean") return "integer";
  if (schema.format === "date") return "date";
  if (schema.format === "time") return "time";
  if (schema.format === "date-time") return "datetime";
  return "text";
}

function codeListDataType(codes: ChoiceCode[], type: FieldSchema["type"]): "integer" | "float" | "text" {
  if (type === "integer" || (type !== "string" && codes.every((c) => Number.isInteger(c)))) return "integer";
  if (type === "number" || codes.every((c) => typeof c === "number")) return "float";
  return "text";
}

function translated(text: string): string {
  return textEl("TranslatedText", text);
}

function codeListXml(oid: string, name: string, dataType: string, choices: Choice[]): string {
  const items = choices
    .map((c, i) =>
      el(
        "CodeListItem",
        { CodedValue: typeof c.const === "number" ? decimal(c.const) : c.const, OrderNumber: i + 1 },
        el("Decode", {}, translated(c.title)),
      ),
    )
    .join("");
  return el("CodeList", { OID: oid, Name: name, DataType: dataType }, items);
}

function enumListXml(oid: string, name: string, dataType: string, codes: ChoiceCode[]): string {
  const items = codes
    .map((c, i) =>
      el("EnumeratedItem", { CodedValue: typeof c === "number" ? decimal(c) : c, OrderNumber: i + 1 }),
    )
    .join("");
  return el("CodeList", { OID: oid, Name: name, DataType: dataType }, items);
}

function formalExpression(logic: unknown): string {
  return textEl("FormalExpression", JSON.stringify(logic), { Context: "JSONLogic" });
}

function buildModel(definition: StudyDefinition, options: OdmOptions): Model {
  const dropIdentifiers = options.deidentify?.dropIdentifiers === true;
  const { study } = definition;
  const model: Model = {
    forms: new Map(),
    formOrder: formOrder(definition),
    units: new Map(),
    codeLists: [],
    sharedCodeLists: new Set([CL.status]),
    conditions: [],
    methods: [],
  };
  const unitOid = (unit: string): string => {
    const known = model.units.get(unit);
    if (known) return known;
    const slug = unitSlug(unit);
    const taken = new Set(model.units.values());
    let oid = odmOid.unit(slug);
    for (let n = 2; taken.has(oid); n++) oid = odmOid.unit(`${slug}-${n}`);
    model.units.set(unit, oid);
    return oid;
  };

  for (const formId of model.formOrder) {
    const instrument = definition.instruments[formId] as Instrument;
    const required = new Set(instrument.required ?? []);
    const items: OdmItem[] = [];
    const seen = new Set<string>();
    const push = (item: OdmItem) => {
      if (seen.has(item.oid)) {
        throw new Error(`ODM export: item OID ${item.oid} would be used twice in instrument ${formId}`);
      }
      seen.add(item.oid);
      items.push(item);
    };
    for (const [field, schema] of Object.entries(instrument.properties)) {
      if (schema.type === "null") continue;
      const identifier = schema["x-identifier"] === true;
      if (identifier && dropIdentifiers) continue;
      const title = schema.title ?? field;
      const common = {
        description: schema.description,
        mandatory: required.has(field),
        aliases: identifier ? ([["x-identifier", "Yes"]] as [string, string][]) : [],
        ranges: [] as [Comparator, string][],
      };
      const visibleIf = schema["x-visible-if"];
      let conditionOid: string | undefined;
      if (visibleIf !== undefined) {
        conditionOid = odmOid.condition(formId, field);
        model.conditions.push(
          el(
            "ConditionDef",
            { OID: conditionOid, Name: `${formId}.${field} hidden` },
            el(
              "Description",
              {},
              translated(
                "Not collected while this JSON Logic holds (the x-visible-if of the field is false)",
              ),
            ) + formalExpression({ "!": [visibleIf] }),
          ),
        );
      }

      if (schema.type === "array") {
        const choices = schema.items?.oneOf ?? [];
        for (const c of choices) {
          const code = c.const;
          model.sharedCodeLists.add(CL.yesno);
          push({
            ...common,
            oid: odmOid.choiceItem(formId, field, code),
            name: `${field}___${code}`,
            dataType: "integer",
            question: `${title} (choice=${c.title})`,
            codeListOid: CL.yesno,
            aliases: [...common.aliases, ["x-multiple-choice", field], ["x-choice-code", String(code)]],
            conditionOid,
            encode: (data) => {
              const v = data[field];
              if (!Array.isArray(v) || v.length === 0) return null;
              return v.some((x) => String(x) === String(code)) ? "1" : "0";
            },
          });
        }
        continue;
      }

      const dataType = dataTypeOf(schema);
      const item: OdmItem = {
        ...common,
        oid: odmOid.item(formId, field),
        name: field,
        dataType,
        question: title,
        conditionOid,
        encode:
          dataType === "date" || dataType === "datetime"
            ? (data, shift) => {
                const v = scalar(data[field], dataType);
                return v === null ? null : shiftDate(v, shift);
              }
            : (data) => scalar(data[field], dataType),
      };
      if (dataType === "text" && schema.maxLength !== undefined && schema.maxLength >= 1) {
        item.length = schema.maxLength;
      }
      if (schema["x-unit"]) item.unitOid = unitOid(schema["x-unit"]);
      if (schema.type === "integer" || schema.type === "number") {
        if (schema.exclusiveMinimum !== undefined) item.ranges.push(["GT", decimal(schema.exclusiveMinimum)]);
        else if (schema.minimum !== undefined) item.ranges.push(["GE", decimal(schema.minimum)]);
        if (schema.exclusiveMaximum !== undefined) item.ranges.push(["LT", decimal(schema.exclusiveMaximum)]);
        else if (schema.maximum !== undefined) item.ranges.push(["LE", decimal(schema.maximum)]);
      }
      if (schema.type === "boolean") {
        const cl = schema["x-widget"] === "truefalse" ? CL.truefalse : CL.yesno;
        model.sharedCodeLists.add(cl);
        item.codeListOid = cl;
      } else if (schema.oneOf && schema.oneOf.length > 0) {
        item.codeListOid = odmOid.codeList(formId, field);
        const codes = schema.oneOf.map((c) => c.const);
        model.codeLists.push(
          codeListXml(
            item.codeListOid,
            `${formId}.${field}`,
            codeListDataType(codes, schema.type),
            schema.oneOf,
          ),
        );
      } else if (schema.enum && schema.enum.length > 0) {
        item.codeListOid = odmOid.codeList(formId, field);
        model.codeLists.push(
          enumListXml(
            item.codeListOid,
            `${formId}.${field}`,
            codeListDataType(schema.enum, schema.type),
            schema.enum,
          ),
        );
      }
      const calc = schema["x-calc"];
      if (calc !== undefined) {
        item.origin = "Derived";
        item.methodOid = odmOid.method(formId, field);
        model.methods.push(
          el(
            "MethodDef",
            { OID: item.methodOid, Name: `${formId}.${field}`, Type: "Computation" },
            el("Description", {}, translated("Calculated on the server by this JSON Logic")) +
              formalExpression(calc),
          ),
        );
      }
      push(item);
    }
    const statusOid = odmOid.statusItem(formId);
    push({
      oid: statusOid,
      name: `${formId}_complete`,
      dataType: "integer",
      question: "Form status",
      description: "0 incomplete, 1 unverified, 2 complete",
      ranges: [],
      codeListOid: CL.status,
      aliases: [],
      mandatory: false,
      encode: () => null,
    });
    model.forms.set(formId, {
      id: formId,
      oid: odmOid.form(formId),
      igOid: odmOid.itemGroup(formId),
      title: instrument.title || formId,
      description: instrument.description,
      repeating: instrument["x-repeating"] === true,
      items,
      statusOid,
    });
  }
  if (study.arms.length > 0) {
    model.sharedCodeLists.add(CL.arm);
    model.sharedCodeLists.add(CL.flagType);
  }
  return model;
}

function sharedCodeList(oid: string, definition: StudyDefinition): string {
  switch (oid) {
    case CL.yesno:
      return codeListXml(oid, "Yes/No", "integer", [
        { const: 1, title: "Yes" },
        { const: 0, title: "No" },
      ]);
    case CL.truefalse:
      return codeListXml(oid, "True/False", "integer", [
        { const: 1, title: "True" },
        { const: 0, title: "False" },
      ]);
    case CL.status:
      return codeListXml(oid, "Form status", "integer", [
        { const: 0, title: "Incomplete" },
        { const: 1, title: "Unverified" },
        { const: 2, title: "Complete" },
      ]);
    case CL.arm:
      return codeListXml(
        oid,
        "Arm",
        "text",
        definition.study.arms.map((a) => ({ const: a.id, title: a.label })),
      );
    default:
      return codeListXml(oid, "Flag type", "text", [{ const: "ARM", title: "Treatment arm of the subject" }]);
  }
}

function itemDefXml(item: OdmItem): string {
  let children = "";
  if (item.description) children += el("Description", {}, translated(item.description));
  children += el("Question", {}, translated(item.question));
  if (item.unitOid) children += el("MeasurementUnitRef", { MeasurementUnitOID: item.unitOid });
  for (const [comparator, value] of item.ranges) {
    children += el("RangeCheck", { Comparator: comparator, SoftHard: "Hard" }, textEl("CheckValue", value));
  }
  if (item.codeListOid) children += el("CodeListRef", { CodeListOID: item.codeListOid });
  for (const [context, name] of item.aliases) children += el("Alias", { Context: context, Name: name });
  return el(
    "ItemDef",
    { OID: item.oid, Name: item.name, DataType: item.dataType, Length: item.length, Origin: item.origin },
    children,
  );
}

function* metadataChunks(definition: StudyDefinition, model: Model, mdvOid: string): Generator<string> {
  const { study } = definition;
  yield el(
    "GlobalVariables",
    {},
    textEl("StudyName", study.title || study.id) +
      textEl("StudyDescription", study.description ?? study.title) +
      textEl("ProtocolName", study.id),
  );
  yield "\n";
  if (model.units.size > 0) {
    yield el(
      "BasicDefinitions",
      {},
      [...model.units]
        .map(([unit, oid]) =>
          el("MeasurementUnit", { OID: oid, Name: unit }, el("Symbol", {}, translated(unit))),
        )
        .join("\n"),
    );
    yield "\n";
  }
  yield `<MetaDataVersion${attrs({
    OID: mdvOid,
    Name: definition.version > 0 ? `Version ${definition.version}` : "Unpublished draft",
    Description: `${study.title} — protocol definition version ${definition.version}`,
  })}>\n`;

  const logs = study.logs.filter((f) => model.forms.has(f));
  const events = study.events.map((e, i) => ({ e, i }));
  let refs = events
    .map(({ e, i }) =>
      el("StudyEventRef", {
        StudyEventOID: odmOid.event(e.id),
        OrderNumber: i + 1,
        Mandatory: e.day !== undefined && !e.repeatable && !e.arms ? "Yes" : "No",
      }),
    )
    .join("");
  if (logs.length > 0) {
    refs += el("StudyEventRef", {
      StudyEventOID: odmOid.event(LOGS_EVENT),
      OrderNumber: events.length + 1,
      Mandatory: "No",
    });
  }
  yield `${el("Protocol", {}, refs)}\n`;

  for (const e of study.events) {
    const forms = e.forms.filter((f) => model.forms.has(f));
    let children = forms
      .map((f, i) => el("FormRef", { FormOID: odmOid.form(f), OrderNumber: i + 1, Mandatory: "Yes" }))
      .join("");
    if (e.day !== undefined) children += el("Alias", { Context: "x-study-day", Name: String(e.day) });
    if (e.window) {
      children += el("Alias", {
        Context: "x-visit-window-days",
        Name: `-${e.window.before}/+${e.window.after}`,
      });
    }
    if (e.arms) children += el("Alias", { Context: "x-arms", Name: e.arms.join(" ") });
    yield `${el(
      "StudyEventDef",
      {
        OID: odmOid.event(e.id),
        Name: e.label || e.id,
        Repeating: e.repeatable ? "Yes" : "No",
        Type: e.day !== undefined ? "Scheduled" : "Unscheduled",
      },
      children,
    )}\n`;
  }
  if (logs.length > 0) {
    // One logs container per subject; its forms repeat (FormRepeatKey), not the event.
    yield `${el(
      "StudyEventDef",
      { OID: odmOid.event(LOGS_EVENT), Name: "Logs", Repeating: "No", Type: "Common" },
      el("Description", {}, translated("Repeating records kept per subject rather than per visit")) +
        logs
          .map((f, i) => el("FormRef", { FormOID: odmOid.form(f), OrderNumber: i + 1, Mandatory: "No" }))
          .join(""),
    )}\n`;
  }

  for (const f of model.formOrder) {
    const form = model.forms.get(f) as OdmForm;
    yield `${el(
      "FormDef",
      { OID: form.oid, Name: form.title, Repeating: form.repeating ? "Yes" : "No" },
      (form.description ? el("Description", {}, translated(form.description)) : "") +
        el("ItemGroupRef", { ItemGroupOID: form.igOid, Mandatory: "Yes" }),
    )}\n`;
  }
  for (const f of model.formOrder) {
    const form = model.forms.get(f) as OdmForm;
    yield `${el(
      "ItemGroupDef",
      { OID: form.igOid, Name: form.title, Repeating: "No" },
      form.items
        .map((item, i) =>
          el("ItemRef", {
            ItemOID: item.oid,
            OrderNumber: i + 1,
            Mandatory: item.mandatory ? "Yes" : "No",
            MethodOID: item.methodOid,
            CollectionExceptionConditionOID: item.conditionOid,
          }),
        )
        .join(""),
    )}\n`;
  }
  for (const f of model.formOrder) {
    yield `${(model.forms.get(f) as OdmForm).items.map(itemDefXml).join("\n")}\n`;
  }
  for (const cl of model.codeLists) yield `${cl}\n`;
  for (const oid of [CL.yesno, CL.truefalse, CL.status, CL.arm, CL.flagType]) {
    if (model.sharedCodeLists.has(oid)) yield `${sharedCodeList(oid, definition)}\n`;
  }
  for (const c of model.conditions) yield `${c}\n`;
  for (const m of model.methods) yield `${m}\n`;
  yield "</MetaDataVersion>\n";
}

const MARK_PREFIX = { "entered-in-error": "Entered in error: ", restore: "Restored: " } as const;

function auditRecord(r: OdmRevision, shift: number): string {
  const reason = r.reason?.trim() ? `${r.action ? MARK_PREFIX[r.action] : ""}${r.reason}` : "";
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
      if (v !== null) out += itemData(item.oid, v);
    }
    return out + itemData(form.statusOid, String(FORM_STATUS_CODE[current.status]));
  }
  let out = "";
  let prev: FormData = {};
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
    for (const item of values) change(item.oid, item.encode(prev, shift), item.encode(r.data, shift));
    const status = String(FORM_STATUS_CODE[r.status]);
    // A mark or restore changes no value: it is told as an Update of the status item carrying its reason.
    if (r.action && prevStatus === status) out += itemData(form.statusOid, status, "Update", audit);
    else change(form.statusOid, prevStatus, status);
    prev = r.data;
    prevStatus = status;
  });
  return out;
}

interface Slot {
  current?: OdmRevision;
  history: OdmRevision[];
}

function formDataXml(form: OdmForm, slot: Slot, shift: number, repeatKey?: number): string {
  const content = itemGroupContent(form, slot.current, slot.history, shift);
  if (content === "") return "";
  const marked = slot.current?.enteredInError
    ? el(
        "Annotation",
        { SeqNum: 1 },
        textEl("Comment", `Entered in error: ${slot.current.reason ?? ""}`, { SponsorOrSite: "Site" }),
      )
    : "";
  return el(
    "FormData",
    { FormOID: form.oid, FormRepeatKey: repeatKey },
    marked + el("ItemGroupData", { ItemGroupOID: form.igOid }, content),
  );
}

function* subjectDataChunks(
  definition: StudyDefinition,
  model: Model,
  s: OdmSubject,
  audit: boolean,
  deidentify: OdmOptions["deidentify"],
): Generator<string> {
  const shift = deidentify?.shiftDays?.(s.subject.id) ?? 0;
  const slots = new Map<string, Slot>();
  const key = (event: string, form: string, instance: number) => `${event}\u0000${form}\u0000${instance}`;
  const slot = (r: OdmRevision): Slot => {
    const k = key(r.event, r.form, r.instance);
    let found = slots.get(k);
    if (!found) {
      found = { history: [] };
      slots.set(k, found);
    }
    return found;
  };
  for (const r of s.instances) slot(r).current = r;
  if (audit) {
    for (const r of s.revisions ?? []) slot(r).history.push(r);
    for (const v of slots.values()) v.history.sort((a, b) => a.rev - b.rev);
  }
  const byForm = new Map<string, number[]>();
  for (const k of slots.keys()) {
    const [event = "", form = "", n = "0"] = k.split("\u0000");
    const list = byForm.get(`${event}\u0000${form}`) ?? [];
    list.push(Number(n));
    byForm.set(`${event}\u0000${form}`, list);
  }
  for (const list of byForm.values()) list.sort((a, b) => a - b);
  const instancesOf = (event: string, form: string): number[] => byForm.get(`${event}\u0000${form}`) ?? [];

  const { subject } = s;
  let head = `<SubjectData${attrs({
    SubjectKey: deidentify?.subjectKey?.(subject.id) ?? subject.id,
    TransactionType: audit ? "Upsert" : undefined,
  })}>`;
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
  yield `${head}\n`;

  for (const e of definition.study.events) {
    const forms = e.forms.map((f) => model.forms.get(f)).filter((f): f is OdmForm => f !== undefined);
    if (e.repeatable) {
      const keys = [...new Set(forms.flatMap((f) => instancesOf(e.id, f.id)))].sort((a, b) => a - b);
      for (const n of keys) {
        const body = forms
          .map((f) => {
            const found = slots.get(key(e.id, f.id, n));
            return found ? formDataXml(f, found, shift, f.repeating ? n : undefined) : "";
          })
          .join("");
        if (body) {
          yield `${el("StudyEventData", { StudyEventOID: odmOid.event(e.id), StudyEventRepeatKey: n }, body)}\n`;
        }
      }
      continue;
    }
    const body = forms
      .flatMap((f) =>
        instancesOf(e.id, f.id).map((n) =>
          formDataXml(
            f,
            slots.get(key(e.id, f.id, n)) as Slot,
            shift,
            f.repeating || n !== 1 ? n : undefined,
          ),
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
      instancesOf(LOGS_EVENT, f.id).map((n) =>
        formDataXml(f, slots.get(key(LOGS_EVENT, f.id, n)) as Slot, shift, n),
      ),
    )
    .join("");
  if (body) yield `${el("StudyEventData", { StudyEventOID: odmOid.event(LOGS_EVENT) }, body)}\n`;
  yield "</SubjectData>\n";
}

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
    const users = [...new Set(options.users ?? [])];
    const effective = options.effectiveDate ?? created.slice(0, 10);
    let admin = users.map((u) => el("User", { OID: odmOid.user(u) }, textEl("LoginName", u))).join("\n");
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
    if (admin) yield `${el("AdminData", { StudyOID: studyOid }, `\n${admin}\n`)}\n`;

    yield `<ClinicalData${attrs({ StudyOID: studyOid, MetaDataVersionOID: mdvOid })}>\n`;
    for await (const s of subjects) yield* subjectDataChunks(definition, model, s, audit, options.deidentify);
    yield "</ClinicalData>\n";
  }
  yield "</ODM>\n";
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
