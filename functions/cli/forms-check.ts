/**
 * `npm run forms:check [dir]` (default `forms`): checks the study definition
 * and prints every problem as `file: pointer: message`. Exits 1 on any error.
 */

import { formatDefinitionError, readFormsDirectory } from "../definition-files.ts";
import { checkDefinition } from "../engine/check-definition.ts";

const dir = process.argv[2] ?? "forms";
const read = await readFormsDirectory(dir);
const result = read.files ? checkDefinition(read.files) : undefined;
const errors = [...read.errors, ...(result?.errors ?? [])];

for (const e of errors) console.error(formatDefinitionError(e));

if (errors.length > 0) {
  const files = new Set(errors.map((e) => e.file)).size;
  console.error(
    `${dir}: ${errors.length} error${errors.length === 1 ? "" : "s"} in ${files} file${files === 1 ? "" : "s"}`,
  );
  process.exitCode = 1;
} else if (result?.definition) {
  const { study, instruments } = result.definition;
  const fields = Object.values(instruments).reduce((n, i) => n + Object.keys(i.properties).length, 0);
  console.log(
    `${dir}: study ${study.id} OK: ${study.events.length} events, ${study.logs.length} logs, ` +
      `${Object.keys(instruments).length} instruments, ${fields} fields`,
  );
}
