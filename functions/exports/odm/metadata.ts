import {
  FORM_STATUS_CODE,
  FORM_STATUS_LABEL,
  FORM_STATUSES,
  LOGS_EVENT,
  type StudyDefinition,
} from "../../engine/definition.ts";
import { attrs, el, textEl } from "../xml.ts";
import { codeListXml, formOf, type Model, type OdmItem, translated } from "./model.ts";
import { CL, odmOid } from "./oids.ts";
import { REVIEW_CODE_LISTS, REVIEW_FLAG_TYPES, REVIEW_FLAG_VALUES } from "./review.ts";

/** The Study element: GlobalVariables, BasicDefinitions and the MetaDataVersion. */

function sharedCodeList(oid: string, definition: StudyDefinition, review: boolean): string {
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
      return codeListXml(
        oid,
        "Form status",
        "integer",
        FORM_STATUSES.map((s) => ({ const: FORM_STATUS_CODE[s], title: FORM_STATUS_LABEL[s] })),
      );
    case CL.arm:
      return codeListXml(
        oid,
        "Arm",
        "text",
        definition.study.arms.map((a) => ({ const: a.id, title: a.label })),
      );
    case CL.missing:
      return codeListXml(
        oid,
        "Missing-data codes",
        "text",
        (definition.study.missingCodes ?? []).map((m) => ({ const: m.code, title: m.label })),
      );
    case CL.flagType:
      return codeListXml(oid, "Flag type", "text", [
        ...(definition.study.arms.length > 0
          ? [{ const: "ARM", title: "Treatment arm of the subject" }]
          : []),
        ...(review ? REVIEW_FLAG_TYPES : []),
      ]);
    default: {
      const list = REVIEW_FLAG_VALUES[oid];
      if (!list) throw new Error(`no shared code list ${oid}`);
      return codeListXml(
        oid,
        list.name,
        "text",
        list.values.map(([code, title]) => ({ const: code, title })),
      );
    }
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
  for (const [comparator, value] of item.softRanges ?? []) {
    children += el("RangeCheck", { Comparator: comparator, SoftHard: "Soft" }, textEl("CheckValue", value));
  }
  if (item.codeListOid) children += el("CodeListRef", { CodeListOID: item.codeListOid });
  for (const [context, name] of item.aliases) children += el("Alias", { Context: context, Name: name });
  return el(
    "ItemDef",
    { OID: item.oid, Name: item.name, DataType: item.dataType, Length: item.length, Origin: item.origin },
    children,
  );
}

export function* metadataChunks(
  definition: StudyDefinition,
  model: Model,
  mdvOid: string,
): Generator<string> {
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
    // FormRefs are the union over arms; an arm collecting fewer forms here says which (`arm: form form`).
    for (const [arm, armForms] of Object.entries(e.armForms ?? {}))
      children += el("Alias", { Context: "x-arm-forms", Name: `${arm}: ${armForms.join(" ")}` });
    if (e.repeatingForms)
      children += el("Alias", { Context: "x-repeating-forms", Name: e.repeatingForms.join(" ") });
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
    const form = formOf(model, f);
    yield `${el(
      "FormDef",
      { OID: form.oid, Name: form.title, Repeating: form.repeating ? "Yes" : "No" },
      (form.description ? el("Description", {}, translated(form.description)) : "") +
        el("ItemGroupRef", { ItemGroupOID: form.igOid, Mandatory: "Yes" }),
    )}\n`;
  }
  for (const f of model.formOrder) {
    const form = formOf(model, f);
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
    yield `${formOf(model, f).items.map(itemDefXml).join("\n")}\n`;
  }
  for (const cl of model.codeLists) yield `${cl}\n`;
  for (const oid of [
    CL.yesno,
    CL.truefalse,
    CL.status,
    CL.arm,
    CL.flagType,
    CL.missing,
    ...REVIEW_CODE_LISTS,
  ]) {
    if (model.sharedCodeLists.has(oid))
      yield `${sharedCodeList(oid, definition, model.sharedCodeLists.has(CL.queryState))}\n`;
  }
  for (const c of model.conditions) yield `${c}\n`;
  for (const m of model.methods) yield `${m}\n`;
  yield "</MetaDataVersion>\n";
}
