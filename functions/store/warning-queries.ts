import type { ReviewEntry } from "../engine/review.ts";
import { warningQueryId } from "../engine/soft-checks.ts";
import type { Db } from "./dynamo.ts";
import { type Revision, readCasebook } from "./form-instances.ts";
import type { MacKey } from "./mac-key.ts";
import { appendReview, readReviewLog } from "./review-log.ts";

function fieldOf(pointer: string): string {
  return (pointer.split("/")[1] ?? "").replaceAll("~1", "/").replaceAll("~0", "~");
}

/**
 * Opens one query per warning a revision confirmed, unless the subject's
 * review log has it already. The query ids come from the revision
 * (`warningQueryId`), so this is idempotent: it is how a save opens them, and
 * how a save that died between its commit and these appends is repaired.
 */
export async function openWarningQueries(
  db: Db,
  macKey: MacKey,
  revision: Revision,
  person?: string,
): Promise<ReviewEntry[]> {
  const warnings = revision.confirmedWarnings ?? [];
  if (warnings.length === 0) return [];
  const opened = new Set(
    (await readReviewLog(db, revision.study, revision.subject))
      .filter((e) => e.action === "query-open")
      .map((e) => (e as { query: string }).query),
  );
  const out: ReviewEntry[] = [];
  for (const [i, warning] of warnings.entries()) {
    const query = warningQueryId(revision, i);
    if (opened.has(query)) continue;
    out.push(
      await appendReview(db, macKey, {
        action: "query-open",
        query,
        text: warning.message,
        rule: warning.rule,
        study: revision.study,
        subject: revision.subject,
        site: revision.site,
        by: revision.committedBy,
        ...(person ? { person } : {}),
        target: {
          event: revision.event,
          form: revision.form,
          instance: revision.instance,
          field: fieldOf(warning.pointer),
        },
      }),
    );
  }
  return out;
}

/** The repair for a whole casebook: every revision's confirmed warnings have their query afterwards. */
export async function repairWarningQueries(
  db: Db,
  macKey: MacKey,
  study: string,
  subject: string,
): Promise<ReviewEntry[]> {
  const { revisions } = await readCasebook(db, study, subject);
  const out: ReviewEntry[] = [];
  for (const revision of revisions) out.push(...(await openWarningQueries(db, macKey, revision)));
  return out;
}
