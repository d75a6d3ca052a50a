import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "csv-parse/sync";
import { describe, expect, it } from "vitest";
import { checkDefinition } from "../../functions/engine/check-definition.ts";
import { COLUMNS, readRows } from "../../functions/engine/redcap/columns.ts";
import { importProject, mergeOrders } from "../../functions/engine/redcap/import-project.ts";
import { readProjectFolder } from "../../functions/engine/redcap/project-folder.ts";
import type { ProjectIssue } from "../../functions/engine/redcap/project-pieces.ts";
import { readProjectXml } from "../../functions/engine/redcap/project-xml.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const PROJECTS = path.join(ROOT, "tests/fixtures/redcap-projects");
const read = (project: string, file: string) => readFileSync(path.join(PROJECTS, project, file), "utf8");
const xmlOf = (project: string) => readProjectXml(read(project, "project.xml"));
/** Every CSV of the folder except project.xml, under names that say nothing: files are told apart by their header. */
const folderOf = (project: string) =>
  readProjectFolder(
    readdirSync(path.join(PROJECTS, project))
      .filter((f) => f.endsWith(".csv"))
      .map((f, i) => ({ name: `export-${i}.csv`, text: read(project, f) })),
  );
const errorsOf = (report: ProjectIssue[]) => report.filter((i) => i.severity === "error");
const engineErrors = (report: ProjectIssue[]) => report.filter((i) => i.message.startsWith("engine check"));

describe("REDCap project XML → pieces", () => {
  it.each(["longitudinal", "validation-types-1"])(
    "%s: the dictionary rebuilt from the XML is REDCap's own",
    (project) => {
      const fromXml = xmlOf(project).dictionary;
      const { rows } = readRows(read(project, "dictionary.csv"));
      expect(fromXml.map((r) => r["Variable / Field Name"])).toEqual(
        rows.map((r) => r["Variable / Field Name"]),
      );
      const differences: string[] = [];
      fromXml.forEach((row, i) => {
        for (const c of COLUMNS)
          if (row[c] !== rows[i]?.[c]) differences.push(`${row["Variable / Field Name"]} ${c}`);
      });
      // The XML does not carry a slider's bounds nor a dynamic SQL field's query.
      const known =
        project === "validation-types-1"
          ? [
              "f_slider Text Validation Min",
              "f_slider Text Validation Max",
              "f_sql Choices, Calculations, OR Slider Labels",
            ]
          : [];
      expect(differences).toEqual(known);
    },
  );

  it.each([
    "longitudinal",
    "validation-types-1",
    "nonnumeric-record-id",
    "dag-write",
    "repeating-instruments-sparse",
  ])("%s: the records rebuilt from ClinicalData are REDCap's flat export, column for column", (project) => {
    const { records } = xmlOf(project);
    const data = parse(read(project, "data.csv"), { columns: true, bom: true }) as Record<string, string>[];
    const columns = Object.keys(data[0] ?? {});
    expect(records?.columns).toEqual(columns);
    expect(records?.rows.length).toBe(data.length);
    const key = (r: Record<string, string>) =>
      [columns[0], "redcap_event_name", "redcap_repeat_instrument", "redcap_repeat_instance"]
        .map((c) => r[c as string] ?? "")
        .join("|");
    const byKey = new Map((records?.rows ?? []).map((r) => [key(r), r]));
    // REDCapR's data.csv has free text's line breaks as spaces; the XML keeps them. A calculation the
    // CSV export left blank (validation-types-1) has its value in the XML: blank cells are not compared.
    const words = (s: string | undefined) => s?.replace(/\s+/g, " ");
    for (const row of data) {
      const ours = byKey.get(key(row));
      expect(ours, key(row)).toBeDefined();
      for (const [column, value] of Object.entries(row))
        if (value !== "") expect(words(ours?.[column]), `${key(row)} ${column}`).toBe(words(value));
    }
  });
});

describe("REDCap project → study (longitudinal, two arms)", () => {
  const fromXml = importProject(xmlOf("longitudinal"), { id: "longitudinal" });
  const fromFolder = importProject(folderOf("longitudinal"), { id: "longitudinal" });

  it("the XML and the folder of CSV exports give the same study and instruments", () => {
    // Only the XML has a title and day offsets (REDCap's event CSV holds them only with scheduling on).
    const undated = fromXml.study.events.map(({ day: _day, ...event }) => event);
    expect({ ...fromFolder.study, title: "" }).toEqual({ ...fromXml.study, title: "", events: undated });
    expect(Object.keys(fromFolder.instruments)).toEqual(Object.keys(fromXml.instruments));
    for (const [form, instrument] of Object.entries(fromXml.instruments)) {
      // Only the XML holds form labels ("Contact Info"); the dictionary alone gives "Contact info".
      expect({ ...fromFolder.instruments[form], title: "" }, form).toEqual({ ...instrument, title: "" });
    }
    expect(fromXml.instruments.contact_info?.title).toBe("Contact Info");
    expect(fromFolder.records?.rows.length).toBe(fromXml.records?.rows.length);
  });

  it("merges same-named events across arms, keeps each arm's order, and names arms by number", () => {
    const { study } = fromXml;
    expect(study.arms).toEqual([
      { id: "arm_1", label: "Drug A", number: 1 },
      { id: "arm_2", label: "Drug B", number: 2 },
    ]);
    const ids = study.events.map((e) => e.id);
    const arm1 = ["enrollment", "dose_1", "visit_1", "dose_2", "visit_2", "final_visit"];
    const arm2 = [
      "enrollment",
      "deadline_to_opt_ou",
      "first_dose",
      "first_visit",
      "final_visit",
      "deadline_to_return",
    ];
    for (const arm of [arm1, arm2]) expect(ids.filter((id) => arm.includes(id))).toEqual(arm);
    expect(new Set(ids)).toEqual(new Set([...arm1, ...arm2]));
    const enrollment = study.events.find((e) => e.id === "enrollment");
    expect(enrollment).toEqual({
      id: "enrollment",
      label: "Enrollment",
      forms: ["demographics", "contact_info", "baseline_data"],
      day: 1,
    });
    const final = study.events.find((e) => e.id === "final_visit");
    expect(final?.arms).toBeUndefined();
    expect(final?.forms).toEqual([
      "visit_observed_behavior",
      "completion_data",
      "completion_project_questionnaire",
    ]);
    expect(final?.armForms).toEqual({
      arm_1: ["completion_data", "completion_project_questionnaire"],
      arm_2: ["visit_observed_behavior", "completion_project_questionnaire"],
    });
    expect(final?.day).toBeUndefined();
    expect(study.events.find((e) => e.id === "deadline_to_opt_ou")?.arms).toEqual(["arm_2"]);
    expect(study.dayOne).toBeUndefined();
    expect(study.recordIdField).toBe("study_id");
    expect(study.sites).toHaveLength(1);
  });

  it("reports what it could not carry, by item, and passes the engine's definition check", () => {
    const items = fromXml.report.map((i) => `${i.severity} ${i.item}`);
    expect(items).toContain("warning event first_visit_arm_2");
    expect(items).toContain("warning event final_visit");
    expect(items).toContain("warning setting UserRoles");
    // Everything is carried, the uploaded document too (a file field).
    expect(errorsOf(fromXml.report)).toEqual([]);
    expect(fromXml.instruments.demographics?.properties.patient_document?.["x-file"]).toEqual({});
    expect(engineErrors(fromXml.report)).toEqual([]);
    const files = Object.entries(fromXml.instruments).map(([id, json]) => ({
      path: `instruments/${id}.json`,
      json,
    }));
    expect(
      checkDefinition({ study: { path: "study.json", json: fromXml.study }, instruments: files }).errors,
    ).toEqual([]);
  });

  it("records are renamed for the study and keep every column a field holds", () => {
    const columns = fromXml.records?.columns ?? [];
    expect(columns.slice(0, 2)).toEqual(["study_id", "redcap_event_name"]);
    expect(columns).toContain("patient_document");
    expect(new Set(fromXml.records?.rows.map((r) => r.redcap_event_name))).toContain(
      "deadline_to_opt_ou_arm_2",
    );
  });
});

describe("REDCap project → study (classic)", () => {
  it.each(["nonnumeric-record-id", "dag-write"])(
    "%s: the XML and the folder of CSV exports give the same study",
    (name) => {
      const fromXml = importProject(xmlOf(name), { id: name });
      const fromFolder = importProject(folderOf(name), { id: name });
      // Without the DAG export the folder knows a group by its unique name only ("daga", not "dag-a").
      const plain = (r: typeof fromXml) => ({
        ...r.study,
        title: "",
        sites: r.study.sites.map(({ id, code }) => ({ id, code })),
      });
      expect(plain(fromFolder)).toEqual(plain(fromXml));
      expect(fromFolder.records).toEqual(fromXml.records);
      expect(engineErrors(fromXml.report)).toEqual([]);
    },
  );

  const result = importProject(xmlOf("validation-types-1"));

  it("is one arm and one event holding every form", () => {
    expect(result.study.id).toBe("redcapr-valiation-types-1");
    expect(result.study.arms).toEqual([{ id: "arm_1", label: "Arm 1", number: 1 }]);
    expect(result.study.events).toEqual([{ id: "event_1", label: "Event 1", forms: ["form_1"] }]);
    expect(result.study.logs).toEqual([]);
    expect(result.instruments.form_1?.title).toBe("Form 1");
    expect(engineErrors(result.report)).toEqual([]);
  });

  it("carries file and signature fields, reports the SQL field and auto-numbering, by item", () => {
    expect(errorsOf(result.report).map((i) => i.item)).toEqual(["field form_1.f_sql [Field Type]"]);
    expect(result.instruments.form_1?.properties.f_signature?.["x-widget"]).toBe("signature");
    expect(result.report.map((i) => i.item)).toContain("setting RecordAutonumberingEnabled");
  });
});

const project = (globals: string, meta: string, clinical = "") => `<?xml version="1.0" encoding="UTF-8" ?>
<ODM xmlns="http://www.cdisc.org/ns/odm/v1.3" xmlns:redcap="https://projectredcap.org" ODMVersion="1.3.1">
<Study OID="Project.Small">
<GlobalVariables>
	<StudyName>Small trial</StudyName>
	<redcap:SurveysEnabled>1</redcap:SurveysEnabled>
	<redcap:MissingDataCodes>UNK, Unknown
NA, Not applicable</redcap:MissingDataCodes>
	<redcap:SurveysGroup>
		<redcap:Surveys form_name="ae" title="Tell us about it" instructions="&lt;p&gt;Please&lt;/p&gt;"/>
	</redcap:SurveysGroup>
	<redcap:AlertsGroup>
		<redcap:Alerts alert_title="New AE" email_to="pi@example.org"/>
	</redcap:AlertsGroup>
	${globals}
</GlobalVariables>
<MetaDataVersion OID="Metadata.Small" Name="Small" redcap:RecordIdField="record_id">
	${meta}
	<FormDef OID="Form.enrol" Name="Enrolment" Repeating="No" redcap:FormName="enrol">
		<ItemGroupRef ItemGroupOID="enrol.record_id" Mandatory="No"/>
	</FormDef>
	<FormDef OID="Form.ae" Name="Adverse event" Repeating="No" redcap:FormName="ae">
		<ItemGroupRef ItemGroupOID="ae.ae_term" Mandatory="No"/>
	</FormDef>
	<ItemGroupDef OID="enrol.record_id" Name="Enrolment" Repeating="No">
		<ItemRef ItemOID="record_id" Mandatory="No" redcap:Variable="record_id"/>
		<ItemRef ItemOID="age" Mandatory="Yes" redcap:Variable="age"/>
		<ItemRef ItemOID="enrol_complete" Mandatory="No" redcap:Variable="enrol_complete"/>
	</ItemGroupDef>
	<ItemGroupDef OID="ae.ae_term" Name="Adverse event" Repeating="No">
		<ItemRef ItemOID="ae_term" Mandatory="No" redcap:Variable="ae_term"/>
		<ItemRef ItemOID="ae_complete" Mandatory="No" redcap:Variable="ae_complete"/>
	</ItemGroupDef>
	<ItemDef OID="record_id" Name="record_id" DataType="text" Length="999" redcap:Variable="record_id" redcap:FieldType="text">
		<Question><TranslatedText>Record ID</TranslatedText></Question>
	</ItemDef>
	<ItemDef OID="age" Name="age" DataType="integer" Length="999" redcap:Variable="age" redcap:FieldType="text" redcap:TextValidationType="int" redcap:RequiredField="y">
		<Question><TranslatedText>Age (years)</TranslatedText><redcap:FormattedTranslatedText>Age &lt;b&gt;(years)&lt;/b&gt;</redcap:FormattedTranslatedText></Question>
		<RangeCheck Comparator="GE" SoftHard="Soft"><CheckValue>18</CheckValue></RangeCheck>
		<RangeCheck Comparator="LE" SoftHard="Soft"><CheckValue>99</CheckValue></RangeCheck>
	</ItemDef>
	<ItemDef OID="enrol_complete" Name="enrol_complete" DataType="text" Length="1" redcap:Variable="enrol_complete" redcap:FieldType="select"/>
	<ItemDef OID="ae_term" Name="ae_term" DataType="text" Length="999" redcap:Variable="ae_term" redcap:FieldType="text">
		<Question><TranslatedText>Adverse event</TranslatedText></Question>
	</ItemDef>
	<ItemDef OID="ae_complete" Name="ae_complete" DataType="text" Length="1" redcap:Variable="ae_complete" redcap:FieldType="select"/>
</MetaDataVersion>
</Study>
${clinical}
</ODM>`;

const REPEATING_CLASSIC = `<redcap:RepeatingInstrumentsAndEvents>
	<redcap:RepeatingInstruments>
		<redcap:RepeatingInstrument redcap:UniqueEventName="event_1_arm_1" redcap:RepeatInstrument="ae" redcap:CustomLabel=""/>
	</redcap:RepeatingInstruments>
</redcap:RepeatingInstrumentsAndEvents>
<redcap:DataAccessGroupsGroup>
	<redcap:DataAccessGroups group_name="Hôpital Nord"/>
	<redcap:DataAccessGroups group_name="Clinic B"/>
</redcap:DataAccessGroupsGroup>`;

const CLASSIC_DATA = `<ClinicalData StudyOID="Project.Small" MetaDataVersionOID="Metadata.Small">
	<SubjectData SubjectKey="7" redcap:RecordIdField="record_id">
		<FormData FormOID="Form.enrol" FormRepeatKey="1">
			<ItemGroupData ItemGroupOID="enrol.record_id" ItemGroupRepeatKey="1">
				<ItemData ItemOID="record_id" Value="7"/>
				<ItemData ItemOID="redcap_data_access_group" Value="clinic_b"/>
				<ItemData ItemOID="age" Value="40"/>
			</ItemGroupData>
		</FormData>
		<FormData FormOID="Form.ae" FormRepeatKey="1">
			<ItemGroupData ItemGroupOID="ae.ae_term" ItemGroupRepeatKey="1"><ItemData ItemOID="ae_term" Value="Headache"/></ItemGroupData>
		</FormData>
		<FormData FormOID="Form.ae" FormRepeatKey="2">
			<ItemGroupData ItemGroupOID="ae.ae_term" ItemGroupRepeatKey="1"><ItemData ItemOID="ae_term" Value="Rash"/></ItemGroupData>
		</FormData>
	</SubjectData>
</ClinicalData>`;

const EVENTS = `<Protocol>
	<StudyEventRef StudyEventOID="Event.screening_arm_1" OrderNumber="1" Mandatory="No"/>
	<StudyEventRef StudyEventOID="Event.followup_arm_1" OrderNumber="2" Mandatory="No"/>
</Protocol>
<StudyEventDef OID="Event.screening_arm_1" Name="Screening (Arm 1: Arm 1)" Type="Common" Repeating="No" redcap:EventName="Screening" redcap:UniqueEventName="screening_arm_1" redcap:ArmNum="1" redcap:ArmName="Arm 1" redcap:DayOffset="0" redcap:OffsetMin="0" redcap:OffsetMax="0">
	<FormRef FormOID="Form.enrol" OrderNumber="1" Mandatory="No" redcap:FormName="enrol"/>
	<FormRef FormOID="Form.ae" OrderNumber="2" Mandatory="No" redcap:FormName="ae"/>
</StudyEventDef>
<StudyEventDef OID="Event.followup_arm_1" Name="Follow-up (Arm 1: Arm 1)" Type="Common" Repeating="Yes" redcap:EventName="Follow-up" redcap:UniqueEventName="followup_arm_1" redcap:ArmNum="1" redcap:ArmName="Arm 1" redcap:DayOffset="30" redcap:OffsetMin="0" redcap:OffsetMax="0">
	<FormRef FormOID="Form.ae" OrderNumber="1" Mandatory="No" redcap:FormName="ae"/>
</StudyEventDef>`;

const REPEATING_LONGITUDINAL = `<redcap:RepeatingInstrumentsAndEvents>
	<redcap:RepeatingInstruments>
		<redcap:RepeatingInstrument redcap:UniqueEventName="screening_arm_1" redcap:RepeatInstrument="ae" redcap:CustomLabel="[ae_term]"/>
	</redcap:RepeatingInstruments>
	<redcap:RepeatingEvent redcap:UniqueEventName="followup_arm_1"/>
</redcap:RepeatingInstrumentsAndEvents>`;

describe("REDCap project → study (repeating instruments and events, sites, codes)", () => {
  it("classic: a repeating instrument is an x-repeating log; data access groups are sites", () => {
    const result = importProject(readProjectXml(project(REPEATING_CLASSIC, "", CLASSIC_DATA)));
    const { study } = result;
    expect(study.id).toBe("small-trial");
    expect(study.events).toEqual([{ id: "event_1", label: "Event 1", forms: ["enrol"] }]);
    expect(study.logs).toEqual(["ae"]);
    expect(result.instruments.ae?.["x-repeating"]).toBe(true);
    expect(result.instruments.enrol?.required).toEqual(["age"]);
    expect(result.instruments.enrol?.properties.age).toMatchObject({
      type: "integer",
      title: "Age <b>(years)</b>",
      "x-soft-minimum": 18,
      "x-soft-maximum": 99,
    });
    expect(study.sites).toEqual([
      { id: "hpital-nord", name: "Hôpital Nord", code: "01" },
      { id: "clinic-b", name: "Clinic B", code: "02" },
    ]);
    expect(study.missingCodes).toEqual([
      { code: "UNK", label: "Unknown" },
      { code: "NA", label: "Not applicable" },
    ]);
    expect(result.report.map((i) => i.item)).toContain("setting SurveysEnabled");
    expect(result.report).toContainEqual({
      item: "form ae",
      severity: "warning",
      message: "its Surveys settings are not kept: the engine has no place for them",
    });
    expect(result.report).toContainEqual({
      item: "setting Alerts",
      severity: "warning",
      message: "1 Alerts item(s) not kept: the engine has no place for them",
    });
    expect(engineErrors(result.report)).toEqual([]);
    expect(result.records?.columns).toEqual([
      "record_id",
      "redcap_repeat_instrument",
      "redcap_repeat_instance",
      "redcap_data_access_group",
      "age",
      "enrol_complete",
      "ae_term",
      "ae_complete",
    ]);
    expect(
      result.records?.rows.map((r) => [r.redcap_repeat_instrument, r.redcap_repeat_instance, r.ae_term]),
    ).toEqual([
      ["", "", ""],
      ["ae", "1", "Headache"],
      ["ae", "2", "Rash"],
    ]);
    expect(result.records?.rows[0]?.redcap_data_access_group).toBe("clinic-b");
  });

  it("longitudinal: a form repeating at one event is repeatingForms; a repeating event is repeatable", () => {
    const result = importProject(readProjectXml(project(REPEATING_LONGITUDINAL, EVENTS)));
    expect(result.study.events).toEqual([
      { id: "screening", label: "Screening", forms: ["enrol", "ae"], day: 1, repeatingForms: ["ae"] },
      { id: "followup", label: "Follow-up", forms: ["ae"], repeatable: true },
    ]);
    expect(result.study.logs).toEqual([]);
    expect(result.instruments.ae?.["x-repeating"]).toBeUndefined();
    expect(result.report).toContainEqual({
      item: "event screening_arm_1",
      severity: "warning",
      message: 'the repeat instance label "[ae_term]" is not kept',
    });
    expect(engineErrors(result.report)).toEqual([]);
  });
});

describe("merging each arm's order of events", () => {
  it("keeps every arm's order, earlier arms first", () => {
    expect(
      mergeOrders([
        ["a", "b", "d"],
        ["a", "c", "d"],
      ]),
    ).toEqual(["a", "b", "c", "d"]);
  });

  it("gives up when two arms disagree, and the import keeps the arms' events apart", () => {
    expect(
      mergeOrders([
        ["a", "b"],
        ["b", "a"],
      ]),
    ).toBeUndefined();
    const pieces = xmlOf("longitudinal");
    // Arm 2 lists its final visit before its enrolment: no single order holds both arms.
    const arm2 = pieces.events.filter((e) => e.arm === 2);
    const others = pieces.events.filter((e) => e.arm !== 2);
    pieces.events = [...others, ...[...arm2].reverse()];
    const result = importProject(pieces, { id: "apart" });
    expect(result.report.map((i) => i.item)).toContain("events");
    const ids = result.study.events.map((e) => e.id);
    expect(ids).toContain("enrollment_1");
    expect(ids).toContain("enrollment_2");
    expect(result.study.events.find((e) => e.id === "enrollment_2")?.arms).toEqual(["arm_2"]);
    expect(result.records?.rows.find((r) => r.study_id === "100")?.redcap_event_name).toBe(
      "enrollment_1_arm_1",
    );
    expect(engineErrors(result.report)).toEqual([]);
  });
});

describe("REDCap event names the study cannot use as they are", () => {
  it("an event starting with a digit gets a letter first, and its records follow", () => {
    const pieces = xmlOf("longitudinal");
    for (const list of [pieces.events, pieces.mapping])
      for (const e of list as { uniqueName?: string; event?: string }[]) {
        if (e.uniqueName === "dose_1_arm_1") e.uniqueName = "1_dose_arm_1";
        if (e.event === "dose_1_arm_1") e.event = "1_dose_arm_1";
      }
    for (const row of pieces.records?.rows ?? [])
      if (row.redcap_event_name === "dose_1_arm_1") row.redcap_event_name = "1_dose_arm_1";
    const result = importProject(pieces, { id: "digits" });
    expect(result.study.events.map((e) => e.id)).toContain("event_1_dose");
    expect(result.report.map((i) => i.item)).toContain("event 1_dose_arm_1");
    expect(result.records?.rows.map((r) => r.redcap_event_name)).toContain("event_1_dose_arm_1");
    expect(engineErrors(result.report)).toEqual([]);
  });
});

describe("REDCap export folder", () => {
  it("data access groups named only by the records become the sites", () => {
    const files = ["dictionary.csv", "data.csv"].map((f) => ({ name: f, text: read("dag-write", f) }));
    const result = importProject(readProjectFolder(files), { id: "dags" });
    expect(result.study.sites.map((s) => [s.id, s.code])).toEqual([
      ["daga", "01"],
      ["dagb", "02"],
    ]);
    expect(result.records?.rows.map((r) => r.redcap_data_access_group)).toEqual(["daga", "dagb", "dagb"]);
  });

  it("tells files apart by header and reports a longitudinal folder without a form–event mapping", () => {
    const files = readdirSync(path.join(PROJECTS, "longitudinal"))
      .filter((f) => f.endsWith(".csv") && f !== "instrument-event-mapping.csv")
      .map((f) => ({ name: f, text: read("longitudinal", f) }));
    const pieces = readProjectFolder([...files, { name: "notes.csv", text: "a,b\n1,2\n" }]);
    expect(pieces.longitudinal).toBe(true);
    expect(pieces.arms).toEqual([
      { number: 1, name: "Drug A" },
      { number: 2, name: "Drug B" },
    ]);
    expect(pieces.records?.rows.length).toBe(18);
    expect(pieces.report.map((i) => `${i.severity} ${i.item}`)).toEqual([
      "error instrument-event mapping",
      "warning file notes.csv",
    ]);
  });
});
