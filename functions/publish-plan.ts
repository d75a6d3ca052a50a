import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";

/**
 * What a builder says about a destructive protocol change: how to migrate the
 * data (renames, recodes) and/or which destructive changes they accept, and
 * why. The same shape is the body of the publish API and the optional file
 * `forms/publish-plan.json` read on deploy and by `npm start`.
 */
export const PublishPlan = z
  .object({
    migration: z
      .object({
        renames: z.record(z.string(), z.record(z.string(), z.string())).optional(),
        recodes: z
          .record(z.string(), z.record(z.string(), z.record(z.string(), z.union([z.string(), z.number()]))))
          .optional(),
      })
      .strict()
      .optional(),
    accept: z
      .object({ reason: z.string().trim().min(1), changes: z.array(z.string()).min(1) })
      .strict()
      .optional(),
  })
  .strict();

export type PublishPlan = z.infer<typeof PublishPlan>;

export const PUBLISH_PLAN_FILE = "publish-plan.json";

export async function loadPublishPlan(dir: string): Promise<PublishPlan> {
  const file = path.join(dir, PUBLISH_PLAN_FILE);
  if (!existsSync(file)) return {};
  const parsed = PublishPlan.safeParse(JSON.parse(await readFile(file, "utf8")));
  if (!parsed.success) {
    throw new Error(
      `${file}: ${parsed.error.issues.map((i) => `/${i.path.join("/")}: ${i.message}`).join("; ")}`,
    );
  }
  return parsed.data;
}
