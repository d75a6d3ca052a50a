import { type Context, Hono } from "hono";
import { createMiddleware } from "hono/factory";
import type { SourceFile } from "../../engine/check-definition.ts";
import type { StudyDefinition } from "../../engine/definition.ts";
import { hiddenFields } from "../../engine/validate-form.ts";
import type { AppEnv } from "../../http/context.ts";
import { can } from "../../http/permissions.ts";
import { problems } from "../../http/problems.ts";
import { loadStudy } from "../../http/resolve.ts";
import { PublishPlan } from "../../publish-plan.ts";
import { fieldViews } from "../fields.tsx";
import { page } from "../page.tsx";
import { BuilderHome, DefinitionEditor, DraftReport } from "../pages/builder.tsx";
import { FormPage } from "../pages/form.tsx";
import { type FormScripts, formPageScripts } from "../validator-assets.ts";

interface Bundle {
  study: unknown;
  instruments: Record<string, unknown>;
}

/** The checker (ajv for the meta-schemas, RE2 for patterns) is imported on a builder's check, not at init. */
async function check(bundle: Bundle) {
  const { checkDefinition } = await import("../../engine/check-definition.ts");
  const files: SourceFile[] = Object.entries(bundle.instruments).map(([id, json]) => ({
    path: `instruments/${id}.json`,
    json,
  }));
  const result = checkDefinition({ study: { path: "study.json", json: bundle.study }, instruments: files });
  return {
    definition: result.definition,
    errors: result.errors.map((e) => `${e.file}: ${e.pointer || "(file)"}: ${e.message}`),
  };
}

/** Places one uploaded or edited file into the bundle: study.json, an instrument (by its $id), or a whole bundle. */
function applyFile(bundle: Bundle, name: string, text: string): string | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return `${name}: invalid JSON: ${(error as Error).message}`;
  }
  const o = json as Record<string, unknown>;
  if (o && typeof o === "object" && "study" in o && "instruments" in o && typeof o.instruments === "object") {
    bundle.study = o.study;
    bundle.instruments = { ...(o.instruments as Record<string, unknown>) };
  } else if (o && typeof o === "object" && "events" in o) {
    bundle.study = o;
  } else if (o && typeof o === "object" && typeof o.$id === "string") {
    bundle.instruments[o.$id] = o;
  } else {
    return `${name}: neither a study file, an instrument (with $id) nor a bundle {study, instruments}`;
  }
  return undefined;
}

const BASE = "/studies/:study/builder";

const buildersOnly = createMiddleware<AppEnv>(async function buildersOnly(c, next) {
  if (!can(c.var.principal, "publish")) throw problems.forbidden("Only study builders change the protocol.");
  await next();
});

const current = (c: Context<AppEnv>): Promise<StudyDefinition> => loadStudy(c, c.req.param("study") ?? "");

async function showBuilderHome(c: Context<AppEnv>) {
  const definition = await current(c);
  const versions = await c.var.store.listDefinitions(definition.study.id);
  return page(
    c,
    "Study builder",
    <BuilderHome definition={definition} versions={versions} csrf={c.var.csrf ?? ""} />,
  );
}

async function showPreview(c: Context<AppEnv>, scripts: FormScripts) {
  const definition = await current(c);
  const form = c.req.param("form") ?? "";
  const instrument = definition.instruments[form];
  if (!instrument) throw problems.notFound(`Instrument ${form}`);
  const context = {
    $event: definition.study.events.find((e) => e.forms.includes(instrument.$id))?.id ?? "logs",
    $studyStart: definition.study.startDate,
  };
  const fields = fieldViews(instrument, {}, hiddenFields(instrument, {}, context), new Map(), new Map());
  return page(
    c,
    `Preview ${instrument.title}`,
    <FormPage
      title="Study builder"
      backHref={`/studies/${definition.study.id}/builder`}
      heading={`${instrument.title} (preview)`}
      instrument={instrument}
      fields={fields}
      rev={0}
      csrf=""
      canWrite={false}
      preview
      context={context}
    />,
    { scripts: formPageScripts(scripts, definition, instrument) },
  );
}

async function showEditor(c: Context<AppEnv>, editorScripts: string[]) {
  const definition = await current(c);
  const file = c.req.query("file") ?? "study.json";
  const id = /^instruments\/([a-z][a-z0-9_]*)\.json$/.exec(file)?.[1];
  if (file !== "study.json" && !id) throw problems.notFound(`File ${file}`);
  const json =
    file === "study.json"
      ? definition.study
      : (definition.instruments[id ?? ""] ?? {
          $schema: "https://json-schema.org/draft/2020-12/schema",
          $id: id,
          title: "",
          type: "object",
          additionalProperties: false,
          properties: {},
        });
  return page(
    c,
    `Edit ${file}`,
    <DefinitionEditor
      definition={definition}
      file={file}
      text={JSON.stringify(json, null, 2)}
      csrf={c.var.csrf ?? ""}
    />,
    { scripts: editorScripts },
  );
}

async function checkDraft(c: Context<AppEnv>, editorScripts: string[]) {
  const definition = await current(c);
  const body = await c.req.parseBody({ all: true });
  const bundle: Bundle = { study: definition.study, instruments: { ...definition.instruments } };
  const problemsFound: string[] = [];
  const uploads = ([] as unknown[])
    .concat(body.upload ?? [])
    .filter((f): f is File => f instanceof File && f.size > 0);
  for (const file of uploads) {
    const problem = applyFile(bundle, file.name, await file.text());
    if (problem) problemsFound.push(problem);
  }
  if (typeof body.file === "string" && typeof body.text === "string") {
    const problem = applyFile(bundle, body.file, body.text);
    if (problem) problemsFound.push(problem);
  }
  if (uploads.length === 0 && typeof body.text !== "string") problemsFound.push("Choose at least one file.");
  const checked =
    problemsFound.length === 0 ? await check(bundle) : { definition: undefined, errors: problemsFound };
  if (!checked.definition || checked.errors.length > 0) {
    if (typeof body.file === "string" && typeof body.text === "string") {
      return page(
        c,
        "Edit",
        <DefinitionEditor
          definition={definition}
          file={body.file}
          text={body.text}
          errors={checked.errors}
          csrf={c.var.csrf ?? ""}
        />,
        { status: 422, scripts: editorScripts },
      );
    }
    return page(
      c,
      "Impact",
      <DraftReport study={definition.study.id} errors={checked.errors} csrf={c.var.csrf ?? ""} />,
      { status: 422 },
    );
  }
  const outcome = await c.var.store.publish({
    definition: checked.definition,
    actor: c.var.principal.user,
    dryRun: true,
  });
  return page(
    c,
    "Impact",
    <DraftReport
      study={definition.study.id}
      report={outcome.report}
      bundle={JSON.stringify(bundle)}
      csrf={c.var.csrf ?? ""}
      outcome={outcome.kind === "unchanged" ? { kind: "unchanged", version: outcome.version } : undefined}
    />,
  );
}

async function publishDraft(c: Context<AppEnv>) {
  const definition = await current(c);
  const body = await c.req.parseBody({ all: true });
  let bundle: Bundle;
  try {
    bundle = JSON.parse(String(body.bundle ?? "")) as Bundle;
  } catch {
    throw problems.badRequest("The draft was lost; start again from the builder page.");
  }
  const checked = await check(bundle);
  const errors = [...checked.errors];
  const accepted = ([] as unknown[])
    .concat(body.accept ?? [])
    .filter((x): x is string => typeof x === "string");
  const acceptReason = typeof body.accept_reason === "string" ? body.accept_reason.trim() : "";
  if (accepted.length > 0 && !acceptReason) errors.push("Give a reason for accepting destructive changes.");
  const migrationText = typeof body.migration === "string" ? body.migration.trim() : "";
  let plan: PublishPlan = {};
  try {
    const parsed = PublishPlan.safeParse({
      ...(migrationText ? { migration: JSON.parse(migrationText) } : {}),
      ...(accepted.length > 0 && acceptReason ? { accept: { reason: acceptReason, changes: accepted } } : {}),
    });
    if (parsed.success) plan = parsed.data;
    else errors.push(...parsed.error.issues.map((i) => `migration /${i.path.join("/")}: ${i.message}`));
  } catch (error) {
    errors.push(`migration: invalid JSON: ${(error as Error).message}`);
  }
  const reason = typeof body.reason === "string" ? body.reason : undefined;
  const typed = { reason, acceptReason, accepted };
  if (!checked.definition || errors.length > 0) {
    // Keep the report (and so the acceptance controls) whenever the definition itself is sound.
    const report = checked.definition
      ? (
          await c.var.store.publish({
            definition: checked.definition,
            actor: c.var.principal.user,
            dryRun: true,
          })
        ).report
      : undefined;
    return page(
      c,
      "Impact",
      <DraftReport
        study={definition.study.id}
        errors={errors}
        report={report}
        bundle={JSON.stringify(bundle)}
        csrf={c.var.csrf ?? ""}
        migration={migrationText}
        typed={typed}
      />,
      { status: 422 },
    );
  }
  const outcome = await c.var.store.publish({
    definition: checked.definition,
    actor: c.var.principal.user,
    reason,
    ...plan,
  });
  const shown =
    outcome.kind === "published"
      ? { kind: "published" as const, version: outcome.version, migrated: outcome.migrated }
      : outcome.kind === "unchanged"
        ? { kind: "unchanged" as const, version: outcome.version }
        : { kind: "refused" as const, unaccepted: outcome.unaccepted.map((u) => u.id) };
  return page(
    c,
    "Publish",
    <DraftReport
      study={definition.study.id}
      report={outcome.report}
      bundle={JSON.stringify(bundle)}
      csrf={c.var.csrf ?? ""}
      outcome={shown}
      migration={migrationText}
      typed={typed}
    />,
    { status: outcome.kind === "refused" ? 409 : 200 },
  );
}

/** The study builder's pages: builders only. */
export function builderPages(scripts: FormScripts & { builder: string }) {
  const preview = (c: Context<AppEnv>) => showPreview(c, scripts);
  // RE2 first: the editor's pattern checks use the shared pattern script rather than a copy of their own.
  const editorScripts = [scripts.pattern, scripts.builder];
  const editor = (c: Context<AppEnv>) => showEditor(c, editorScripts);
  const draft = (c: Context<AppEnv>) => checkDraft(c, editorScripts);
  // Per route, not `${BASE}/*`: the token pages under it are for whoever manages tokens (admins too).
  return new Hono<AppEnv>()
    .get(BASE, buildersOnly, showBuilderHome)
    .get(`${BASE}/preview/:form`, buildersOnly, preview)
    .get(`${BASE}/edit`, buildersOnly, editor)
    .post(`${BASE}/draft`, buildersOnly, draft)
    .post(`${BASE}/publish`, buildersOnly, publishDraft);
}
