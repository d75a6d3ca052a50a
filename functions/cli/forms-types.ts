/**
 * `npm run forms:types [formsDir] [--out file]` (defaults `forms`,
 * `types/instruments.d.ts`): TypeScript types of every instrument's data,
 * generated with json-schema-to-typescript. One interface per instrument
 * (`edss` → `Edss`, `adverse_event` → `AdverseEvent`) and `StudyForms`, the
 * map from instrument id to its interface.
 *
 * The schemas are cleaned first: titles would become type names in
 * json-schema-to-typescript (so every `title`, including each choice's label,
 * is folded into the JSDoc instead), choices become literal unions of their
 * codes, and the engine's `x-` annotations are dropped (units, branching,
 * calculations are described in the JSDoc). An interface is the data of a
 * complete form: a `required` field is required unless branching can hide
 * it; calculated fields are optional and readonly; display-only
 * (descriptive) fields hold no data and are left out. Incomplete forms are
 * `Partial<…>`.
 */

import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { compile, type JSONSchema } from "json-schema-to-typescript";
import { formatDefinitionError, readFormsDirectory } from "../definition-files.ts";
import { checkDefinition } from "../engine/check-definition.ts";
import type { ChoiceCode, FieldSchema, Instrument, StudyDefinition } from "../engine/definition.ts";
import { isFileField } from "../engine/file-fields.ts";

const DEFAULT_TYPES_FILE = "types/instruments.d.ts";

const RESERVED = new Set(["StudyForms", "InstrumentId"]);

/** `adverse_event` → `AdverseEvent`. */
export function typeName(id: string): string {
  return id
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((part) => part[0]?.toUpperCase() + part.slice(1))
    .join("");
}

const isCalculated = (f: FieldSchema) => f.readOnly === true || f["x-calc"] !== undefined;

/** Display-only text (`"type": "null"`, widget `descriptive`): never holds a value, so not in the data. */
const isDisplayOnly = (f: FieldSchema) => f.type === "null" || f["x-widget"] === "descriptive";

const code = (c: ChoiceCode) => JSON.stringify(c);

function fieldDoc(f: FieldSchema): string | undefined {
  const notes: string[] = [];
  if (f["x-unit"]) notes.push(`Unit: ${f["x-unit"]}.`);
  if (f.format) notes.push(`Format: ${f.format}.`);
  const range = [
    f.minimum !== undefined
      ? `≥ ${f.minimum}`
      : f.exclusiveMinimum !== undefined
        ? `> ${f.exclusiveMinimum}`
        : "",
    f.maximum !== undefined
      ? `≤ ${f.maximum}`
      : f.exclusiveMaximum !== undefined
        ? `< ${f.exclusiveMaximum}`
        : "",
  ].filter(Boolean);
  if (range.length > 0) notes.push(`Range: ${range.join(", ")}.`);
  if (f.maxLength !== undefined) notes.push(`At most ${f.maxLength} characters.`);
  if (f.pattern) notes.push(`Pattern: ${f.pattern}`);
  if (f["x-text-validation"]) notes.push(`Validation: ${f["x-text-validation"]}.`);
  if (isCalculated(f)) notes.push("Calculated by the server (read-only; values sent are ignored).");
  if (f["x-visible-if"] !== undefined)
    notes.push(`Shown only when ${JSON.stringify(f["x-visible-if"])}; empty while hidden.`);
  if (f["x-identifier"]) notes.push("Identifier (PHI).");
  const choices = f.oneOf ?? f.items?.oneOf;
  const parts = [f.title, f.description, notes.join(" ")];
  if (choices) parts.push(choices.map((c) => `- ${code(c.const)}: ${c.title}`).join("\n"));
  const doc = parts.filter((p) => p !== undefined && p !== "").join("\n\n");
  return doc === "" ? undefined : doc;
}

/** A field schema without titles, choice labels or `x-` annotations; choices as `enum`. */
function cleanField(f: FieldSchema): JSONSchema {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(f)) {
    if (
      key.startsWith("x-") ||
      key === "title" ||
      key === "description" ||
      key === "oneOf" ||
      key === "items"
    )
      continue;
    out[key] = value;
  }
  if (f.oneOf) out.enum = f.oneOf.map((c) => c.const);
  // A file field holds the reference its upload answered (engine/file-fields.ts), never the bytes.
  if (isFileField(f)) {
    out.additionalProperties = false;
    out.required = ["sha256", "size", "name", "mediaType"];
    out.properties = {
      sha256: { type: "string" },
      size: { type: "integer" },
      name: { type: "string" },
      mediaType: { type: "string" },
    };
  }
  if (f.items) {
    const { oneOf, ...items } = f.items;
    out.items = { ...items, enum: oneOf.map((c) => c.const) };
  }
  const doc = fieldDoc(f);
  if (doc) out.description = doc;
  return out as JSONSchema;
}

function cleanInstrument(id: string, name: string, instrument: Instrument): JSONSchema {
  const properties: Record<string, JSONSchema> = {};
  for (const [field, schema] of Object.entries(instrument.properties)) {
    if (!isDisplayOnly(schema)) properties[field] = cleanField(schema);
  }
  const required = (instrument.required ?? []).filter((field) => {
    const f = instrument.properties[field];
    return f !== undefined && !isCalculated(f) && !isDisplayOnly(f) && f["x-visible-if"] === undefined;
  });
  const rules = (instrument["x-rules"] ?? []).map((r) => `- ${r.field}: ${r.message}`).join("\n");
  const doc = [
    instrument.title,
    instrument.description,
    `Instrument \`${id}\`${instrument["x-repeating"] ? " (repeating)" : ""}: the data of a complete form. ` +
      `An incomplete form is \`Partial<${name}>\`.`,
    rules ? `Rules:\n${rules}` : "",
  ]
    .filter(Boolean)
    .join("\n\n");
  return {
    title: name,
    description: doc,
    type: "object",
    additionalProperties: false,
    properties,
    ...(required.length > 0 ? { required } : {}),
  };
}

/** json-schema-to-typescript has no `readonly`: mark calculated fields in its output. */
function markReadonly(source: string, fields: string[]): string {
  let out = source;
  for (const field of fields) {
    out = out.replace(new RegExp(`^(\\s+)${field}\\?:`, "m"), `$1readonly ${field}?:`);
  }
  return out;
}

const PRETTIER = { printWidth: 110, singleQuote: false, trailingComma: "all", semi: true } as const;

/** The generated declarations for every instrument of a definition, plus `StudyForms`. */
export async function instrumentTypes(definition: StudyDefinition, source = "forms"): Promise<string> {
  const names = new Map<string, string>();
  for (const id of Object.keys(definition.instruments)) {
    const name = typeName(id);
    const clash = [...names].find(([, n]) => n === name)?.[0];
    if (clash || RESERVED.has(name) || !/^[A-Z]/.test(name)) {
      throw new Error(
        `instrument ${id}: its type name ${name} ${clash ? `is also that of ${clash}` : "is reserved or invalid"}`,
      );
    }
    names.set(id, name);
  }
  const chunks: string[] = [];
  for (const [id, instrument] of Object.entries(definition.instruments)) {
    const name = names.get(id) as string;
    const generated = await compile(cleanInstrument(id, name, instrument), name, {
      bannerComment: "",
      additionalProperties: false,
      ignoreMinAndMaxItems: true,
      declareExternallyReferenced: true,
      unknownAny: true,
      style: PRETTIER,
    });
    const calculated = Object.entries(instrument.properties)
      .filter(([, f]) => isCalculated(f))
      .map(([field]) => field);
    chunks.push(markReadonly(generated.trim(), calculated));
  }
  const map = [
    `/** Instrument id → the data of a complete form of that instrument. */`,
    `export interface StudyForms {`,
    ...[...names].map(([id, name]) => `  ${id}: ${name};`),
    `}`,
    ``,
    `/** The id of an instrument of study ${definition.study.id}. */`,
    `export type InstrumentId = keyof StudyForms;`,
  ].join("\n");
  return [
    "// biome-ignore-all format: generated file",
    "// biome-ignore-all lint: generated file",
    `/**`,
    ` * Types of the form data of study ${definition.study.id}, generated from ${source}/ by`,
    ` * \`npm run forms:types\`. Do not edit: change the instrument and generate again.`,
    ` */`,
    "",
    ...chunks.flatMap((c) => [c, ""]),
    map,
    "",
  ].join("\n");
}

const USAGE = "usage: npm run forms:types -- [formsDir] [--out file]";

async function main(): Promise<number> {
  let args: ReturnType<typeof parseArgs<{ options: { out: { type: "string" } }; allowPositionals: true }>>;
  try {
    args = parseArgs({ options: { out: { type: "string" } }, allowPositionals: true });
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args.positionals.length > 1) {
    console.error(USAGE);
    return 2;
  }
  const dir = args.positionals[0] ?? "forms";
  const out = args.values.out ?? DEFAULT_TYPES_FILE;
  const read = await readFormsDirectory(dir);
  const result = read.files ? checkDefinition(read.files) : undefined;
  const errors = [...read.errors, ...(result?.errors ?? [])];
  for (const e of errors) console.error(formatDefinitionError(e));
  if (errors.length > 0 || !result?.definition) {
    console.error(`${dir}: ${errors.length} error(s); no types written`);
    return 1;
  }
  const text = await instrumentTypes(result.definition, dir.replace(/\/+$/, ""));
  await mkdir(path.dirname(path.resolve(out)), { recursive: true });
  await writeFile(out, text);
  console.log(`${out}: ${Object.keys(result.definition.instruments).length} instrument types + StudyForms`);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  process.exitCode = await main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : String(e));
    return 1;
  });
}
