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

/** ODM with instances entered in error (exported on request): still valid ODM 1.3.2, the mark said in it. */

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));
const xsd = [
  path.resolve(repoRoot, "../shared/standards/odm-1.3.2/ODM1-3-2.xsd"),
  "/work/shared/standards/odm-1.3.2/ODM1-3-2.xsd",
].find(existsSync);
const canValidate = xsd !== undefined && spawnSync("xmllint", ["--version"]).status === 0;

let definition: StudyDefinition;
let dir: string;

const revision = (instance: number, rev: number, over: Partial<Revision> = {}): Revision => ({
  study: "hucmsc-ms-nmo",
  subject: "01-001",
  site: "site-01",
  event: "logs",
  form: "adverse_event",
  instance,
  rev,
  status: "incomplete",
  statusFrom: rev === 1 ? null : "incomplete",
  data: { ae_term: `Headache ${instance}` },
  changes: rev === 1 ? [{ field: "ae_term", old: null, new: `Headache ${instance}` }] : [],
  committedAt: `2024-03-0${rev}T10:00:00.000Z`,
  committedBy: "alice",
  definitionVersion: 1,
  ...over,
});

// #1 marked (still), #2 marked and restored.
const marked = revision(1, 2, { action: "entered-in-error", enteredInError: true, reason: "duplicate" });
const restored = revision(2, 3, { action: "restore", reason: "a real event" });
const subject = {
  subject: { id: "01-001", site: "site-01", arm: "rrms" },
  instances: [marked, restored],
  revisions: [
    revision(1, 1),
    marked,
    revision(2, 1),
    revision(2, 2, { action: "entered-in-error", enteredInError: true, reason: "mistake" }),
    restored,
  ],
};

beforeAll(async () => {
  definition = await loadDefinition(path.join(repoRoot, "forms"));
  dir = mkdtempSync(path.join(os.tmpdir(), "odm-in-error-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("ODM with instances entered in error", () => {
  const options = { now: new Date("2024-06-01T00:00:00Z"), users: ["alice"] };

  it("annotates the marked instance in a snapshot, and tells each mark and restore in the audit", async () => {
    const snapshot = await odmString(definition, [subject], options);
    expect(snapshot).toMatch(
      /FormRepeatKey="1"><Annotation SeqNum="1"><Comment SponsorOrSite="Site">Entered in error: duplicate<\/Comment>/,
    );
    expect(snapshot.match(/Entered in error/g)).toHaveLength(1);

    const audit = await odmString(definition, [subject], { ...options, includeAudit: true });
    const reasons = [...audit.matchAll(/<ReasonForChange>([^<]*)<\/ReasonForChange>/g)].map((m) => m[1]);
    expect(reasons).toEqual([
      "Entered in error: duplicate",
      "Entered in error: mistake",
      "Restored: a real event",
    ]);

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
