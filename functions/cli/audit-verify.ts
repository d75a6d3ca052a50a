/**
 * `npm run audit:verify -- [--study <id>] [--endpoint <url>] [--table <name>]`: walks every audit
 * chain of a study (each form instance's revisions, each subject's review log
 * and the study's, the access log) and prints what no longer holds, by
 * subject, form and revision (or log and seq), then a summary.
 *
 * Without `--endpoint`/`--table` it reads the local data folder as `npm start`
 * keeps it (`$DATA_DIR`, else `.data`; stop the server first: LevelDB lets one
 * process in). The MAC key: KMS when AUDIT_MAC_KEY_ID is set, else the local
 * key file (AUDIT_MAC_KEY_FILE, else `.edc-keys/audit-mac.key` beside the data
 * folder). The study defaults to the one in `forms/study.json`.
 *
 * Exit codes: 0 every chain verifies; 1 a finding (or the store could not be
 * read); 2 usage.
 */

import path from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import {
  type AuditFinding,
  type AuditReport,
  isInstanceFinding,
  isReviewFinding,
} from "../store/verify-audit.ts";
import { CliError, EXIT, runCli } from "./forms-publish.ts";
import { defaultStudy, openTableStore } from "./table-store.ts";

const USAGE = "usage: npm run audit:verify -- [--study <id>] [--endpoint <url>] [--table <name>]";

/** One line per finding, in subject, form, revision order; then the review logs; the access log last. */
export function formatReport(report: AuditReport): string[] {
  const lines = [`Study ${report.study}, MACs checked with ${report.key}`];
  const instance = report.findings.filter(isInstanceFinding);
  const review = report.findings.filter(isReviewFinding);
  const log = report.findings.flatMap((f) => (f.chain === "access-log" ? [f] : []));
  instance.sort((a, b) => compareInstances(a, b) || a.rev - b.rev);
  for (const f of instance) {
    const { subject, event, form, instance: n } = f.chain;
    lines.push(`  subject ${subject}, ${event}/${form} #${n}, rev ${f.rev}: ${f.kind}: ${f.message}`);
  }
  review.sort((a, b) => (a.chain.subject ?? "").localeCompare(b.chain.subject ?? "") || a.seq - b.seq);
  for (const f of review) {
    const where =
      f.chain.subject === undefined ? "study review log" : `subject ${f.chain.subject}, review log`;
    lines.push(`  ${where}, seq ${f.seq}: ${f.kind}: ${f.message}`);
  }
  for (const f of log) lines.push(`  access log, seq ${f.seq}: ${f.kind}: ${f.message}`);
  const { subjects, chains, entries, unchained } = report.counts;
  const legacy = unchained > 0 ? ` (${unchained} saved before chaining, not sealed)` : "";
  const verdict =
    report.findings.length === 0
      ? "every chain verifies"
      : `${report.findings.length} finding${report.findings.length === 1 ? "" : "s"}`;
  lines.push(`${subjects} subjects, ${chains} chains, ${entries} entries${legacy}: ${verdict}.`);
  return lines;
}

type InstanceFinding = Extract<AuditFinding, { rev: number }>;

function compareInstances(a: InstanceFinding, b: InstanceFinding): number {
  const x = a.chain;
  const y = b.chain;
  return (
    x.subject.localeCompare(y.subject) ||
    x.event.localeCompare(y.event) ||
    x.form.localeCompare(y.form) ||
    x.instance - y.instance
  );
}

async function main(): Promise<number> {
  let values: { study?: string; endpoint?: string; table?: string };
  try {
    ({ values } = parseArgs({
      options: { study: { type: "string" }, endpoint: { type: "string" }, table: { type: "string" } },
    }));
  } catch (e) {
    throw new CliError(EXIT.usage, [(e as Error).message, USAGE]);
  }
  const study = values.study ?? defaultStudy(USAGE);
  const { store, explain, close } = await openTableStore(values, USAGE);
  try {
    const report = await store.verifyAudit(study).catch((error: unknown) => {
      throw explain(error);
    });
    for (const line of formatReport(report)) console.log(line);
    return report.findings.length === 0 ? EXIT.ok : EXIT.error;
  } finally {
    await close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  await runCli(main);
}
