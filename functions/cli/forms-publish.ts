/**
 * `npm run forms:publish -- [formsDir] [--url <base>] [--token <builder token>] [--reason "..."] [--dry-run]`:
 * publishes a protocol directory through the definitions API, with the
 * migration and acceptance of `<formsDir>/publish-plan.json`, and prints the
 * impact report the server answers with.
 *
 * Defaults: `forms`, `http://localhost:3000`, and the builder token of
 * `$DATA_DIR/dev-tokens.json` (else `.data/dev-tokens.json`, written by `npm start`).
 *
 * Exit codes: 0 published or unchanged (dry run: nothing would be refused);
 * 3 refused: a destructive change is neither migrated nor accepted (nothing
 * published); 1 definition, plan, authorization or transport errors; 2 usage.
 *
 * The helpers are shared with `forms:check --against`.
 */

import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { formatDefinitionError, readFormsDirectory } from "../definition-files.ts";
import { checkDefinition } from "../engine/check-definition.ts";
import type { StudyDefinition } from "../engine/definition.ts";
import { formatImpact, type ImpactReport } from "../engine/impact.ts";
import { loadPublishPlan, PUBLISH_PLAN_FILE, type PublishPlan } from "../publish-plan.ts";

export const EXIT = { ok: 0, error: 1, usage: 2, destructive: 3 } as const;

/** A failure that ends the command with an exit code; `lines` go to stderr. */
export class CliError extends Error {
  constructor(
    readonly code: number,
    readonly lines: string[],
  ) {
    super(lines.join("\n"));
  }
}

const DEFAULT_URL = "http://localhost:3000";

/** `--url` and `--token` as `parseArgs` options. */
export const SERVER_OPTIONS = {
  url: { type: "string" },
  token: { type: "string" },
} as const;

/** The builder token of the local dev server (`$DATA_DIR/dev-tokens.json`, else `.data/dev-tokens.json`). */
function devBuilderToken(): string {
  const file = path.resolve(process.env.DATA_DIR ?? ".data", "dev-tokens.json");
  if (!existsSync(file)) {
    throw new CliError(EXIT.usage, [
      `no builder token: pass --token <token> (or run npm start, which writes ${file})`,
    ]);
  }
  let token: unknown;
  try {
    token = (JSON.parse(readFileSync(file, "utf8")) as Record<string, { token?: unknown }>).builder?.token;
  } catch (e) {
    throw new CliError(EXIT.usage, [`${file}: ${(e as Error).message}`]);
  }
  if (typeof token !== "string" || token === "") {
    throw new CliError(EXIT.usage, [`${file} has no builder token: pass --token <token>`]);
  }
  return token;
}

export interface Server {
  url: string;
  token: string;
}

export function server(values: { url?: string; token?: string }): Server {
  const url = (values.url ?? DEFAULT_URL).replace(/\/+$/, "");
  if (!/^https?:\/\/[^/]/.test(url)) throw new CliError(EXIT.usage, [`--url must be an http(s) URL: ${url}`]);
  return { url, token: values.token ?? devBuilderToken() };
}

export interface LocalForms {
  dir: string;
  definition: StudyDefinition;
  plan: PublishPlan;
}

/** Reads and checks a forms directory and its publish plan; errors are a CliError (exit 1). */
export async function loadLocalForms(dir: string, options: { plan?: boolean } = {}): Promise<LocalForms> {
  const read = await readFormsDirectory(dir);
  const result = read.files ? checkDefinition(read.files) : undefined;
  const errors = [...read.errors, ...(result?.errors ?? [])];
  if (errors.length > 0 || !result?.definition) {
    const files = new Set(errors.map((e) => e.file)).size;
    throw new CliError(EXIT.error, [
      ...errors.map(formatDefinitionError),
      `${dir}: ${errors.length} error${errors.length === 1 ? "" : "s"} in ${files} file${files === 1 ? "" : "s"}`,
    ]);
  }
  let plan: PublishPlan = {};
  if (options.plan !== false) {
    try {
      plan = await loadPublishPlan(dir);
    } catch (e) {
      throw new CliError(EXIT.error, [e instanceof Error ? e.message : String(e)]);
    }
  }
  return { dir, definition: result.definition, plan };
}

/** The answer of the publish and impact endpoints (a 409 refusal carries the same fields). */
export interface PublishAnswer {
  outcome: "published" | "unchanged" | "analysed" | "refused";
  version?: number;
  migrated?: number;
  report: ImpactReport;
  unaccepted?: string[];
}

/** Problem+json field errors of a sent definition, pointed back at the files they came from. */
function definitionErrors(dir: string, errors: unknown): string[] {
  if (!Array.isArray(errors)) return [];
  return errors.map((e: { pointer?: string; message?: string }) => {
    const pointer = e.pointer ?? "";
    const study = /^\/definition\/study(\/.*)?$/.exec(pointer);
    const instrument = /^\/definition\/instruments\/([^/]+)(\/.*)?$/.exec(pointer);
    if (study) return `${path.join(dir, "study.json")}: ${study[1] ?? "(file)"}: ${e.message}`;
    if (instrument)
      return `${path.join(dir, "instruments", `${instrument[1]}.json`)}: ${instrument[2] ?? "(file)"}: ${e.message}`;
    return `${pointer || "(body)"}: ${e.message}`;
  });
}

/**
 * POSTs the local definition with its publish plan to the publish endpoint
 * (or, for a dry run, the impact endpoint). A refusal (409) is an answer;
 * anything else that is not an answer is a CliError.
 */
export async function sendDefinition(
  srv: Server,
  local: LocalForms,
  options: { dryRun: boolean; reason?: string },
): Promise<PublishAnswer> {
  const study = local.definition.study.id;
  const endpoint = `${srv.url}/api/v1/studies/${encodeURIComponent(study)}/definitions${options.dryRun ? "/impact" : ""}`;
  const body = {
    definition: { study: local.definition.study, instruments: local.definition.instruments },
    ...(options.reason !== undefined ? { reason: options.reason } : {}),
    ...(local.plan.migration ? { migration: local.plan.migration } : {}),
    ...(local.plan.accept ? { accept: local.plan.accept } : {}),
  };
  let res: Response;
  try {
    res = await fetch(endpoint, {
      method: "POST",
      headers: { authorization: `Bearer ${srv.token}`, "content-type": "application/json" },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(60_000),
    });
  } catch (e) {
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new CliError(EXIT.error, [
      `cannot reach ${srv.url}: ${cause?.code ?? cause?.message ?? (e as Error).message} (is the server running? npm start)`,
    ]);
  }
  const text = await res.text();
  let json: Record<string, unknown> | undefined;
  try {
    json = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
  } catch {
    json = undefined;
  }
  const isAnswer = (j: typeof json): j is Record<string, unknown> & PublishAnswer =>
    typeof j?.outcome === "string" && typeof j.report === "object" && j.report !== null;
  if ((res.ok || res.status === 409) && isAnswer(json)) return json;
  const title = typeof json?.title === "string" ? json.title : res.statusText;
  const detail = typeof json?.detail === "string" ? `: ${json.detail}` : "";
  throw new CliError(EXIT.error, [
    ...definitionErrors(local.dir, json?.errors),
    `${endpoint}: ${res.status} ${title}${detail}${json ? "" : text ? ` ${text.slice(0, 200)}` : ""}`,
  ]);
}

/** The lines telling what to do about unaccepted destructive changes. */
export function unacceptedLines(dir: string, ids: string[]): string[] {
  return [
    `${ids.length} destructive change(s) neither migrated nor accepted:`,
    ...ids.map((id) => `  ${id}`),
    `Migrate the data (migration.renames / migration.recodes) or accept them by id with a reason in ${path.join(dir, PUBLISH_PLAN_FILE)}:`,
    `  ${JSON.stringify({ accept: { reason: "…", changes: ids } })}`,
  ];
}

const USAGE =
  'usage: npm run forms:publish -- [formsDir] [--url <base url>] [--token <builder token>] [--reason "..."] [--dry-run]';

async function main(): Promise<number> {
  let args: {
    values: { url?: string; token?: string; reason?: string; "dry-run"?: boolean };
    positionals: string[];
  };
  try {
    args = parseArgs({
      options: { ...SERVER_OPTIONS, reason: { type: "string" }, "dry-run": { type: "boolean" } },
      allowPositionals: true,
    });
  } catch (e) {
    throw new CliError(EXIT.usage, [(e as Error).message, USAGE]);
  }
  if (args.positionals.length > 1) throw new CliError(EXIT.usage, [USAGE]);
  const dir = args.positionals[0] ?? "forms";
  const dryRun = args.values["dry-run"] === true;
  const srv = server(args.values);
  const local = await loadLocalForms(dir);
  const study = local.definition.study.id;
  const answer = await sendDefinition(srv, local, { dryRun, reason: args.values.reason });

  if (answer.outcome === "unchanged") {
    console.log(`${study}: unchanged, version ${answer.version} is current; nothing published.`);
    return EXIT.ok;
  }
  for (const line of formatImpact(answer.report)) console.log(line);
  const unaccepted = answer.unaccepted ?? [];
  if (answer.outcome === "published") {
    const migrated = answer.migrated ? `; ${answer.migrated} form instance(s) migrated` : "";
    console.log(`${study}: published version ${answer.version}${migrated}.`);
    return EXIT.ok;
  }
  if (answer.outcome === "refused") {
    console.error(`${study}: refused, nothing published.`);
    for (const line of unacceptedLines(dir, unaccepted)) console.error(line);
    return EXIT.destructive;
  }
  // analysed: a dry run.
  if (unaccepted.length > 0) {
    console.error(`${study}: dry run, nothing published; publishing would be refused.`);
    for (const line of unacceptedLines(dir, unaccepted)) console.error(line);
    return EXIT.destructive;
  }
  console.log(`${study}: dry run, nothing published; publishing would be accepted.`);
  return EXIT.ok;
}

/** Runs a CLI's main: CliErrors are printed with their exit code; anything else exits 1. */
export async function runCli(fn: () => Promise<number>): Promise<void> {
  try {
    process.exitCode = await fn();
  } catch (e) {
    if (e instanceof CliError) {
      for (const line of e.lines) console.error(line);
      process.exitCode = e.code;
    } else {
      console.error(e instanceof Error ? e.message : String(e));
      process.exitCode = EXIT.error;
    }
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  await runCli(main);
}
