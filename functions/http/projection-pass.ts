import type { Context } from "hono";
import type { AppEnv } from "./context.ts";

/**
 * The projection repair pass, run before each flat export (in AWS and
 * locally): it walks only the commits since the last pass (at most a few
 * thousand; the export checks the rest itself), so an export then reads
 * projections and the few casebooks changed since (store/projection-watermark.ts).
 * Here rather than on a schedule: no study costs anything while nobody
 * exports, and the feed it walks is the one the export reads anyway.
 */
export async function projectionPassBeforeExport(c: Context<AppEnv>, study: string): Promise<void> {
  await c.var.store.advanceProjectionWatermark(study, { settleMs: c.var.feedSettleMs });
}
