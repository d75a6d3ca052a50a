import type { Instrument } from "../definition.ts";
import { checkField } from "./fields.ts";
import { duplicates, fileId, reporterFor, reservedName } from "./helpers.ts";
import { checkExpression } from "./logic-references.ts";
import { join, suggest } from "./pointers.ts";
import type { DefinitionError, SourceFile } from "./types.ts";

export function checkInstrument(
  file: SourceFile,
  instrument: Instrument,
  instruments: Map<string, Instrument | undefined>,
  errors: DefinitionError[],
): void {
  const report = reporterFor(file, errors);
  const id = fileId(file.path);
  if (instrument.$id !== id) {
    report("/$id", `"$id" is "${instrument.$id}" but the file is ${id}.json: they must match`);
  }
  reservedName(instrument.$id, "instrument id", "/$id", report);
  const fields = instrument.properties;
  const order = new Map(Object.keys(fields).map((f, i) => [f, i]));
  (instrument.required ?? []).forEach((name, i) => {
    if (!Object.hasOwn(fields, name)) {
      report(
        join("/required", i),
        `required field "${name}" is not a property${suggest(name, Object.keys(fields))}`,
      );
    } else if (fields[name]?.type === "null") {
      report(join("/required", i), `"${name}" is display-only: it holds no value and cannot be required`);
    }
  });
  let visitDate: string | undefined;
  for (const [name, field] of Object.entries(fields)) {
    const at = join("/properties", name);
    reservedName(name, "field name", at, report);
    checkField(name, field, at, report);
    if (field["x-visit-date"] === true) {
      if (visitDate !== undefined) {
        report(join(at, "x-visit-date"), `only one field can be the visit date ("${visitDate}" already is)`);
      } else visitDate = name;
    }
    for (const kind of ["x-visible-if", "x-calc"] as const) {
      if (field[kind] !== undefined) {
        checkExpression(
          field[kind],
          join(at, kind),
          { instrument, order, field: name, kind, instruments },
          report,
        );
      }
    }
  }
  const rules = instrument["x-rules"] ?? [];
  duplicates(
    rules,
    (r) => r.id,
    (i, v) => report(join("/x-rules", i, "id"), `duplicate rule id "${String(v)}"`),
  );
  rules.forEach((rule, i) => {
    const at = join("/x-rules", i);
    reservedName(rule.id, "rule id", join(at, "id"), report);
    if (!Object.hasOwn(fields, rule.field)) {
      report(
        join(at, "field"),
        `rule "${rule.id}" reports on "${rule.field}", which is not a field${suggest(rule.field, Object.keys(fields))}`,
      );
    }
    checkExpression(
      rule.logic,
      join(at, "logic"),
      { instrument, order, kind: "x-rules", instruments },
      report,
    );
  });
}
