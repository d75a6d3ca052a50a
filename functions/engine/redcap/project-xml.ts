import { XMLParser } from "fast-xml-parser";
import { emptyRow, type Row } from "./columns.ts";
import {
  type EventPiece,
  emptyPieces,
  type FlatRecords,
  type ProjectPieces,
  readMissingCodes,
} from "./project-pieces.ts";

/**
 * A REDCap project XML (CDISC ODM 1.3.1 with REDCap's `redcap:` attributes,
 * as "Download metadata & data" or "Copy project" gives it) → the pieces of a
 * project: the data dictionary rebuilt with REDCap's 18 columns, arms, events,
 * the form–event mapping, repeating instruments and events, data access
 * groups, missing-data codes and, when the file holds data, flat records.
 * Pure: text in, pieces out.
 */

type Node = Record<string, unknown>;

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@",
  parseAttributeValue: false,
  parseTagValue: false,
  trimValues: false,
  htmlEntities: true,
  isArray: (_name, _path, _leaf, isAttribute) => !isAttribute,
});

const kids = (node: Node | undefined, name: string): Node[] => (node?.[name] as Node[] | undefined) ?? [];
const kid = (node: Node | undefined, name: string): Node | undefined => kids(node, name)[0];
const attr = (node: Node | undefined, name: string): string => {
  const v = node?.[`@${name}`];
  return typeof v === "string" ? v : "";
};
/** The text of an element; an empty element parses as "". */
const text = (node: unknown): string => {
  if (typeof node === "string") return node;
  const t = (node as Node | undefined)?.["#text"];
  return typeof t === "string" ? t : "";
};
const translated = (node: Node | undefined): string => text(kid(node, "TranslatedText"));
const optionalNumber = (s: string): number | undefined =>
  s.trim() === "" || Number.isNaN(Number(s)) ? undefined : Number(s);

/** REDCap writes a few field types and validations under ODM-friendly names; the dictionary uses these. */
const FIELD_TYPE: Record<string, string> = { select: "dropdown", textarea: "notes" };
const VALIDATION: Record<string, string> = { int: "integer", float: "number" };

/** Settings a study file cannot hold: reported when the project uses them (value not empty nor "0"). */
const SETTINGS: Record<string, string> = {
  RecordAutonumberingEnabled:
    "record auto-numbering is not kept: subject ids are typed or generated from the site code",
  CustomRecordLabel: "the custom record label is not kept",
  SecondaryUniqueField: "the secondary unique field is not kept (not enforced unique)",
  SchedulingEnabled: "REDCap's scheduling module is not kept",
  SurveysEnabled: "surveys are not kept: the instruments are data-entry forms only",
  SurveyInvitationEmailField: "the survey invitation e-mail field is not kept",
  RandomizationEnabled: "randomization is not kept",
  RequireChangeReason:
    "REDCap's 'require a reason for change' setting is not kept (the engine's audit trail always records changes)",
  MyCapEnabled: "MyCap is not kept",
  ProjectNotes: "the project notes are not kept",
};

/** Project parts exported as `redcap:<Name>Group` lists (surveys, alerts, user roles, reports…) the engine has no place for. */
const GROUP_IGNORED = new Set(["redcap:DataAccessGroupsGroup"]);

export function readProjectXml(xml: string): ProjectPieces {
  const pieces = emptyPieces();
  const report = pieces.report;
  let doc: Node;
  try {
    doc = parser.parse(xml, true) as Node;
  } catch (e) {
    report.push({
      item: "project.xml",
      severity: "error",
      message: `not an XML file: ${(e as Error).message}`,
    });
    return pieces;
  }
  const odm = kid(doc, "ODM");
  const study = kid(odm, "Study");
  const meta = kid(study, "MetaDataVersion");
  if (!study || !meta) {
    report.push({
      item: "project.xml",
      severity: "error",
      message: "not a REDCap project XML: no ODM/Study/MetaDataVersion",
    });
    return pieces;
  }
  const globals = kid(study, "GlobalVariables");
  pieces.title = text(kid(globals, "StudyName")).trim();
  pieces.recordIdField = attr(meta, "redcap:RecordIdField");
  pieces.missingCodes = readMissingCodes(text(kid(globals, "redcap:MissingDataCodes")));
  readSettings(globals, pieces);
  readRepeating(globals, pieces);

  const forms = kids(meta, "FormDef");
  for (const f of forms) pieces.formLabels[attr(f, "redcap:FormName")] = attr(f, "Name");
  readEvents(meta, pieces);
  pieces.dictionary = readDictionary(meta, forms, pieces);
  const clinical = kid(odm, "ClinicalData");
  if (clinical && kids(clinical, "SubjectData").length > 0)
    pieces.records = readRecords(meta, clinical, pieces);
  return pieces;
}

function readSettings(globals: Node | undefined, pieces: ProjectPieces): void {
  for (const [name, message] of Object.entries(SETTINGS)) {
    const value = text(kid(globals, `redcap:${name}`)).trim();
    if (value !== "" && value !== "0")
      pieces.report.push({ item: `setting ${name}`, severity: "warning", message });
  }
  for (const [key, value] of Object.entries(globals ?? {})) {
    if (!key.startsWith("redcap:") || !key.endsWith("Group") || GROUP_IGNORED.has(key)) continue;
    const items = (value as Node[]).flatMap((g) =>
      Object.entries(g)
        .filter(([k]) => k.startsWith("redcap:"))
        .flatMap(([, v]) => v as Node[]),
    );
    if (items.length === 0) continue;
    const what = key.slice("redcap:".length, -"Group".length);
    // A form's own settings (its survey) are reported at the form.
    const general = items.filter((i) => attr(i, "form_name") === "");
    for (const form of new Set(items.map((i) => attr(i, "form_name")).filter((f) => f !== "")))
      pieces.report.push({
        item: `form ${form}`,
        severity: "warning",
        message: `its ${what} settings are not kept: the engine has no place for them`,
      });
    if (general.length > 0)
      pieces.report.push({
        item: `setting ${what}`,
        severity: "warning",
        message: `${general.length} ${what} item(s) not kept: the engine has no place for them`,
      });
  }
  for (const group of kids(globals, "redcap:DataAccessGroupsGroup")) {
    for (const dag of kids(group, "redcap:DataAccessGroups")) {
      const name = attr(dag, "group_name");
      if (name === "") continue;
      pieces.dags.push({ name, uniqueName: uniqueGroupName(name) });
    }
  }
}

/**
 * REDCap's unique group name: the name lower-cased, spaces as `_`, any other
 * character dropped, at most 18 long ("dag-a" → "daga", as REDCap exports it).
 */
export function uniqueGroupName(name: string): string {
  return name
    .toLowerCase()
    .trim()
    .replace(/\s+/g, "_")
    .replace(/[^a-z0-9_]/g, "")
    .slice(0, 18);
}

function readRepeating(globals: Node | undefined, pieces: ProjectPieces): void {
  for (const group of kids(globals, "redcap:RepeatingInstrumentsAndEvents")) {
    for (const list of kids(group, "redcap:RepeatingInstruments")) {
      for (const r of kids(list, "redcap:RepeatingInstrument")) {
        pieces.repeating.push({
          event: attr(r, "redcap:UniqueEventName"),
          form: attr(r, "redcap:RepeatInstrument"),
          label: attr(r, "redcap:CustomLabel"),
        });
      }
    }
    for (const r of kids(group, "redcap:RepeatingEvent")) {
      pieces.repeating.push({ event: attr(r, "redcap:UniqueEventName"), form: "", label: "" });
    }
  }
}

function readEvents(meta: Node, pieces: ProjectPieces): void {
  const defs = kids(meta, "StudyEventDef");
  pieces.longitudinal = defs.length > 0;
  const order = new Map(
    kids(kid(meta, "Protocol"), "StudyEventRef").map((r) => [
      attr(r, "StudyEventOID"),
      Number(attr(r, "OrderNumber")),
    ]),
  );
  const sorted = [...defs].sort(
    (a, b) => (order.get(attr(a, "OID")) ?? Infinity) - (order.get(attr(b, "OID")) ?? Infinity),
  );
  const arms = new Map<number, string>();
  for (const def of sorted) {
    const arm = Number(attr(def, "redcap:ArmNum") || "1");
    if (!arms.has(arm)) arms.set(arm, attr(def, "redcap:ArmName"));
    const event: EventPiece = {
      uniqueName: attr(def, "redcap:UniqueEventName"),
      name: attr(def, "redcap:EventName") || attr(def, "Name"),
      arm,
    };
    const day = optionalNumber(attr(def, "redcap:DayOffset"));
    const min = optionalNumber(attr(def, "redcap:OffsetMin"));
    const max = optionalNumber(attr(def, "redcap:OffsetMax"));
    if (day !== undefined) event.dayOffset = day;
    if (min !== undefined) event.offsetMin = min;
    if (max !== undefined) event.offsetMax = max;
    const custom = attr(def, "redcap:CustomEventLabel");
    if (custom !== "") event.customLabel = custom;
    pieces.events.push(event);
    if (
      attr(def, "Repeating") === "Yes" &&
      !pieces.repeating.some((r) => r.event === event.uniqueName && r.form === "")
    )
      pieces.repeating.push({ event: event.uniqueName, form: "", label: "" });
    for (const ref of kids(def, "FormRef")) {
      pieces.mapping.push({ arm, event: event.uniqueName, form: attr(ref, "redcap:FormName") });
    }
  }
  pieces.arms = [...arms].sort(([a], [b]) => a - b).map(([number, name]) => ({ number, name }));
}

/** REDCap's dictionary rows, one per variable (a checkbox's `x___code` items are one row). */
function readDictionary(meta: Node, forms: Node[], pieces: ProjectPieces): Row[] {
  const items = new Map(kids(meta, "ItemDef").map((i) => [attr(i, "OID"), i]));
  const groups = new Map(kids(meta, "ItemGroupDef").map((g) => [attr(g, "OID"), g]));
  const codeLists = new Map(kids(meta, "CodeList").map((c) => [attr(c, "OID"), c]));
  const rows: Row[] = [];
  const seen = new Set<string>();
  for (const formDef of forms) {
    const form = attr(formDef, "redcap:FormName");
    for (const groupRef of kids(formDef, "ItemGroupRef")) {
      const group = groups.get(attr(groupRef, "ItemGroupOID"));
      for (const ref of kids(group, "ItemRef")) {
        const oid = attr(ref, "ItemOID");
        const item = items.get(oid);
        if (!item) continue;
        const variable = attr(item, "redcap:Variable") || attr(ref, "redcap:Variable") || oid;
        // The form status and REDCap's pseudo-fields are data columns, not fields of the dictionary.
        if (oid === `${form}_complete` || /^redcap_/.test(oid) || seen.has(variable)) continue;
        seen.add(variable);
        rows.push(rowOf(item, form, variable, codeLists, attr(ref, "Mandatory") === "Yes"));
        for (const [what, present] of [
          ["its attached file or image", kid(item, "redcap:Attachment") !== undefined],
          ["its video", attr(item, "redcap:VideoUrl") !== ""],
          ["its survey stop actions", attr(item, "redcap:StopActions") !== ""],
        ] as const) {
          if (present)
            pieces.report.push({
              item: `field ${form}.${variable}`,
              severity: "warning",
              message: `${what} is not kept`,
            });
        }
      }
    }
  }
  if (rows.length === 0)
    pieces.report.push({
      item: "dictionary",
      severity: "error",
      message: "the project XML defines no fields",
    });
  return rows;
}

function rowOf(
  item: Node,
  form: string,
  variable: string,
  codeLists: Map<string, Node>,
  mandatory: boolean,
): Row {
  const row = emptyRow();
  const a = (name: string) => attr(item, `redcap:${name}`);
  const type = a("FieldType");
  row["Variable / Field Name"] = variable;
  row["Form Name"] = form;
  row["Section Header"] = a("SectionHeader");
  row["Field Type"] = FIELD_TYPE[type] ?? type;
  // REDCap strips a label's HTML from TranslatedText and keeps it whole beside it.
  const question = kid(item, "Question");
  const formatted = kid(question, "redcap:FormattedTranslatedText");
  row["Field Label"] = formatted ? text(formatted) : translated(question);
  const codeList = codeLists.get(attr(kid(item, "CodeListRef"), "CodeListOID"));
  if (type === "checkbox")
    row["Choices, Calculations, OR Slider Labels"] = attr(codeList, "redcap:CheckboxChoices")
      .split("|")
      .map((choice) => choice.trim())
      .join(" | ");
  else if (type === "calc") row["Choices, Calculations, OR Slider Labels"] = a("Calculation");
  else if (type === "slider") row["Choices, Calculations, OR Slider Labels"] = a("SliderLabels");
  else if (type === "text") row["Choices, Calculations, OR Slider Labels"] = a("OntologySearch");
  else if ((type === "radio" || type === "select") && codeList)
    row["Choices, Calculations, OR Slider Labels"] = kids(codeList, "CodeListItem")
      .map((c) => `${attr(c, "CodedValue")}, ${translated(kid(c, "Decode"))}`)
      .join(" | ");
  row["Field Note"] = a("FieldNote");
  const validation = a("TextValidationType");
  row["Text Validation Type OR Show Slider Number"] = VALIDATION[validation] ?? validation;
  for (const check of kids(item, "RangeCheck")) {
    const value = text(kid(check, "CheckValue"));
    const comparator = attr(check, "Comparator");
    if (comparator === "GE" || comparator === "GT") row["Text Validation Min"] = value;
    if (comparator === "LE" || comparator === "LT") row["Text Validation Max"] = value;
  }
  row["Identifier?"] = a("Identifier");
  row["Branching Logic (Show field only if...)"] = a("BranchingLogic");
  row["Required Field?"] = a("RequiredField") || (mandatory ? "y" : "");
  row["Custom Alignment"] = a("CustomAlignment");
  row["Question Number (surveys only)"] = a("QuestionNumber");
  row["Matrix Group Name"] = a("MatrixGroupName");
  row["Matrix Ranking?"] = a("MatrixRanking");
  row["Field Annotation"] = a("FieldAnnotation");
  return row;
}

/** ClinicalData → REDCap's flat rows (what the API's record export gives), one per record, event and repeat instance. */
function readRecords(meta: Node, clinical: Node, pieces: ProjectPieces): FlatRecords {
  const recordId = pieces.recordIdField || (pieces.dictionary[0]?.["Variable / Field Name"] ?? "record_id");
  const itemColumns = kids(meta, "ItemDef")
    .filter((i) => attr(i, "redcap:FieldType") !== "descriptive")
    .map((i) => attr(i, "OID"))
    .filter((oid) => oid !== recordId && !oid.startsWith("redcap_"));
  const repeatingForms = new Set(
    pieces.repeating.filter((r) => r.form !== "").map((r) => `${r.event}|${r.form}`),
  );
  const classicRepeats = new Set(pieces.repeating.filter((r) => r.form !== "").map((r) => r.form));
  const rows = new Map<string, Record<string, string>>();
  let anyRepeat = pieces.repeating.length > 0;
  let anyDag = false;
  for (const subject of kids(clinical, "SubjectData")) {
    const record = attr(subject, "SubjectKey");
    const dag = attr(subject, "redcap:DataAccessGroup");
    const eventsData = pieces.longitudinal
      ? kids(subject, "StudyEventData")
      : [{ ...subject, "@redcap:UniqueEventName": "" } as Node];
    for (const eventData of eventsData) {
      const eventName = attr(eventData, "redcap:UniqueEventName");
      const eventRepeats = pieces.repeating.some((r) => r.event === eventName && r.form === "");
      for (const formData of kids(eventData, "FormData")) {
        const form = attr(formData, "FormOID").replace(/^Form\./, "");
        const repeatingForm = pieces.longitudinal
          ? repeatingForms.has(`${eventName}|${form}`)
          : classicRepeats.has(form);
        const instance = repeatingForm
          ? attr(formData, "FormRepeatKey")
          : eventRepeats
            ? attr(eventData, "StudyEventRepeatKey")
            : "";
        if (instance !== "") anyRepeat = true;
        const key = { instrument: repeatingForm ? form : "", instance };
        const rowKey = JSON.stringify([record, eventName, key.instrument, key.instance]);
        let row = rows.get(rowKey);
        if (!row) {
          row = {
            [recordId]: record,
            ...(pieces.longitudinal ? { redcap_event_name: eventName } : {}),
            redcap_repeat_instrument: key.instrument,
            redcap_repeat_instance: key.instance,
          };
          if (dag !== "") {
            row.redcap_data_access_group = dag;
            anyDag = true;
          }
          rows.set(rowKey, row);
        }
        for (const group of kids(formData, "ItemGroupData")) {
          for (const item of kids(group, "ItemData")) {
            const oid = attr(item, "ItemOID");
            if (oid === recordId) continue;
            if (oid === "redcap_data_access_group") {
              row.redcap_data_access_group = attr(item, "Value");
              anyDag = true;
              continue;
            }
            row[oid] = attr(item, "Value");
          }
          // A file's content is not a value the flat export holds: REDCap's CSV gives its name.
          for (const file of kids(group, "ItemDataBase64Binary"))
            row[attr(file, "ItemOID")] = attr(file, "redcap:DocName");
        }
      }
    }
  }
  const columns = [
    recordId,
    ...(pieces.longitudinal ? ["redcap_event_name"] : []),
    ...(anyRepeat ? ["redcap_repeat_instrument", "redcap_repeat_instance"] : []),
    ...(anyDag ? ["redcap_data_access_group"] : []),
    ...itemColumns,
  ];
  return {
    columns,
    rows: [...rows.values()].map((r) => Object.fromEntries(columns.map((c) => [c, r[c] ?? ""]))),
  };
}
