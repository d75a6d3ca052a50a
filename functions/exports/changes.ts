import type { StudyDefinition } from "../engine/definition.ts";
import type { Store } from "../store/store.ts";
import { type Deidentify, deidentifyChange, deidentifyReview } from "./deidentify.ts";
import { sealCursor } from "./sealed-cursor.ts";

export interface ChangesRequest {
  /** The opened cursor: the feed position after which to read. */
  after?: string;
  /** Changes stamped at or after this are left for a later pull (see store/exports.ts readFeed). */
  settledBefore: string;
  limit: number;
  /** The caller's sites: changes of other sites are read but not shown. */
  sites: Set<string>;
  deidentify?: Deidentify;
}

export interface ChangesPage {
  changes: Record<string, unknown>[];
  /** The sealed position after this page; none when the feed is empty (nothing was ever read). */
  cursor?: string;
  more: boolean;
}

/** One pull of the change feed: every committed revision after the cursor, in commit order. */
export async function changesPage(
  store: Pick<Store, "readFeed" | "exportSalt">,
  definition: StudyDefinition,
  request: ChangesRequest,
): Promise<ChangesPage> {
  const study = definition.study.id;
  const page = await store.readFeed(study, {
    cursor: request.after,
    settledBefore: request.settledBefore,
    limit: request.limit,
  });
  const changes = page.changes
    .filter((r) => r.site === undefined || request.sites.has(r.site))
    .map((r): Record<string, unknown> => {
      if (r.kind === "review") {
        const { kind: _kind, previousHash: _p, hash: _h, mac: _m, study: _study, ...entry } = r;
        const review = { type: "review", ...entry };
        return request.deidentify ? deidentifyReview(review, request.deidentify) : review;
      }
      const entry = {
        type: "revision",
        subject: r.subject,
        site: r.site,
        event: r.event,
        form: r.form,
        instance: r.instance,
        rev: r.rev,
        status: r.status,
        statusFrom: r.statusFrom,
        committedAt: r.committedAt,
        committedBy: r.committedBy,
        definitionVersion: r.definitionVersion,
        ...(r.reason ? { reason: r.reason } : {}),
        action: r.action ?? "save",
        enteredInError: r.enteredInError === true,
        changes: r.changes,
        data: r.data,
        // Codes are part of the form's state as much as data is: an upsert of the latest revision needs them.
        missing: r.missing ?? {},
      };
      return request.deidentify ? deidentifyChange(entry, definition.instruments, request.deidentify) : entry;
    });
  // The cursor passes changes of other sites too: they were read, just not shown to this caller.
  const cursor = page.cursor === "0" ? undefined : sealCursor(await store.exportSalt(study), page.cursor);
  return { changes, ...(cursor ? { cursor } : {}), more: page.changes.length >= request.limit };
}
