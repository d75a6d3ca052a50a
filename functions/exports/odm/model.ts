import type { Choice, ChoiceCode, FieldSchema, FormData, StudyDefinition } from "../../engine/definition.ts";
import { formOrder } from "../../engine/form-order.ts";
import { shiftDate } from "../deidentify.ts";
import { el, textEl } from "../xml.ts";
import { CL, odmOid, unitSlug } from "./oids.ts";
import { REVIEW_CODE_LISTS } from "./review.ts";
import type { Comparator, DataType, OdmOptions } from "./types.ts";
import { decimal, scalar } from "./values.ts";

/** The definition as ODM sees it: forms, items, code lists, units, conditions and methods, built once per export. */

export interface OdmItem {
  oid: string;
  name: string;
  dataType: DataType;
  question: string;
  description?: string;
  length?: number;
  origin?: string;
  unitOid?: string;
  ranges: [Comparator, string][];
  /** The soft range (x-soft-minimum/maximum): RangeCheck SoftHard="Soft". */
  softRanges?: [Comparator, string][];
  codeListOid?: string;
  aliases: [string, string][];
  mandatory: boolean;
  conditionOid?: string;
  methodOid?: string;
  /** The instrument field it holds (its missing-data code applies to it). */
  field?: string;
  /** The item's Value in a form's data, or null for no data; dates moved by `shift` days. */
  encode: (data: FormData, shift: number) => string | null;
}

export interface OdmForm {
  id: string;
  oid: string;
  igOid: string;
  title: string;
  description?: string;
  repeating: boolean;
  items: OdmItem[];
  statusOid: string;
}

export interface Model {
  forms: Map<string, OdmForm>;
  /** Protocol order: as first collected in the schedule, then the logs, then the rest. */
  formOrder: string[];
  units: Map<string, string>;
  codeLists: string[];
  sharedCodeLists: Set<string>;
  conditions: string[];
  methods: string[];
}

/** The form of an id from `formOrder`, which lists exactly the model's forms. */
export function formOf(model: Model, id: string): OdmForm {
  const form = model.forms.get(id);
  if (!form) throw new Error(`ODM export: form ${id} is not in the model`);
  return form;
}

function dataTypeOf(schema: FieldSchema): DataType {
  if (schema.type === "integer") return "integer";
  if (schema.type === "number") return "float";
  if (schema.type === "boolean") return "integer";
  if (schema.format === "date") return "date";
  if (schema.format === "time") return "time";
  if (schema.format === "date-time" || schema.format === "local-date-time") return "datetime";
  return "text";
}

function codeListDataType(codes: ChoiceCode[], type: FieldSchema["type"]): "integer" | "float" | "text" {
  if (type === "integer" || (type !== "string" && codes.every((c) => Number.isInteger(c)))) return "integer";
  if (type === "number" || codes.every((c) => typeof c === "number")) return "float";
  return "text";
}

export function translated(text: string): string {
  return textEl("TranslatedText", text);
}

export function codeListXml(oid: string, name: string, dataType: string, choices: Choice[]): string {
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

export function buildModel(definition: StudyDefinition, options: OdmOptions): Model {
  const dropIdentifiers = options.deidentify?.dropIdentifiers === true;
  const { study } = definition;
  const model: Model = {
    forms: new Map(),
    formOrder: formOrder(definition),
    units: new Map(),
    codeLists: [],
    sharedCodeLists: new Set(
      (definition.study.missingCodes ?? []).length > 0 ? [CL.status, CL.missing] : [CL.status],
    ),
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
    const instrument = definition.instruments[formId];
    // formOrder lists the definition's own instruments: a miss is a bug here, said plainly.
    if (!instrument) throw new Error(`ODM export: form ${formId} has no instrument`);
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
        field,
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
        const soft: [Comparator, string][] = [];
        if (schema["x-soft-minimum"] !== undefined) soft.push(["GE", decimal(schema["x-soft-minimum"])]);
        if (schema["x-soft-maximum"] !== undefined) soft.push(["LE", decimal(schema["x-soft-maximum"])]);
        if (soft.length > 0) item.softRanges = soft;
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
      // A form repeating at one event (repeatingForms) is a repeating FormDef too: its instances carry FormRepeatKey.
      repeating:
        instrument["x-repeating"] === true ||
        study.events.some((e) => e.repeatingForms?.includes(formId) === true),
      items,
      statusOid,
    });
  }
  if (study.arms.length > 0) {
    model.sharedCodeLists.add(CL.arm);
    model.sharedCodeLists.add(CL.flagType);
  }
  if (options.review) {
    model.sharedCodeLists.add(CL.flagType);
    for (const oid of REVIEW_CODE_LISTS) model.sharedCodeLists.add(oid);
  }
  return model;
}
