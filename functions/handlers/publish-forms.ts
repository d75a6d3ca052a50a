import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { loadDefinition } from "../definition-files.ts";
import { formatImpact } from "../engine/impact.ts";
import { scheduleDateFields } from "../engine/schedule.ts";
import { loadPublishPlan, PUBLISH_PLAN_FILE } from "../publish-plan.ts";
import { deployedMacKey } from "../store/mac-key.ts";
import { createStore, type Store } from "../store/store.ts";
import { TABLE_NAME_ENV } from "../store/table-shape.ts";

/**
 * The `onEvent` handler of the forms publish custom resource (CDK Provider
 * framework). On Create and Update it loads the protocol bundled next to this
 * file (`<asset>/forms`, copied there at bundling time), checks it, and
 * publishes it as a new immutable definition version — or as nothing, if the
 * content equals the current version. A protocol that fails its checks, or a
 * publish the store refuses, throws: the Provider reports FAILED and the
 * deploy rolls back. On Delete nothing happens: published definitions and the
 * data collected against them are never deleted by infrastructure.
 */

/** The part of the Provider framework's event this handler reads. */
export interface PublishFormsEvent {
  RequestType: "Create" | "Update" | "Delete";
  PhysicalResourceId?: string;
  ResourceProperties?: { FormsHash?: string };
}

export interface PublishFormsResponse {
  PhysicalResourceId: string;
  Data?: { Version: number; Changed: boolean; StudyId: string };
}

/** Overrides for tests; in Lambda everything comes from the bundle and the environment. */
export interface PublishFormsDeps {
  formsDir?: string;
  /** Where the other study folders are (`<asset>/studies`). */
  studiesDir?: string;
  store?: Pick<Store, "publish" | "summarizeMissing">;
}

const BUNDLED_FORMS_DIR = fileURLToPath(new URL("./forms", import.meta.url));
const BUNDLED_STUDIES_DIR = fileURLToPath(new URL("./studies", import.meta.url));

export async function publishForms(
  event: PublishFormsEvent,
  deps: PublishFormsDeps = {},
): Promise<PublishFormsResponse> {
  const formsDir = deps.formsDir ?? BUNDLED_FORMS_DIR;
  if (event.RequestType === "Delete") {
    // Keep the id CloudFormation already has; if a Create failed there may be none.
    return { PhysicalResourceId: event.PhysicalResourceId ?? "forms" };
  }
  const store =
    deps.store ?? createStore({ tableName: process.env[TABLE_NAME_ENV], macKey: deployedMacKey() });
  const { studyId, outcome, report } = await publishFolder(store, formsDir, "forms");
  // The other studies of the deployment, each from its own folder; any refusal fails the deploy as forms/ does.
  const studiesDir = deps.studiesDir ?? BUNDLED_STUDIES_DIR;
  for (const dir of studyFolders(studiesDir)) {
    const other = await publishFolder(store, path.join(studiesDir, dir), `studies/${dir}`);
    console.log(
      JSON.stringify({
        message: other.outcome.kind === "published" ? "study published" : "study unchanged",
        study: other.studyId,
        version: other.outcome.version,
        impact: other.report,
      }),
    );
  }
  const changed = outcome.kind === "published";
  console.log(
    JSON.stringify({
      message: changed ? "forms published" : "forms unchanged",
      study: studyId,
      version: outcome.version,
      formsHash: event.ResourceProperties?.FormsHash,
      impact: report,
    }),
  );
  return {
    // One physical resource per study: a changed study id is a replacement, whose Delete is a no-op.
    PhysicalResourceId: `forms-${studyId}`,
    Data: { Version: outcome.version, Changed: changed, StudyId: studyId },
  };
}

/** The study folders bundled beside forms/: each subfolder holding a study.json. */
function studyFolders(studiesDir: string): string[] {
  if (!existsSync(studiesDir)) return [];
  return readdirSync(studiesDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(path.join(studiesDir, d.name, "study.json")))
    .map((d) => d.name)
    .sort();
}

async function publishFolder(store: Pick<Store, "publish" | "summarizeMissing">, dir: string, name: string) {
  const definition = await loadDefinition(dir);
  const plan = await loadPublishPlan(dir);
  const outcome = await store.publish({ definition, actor: "deploy", reason: "cdk deploy", ...plan });
  const report = formatImpact(outcome.report);
  if (outcome.kind === "refused" || outcome.kind === "analysed") {
    // The deploy fails and rolls back; the builder migrates or accepts in the folder's publish-plan.json.
    throw new Error(
      `${name}/ not published: ${outcome.unaccepted.length} destructive change(s) neither migrated nor accepted ` +
        `(${name}/${PUBLISH_PLAN_FILE}):\n${report.join("\n")}`,
    );
  }
  // Subjects enrolled before the dashboard's summaries existed get theirs on the deploy that brings them.
  await store.summarizeMissing(
    definition.study.id,
    definition.study.sites.map((s) => s.id),
    scheduleDateFields(definition),
  );
  return { studyId: definition.study.id, outcome, report };
}

export const handler = (event: PublishFormsEvent): Promise<PublishFormsResponse> => publishForms(event);
