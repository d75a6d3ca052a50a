import type { StudyDefinition } from "../engine/definition.ts";
import { analyseImpact, type Change, type ImpactReport } from "../engine/impact.ts";
import { describeMigration, type Migration, migrateData, typedMigration } from "../engine/migration.ts";
import { diffData } from "../engine/revision.ts";
import { scheduleDateFields } from "../engine/schedule.ts";
import { prepareValidators } from "../engine/schema-validator.ts";
import { appendAccessLog } from "./access-log.ts";
import { takeStamp } from "./commit-window.ts";
import { type DefinitionReader, definitionHash, publishDefinition } from "./definitions.ts";
import type { Db } from "./dynamo.ts";
import { commitAndProject, type Revision, readLatestRevision } from "./form-instances.ts";
import type { MacKey } from "./mac-key.ts";
import { asStoredInstances, readStudyInstances } from "./study-data.ts";
import type { SummaryDates } from "./subject-summary-item.ts";
import { storeValidators } from "./validator-items.ts";

export interface Acceptance {
  reason: string;
  /** The ids of the destructive changes accepted; each must be named. */
  changes: string[];
}

export interface PublishRequest {
  definition: StudyDefinition;
  actor: string;
  reason?: string;
  migration?: Migration;
  accept?: Acceptance;
  /** Analyse only. */
  dryRun?: boolean;
  now?: Date;
}

export type PublishOutcome =
  | { kind: "unchanged"; version: number; report: ImpactReport }
  | { kind: "analysed"; report: ImpactReport; unaccepted: Change[] }
  | { kind: "refused"; report: ImpactReport; unaccepted: Change[] }
  | { kind: "published"; version: number; report: ImpactReport; migrated: number };

/**
 * Publishing a protocol change: the impact of the new definition on the
 * current one and on the stored data (after the builder's migration, if any),
 * refused while a destructive change is neither migrated nor explicitly
 * accepted. A migration is written as audited revisions of each affected
 * instance before the new version becomes current; the acceptance is kept on
 * the version item.
 */
export async function publishWithImpact(
  db: Db,
  macKey: MacKey,
  definitions: DefinitionReader,
  req: PublishRequest,
): Promise<PublishOutcome> {
  const study = req.definition.study.id;
  // Recoded values are stored as the new field's codes are typed (a REDCap "1" is the number 1).
  req = req.migration ? { ...req, migration: typedMigration(req.migration, req.definition) } : req;
  const current = await definitions.current(study);
  if (current && definitionHash(current) === definitionHash(req.definition)) {
    // A version published before validators were stored gets them now (each deploy publishes).
    await storeValidators(db, current, current.version, definitionHash(current), "missing");
    return {
      kind: "unchanged",
      version: current.version,
      report: { fromVersion: current.version, changes: [], summary: { safe: 0, review: 0, destructive: 0 } },
    };
  }
  const sites = [
    ...new Set([...(current?.study.sites ?? []), ...req.definition.study.sites].map((s) => s.id)),
  ];
  const rows = await readStudyInstances(db, study, sites);
  const stored = asStoredInstances(rows).map((s) => ({
    ...s,
    data: migrateData(s.form, s.data, req.migration),
  }));
  // The impact check validates stored data against the new definition: its validators are generated here.
  await prepareValidators(req.definition);
  const report = analyseImpact(current, req.definition, stored);
  const accepted = new Set(req.accept?.reason?.trim() ? req.accept.changes : []);
  const unaccepted = report.changes.filter((c) => c.severity === "destructive" && !accepted.has(c.id));
  if (req.dryRun) return { kind: "analysed", report, unaccepted };
  if (unaccepted.length > 0) return { kind: "refused", report, unaccepted };

  const now = req.now ?? new Date();
  let migrated = 0;
  const destructive = report.changes.filter((c) => c.severity === "destructive").map((c) => c.id);
  const result = await publishDefinition(db, req.definition, {
    actor: req.actor,
    reason: req.reason,
    now,
    record: {
      impact: report.summary,
      ...(destructive.length > 0 && req.accept
        ? {
            acceptance: {
              by: req.actor,
              at: now.toISOString(),
              reason: req.accept.reason.trim(),
              changes: destructive,
            },
          }
        : {}),
      ...(req.migration ? { migration: req.migration } : {}),
    },
    beforeCurrent: async (version) => {
      if (!req.migration) return;
      const dates = scheduleDateFields(req.definition);
      for (const { subject, instance } of rows) {
        if (
          await migrateInstance(
            db,
            macKey,
            instance,
            subject.site,
            req.migration,
            version,
            req.actor,
            req.now,
            dates,
          )
        )
          migrated += 1;
      }
    },
  });
  definitions.invalidate(study);
  await appendAccessLog(db, macKey, study, {
    actor: req.actor,
    action: "publish",
    details: {
      version: result.version,
      ...(req.reason?.trim() ? { reason: req.reason.trim() } : {}),
      ...(migrated > 0 ? { migrated } : {}),
    },
  });
  return { kind: "published", version: result.version, report, migrated };
}

/** One instance's migration as a revision; re-reads and retries if someone saved meanwhile. */
async function migrateInstance(
  db: Db,
  macKey: MacKey,
  projected: Revision,
  site: string,
  migration: Migration,
  version: number,
  actor: string,
  now: Date | undefined,
  dates: SummaryDates,
): Promise<boolean> {
  for (let attempt = 0; attempt < 5; attempt++) {
    // Stamped per revision, not once per publish: a migration of many instances outlasts one commit window.
    const stamp = takeStamp(now);
    const latest = (await readLatestRevision(db, projected)) ?? projected;
    const data = migrateData(latest.form, latest.data, migration);
    const changes = diffData(latest.data, data, Object.keys(data));
    if (changes.length === 0) return false;
    const revision: Revision = {
      ...latest,
      site,
      rev: latest.rev + 1,
      statusFrom: latest.status,
      data,
      changes,
      definitionVersion: version,
      committedAt: stamp.at,
      committedBy: actor,
      reason: `Migration to definition version ${version}: ${describeMigration(latest.form, migration).join("; ")}`,
    };
    if ((await commitAndProject(db, macKey, stamp, revision, latest, dates)).kind === "committed")
      return true;
  }
  throw new Error(
    `could not migrate ${projected.subject} ${projected.event}/${projected.form}#${projected.instance}: too many concurrent saves`,
  );
}
