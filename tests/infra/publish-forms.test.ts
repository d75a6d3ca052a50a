import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { DeleteCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { publishForms } from "../../functions/handlers/publish-forms.ts";
import { startDynalite } from "../../functions/store/dynalite.ts";
import { createClients, ensureTable } from "../../functions/store/dynamo.ts";
import { keys } from "../../functions/store/keys.ts";
import { memoryMacKey } from "../../functions/store/mac-key.ts";
import { createStore, type Store } from "../../functions/store/store.ts";

const FORMS = path.resolve(import.meta.dirname, "../../forms");
const STUDY_ID = (JSON.parse(readFileSync(path.join(FORMS, "study.json"), "utf8")) as { id: string }).id;
const temp = mkdtempSync(path.join(tmpdir(), "edc-publish-"));

let dynamo: Awaited<ReturnType<typeof startDynalite>>;
let store: Store;
beforeAll(async () => {
  dynamo = await startDynalite();
  const { client, doc } = createClients({ endpoint: dynamo.endpoint });
  await ensureTable(client, "edc");
  store = createStore({ tableName: "edc", doc, macKey: memoryMacKey() });
});
afterAll(async () => {
  await dynamo.close();
  rmSync(temp, { recursive: true, force: true });
});

function formsCopy(name: string, edit?: (dir: string) => void): string {
  const dir = path.join(temp, name);
  cpSync(FORMS, dir, { recursive: true });
  edit?.(dir);
  return dir;
}

function editInstrument(dir: string, form: string, change: (json: Record<string, any>) => void) {
  const file = path.join(dir, "instruments", `${form}.json`);
  const json = JSON.parse(readFileSync(file, "utf8"));
  change(json);
  writeFileSync(file, JSON.stringify(json, null, 2));
}

describe("publish-forms custom resource handler (real store on dynalite)", () => {
  it("on Create publishes forms/ as version 1; on Update with the same content changes nothing", async () => {
    const created = await publishForms(
      { RequestType: "Create", ResourceProperties: { FormsHash: "a" } },
      { formsDir: FORMS, store },
    );
    expect(created).toEqual({
      PhysicalResourceId: `forms-${STUDY_ID}`,
      Data: { Version: 1, Changed: true, StudyId: STUDY_ID },
    });
    const again = await publishForms(
      { RequestType: "Update", PhysicalResourceId: `forms-${STUDY_ID}` },
      { formsDir: FORMS, store },
    );
    expect(again.Data).toEqual({ Version: 1, Changed: false, StudyId: STUDY_ID });
    expect((await store.listDefinitions(STUDY_ID)).map((d) => d.version)).toEqual([1]);
  });

  it("fails the deploy when the forms do not pass their checks, before touching the table", async () => {
    const broken = path.join(temp, "broken");
    mkdirSync(path.join(broken, "instruments"), { recursive: true });
    writeFileSync(path.join(broken, "study.json"), "{ not json");
    await expect(publishForms({ RequestType: "Update" }, { formsDir: broken, store })).rejects.toThrow(
      /error/i,
    );
    expect((await store.listDefinitions(STUDY_ID)).map((d) => d.version)).toEqual([1]);
  });

  it("fails the deploy on a destructive change over collected data, and publishes it once accepted with a reason", async () => {
    const enrolled = await store.enrolSubject({
      study: STUDY_ID,
      site: "site-01",
      siteCode: "01",
      arm: "rrms",
      actor: "t",
    });
    if (enrolled.kind !== "enrolled") throw new Error("setup");
    const definition = await store.definitions.current(STUDY_ID);
    if (!definition) throw new Error("setup");
    const saved = await store.saveFormInstance({
      definition,
      subject: enrolled.subject,
      event: "screening",
      form: "mri",
      instance: 1,
      data: { comments: "small lesion, stable" },
      status: "incomplete",
      rev: 0,
      actor: "t",
    });
    expect(saved.kind).toBe("saved");

    const dir = formsCopy("drop-comments", (d) =>
      editInstrument(d, "mri", (j) => delete j.properties.comments),
    );
    await expect(publishForms({ RequestType: "Update" }, { formsDir: dir, store })).rejects.toThrow(
      /destructive[\s\S]*field-removed:mri\.comments \[1 affected\]/,
    );
    expect((await store.listDefinitions(STUDY_ID)).map((d) => d.version)).toEqual([1]);

    writeFileSync(
      path.join(dir, "publish-plan.json"),
      JSON.stringify({
        accept: {
          reason: "Free-text comments retired by protocol amendment 3",
          changes: ["field-removed:mri.comments"],
        },
      }),
    );
    const published = await publishForms({ RequestType: "Update" }, { formsDir: dir, store });
    expect(published.Data).toMatchObject({ Version: 2, Changed: true });
    const [v2] = await store.listDefinitions(STUDY_ID);
    expect(v2?.acceptance).toMatchObject({
      by: "deploy",
      reason: "Free-text comments retired by protocol amendment 3",
      changes: ["field-removed:mri.comments"],
    });
    // Nothing is dropped: the stored value is still there, now retired.
    const casebook = await store.readCasebook(STUDY_ID, enrolled.subject.id);
    expect(casebook.instances.find((i) => i.form === "mri")?.data.comments).toBe("small lesion, stable");
  });

  it("publishes every bundled study folder beside forms/, each as its own study", async () => {
    const studies = path.join(temp, "studies");
    const other = path.join(studies, "second");
    mkdirSync(studies, { recursive: true });
    cpSync(FORMS, other, { recursive: true });
    const file = path.join(other, "study.json");
    writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, "utf8")), id: "deploy-second" }));
    mkdirSync(path.join(studies, "notes"));
    const answer = await publishForms(
      { RequestType: "Update" },
      { formsDir: formsCopy("with-studies"), studiesDir: studies, store },
    );
    expect(answer.Data?.StudyId).toBe(STUDY_ID);
    expect((await store.definitions.current("deploy-second"))?.version).toBe(1);
    await publishForms({ RequestType: "Update" }, { formsDir: FORMS, studiesDir: studies, store });
    expect(await store.listDefinitions("deploy-second")).toHaveLength(1);
  });

  it("gives every subject enrolled before the dashboard's summaries existed one, at the next deploy", async () => {
    const enrol = (site: string, siteCode: string) =>
      store.enrolSubject({ study: STUDY_ID, site, siteCode, arm: "rrms", actor: "test" });
    const enrolled = [
      await enrol("site-01", "01"),
      await enrol("site-02", "02"),
      await enrol("site-01", "01"),
    ];
    const subjects = enrolled.map((e) => {
      if (e.kind !== "enrolled") throw new Error(`not enrolled: ${e.kind}`);
      return e.subject;
    });
    // As before the upgrade: no summary items at all (of these subjects, or of any the file enrolled before).
    const { doc, tableName } = store.db;
    const all = (await store.readSummaries(STUDY_ID, {}, { limit: 50 })).summaries.map((x) => x.subject);
    expect(all.map((x) => x.id)).toEqual(expect.arrayContaining(subjects.map((x) => x.id)));
    for (const s of all)
      await doc.send(
        new DeleteCommand({
          TableName: tableName,
          Key: { PK: keys.summaries(STUDY_ID), SK: keys.summary(s.site, s.id) },
        }),
      );
    const listed = async () =>
      (await store.readSummaries(STUDY_ID, {}, { limit: 50 })).summaries.map((x) => x.subject.id).sort();
    expect(await listed()).toEqual([]);
    await publishForms({ RequestType: "Update" }, { formsDir: FORMS, store });
    expect(await listed()).toEqual(all.map((s) => s.id).sort());
    // Nothing missing: the next deploy builds nothing.
    expect(await store.summarizeMissing(STUDY_ID, ["site-01", "site-02"])).toBe(0);
  });

  it("on Delete does nothing and keeps the physical id: published definitions are never deleted", async () => {
    const missing = path.join(temp, "does-not-exist");
    await expect(
      publishForms({ RequestType: "Delete", PhysicalResourceId: "forms-x" }, { formsDir: missing, store }),
    ).resolves.toEqual({ PhysicalResourceId: "forms-x" });
    await expect(publishForms({ RequestType: "Delete" }, { formsDir: missing, store })).resolves.toEqual({
      PhysicalResourceId: "forms",
    });
  });
});
