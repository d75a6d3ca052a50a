import type { FormData } from "./definition.ts";

/**
 * How a builder carries collected data across a destructive protocol change:
 * per form, fields renamed and choice codes recoded. Applied to stored data as
 * new audited revisions; applying it twice changes nothing more.
 */
export interface Migration {
  /** form → old field → new field */
  renames?: Record<string, Record<string, string>>;
  /** form → field (its new name) → old code (as text) → new code */
  recodes?: Record<string, Record<string, Record<string, string | number>>>;
}

function recode(value: unknown, map: Record<string, string | number>): unknown {
  if (Array.isArray(value)) return [...new Set(value.map((v) => recode(v, map)))];
  const key = String(value);
  return Object.hasOwn(map, key) ? map[key] : value;
}

export function migrateData(form: string, data: FormData, migration: Migration | undefined): FormData {
  if (!migration) return data;
  const out: FormData = { ...data };
  for (const [from, to] of Object.entries(migration.renames?.[form] ?? {})) {
    if (Object.hasOwn(out, from) && !Object.hasOwn(out, to)) {
      out[to] = out[from];
      delete out[from];
    }
  }
  for (const [field, map] of Object.entries(migration.recodes?.[form] ?? {})) {
    if (out[field] !== undefined) out[field] = recode(out[field], map);
  }
  return out;
}

export function describeMigration(form: string, migration: Migration): string[] {
  return [
    ...Object.entries(migration.renames?.[form] ?? {}).map(([a, b]) => `renamed ${a} → ${b}`),
    ...Object.entries(migration.recodes?.[form] ?? {}).map(
      ([f, map]) =>
        `recoded ${f} ${Object.entries(map)
          .map(([a, b]) => `${a}→${b}`)
          .join(", ")}`,
    ),
  ];
}
