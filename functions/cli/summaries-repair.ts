/**
 * `npm run summaries:repair -- [--study <id>] [--site <id>]… [--endpoint <url>] [--table <name>]`:
 * brings every dashboard summary of a study (or of these sites) up to the
 * logs and prints each one it changed: a summary a crash left behind (a
 * process dying between a save's projection and its summary write), one
 * missing, or one still in the old, larger format. The store's options are
 * audit:verify's (table-store.ts); the study defaults to the one in
 * `forms/study.json`. Running it again finds nothing to do.
 *
 * Exit codes: 0 done (whatever it repaired); 1 the store could not be read
 * or the study has no published definition; 2 usage.
 */

import path from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { scheduleDateFields } from "../engine/schedule.ts";
import type { SummaryRepair } from "../store/subject-summaries.ts";
import { CliError, EXIT, runCli } from "./forms-publish.ts";
import { defaultStudy, openTableStore } from "./table-store.ts";

const USAGE =
  "usage: npm run summaries:repair -- [--study <id>] [--site <id>]... [--endpoint <url>] [--table <name>]";

/** One line per summary changed, then how many of how many subjects. */
export function formatRepairs(study: string, repairs: SummaryRepair[], sites: string[]): string[] {
  const lines = repairs.map((r) => {
    const what = [
      ...(r.created ? ["built (it was missing)"] : []),
      ...(r.instances.length > 0
        ? [`${r.instances.length} form(s) moved up: ${r.instances.join(", ")}`]
        : []),
      ...(r.status ? ["subject status moved up"] : []),
    ];
    return `  ${r.site} ${r.subject}: ${what.join("; ")}`;
  });
  const verdict =
    repairs.length === 0 ? "every summary was up to date" : `${repairs.length} summaries repaired`;
  return [`Study ${study}, sites ${sites.join(", ")}`, ...lines, `${verdict}.`];
}

async function main(): Promise<number> {
  let values: { study?: string; site?: string[]; endpoint?: string; table?: string };
  try {
    ({ values } = parseArgs({
      options: {
        study: { type: "string" },
        site: { type: "string", multiple: true },
        endpoint: { type: "string" },
        table: { type: "string" },
      },
    }));
  } catch (e) {
    throw new CliError(EXIT.usage, [(e as Error).message, USAGE]);
  }
  const study = values.study ?? defaultStudy(USAGE);
  const { store, explain, close } = await openTableStore(values, USAGE);
  try {
    const definition = await store.definitions.current(study).catch((error: unknown) => {
      throw explain(error);
    });
    if (!definition) throw new CliError(EXIT.error, [`study ${study} has no published definition`]);
    const known = definition.study.sites.map((s) => s.id);
    const unknown = (values.site ?? []).filter((s) => !known.includes(s));
    if (unknown.length > 0)
      throw new CliError(EXIT.usage, [
        `not a site of ${study}: ${unknown.join(", ")} (sites: ${known.join(", ")})`,
      ]);
    const sites = values.site ?? known;
    const repairs = await store.repairSummaries(study, sites, scheduleDateFields(definition));
    for (const line of formatRepairs(study, repairs, sites)) console.log(line);
    return EXIT.ok;
  } finally {
    await close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  await runCli(main);
}
