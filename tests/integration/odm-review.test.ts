import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ReviewEntry } from "../../functions/engine/review.ts";
import { appendReview, type ReviewRequest } from "../../functions/store/review-log.ts";
import { BASE, type Product, startProduct } from "./harness.ts";

/**
 * Review entries in the ODM export (docs/architecture.md "Review entries in
 * ODM"): queries, verification, locks, a signature, a status change and the
 * study's freeze, with and without the audit trail, de-identified too, each
 * file valid against the ODM 1.3.2 XSD.
 */
const xsd = [
  path.resolve(import.meta.dirname, "../../../shared/standards/odm-1.3.2"),
  "/work/shared/standards/odm-1.3.2",
].find((d) => existsSync(path.join(d, "ODM1-3-2.xsd")));
const canValidate = spawnSync("xmllint", ["--version"]).status === 0 && xsd !== undefined;
if (!canValidate && process.env.CI)
  throw new Error("CI must have xmllint (libxml2-utils) and ../shared/standards");

const MEANING = "I attest that the data in this casebook are accurate and complete";
let product: Product;
let subject: string;
let other: string;

type Request = ReviewRequest extends infer R ? (R extends unknown ? Omit<R, "study"> : never) : never;
const append = (request: Request): Promise<ReviewEntry> =>
  appendReview(product.env.store.db, product.env.store.macKey, {
    study: product.env.studyId,
    ...request,
  } as ReviewRequest);

beforeAll(async () => {
  product = await startProduct();
  subject = await product.enrol();
  other = await product.enrol();
  const save = async (s: string, form: string, data: Record<string, unknown>, rev: number) => {
    const res = await product.save(s, "screening", form, { data, rev });
    if (res.status !== 200) throw new Error(`save: ${JSON.stringify(res.body)}`);
  };
  await save(subject, "vital_signs", { heart_rate: 70 }, 0);
  await save(other, "vital_signs", { heart_rate: 64 }, 0);
  const on = { subject, site: "site-01" };
  const vitals = { event: "screening", form: "vital_signs", instance: 1 };
  const field = { ...vitals, field: "heart_rate" };
  await append({
    ...on,
    by: "dev-monitor",
    target: field,
    action: "query-open",
    query: "q1",
    text: "70 at rest?",
  });
  await append({
    ...on,
    by: "dev-site-01",
    target: field,
    action: "query-answer",
    query: "q1",
    text: "Source says 72",
    correction: { ...vitals, rev: 2 },
  });
  await save(subject, "vital_signs", { heart_rate: 72 }, 1);
  await append({ ...on, by: "dev-monitor", target: field, action: "query-close", query: "q1" });
  // A query on a form nobody has filled in yet.
  await append({
    ...on,
    by: "dev-monitor",
    target: { event: "screening", form: "edss", instance: 1 },
    action: "query-open",
    query: "q2",
    text: "EDSS missing",
  });
  await append({
    ...on,
    by: "dev-monitor",
    target: vitals,
    action: "verify",
    covers: [{ ...vitals, rev: 1 }],
  });
  await append({
    ...on,
    by: "dev-monitor",
    target: vitals,
    action: "verify",
    covers: [{ ...vitals, rev: 2 }],
  });
  await append({
    ...on,
    by: "dev-data-manager",
    target: { event: "screening" },
    action: "lock",
    reason: "Visit clean",
  });
  await append({
    ...on,
    by: "dev-investigator",
    target: {},
    action: "sign",
    name: "Dr Ada Lovelace",
    meaning: MEANING,
    authenticatedAt: new Date().toISOString(),
    covers: [{ ...vitals, rev: 2 }],
  });
  await append({
    ...on,
    by: "dev-site-01",
    target: {},
    action: "subject-status",
    status: "withdrawn",
    date: "2026-05-01",
    reason: "Moved abroad",
  });
  // The other subject's signature is invalidated by a later change.
  const hers = { subject: other, site: "site-01" };
  await append({
    ...hers,
    by: "dev-investigator",
    target: vitals,
    action: "sign",
    name: "Dr Ada Lovelace",
    meaning: MEANING,
    authenticatedAt: new Date().toISOString(),
    covers: [{ ...vitals, rev: 1 }],
  });
  await save(other, "vital_signs", { heart_rate: 66 }, 1);
  await append({
    by: "dev-data-manager",
    target: {},
    action: "lock",
    reason: "Freeze before the interim analysis",
  });
}, 60_000);
afterAll(() => product.close());

async function odm(query: string): Promise<string> {
  const res = await product.env.app.request(`${BASE}/odm${query}`, {
    headers: { authorization: `Bearer ${product.token("sponsor")}` },
  });
  expect(res.status).toBe(200);
  return res.text();
}

function validate(xml: string, name: string): { ok: boolean; output: string; file: string } {
  const file = path.join(mkdtempSync(path.join(tmpdir(), "odm-review-")), name);
  writeFileSync(file, xml);
  const r = spawnSync(
    "xmllint",
    ["--noout", "--nonet", "--schema", path.join(xsd as string, "ODM1-3-2.xsd"), file],
    {
      encoding: "utf8",
    },
  );
  return { ok: r.status === 0, output: r.stderr, file };
}

/** The value of an XPath over the file, namespaces ignored. */
function xpath(file: string, expression: string): string {
  const local = expression.replace(/(^|\/)([A-Za-z]+)(?=[[/)]|$)/g, "$1*[local-name()='$2']");
  const r = spawnSync("xmllint", ["--xpath", local, file], { encoding: "utf8" });
  return r.stdout.trim();
}

describe.skipIf(!canValidate)("review entries in ODM", () => {
  it("validate against the ODM 1.3.2 XSD: snapshot, audited, de-identified", async () => {
    for (const [name, query] of [
      ["snapshot.xml", ""],
      ["audit.xml", "?audit=true"],
      ["deid.xml", "?audit=true&deidentify=true&hashIds=true"],
    ] as const) {
      const r = validate(await odm(query), name);
      expect(r.ok, `${name}: ${r.output}`).toBe(true);
    }
  });

  it("write queries, verification, locks, the signature and the status where they belong", async () => {
    const xml = await odm("");
    const { file } = validate(xml, "snapshot.xml");
    const subjectData = `//SubjectData[@SubjectKey='${subject}']`;
    const vitals = `${subjectData}/StudyEventData[@StudyEventOID='SE.screening']/FormData[@FormOID='F.vital_signs']`;
    // The field's query, on the form's ItemGroupData, naming the item, every message, closed.
    const query = xpath(file, `string(${vitals}/ItemGroupData/Annotation[1]/Comment)`);
    expect(query).toContain("Item I.vital_signs.heart_rate: Query q1");
    expect(query).toMatch(
      /dev-monitor opened: 70 at rest\?\n.* dev-site-01 answered: Source says 72\n.* dev-monitor closed$/,
    );
    expect(xpath(file, `string(${vitals}/ItemGroupData/Annotation[1]/Flag/FlagValue)`)).toBe("closed");
    expect(xpath(file, `string(${vitals}/ItemGroupData/Annotation[1]/Flag/FlagType)`)).toBe("QUERY");
    // Only the latest verification without the audit trail, and it still holds.
    expect(xpath(file, `count(${vitals}/Annotation)`)).toBe("1");
    expect(xpath(file, `string(${vitals}/Annotation/Flag/FlagValue)`)).toBe("verified");
    // A query on a form without data still has its FormData.
    const edss = `${subjectData}/StudyEventData/FormData[@FormOID='F.edss']`;
    expect(xpath(file, `string(${edss}/Annotation/Flag/FlagValue)`)).toBe("open");
    expect(xpath(file, `count(${edss}/ItemGroupData/ItemData)`)).toBe("0");
    // The visit's lock.
    expect(
      xpath(
        file,
        `string(${subjectData}/StudyEventData[@StudyEventOID='SE.screening']/Annotation/Flag/FlagValue)`,
      ),
    ).toBe("locked");
    // The casebook's signature: a Signature on SubjectData, its SignatureDef and signer in AdminData.
    expect(xpath(file, `string(${subjectData}/Signature/UserRef/@UserOID)`)).toBe("U.dev-investigator");
    expect(xpath(file, `string(${subjectData}/Signature/LocationRef/@LocationOID)`)).toBe("LOC.site-01");
    const sd = xpath(file, `string(${subjectData}/Signature/SignatureRef/@SignatureOID)`);
    expect(xpath(file, `string(//AdminData/SignatureDef[@OID='${sd}']/Meaning)`)).toBe(MEANING);
    expect(xpath(file, `string(//AdminData/SignatureDef[@OID='${sd}']/@Methodology)`)).toBe("Electronic");
    expect(xpath(file, "string(//AdminData/User[@OID='U.dev-investigator']/FullName)")).toBe(
      "Dr Ada Lovelace",
    );
    const flags = xpath(file, `${subjectData}/Annotation/Flag/FlagValue/text()`).split("\n");
    expect(flags).toEqual(["rrms", "valid", "withdrawn"]);
    // The other subject's form signature, invalidated by the later save.
    const hers = `//SubjectData[@SubjectKey='${other}']//FormData[@FormOID='F.vital_signs']`;
    expect(xpath(file, `string(${hers}/Signature/SignatureRef/@SignatureOID)`)).toBe(sd);
    expect(xpath(file, `string(${hers}/Annotation/Flag/FlagValue)`)).toBe("invalidated");
    // The study's freeze after the subjects.
    expect(xpath(file, "string(//ClinicalData/Annotations/Annotation/Comment)")).toContain(
      "Freeze before the interim analysis",
    );
    // Every flag's code lists are declared.
    for (const oid of [
      "CL.flagtype",
      "CL.querystate",
      "CL.sdv",
      "CL.lock",
      "CL.signature",
      "CL.subjectstatus",
    ])
      expect(xpath(file, `count(//CodeList[@OID='${oid}'])`)).toBe("1");
    expect(xpath(file, "//CodeList[@OID='CL.flagtype']/CodeListItem/@CodedValue")).toContain(
      '"SUBJECT-STATUS"',
    );
  });

  it("write every entry with the audit trail: both verifications, the older one to re-verify", async () => {
    const { file } = validate(await odm("?audit=true"), "audit.xml");
    const vitals = `//SubjectData[@SubjectKey='${subject}']/StudyEventData[@StudyEventOID='SE.screening']/FormData[@FormOID='F.vital_signs']`;
    expect(xpath(file, `${vitals}/Annotation/Flag/FlagValue/text()`).split("\n")).toEqual([
      "re-verify",
      "verified",
    ]);
  });

  it("de-identify them: subject keyed, no free text, dates shifted", async () => {
    const xml = await odm("?audit=true&deidentify=true&hashIds=true");
    for (const text of ["70 at rest", "Source says 72", "Moved abroad", "Freeze before", "EDSS missing"])
      expect(xml).not.toContain(text);
    expect(xml).not.toContain(`SubjectKey="${subject}"`);
    expect(xml).toContain('<FlagValue CodeListOID="CL.subjectstatus">withdrawn</FlagValue>');
    expect(xml).not.toContain("on 2026-05-01");
  });

  it("stay out of a metadata-only file", async () => {
    const xml = await odm("?clinicalData=false");
    expect(xml).not.toContain("CL.querystate");
    expect(xml).not.toContain("SignatureDef");
  });
});
