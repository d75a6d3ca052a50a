import type { FormData, StudyDefinition } from "./definition.ts";

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

/**
 * The migration with each recode's new code given the type of the new field's
 * choice code it names: JSON keys are text, and builders write the targets as
 * text too, but REDCap's codes (0, 1, 2…) are numbers, and a "2" stored in a
 * field coded 0 / 2 is a value the field refuses and no choice shows. A target
 * naming no choice is left as written (the impact check counts what it breaks).
 */
export function typedMigration(migration: Migration, definition: StudyDefinition): Migration {
  if (!migration.recodes) return migration;
  const recodes: NonNullable<Migration["recodes"]> = {};
  for (const [form, fields] of Object.entries(migration.recodes)) {
    recodes[form] = {};
    for (const [field, map] of Object.entries(fields)) {
      const schema = Object.hasOwn(definition.instruments, form)
        ? definition.instruments[form]?.properties[field]
        : undefined;
      const codes = (schema?.oneOf ?? schema?.items?.oneOf ?? []).map((c) => c.const);
      recodes[form][field] = Object.fromEntries(
        Object.entries(map).map(([from, to]) => [from, codes.find((c) => String(c) === String(to)) ?? to]),
      );
    }
  }
  return { ...migration, recodes };
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
