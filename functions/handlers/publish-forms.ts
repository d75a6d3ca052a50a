import { fileURLToPath } from "node:url";
import { loadDefinition } from "../definition-files.ts";
import { formatImpact } from "../engine/impact.ts";
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
  store?: Pick<Store, "publish">;
}

const BUNDLED_FORMS_DIR = fileURLToPath(new URL("./forms", import.meta.url));

export async function publishForms(
  event: PublishFormsEvent,
  deps: PublishFormsDeps = {},
): Promise<PublishFormsResponse> {
  const formsDir = deps.formsDir ?? BUNDLED_FORMS_DIR;
  if (event.RequestType === "Delete") {
    // Keep the id CloudFormation already has; if a Create failed there may be none.
    return { PhysicalResourceId: event.PhysicalResourceId ?? "forms" };
  }
  const definition = await loadDefinition(formsDir);
  const studyId = definition.study.id;
  const store =
    deps.store ?? createStore({ tableName: process.env[TABLE_NAME_ENV], macKey: deployedMacKey() });
  const plan = await loadPublishPlan(formsDir);
  const outcome = await store.publish({ definition, actor: "deploy", reason: "cdk deploy", ...plan });
  const report = formatImpact(outcome.report);
  if (outcome.kind === "refused" || outcome.kind === "analysed") {
    // The deploy fails and rolls back; the builder migrates or accepts in forms/publish-plan.json.
    throw new Error(
      `forms/ not published: ${outcome.unaccepted.length} destructive change(s) neither migrated nor accepted ` +
        `(forms/${PUBLISH_PLAN_FILE}):\n${report.join("\n")}`,
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

export const handler = (event: PublishFormsEvent): Promise<PublishFormsResponse> => publishForms(event);
