/**
 * `npm run forms:check [dir]` (default `forms`): checks the study definition
 * and prints every problem as `file: pointer: message`. Exits 1 on any error.
 *
 * With `--against <url>` (and `--token`, default the dev builder token, as
 * for forms:publish) it also prints the impact of publishing `dir` (with its
 * publish-plan.json) over the published version and the stored data, asked
 * of the server's impact endpoint (nothing is written). With
 * `--against-dir <old dir>` it compares two protocol directories without
 * data: a change that would be destructive once any data is collected (a
 * field, choice, visit or instrument removed, a type changed) counts as
 * destructive. Exit 3 when a destructive change is neither migrated nor
 * accepted by `dir`'s publish plan, 0 otherwise, 1 on definition errors,
 * 2 on usage errors.
 */

import path from "node:path";
import { parseArgs } from "node:util";
import type { StudyDefinition } from "../engine/definition.ts";
import {
  analyseImpact,
  type Change,
  destructiveWithData,
  formatImpact,
  type ImpactReport,
  summarise,
} from "../engine/impact.ts";
import type { PublishPlan } from "../publish-plan.ts";
import {
  CliError,
  EXIT,
  loadLocalForms,
  runCli,
  SERVER_OPTIONS,
  sendDefinition,
  server,
  unacceptedLines,
} from "./forms-publish.ts";

const USAGE =
  "usage: npm run forms:check -- [dir] [--against <url> [--token <builder token>] | --against-dir <old dir>]";

/** The report without data, with every change that data would make destructive counted as destructive. */
function assumingData(report: ImpactReport): ImpactReport {
  const changes: Change[] = report.changes.map((c) =>
    destructiveWithData(c.kind) && c.severity !== "destructive"
      ? {
          ...c,
          severity: "destructive",
          affected: undefined,
          message: `${c.message.replace(/\.$/, "")} (destructive once data is collected).`,
        }
      : c,
  );
  return summarise(report.fromVersion, changes);
}

const codes = (d: StudyDefinition, form: string, field: string) => {
  const f = d.instruments[form]?.properties[field];
  return (f?.oneOf ?? f?.items?.oneOf ?? []).map((c) => String(c.const));
};

/** Whether the plan's migration carries the data across a change (judged on the definitions alone). */
function migrated(c: Change, plan: PublishPlan, old: StudyDefinition, next: StudyDefinition): boolean {
  const { instrument: form, field } = c;
  if (!form || !field) return false;
  if (c.kind === "field-removed") {
    const to = plan.migration?.renames?.[form]?.[field];
    return to !== undefined && next.instruments[form]?.properties[to] !== undefined;
  }
  if (c.kind === "choice-removed") {
    const map = plan.migration?.recodes?.[form]?.[field] ?? {};
    const now = codes(next, form, field);
    const removed = codes(old, form, field).filter((x) => !now.includes(x));
    return removed.every((x) => Object.hasOwn(map, x) && now.includes(String(map[x])));
  }
  return false;
}

function verdict(dir: string, report: ImpactReport, unaccepted: string[]): number {
  const destructive = report.summary.destructive;
  if (unaccepted.length > 0) {
    for (const line of unacceptedLines(dir, unaccepted)) console.error(line);
    return EXIT.destructive;
  }
  console.log(
    destructive > 0
      ? `${destructive} destructive change(s), all migrated or accepted by ${path.join(dir, "publish-plan.json")}.`
      : "No destructive change.",
  );
  return EXIT.ok;
}

async function main(): Promise<number> {
  let args: {
    values: { url?: string; token?: string; against?: string; "against-dir"?: string };
    positionals: string[];
  };
  try {
    args = parseArgs({
      options: {
        against: { type: "string" },
        "against-dir": { type: "string" },
        token: SERVER_OPTIONS.token,
      },
      allowPositionals: true,
    });
  } catch (e) {
    throw new CliError(EXIT.usage, [(e as Error).message, USAGE]);
  }
  const { against, "against-dir": againstDir, token } = args.values;
  if (args.positionals.length > 1 || (against !== undefined && againstDir !== undefined)) {
    throw new CliError(EXIT.usage, [USAGE]);
  }
  if (token !== undefined && against === undefined) {
    throw new CliError(EXIT.usage, ["--token goes with --against <url>", USAGE]);
  }
  const dir = args.positionals[0] ?? "forms";
  const srv = against !== undefined ? server({ url: against, token }) : undefined;

  const local = await loadLocalForms(dir, { plan: against !== undefined || againstDir !== undefined });
  const next = local.definition;
  const { study, instruments } = next;
  const fields = Object.values(instruments).reduce((n, i) => n + Object.keys(i.properties).length, 0);
  console.log(
    `${dir}: study ${study.id} OK: ${study.events.length} events, ${study.logs.length} logs, ` +
      `${Object.keys(instruments).length} instruments, ${fields} fields`,
  );

  if (srv) {
    const answer = await sendDefinition(srv, local, { dryRun: true });
    if (answer.outcome === "unchanged") {
      console.log(`Identical to published version ${answer.version}: no change.`);
      return EXIT.ok;
    }
    for (const line of formatImpact(answer.report)) console.log(line);
    return verdict(dir, answer.report, answer.unaccepted ?? []);
  }

  if (againstDir !== undefined) {
    const old = (await loadLocalForms(againstDir, { plan: false })).definition;
    const { plan } = local;
    const report = assumingData(analyseImpact(old, next, []));
    const [, ...lines] = formatImpact(report);
    const { destructive, review, safe } = report.summary;
    console.log(
      `Impact of ${dir} against ${againstDir} (no data): ${destructive} destructive, ${review} to review, ${safe} safe`,
    );
    for (const line of lines) console.log(line);
    const accepted = new Set(plan.accept?.changes ?? []);
    const unaccepted = report.changes
      .filter((c) => c.severity === "destructive" && !accepted.has(c.id) && !migrated(c, plan, old, next))
      .map((c) => c.id);
    return verdict(dir, report, unaccepted);
  }
  return EXIT.ok;
}

await runCli(main);
