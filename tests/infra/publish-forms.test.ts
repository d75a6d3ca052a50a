import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { StudyDefinition } from "../../functions/engine/definition.ts";
import { type PublishFormsDeps, publishForms } from "../../functions/handlers/publish-forms.ts";

const FORMS = path.resolve(import.meta.dirname, "../../forms");
const STUDY_ID = (JSON.parse(readFileSync(path.join(FORMS, "study.json"), "utf8")) as { id: string }).id;

type Call = { definition: StudyDefinition; by: { actor: string; reason?: string } };
function fakeStore(result: { version: number; changed: boolean } | Error) {
  const calls: Call[] = [];
  const store: NonNullable<PublishFormsDeps["store"]> = {
    async publishDefinition(definition, by) {
      calls.push({ definition, by });
      if (result instanceof Error) throw result;
      return result;
    },
  };
  return { store, calls };
}

const broken = mkdtempSync(path.join(tmpdir(), "edc-broken-forms-"));
mkdirSync(path.join(broken, "instruments"));
writeFileSync(path.join(broken, "study.json"), "{ not json");
afterAll(() => rmSync(broken, { recursive: true, force: true }));

describe("publish-forms custom resource handler", () => {
  it("on Create publishes the checked definition as the deploy actor and returns its version", async () => {
    const { store, calls } = fakeStore({ version: 3, changed: true });
    const response = await publishForms(
      { RequestType: "Create", ResourceProperties: { FormsHash: "abc" } },
      { formsDir: FORMS, store },
    );
    expect(response).toEqual({
      PhysicalResourceId: `forms-${STUDY_ID}`,
      Data: { Version: 3, Changed: true, StudyId: STUDY_ID },
    });
    expect(calls).toHaveLength(1);
    expect(calls[0]?.definition.study.id).toBe(STUDY_ID);
    expect(Object.keys(calls[0]?.definition.instruments ?? {}).length).toBeGreaterThan(0);
    expect(calls[0]?.by).toEqual({ actor: "deploy", reason: "cdk deploy" });
  });

  it("on Update with unchanged content keeps the physical id and reports the current version", async () => {
    const { store } = fakeStore({ version: 3, changed: false });
    const response = await publishForms(
      { RequestType: "Update", PhysicalResourceId: `forms-${STUDY_ID}` },
      { formsDir: FORMS, store },
    );
    expect(response).toEqual({
      PhysicalResourceId: `forms-${STUDY_ID}`,
      Data: { Version: 3, Changed: false, StudyId: STUDY_ID },
    });
  });

  it("fails the deploy when the forms do not pass their checks, before touching the table", async () => {
    const { store, calls } = fakeStore({ version: 1, changed: true });
    await expect(publishForms({ RequestType: "Create" }, { formsDir: broken, store })).rejects.toThrow(
      /error/i,
    );
    expect(calls).toHaveLength(0);
  });

  it("fails the deploy when the store refuses the publish (e.g. a destructive change)", async () => {
    const { store } = fakeStore(new Error("destructive change: field removed with data"));
    await expect(publishForms({ RequestType: "Update" }, { formsDir: FORMS, store })).rejects.toThrow(
      "destructive change",
    );
  });

  it("on Delete does nothing and keeps the physical id: published definitions are never deleted", async () => {
    const { store, calls } = fakeStore(new Error("must not be called"));
    const missing = path.join(broken, "does-not-exist");
    await expect(
      publishForms({ RequestType: "Delete", PhysicalResourceId: "forms-x" }, { formsDir: missing, store }),
    ).resolves.toEqual({ PhysicalResourceId: "forms-x" });
    await expect(publishForms({ RequestType: "Delete" }, { formsDir: missing, store })).resolves.toEqual({
      PhysicalResourceId: "forms",
    });
    expect(calls).toHaveLength(0);
  });
});
