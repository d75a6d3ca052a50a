import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadDefinition } from "../../functions/definition-files.ts";
import type { StudyDefinition } from "../../functions/engine/definition.ts";
import { odmString } from "../../functions/exports/odm.ts";
import type { Revision } from "../../functions/store/form-instances.ts";

/** ODM with missing-data codes and soft ranges: the documented convention, valid ODM 1.3.2. */

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
const xsd = [
  path.resolve(repoRoot, "../shared/standards/odm-1.3.2/ODM1-3-2.xsd"),
  "/work/shared/standards/odm-1.3.2/ODM1-3-2.xsd",
].find(existsSync);
const canValidate = xsd !== undefined && spawnSync("xmllint", ["--version"]).status === 0;

let definition: StudyDefinition;
let dir: string;

const vitals = (rev: number, over: Partial<Revision>): Revision => ({
  study: "hucmsc-ms-nmo",
  subject: "01-001",
  site: "site-01",
  event: "screening",
  form: "vital_signs",
  instance: 1,
  rev,
  status: "incomplete",
  statusFrom: rev === 1 ? null : "incomplete",
  data: { heart_rate: 72 },
  changes: [],
  committedAt: `2024-03-0${rev}T10:00:00.000Z`,
  committedBy: "alice",
  definitionVersion: 1,
  ...over,
});

const first = vitals(1, { data: { heart_rate: 72, temperature: 36.6 } });
const coded = vitals(2, {
  missing: { temperature: { code: "UNK", reason: "thermometer broken" } },
  reason: "no reading",
});
const subject = {
  subject: { id: "01-001", site: "site-01", arm: "rrms" },
  instances: [coded],
  revisions: [first, coded],
};

beforeAll(async () => {
  definition = await loadDefinition(path.join(repoRoot, "forms"));
  dir = mkdtempSync(path.join(os.tmpdir(), "odm-missing-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("ODM with missing-data codes", () => {
  const options = { now: new Date("2024-06-01T00:00:00Z"), users: ["alice"] };

  it("writes a coded field as IsNull with its code as a Flag, the soft range as a soft RangeCheck, and validates", async () => {
    const snapshot = await odmString(definition, [subject], options);
    expect(snapshot).toContain(
      '<ItemData ItemOID="I.vital_signs.temperature" IsNull="Yes"><Annotation SeqNum="1"><Comment SponsorOrSite="Site">UNK: thermometer broken</Comment><Flag><FlagValue CodeListOID="CL.missing">UNK</FlagValue></Flag></Annotation></ItemData>',
    );
    expect(snapshot).toMatch(/<CodeList OID="CL.missing"[^>]*>.*<CodeListItem CodedValue="ASKU"/s);
    expect(snapshot).toMatch(/<RangeCheck Comparator="LE" SoftHard="Soft"><CheckValue>40<\/CheckValue>/);

    const audit = await odmString(definition, [subject], { ...options, includeAudit: true });
    expect(audit).toMatch(
      /<ItemData ItemOID="I.vital_signs.temperature" TransactionType="Update" IsNull="Yes"><AuditRecord>/,
    );

    if (!canValidate) return;
    for (const [name, xml] of [
      ["snapshot.xml", snapshot],
      ["audit.xml", audit],
    ]) {
      const file = path.join(dir, name as string);
      writeFileSync(file, xml as string);
      const r = spawnSync("xmllint", ["--noout", "--nonet", "--schema", xsd as string, file], {
        encoding: "utf8",
      });
      expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    }
  });
});
