import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadDefinition } from "../../functions/definition-files.ts";
import type { FormData, FormStatus, StudyDefinition } from "../../functions/engine/definition.ts";
import { diffData } from "../../functions/engine/revision.ts";
import {
  decimal,
  type OdmOptions,
  type OdmSubject,
  odmChunks,
  odmString,
  oidPart,
  unitSlug,
} from "../../functions/exports/odm.ts";
import type { Revision } from "../../functions/store/form-instances.ts";

/**
 * ODM 1.3.2 export of a small casebook of the reference study, validated
 * against the official XML Schema with xmllint (Debian: libxml2-utils) and
 * checked with XPath.
 */

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
const xsdDir = [
  path.resolve(repoRoot, "../shared/standards/odm-1.3.2"),
  "/work/shared/standards/odm-1.3.2",
].find((d) => existsSync(path.join(d, "ODM1-3-2.xsd")));
const hasXmllint = spawnSync("xmllint", ["--version"]).status === 0;
const canValidate = hasXmllint && xsdDir !== undefined;
const missing = !hasXmllint
  ? "xmllint is not installed (apt-get install -y libxml2-utils)"
  : "the ODM 1.3.2 XSD was not found in ../shared/standards/odm-1.3.2";
if (!canValidate && !process.env.CI) {
  console.warn(`odm.test.ts: skipping XSD validation and XPath checks: ${missing}`);
}

const NOW = new Date("2024-06-01T12:00:00.000Z");
/** A person known by name and email, and two authors known only by their label (API keys). */
const USERS = [
  { login: "alice@example.org", fullName: "Alice Example", email: "alice@example.org" },
  "bob",
  "carol",
  "bob",
];

let definition: StudyDefinition;
let casebook: OdmSubject[];
let dir: string;

interface Step {
  data: FormData;
  status: FormStatus;
  at: string;
  by: string;
  reason?: string;
}

/** The revisions of one form instance, built the way the save path builds them. */
function history(
  subject: { id: string; site: string },
  event: string,
  form: string,
  instance: number,
  steps: Step[],
): Revision[] {
  const fields = Object.keys(definition.instruments[form]?.properties ?? {});
  let prev: Revision | undefined;
  return steps.map((s, i) => {
    const r: Revision = {
      study: definition.study.id,
      subject: subject.id,
      site: subject.site,
      event,
      form,
      instance,
      rev: i + 1,
      status: s.status,
      statusFrom: prev?.status ?? null,
      data: s.data,
      changes: diffData(prev?.data ?? {}, s.data, fields),
      committedAt: s.at,
      committedBy: s.by,
      definitionVersion: 1,
      ...(s.reason ? { reason: s.reason } : {}),
    };
    prev = r;
    return r;
  });
}

function subjectOf(subject: { id: string; site: string; arm: string }, histories: Revision[][]): OdmSubject {
  return {
    subject,
    instances: histories.map((h) => h[h.length - 1] as Revision),
    revisions: histories.flat().reverse(), // any order: the export sorts by rev
  };
}

const AE_TERM = 'Headache & "nausea" <mild> ]]>';
const DETAILS = "Moved abroad;\nfollow-up by phone\tonly";

function buildCasebook(): OdmSubject[] {
  const s1 = { id: "01-001", site: "site-01", arm: "rrms" };
  const s2 = { id: "02-001", site: "site-02", arm: "nmo" };
  const demo1 = {
    initials: "AB",
    date_of_birth: "1980-02-03",
    sex: "female",
    height: 165,
    weight: 70.5,
  };
  const ae1 = {
    ae_term: AE_TERM,
    onset_date: "2024-02-01",
    ongoing: true,
    ctcae_grade: 1,
    serious: false,
    relationship: "possible",
    action_taken: "none",
    outcome: "recovering",
    aesi_neoplasm: false,
  };
  const consent2 = { consent_date: "2024-01-15", consent_version: "1.0", consent_signed: false };
  return [
    subjectOf(s1, [
      history(s1, "screening", "consent", 1, [
        {
          data: {
            consent_date: "2024-01-10",
            consent_version: "2.1",
            consent_signed: true,
            copy_given: false,
          },
          status: "complete",
          at: "2024-01-10T09:00:00.000Z",
          by: "alice@example.org",
        },
      ]),
      history(s1, "screening", "demographics", 1, [
        { data: demo1, status: "incomplete", at: "2024-01-10T09:10:00.000Z", by: "alice@example.org" },
        {
          data: { ...demo1, age: 43 },
          status: "complete",
          at: "2024-01-10T09:12:00.000Z",
          by: "alice@example.org",
        },
        {
          data: { ...demo1, age: 43, weight: 72 },
          status: "complete",
          at: "2024-01-12T15:00:00.000Z",
          by: "bob",
          reason: "Transcription error: source says 72 kg",
        },
      ]),
      history(s1, "screening", "diagnosis", 1, [
        {
          data: {
            diagnosis: "rrms",
            symptom_onset_date: "2019-05-15",
            diagnosis_date: "2020-01-20",
            relapses_24m: 2,
            prior_dmt: ["interferon_beta", "natalizumab"],
          },
          status: "complete",
          at: "2024-01-10T09:20:00.000Z",
          by: "alice@example.org",
        },
      ]),
      history(s1, "screening", "vital_signs", 1, [
        {
          data: {
            vs_date: "2024-01-10",
            vs_time: "08:30",
            systolic_bp: 120,
            diastolic_bp: 80,
            heart_rate: 64,
            temperature: 36.6,
            weight: 70.5,
          },
          status: "complete",
          at: "2024-01-10T09:30:00.000Z",
          by: "alice@example.org",
        },
      ]),
      history(s1, "logs", "adverse_event", 1, [
        { data: ae1, status: "unverified", at: "2024-02-01T10:00:00.000Z", by: "alice@example.org" },
        {
          data: { ...ae1, ongoing: false, end_date: "2024-02-03", outcome: "recovered" },
          status: "complete",
          at: "2024-02-04T10:00:00.000Z",
          by: "bob",
          reason: "Resolved <2 days> & closed",
        },
      ]),
      history(s1, "logs", "adverse_event", 2, [
        {
          data: {
            ae_term: "Pneumonia",
            onset_date: "2024-02-10",
            ongoing: false,
            end_date: "2024-02-20",
            ctcae_grade: 3,
            serious: true,
            sae_criteria: ["hospitalisation"],
            relationship: "not_related",
            action_taken: "not_applicable",
            outcome: "recovered",
            aesi_neoplasm: false,
          },
          status: "complete",
          at: "2024-02-21T10:00:00.000Z",
          by: "bob",
        },
      ]),
      history(s1, "unscheduled", "vital_signs", 1, [
        {
          data: { vs_date: "2024-03-01", vs_time: "14:05:30", heart_rate: 88 },
          status: "incomplete",
          at: "2024-03-01T14:10:00.000Z",
          by: "bob",
        },
      ]),
      history(s1, "unscheduled", "labs", 1, [
        {
          data: { collection_date: "2024-03-01", fasting: true, haemoglobin: 131 },
          status: "incomplete",
          at: "2024-03-01T14:20:00.000Z",
          by: "bob",
        },
      ]),
    ]),
    subjectOf(s2, [
      history(s2, "screening", "consent", 1, [
        {
          data: { ...consent2, copy_given: true },
          status: "incomplete",
          at: "2024-01-15T08:00:00.000Z",
          by: "carol",
        },
        { data: consent2, status: "incomplete", at: "2024-01-15T08:05:00.000Z", by: "carol" },
      ]),
      history(s2, "screening", "demographics", 1, [
        {
          data: { initials: "CD", date_of_birth: "1975-07-08", sex: "male", height: 180.2, weight: 81 },
          status: "complete",
          at: "2024-01-15T08:10:00.000Z",
          by: "carol",
        },
        {
          data: { initials: "CDE", date_of_birth: "1975-07-08", sex: "male", height: 180.2, weight: 81 },
          status: "complete",
          at: "2024-01-16T08:10:00.000Z",
          by: "carol",
          reason: "Initials typo",
        },
      ]),
      history(s2, "screening", "eligibility", 1, [
        {
          data: { eligibility_date: "2024-01-16", inc_age: true, exc_pregnancy: false },
          status: "incomplete",
          at: "2024-01-16T09:00:00.000Z",
          by: "carol",
        },
      ]),
      history(s2, "unscheduled", "vital_signs", 1, [
        {
          data: { vs_date: "2024-04-01", heart_rate: 70 },
          status: "complete",
          at: "2024-04-01T09:00:00.000Z",
          by: "carol",
        },
      ]),
      history(s2, "unscheduled", "vital_signs", 2, [
        {
          data: { vs_date: "2024-05-01", heart_rate: 72 },
          status: "complete",
          at: "2024-05-01T09:00:00.000Z",
          by: "carol",
        },
      ]),
      history(s2, "end_of_study", "end_of_study", 1, [
        {
          data: {
            completed: false,
            eos_date: "2024-05-20",
            termination_reason: "lost_to_follow_up",
            termination_details: DETAILS,
          },
          status: "complete",
          at: "2024-05-20T09:00:00.000Z",
          by: "carol",
        },
      ]),
    ]),
  ];
}

const BASE: OdmOptions = { now: NOW, users: USERS };

async function* lazily(subjects: OdmSubject[]): AsyncGenerator<OdmSubject> {
  for (const s of subjects) yield s;
}

function write(name: string, xml: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, xml);
  return file;
}

function validate(file: string): { ok: boolean; output: string } {
  const r = spawnSync(
    "xmllint",
    ["--noout", "--nonet", "--schema", path.join(xsdDir as string, "ODM1-3-2.xsd"), file],
    {
      encoding: "utf8",
    },
  );
  return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
}

/** Element names written bare (`//ItemData[@ItemOID='x']`) matched in any namespace. */
function nsFree(expr: string): string {
  return expr.replace(
    /(^|[/[(=,\s])([A-Z][A-Za-z]+)(?=[\]/[)\s,=]|$)/g,
    (_m, pre: string, name: string) => `${pre}*[local-name()='${name}']`,
  );
}

const SEP = "@@@";

/**
 * Checks XPath 1.0 expressions against one file in a single xmllint run (one
 * `concat` of all of them): `[expression, expected]`, numbers for `count(…)`.
 */
function expectXPath(file: string, checks: [string, string | number | boolean][]): void {
  const exprs = checks.map(([e]) => `string(${nsFree(e)})`);
  const joined = exprs.length === 1 ? exprs[0] : `concat(${exprs.join(`, '${SEP}', `)})`;
  const r = spawnSync("xmllint", ["--nonet", "--xpath", joined as string, file], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`xmllint --xpath failed: ${r.stderr}`);
  const got = r.stdout.replace(/\n$/, "").split(SEP);
  expect(Object.fromEntries(checks.map(([e], i) => [e, got[i]]))).toEqual(
    Object.fromEntries(checks.map(([e, v]) => [e, String(v)])),
  );
}

const count = (expr: string) => `count(${expr})`;
const item = (subject: string, oid: string) =>
  `//SubjectData[@SubjectKey='${subject}']//ItemData[@ItemOID='${oid}']`;

beforeAll(async () => {
  definition = await loadDefinition(path.join(repoRoot, "forms"));
  casebook = buildCasebook();
  dir = mkdtempSync(path.join(os.tmpdir(), "odm-test-"));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("helpers", () => {
  it("writes numbers as decimals, never in exponent notation", () => {
    expect(decimal(70.5)).toBe("70.5");
    expect(decimal(1.2e-7)).toBe("0.00000012");
    expect(decimal(-1.5e-7)).toBe("-0.00000015");
    expect(decimal(1e21)).toBe("1000000000000000000000");
    expect(decimal(1.25e22)).toBe("12500000000000000000000");
  });

  it("makes OID parts of any id, injectively, and readable unit slugs", () => {
    expect(oidPart("site-01")).toBe("site-01");
    expect(oidPart("alice@example.org")).toBe("alice~40example~2Eorg");
    expect(oidPart("a~b")).not.toBe(oidPart("a~7Eb~"));
    expect(unitSlug("µmol/L")).toBe("umol_per_L");
    expect(unitSlug("°C")).toBe("degC");
    expect(unitSlug("×10^9/L")).toBe("x10_9_per_L");
    expect(unitSlug("%")).toBe("pct");
  });
});

describe("streaming", () => {
  it("writes the metadata before reading a subject, and each subject before reading the next", async () => {
    const log: string[] = [];
    async function* subjects() {
      for (const s of casebook) {
        log.push(`read ${s.subject.id}`);
        yield s;
      }
    }
    let largest = 0;
    for await (const chunk of odmChunks(definition, subjects(), BASE)) {
      largest = Math.max(largest, chunk.length);
      if (chunk.includes("</MetaDataVersion>")) log.push("metadata");
      const opened = /<SubjectData SubjectKey="([^"]+)"/.exec(chunk);
      if (opened) log.push(`open ${opened[1]}`);
      if (chunk.includes("</SubjectData>")) log.push("close");
    }
    expect(log).toEqual([
      "metadata",
      "read 01-001",
      "open 01-001",
      "close",
      "read 02-001",
      "open 02-001",
      "close",
    ]);
    // Chunks are per element (a form's ItemDefs, a study event's data), never the document.
    expect(largest).toBeLessThan(32_000);
  });

  it("is deterministic", async () => {
    const a = await odmString(definition, casebook, { ...BASE, includeAudit: true });
    const b = await odmString(definition, lazily(casebook), { ...BASE, includeAudit: true });
    expect(a).toBe(b);
  });

  it("writes every value in the lexical form of its ItemDef's DataType", async () => {
    // The XSD types ItemData/@Value as a plain string, so check the values here.
    const xml = await odmString(definition, casebook, { ...BASE, includeAudit: true });
    const types = new Map(
      [...xml.matchAll(/<ItemDef OID="([^"]+)" Name="[^"]*" DataType="([a-z]+)"/g)].map((m) => [m[1], m[2]]),
    );
    const lexical: Record<string, RegExp> = {
      integer: /^-?\d+$/,
      float: /^-?\d+(\.\d+)?$/,
      date: /^\d{4}-\d{2}-\d{2}$/,
      time: /^\d{2}:\d{2}:\d{2}(\.\d+)?$/,
      datetime: /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/,
      text: /^/,
    };
    const values = [
      ...xml.matchAll(/<ItemData ItemOID="([^"]+)"(?: TransactionType="[A-Za-z]+")? Value="([^"]*)"/g),
    ];
    expect(values.length).toBeGreaterThan(100);
    for (const [, oid, value] of values) {
      const type = types.get(oid as string);
      expect(type, oid).toBeDefined();
      expect(value, `${oid} (${type})`).toMatch(lexical[type as string] as RegExp);
    }
  });

  it("shifts dates and replaces subject keys when asked, like the flat export", async () => {
    const xml = await odmString(definition, casebook, {
      ...BASE,
      includeAudit: true,
      deidentify: {
        dropIdentifiers: true,
        shiftDays: (s) => (s === "01-001" ? 10 : -20),
        subjectKey: (s) => `K${s}`,
      },
    });
    expect(xml).toContain('<SubjectData SubjectKey="K01-001"');
    expect(xml).not.toContain('SubjectKey="01-001"');
    expect(xml).toContain("(identifiers removed, dates shifted, subject keys replaced)");
    expect(xml).toContain('ItemOID="I.consent.consent_date" TransactionType="Insert" Value="2024-01-20"');
    expect(xml).toContain('ItemOID="I.consent.consent_date" TransactionType="Insert" Value="2023-12-26"');
    expect(xml).toContain("<DateTimeStamp>2024-01-22T15:00:00.000Z</DateTimeStamp>");
    expect(xml).not.toContain("2024-01-12T15:00:00.000Z");
    // Not dates: untouched.
    expect(xml).toContain('ItemOID="I.demographics.weight" TransactionType="Update" Value="72"');
  });

  it("leaves out data the definition cannot describe (retired forms and fields)", async () => {
    const s = casebook[0] as OdmSubject;
    const stray = { ...(s.instances[0] as Revision), form: "retired_form" };
    const withRetired = {
      ...(s.instances[1] as Revision),
      data: { ...s.instances[1]?.data, retired_field: 1 },
    };
    const xml = await odmString(
      definition,
      [{ subject: s.subject, instances: [stray, withRetired, ...s.instances.slice(2)] }],
      BASE,
    );
    expect(xml).not.toContain("retired");
    expect(xml).toContain('ItemOID="I.demographics.weight" Value="72"');
  });
});

describe("the reference study as ODM 1.3.2", () => {
  it("has xmllint and the XSD (required in CI)", () => {
    if (process.env.CI) expect(canValidate, missing).toBe(true);
  });

  describe.skipIf(!canValidate)("validated against ODM1-3-2.xsd", () => {
    let meta: string;
    let snapshot: string;
    let audit: string;
    let deid: string;
    let deidAudit: string;

    beforeAll(async () => {
      meta = write("metadata.xml", await odmString(definition, null, BASE));
      snapshot = write("snapshot.xml", await odmString(definition, lazily(casebook), BASE));
      audit = write(
        "audit.xml",
        await odmString(definition, lazily(casebook), { ...BASE, includeAudit: true }),
      );
      const drop = { dropIdentifiers: true };
      deid = write("deid.xml", await odmString(definition, lazily(casebook), { ...BASE, deidentify: drop }));
      deidAudit = write(
        "deid-audit.xml",
        await odmString(definition, lazily(casebook), {
          ...BASE,
          deidentify: { ...drop, shiftDays: () => 7, subjectKey: (s) => `K${s}` },
          includeAudit: true,
        }),
      );
    });

    it("validates: metadata only, clinical data, with audit, de-identified", () => {
      for (const file of [meta, snapshot, audit, deid, deidAudit]) {
        const r = validate(file);
        expect(r.output).toContain("validates");
        expect(r.ok, r.output).toBe(true);
      }
    });

    it("describes the protocol: events, forms, items, code lists, units, ranges", () => {
      const s = definition.study;
      const forms = Object.keys(definition.instruments).length;
      const priorDmt = definition.instruments.diagnosis?.properties.prior_dmt?.items?.oneOf ?? [];
      expect(priorDmt.length).toBe(16);
      const ref = (ig: string, oid: string) => `//ItemGroupDef[@OID='${ig}']/ItemRef[@ItemOID='${oid}']`;
      const def = (oid: string) => `//ItemDef[@OID='${oid}']`;
      expectXPath(meta, [
        ["/ODM/@ODMVersion", "1.3.2"],
        ["/ODM/@FileType", "Snapshot"],
        ["/ODM/@Granularity", "Metadata"],
        [count("//ClinicalData"), 0],
        ["//Study/@OID", `S.${s.id}`],
        ["//MetaDataVersion/@OID", `MDV.${definition.version}`],
        [count("//StudyEventDef"), s.events.length + 1],
        [count("//Protocol/StudyEventRef"), s.events.length + 1],
        ["//StudyEventDef[@OID='SE.unscheduled']/@Repeating", "Yes"],
        ["//StudyEventDef[@OID='SE.unscheduled']/@Type", "Unscheduled"],
        ["//StudyEventDef[@OID='SE.screening']/@Type", "Scheduled"],
        ["//StudyEventDef[@OID='SE.logs']/@Type", "Common"],
        [count("//StudyEventDef[@OID='SE.logs']/FormRef"), s.logs.length],
        [count("//FormDef"), forms],
        ["//FormDef[@OID='F.adverse_event']/@Repeating", "Yes"],
        ["//FormDef[@OID='F.demographics']/@Repeating", "No"],
        [count("//ItemGroupDef"), forms],
        // Mandatory follows `required`.
        [`${ref("IG.consent", "I.consent.consent_date")}/@Mandatory`, "Yes"],
        [`${ref("IG.consent", "I.consent.copy_given")}/@Mandatory`, "No"],
        // Data types.
        [`${def("I.consent.consent_version")}/@DataType`, "text"],
        [`${def("I.consent.consent_version")}/@Length`, "20"],
        [`${def("I.consent.consent_date")}/@DataType`, "date"],
        [`${def("I.vital_signs.vs_time")}/@DataType`, "time"],
        [`${def("I.vital_signs.systolic_bp")}/@DataType`, "integer"],
        [`${def("I.demographics.weight")}/@DataType`, "float"],
        [`${def("I.consent.consent_signed")}/@DataType`, "integer"],
        [`${def("I.consent.consent_signed")}/CodeListRef/@CodeListOID`, "CL.yesno"],
        [`${def("I.demographics.weight")}/Question/TranslatedText`, "Weight"],
        // Multiple choice: one yes/no item per option, none for the field itself.
        [count("//ItemDef[starts-with(@OID, 'I.diagnosis.prior_dmt___')]"), priorDmt.length],
        [count(def("I.diagnosis.prior_dmt")), 0],
        [
          `${def("I.diagnosis.prior_dmt___natalizumab")}/Alias[@Context='x-multiple-choice']/@Name`,
          "prior_dmt",
        ],
        [`${def("I.diagnosis.prior_dmt___natalizumab")}/CodeListRef/@CodeListOID`, "CL.yesno"],
        // Code lists.
        [count("//CodeList[@OID='CL.adverse_event.relationship']/CodeListItem"), 5],
        [
          "//CodeList[@OID='CL.adverse_event.relationship']/CodeListItem[@CodedValue='possible']/Decode/TranslatedText",
          "Possibly related",
        ],
        ["//CodeList[@OID='CL.adverse_event.ctcae_grade']/@DataType", "integer"],
        ["//CodeList[@OID='CL.demographics.sex']/@DataType", "text"],
        [count("//CodeList[@OID='CL.yesno']/CodeListItem"), 2],
        [count("//CodeList[@OID='CL.edss.edss_total']/EnumeratedItem"), 20],
        [count("//CodeList[@OID='CL.arm']/CodeListItem"), s.arms.length],
        [count("//CodeList[@OID='CL.status']/CodeListItem"), 3],
        // Units and ranges.
        [`${def("I.demographics.height")}/MeasurementUnitRef/@MeasurementUnitOID`, "MU.cm"],
        ["//BasicDefinitions/MeasurementUnit[@OID='MU.umol_per_L']/Symbol/TranslatedText", "µmol/L"],
        [`${def("I.demographics.height")}/RangeCheck[@Comparator='GE']/CheckValue`, "120"],
        [`${def("I.demographics.height")}/RangeCheck[@Comparator='LE']/CheckValue`, "220"],
        [`${def("I.con_med.dose")}/RangeCheck[@Comparator='GT']/CheckValue`, "0"],
        // Identifiers, calculations, branching, status.
        [count("//ItemDef[Alias[@Context='x-identifier']]"), 2],
        [`${def("I.demographics.initials")}/Alias[@Context='x-identifier']/@Name`, "Yes"],
        ["//ItemRef[@ItemOID='I.demographics.age']/@MethodOID", "MT.demographics.age"],
        [`${def("I.demographics.age")}/@Origin`, "Derived"],
        [count("//MethodDef[@OID='MT.demographics.age']/FormalExpression[@Context='JSONLogic']"), 1],
        [
          "//ItemRef[@ItemOID='I.diagnosis.aqp4_igg']/@CollectionExceptionConditionOID",
          "COND.diagnosis.aqp4_igg",
        ],
        [`${def("I.demographics.__status")}/@Name`, "demographics_complete"],
        // Every reference resolves, every ItemDef is used.
        [count("//ItemRef[not(@ItemOID = //ItemDef/@OID)]"), 0],
        [count("//CodeListRef[not(@CodeListOID = //CodeList/@OID)]"), 0],
        [count("//MeasurementUnitRef[not(@MeasurementUnitOID = //MeasurementUnit/@OID)]"), 0],
        [count("//FormRef[not(@FormOID = //FormDef/@OID)]"), 0],
        [count("//ItemGroupRef[not(@ItemGroupOID = //ItemGroupDef/@OID)]"), 0],
        [count("//ItemRef[@MethodOID][not(@MethodOID = //MethodDef/@OID)]"), 0],
        [
          count(
            "//ItemRef[@CollectionExceptionConditionOID][not(@CollectionExceptionConditionOID = //ConditionDef/@OID)]",
          ),
          0,
        ],
        [count("//ItemDef[not(@OID = //ItemRef/@ItemOID)]"), 0],
      ]);
    });

    it("writes the clinical data: subjects, sites, events, repeats, values", () => {
      const logs = "//SubjectData[@SubjectKey='01-001']/StudyEventData[@StudyEventOID='SE.logs']";
      const unscheduled = (s: string) =>
        `//SubjectData[@SubjectKey='${s}']/StudyEventData[@StudyEventOID='SE.unscheduled']`;
      expectXPath(snapshot, [
        ["/ODM/@FileType", "Snapshot"],
        ["//ClinicalData/@MetaDataVersionOID", `MDV.${definition.version}`],
        [count("//SubjectData"), 2],
        [count("//AdminData/Location"), 2],
        ["//SubjectData[@SubjectKey='02-001']/SiteRef/@LocationOID", "LOC.site-02"],
        [count("//SiteRef[not(@LocationOID = //Location/@OID)]"), 0],
        ["//SubjectData[@SubjectKey='02-001']/Annotation/Flag/FlagValue", "nmo"],
        [count("//AuditRecord"), 0],
        [count("//ItemData[@TransactionType]"), 0],
        // Current values only.
        [count(item("01-001", "I.demographics.weight")), 1],
        [`${item("01-001", "I.demographics.weight")}/@Value`, "72"],
        [`${item("01-001", "I.demographics.__status")}/@Value`, "2"],
        [`${item("01-001", "I.consent.consent_signed")}/@Value`, "1"],
        [`${item("01-001", "I.consent.copy_given")}/@Value`, "0"],
        [`(${item("01-001", "I.vital_signs.vs_time")})[1]/@Value`, "08:30:00"],
        // Multiple choice: every option 1 or 0.
        [
          count(
            "//SubjectData[@SubjectKey='01-001']//ItemData[starts-with(@ItemOID, 'I.diagnosis.prior_dmt___')]",
          ),
          16,
        ],
        [`${item("01-001", "I.diagnosis.prior_dmt___natalizumab")}/@Value`, "1"],
        [`${item("01-001", "I.diagnosis.prior_dmt___interferon_beta")}/@Value`, "1"],
        [`${item("01-001", "I.diagnosis.prior_dmt___none")}/@Value`, "0"],
        [
          count(
            "//SubjectData[@SubjectKey='01-001']//ItemData[starts-with(@ItemOID, 'I.adverse_event.sae_criteria___')]",
          ),
          6,
        ],
        // Logs: one logs event, the adverse events as repeats of the form.
        [count(logs), 1],
        [count(`${logs}/FormData[@FormOID='F.adverse_event']`), 2],
        [
          `${logs}/FormData[@FormRepeatKey='2']//ItemData[@ItemOID='I.adverse_event.ae_term']/@Value`,
          "Pneumonia",
        ],
        [
          `${logs}/FormData[@FormRepeatKey='1']//ItemData[@ItemOID='I.adverse_event.ae_term']/@Value`,
          AE_TERM,
        ],
        // Unscheduled visits: repeats of the event, each with its forms.
        [count(unscheduled("02-001")), 2],
        [
          `${unscheduled("02-001")}[@StudyEventRepeatKey='2']//ItemData[@ItemOID='I.vital_signs.heart_rate']/@Value`,
          "72",
        ],
        [count(`${unscheduled("01-001")}[@StudyEventRepeatKey='1']/FormData`), 2],
        [count(`${unscheduled("01-001")}/FormData[@FormRepeatKey]`), 0],
        // Text survives escaping, line breaks and tabs included.
        [`${item("02-001", "I.end_of_study.termination_details")}/@Value`, DETAILS],
        // Every ItemData has an ItemDef, every FormData a FormDef.
        [count("//ItemData[not(@ItemOID = //ItemDef/@OID)]"), 0],
        [count("//FormData[not(@FormOID = //FormDef/@OID)]"), 0],
      ]);
    });

    it("writes the audit trail: each change an ItemData with its AuditRecord, in commit order", () => {
      const weight = item("01-001", "I.demographics.weight");
      const status = item("01-001", "I.demographics.__status");
      const copy = item("02-001", "I.consent.copy_given");
      expectXPath(audit, [
        ["/ODM/@FileType", "Transactional"],
        ["//SubjectData[@SubjectKey='01-001']/@TransactionType", "Upsert"],
        ["count(//ItemData) = count(//ItemData[AuditRecord])", true],
        [count(weight), 2],
        [`(${weight})[1]/@TransactionType`, "Insert"],
        [`(${weight})[1]/@Value`, "70.5"],
        [`(${weight})[1]/AuditRecord/UserRef/@UserOID`, "U.alice~40example~2Eorg"],
        [count(`(${weight})[1]/AuditRecord/ReasonForChange`), 0],
        [`(${weight})[2]/@TransactionType`, "Update"],
        [`(${weight})[2]/@Value`, "72"],
        [`(${weight})[2]/AuditRecord/ReasonForChange`, "Transcription error: source says 72 kg"],
        [`(${weight})[2]/AuditRecord/UserRef/@UserOID`, "U.bob"],
        [`(${weight})[2]/AuditRecord/LocationRef/@LocationOID`, "LOC.site-01"],
        [`(${weight})[2]/AuditRecord/DateTimeStamp`, "2024-01-12T15:00:00.000Z"],
        [`(${weight})[2]/AuditRecord/SourceID`, "revision 3 (definition version 1)"],
        // A status-only revision is in the trail as the status item.
        [count(status), 2],
        [`(${status})[1]/@Value`, "0"],
        [`(${status})[2]/@Value`, "2"],
        // A cleared value is removed.
        [count(copy), 2],
        [`(${copy})[2]/@TransactionType`, "Remove"],
        [count(`(${copy})[2]/@Value`), 0],
        [
          `(${item("01-001", "I.adverse_event.outcome")})[2]/AuditRecord/ReasonForChange`,
          "Resolved <2 days> & closed",
        ],
        // The last transaction of each item is the current value.
        [
          "(//SubjectData[@SubjectKey='01-001']//FormData[@FormRepeatKey='1']//ItemData[@ItemOID='I.adverse_event.end_date'])[last()]/@Value",
          "2024-02-03",
        ],
        [
          "(//SubjectData[@SubjectKey='01-001']//FormData[@FormRepeatKey='1']//ItemData[@ItemOID='I.adverse_event.ongoing'])[last()]/@Value",
          "0",
        ],
        // References resolve to AdminData.
        [count("//AdminData/User"), 3],
        ["//User[LoginName='alice@example.org']/FullName", "Alice Example"],
        ["//User[LoginName='alice@example.org']/Email", "alice@example.org"],
        [count("//User[LoginName='bob']/*"), 1],
        [count("//UserRef[not(@UserOID = //User/@OID)]"), 0],
        [count("//LocationRef[not(@LocationOID = //Location/@OID)]"), 0],
      ]);
    });

    it("drops identifiers and their data when de-identified", () => {
      const dropped = ["initials", "date_of_birth"].flatMap((field): [string, number][] => [
        [count(`//ItemDef[@OID='I.demographics.${field}']`), 0],
        [count(`//ItemRef[@ItemOID='I.demographics.${field}']`), 0],
        [count(`//ItemData[@ItemOID='I.demographics.${field}']`), 0],
      ]);
      for (const file of [deid, deidAudit]) {
        expectXPath(file, [
          ["contains(/ODM/@Description, 'identifiers removed')", true],
          ...dropped,
          [count("//Alias[@Context='x-identifier']"), 0],
          ["count(//ItemData[@ItemOID='I.demographics.weight']) > 0", true],
        ]);
      }
      expectXPath(snapshot, [[count("//ItemData[@ItemOID='I.demographics.initials']"), 2]]);
      // 02-001's second demographics revision changed only the initials: nothing of it is left.
      expectXPath(deidAudit, [
        [count("//ItemData[AuditRecord/ReasonForChange='Initials typo']"), 0],
        [count("//SubjectData[@SubjectKey='K02-001']"), 1],
        [count("//SubjectData[@SubjectKey='02-001']"), 0],
      ]);
    });
  });
});
