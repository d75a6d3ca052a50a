import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import {
  checkDefinition,
  type DefinitionError,
  type DefinitionFiles,
  type SourceFile,
} from "./engine/check-definition.ts";
import type { StudyDefinition } from "./engine/definition.ts";

/**
 * The I/O side of definitions: read `forms/` (study.json + instruments/*.json)
 * into parsed files for the pure checker in `engine/check-definition.ts`.
 */

/** A path as the user should see it: relative to the working directory (the repo root) when inside it. */
function displayPath(abs: string): string {
  const rel = path.relative(process.cwd(), abs);
  if (rel === "" || rel.startsWith("..") || path.isAbsolute(rel)) return abs;
  return rel.split(path.sep).join("/");
}

function lineAndColumn(text: string, position: number): string {
  const before = text.slice(0, position);
  const line = before.split("\n").length;
  const column = position - before.lastIndexOf("\n");
  return `line ${line}, column ${column}`;
}

function parseMessage(error: unknown, text: string): string {
  const message = error instanceof Error ? error.message : String(error);
  const position = /at position (\d+)/.exec(message)?.[1];
  if (position === undefined || /line \d+/.test(message)) return `invalid JSON: ${message}`;
  return `invalid JSON: ${message} (${lineAndColumn(text, Number(position))})`;
}

async function readJson(abs: string, errors: DefinitionError[]): Promise<SourceFile | undefined> {
  const file = displayPath(abs);
  let text: string;
  try {
    text = await readFile(abs, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    errors.push({
      file,
      pointer: "",
      message: code === "ENOENT" ? "file not found" : `cannot read: ${String(e)}`,
    });
    return undefined;
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  try {
    return { path: file, json: JSON.parse(text) as unknown };
  } catch (e) {
    errors.push({ file, pointer: "", message: parseMessage(e, text) });
    return undefined;
  }
}

/**
 * Reads `<dir>/study.json` and `<dir>/instruments/*.json` (sorted by name).
 * Unreadable or unparsable files are errors (pointer ""), and then no files are returned.
 */
export async function readFormsDirectory(
  dir: string,
): Promise<{ files?: DefinitionFiles; errors: DefinitionError[] }> {
  const errors: DefinitionError[] = [];
  const root = path.resolve(dir);
  const study = await readJson(path.join(root, "study.json"), errors);
  const instrumentsDir = path.join(root, "instruments");
  let names: string[] = [];
  try {
    names = (await readdir(instrumentsDir)).filter((n) => n.endsWith(".json")).sort();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    errors.push({
      file: displayPath(instrumentsDir),
      pointer: "",
      message: code === "ENOENT" ? "directory not found" : `cannot read: ${String(e)}`,
    });
  }
  const instruments: SourceFile[] = [];
  for (const name of names) {
    const file = await readJson(path.join(instrumentsDir, name), errors);
    if (file) instruments.push(file);
  }
  if (errors.length > 0 || !study) return { errors };
  return { files: { study, instruments }, errors };
}

export function formatDefinitionError(e: DefinitionError): string {
  return `${e.file}: ${e.pointer === "" ? "(file)" : e.pointer}: ${e.message}`;
}

/** Reads and checks a forms directory; throws one Error listing every problem. */
export async function loadDefinition(dir: string): Promise<StudyDefinition> {
  const read = await readFormsDirectory(dir);
  const result = read.files ? checkDefinition(read.files) : { errors: [] };
  const errors = [...read.errors, ...result.errors];
  if (errors.length > 0 || !("definition" in result) || !result.definition) {
    throw new Error(
      `the study definition in ${dir} has ${errors.length} error(s):\n${errors.map(formatDefinitionError).join("\n")}`,
    );
  }
  return result.definition;
}
