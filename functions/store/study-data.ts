import type { StoredInstance } from "../engine/impact.ts";
import type { Db } from "./dynamo.ts";
import { type Revision, readCurrentState } from "./form-instances.ts";
import { listSubjects, type Subject } from "./subjects.ts";

/**
 * The current state of every form instance of a study, a few subjects at a
 * time, as the revision log has it (`readCurrentState`), for impact analysis
 * and migrations.
 */
export async function readStudyInstances(
  db: Db,
  study: string,
  sites: string[],
  concurrency = 8,
): Promise<{ subject: Subject; instance: Revision }[]> {
  const subjects = await listSubjects(db, study, sites);
  const out: { subject: Subject; instance: Revision }[] = [];
  for (let i = 0; i < subjects.length; i += concurrency) {
    const batch = subjects.slice(i, i + concurrency);
    const read = await Promise.all(batch.map((s) => readCurrentState(db, study, s.id)));
    batch.forEach((subject, j) => {
      for (const instance of read[j] ?? []) out.push({ subject, instance });
    });
  }
  return out;
}

export function asStoredInstances(rows: { subject: Subject; instance: Revision }[]): StoredInstance[] {
  return rows.map(({ subject, instance }) => ({
    subject: subject.id,
    arm: subject.arm,
    event: instance.event,
    form: instance.form,
    instance: instance.instance,
    status: instance.status,
    data: instance.data,
    ...(instance.missing ? { missing: instance.missing } : {}),
  }));
}
