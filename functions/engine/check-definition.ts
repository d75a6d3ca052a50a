import { Ajv2020, type ErrorObject, type ValidateFunction } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { parseDateText } from "./date-text.ts";
import {
  type EventDef,
  type FieldSchema,
  type Instrument,
  instrumentsById,
  LOGS_EVENT,
  type StudyDefinition,
  type StudyFile,
} from "./definition.ts";
import { LOGIC_LIMITS, LOGIC_OPERATORS, logicSize, SCOPED_OPERATORS } from "./logic.ts";
import { DESCRIPTIVE_KEYWORDS, instrumentSchema, KEYWORD_TYPES } from "./meta/instrument-schema.ts";
import { studySchema } from "./meta/study-schema.ts";
import { patternProblem } from "./pattern.ts";

/**
 * Checks a protocol given as parsed files (no I/O here): first each file
 * against its meta-schema, then what a schema cannot say — references between
 * the study and its instruments, JSON Logic operators and variables, choice
 * codes, patterns, day/window consistency. Every problem is reported with the
 * file, a JSON pointer into that file and a message; nothing stops at the
 * first error.
 */

export interface SourceFile {
  /** Path as shown to the user (relative to the repository root when possible). */
  path: string;
  json: unknown;
}

export interface DefinitionFiles {
  study: SourceFile;
  instruments: SourceFile[];
}

export interface DefinitionError {
  file: string;
  /** JSON pointer into the file ("" for the whole file). */
  pointer: string;
  message: string;
}

export interface CheckResult {
  /** Present only when there is no error; `version` is 0 (not yet published). */
  definition?: StudyDefinition;
  errors: DefinitionError[];
}

/**
 * Names every JavaScript object already has (Object.prototype's members, and
 * `prototype`). Protocol ids become object keys throughout the engine, the
 * exports and the browser, so such a name could read or overwrite a member
 * instead of the protocol's data: refused for every id, field name and choice code.
 */
export const RESERVED_NAMES: ReadonlySet<string> = new Set([
  "__proto__",
  "__defineGetter__",
  "__defineSetter__",
  "__lookupGetter__",
  "__lookupSetter__",
  "constructor",
  "hasOwnProperty",
  "isPrototypeOf",
  "propertyIsEnumerable",
  "prototype",
  "toLocaleString",
  "toString",
  "valueOf",
]);

function reservedName(
  name: unknown,
  what: string,
  at: string,
  report: (pointer: string, message: string) => void,
) {
  if (typeof name === "string" && RESERVED_NAMES.has(name)) {
    report(
      at,
      `"${name}" is reserved (every JavaScript object has a member of that name): choose another ${what}`,
    );
  }
}

const DATEDIFF_UNITS = ["d", "w", "M", "y"];

// ---------------------------------------------------------------------------
// Meta-schema validation

interface MetaValidators {
  study: ValidateFunction;
  instrument: ValidateFunction;
}

let validators: MetaValidators | undefined;

function metaValidators(): MetaValidators {
  if (validators) return validators;
  const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true, verbose: true });
  addFormats.default(ajv);
  validators = { study: ajv.compile(studySchema), instrument: ajv.compile(instrumentSchema) };
  return validators;
}

export function escapePointer(segment: string | number): string {
  return String(segment).replaceAll("~", "~0").replaceAll("/", "~1");
}

function join(pointer: string, ...segments: (string | number)[]): string {
  return pointer + segments.map((s) => `/${escapePointer(s)}`).join("");
}

function lastSegment(pointer: string): string | undefined {
  if (pointer === "") return undefined;
  const last = pointer
    .slice(pointer.lastIndexOf("/") + 1)
    .replaceAll("~1", "/")
    .replaceAll("~0", "~");
  return /^\d+$/.test(last) ? undefined : last;
}

/** Edit distance, for "did you mean" hints. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j] ?? 0;
      row[j] = Math.min((row[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length] ?? 0;
}

function suggest(name: string, candidates: Iterable<string>): string {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    const d = distance(name.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  const limit = Math.max(2, Math.floor(name.length / 3));
  return best !== undefined && bestDistance <= limit ? ` (did you mean "${best}"?)` : "";
}

function describeAjvError(e: ErrorObject): { pointer: string; message: string } {
  const subject = lastSegment(e.instancePath);
  const prefix = subject === undefined ? "" : `"${subject}" `;
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case "additionalProperties": {
      const prop = String(params.additionalProperty);
      const allowed = Object.keys((e.parentSchema?.properties as object | undefined) ?? {});
      const where = subject === undefined ? "" : ` in "${subject}"`;
      return {
        pointer: join(e.instancePath, prop),
        message: `unknown property "${prop}"${where}${suggest(prop, allowed)}`,
      };
    }
    case "propertyNames": {
      const name = String(params.propertyName);
      return {
        pointer: join(e.instancePath, name),
        message: `invalid field name "${name}": use lowercase snake_case (${String((e.schema as { pattern?: string }).pattern ?? "")})`,
      };
    }
    case "required":
      return {
        pointer: e.instancePath,
        message: `missing required property "${String(params.missingProperty)}"`,
      };
    case "enum":
      return {
        pointer: e.instancePath,
        message: `${prefix}must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(", ")}`,
      };
    case "const":
      return { pointer: e.instancePath, message: `${prefix}must be ${JSON.stringify(params.allowedValue)}` };
    case "type":
      return { pointer: e.instancePath, message: `${prefix}must be of type ${String(params.type)}` };
    case "pattern":
      return { pointer: e.instancePath, message: `${prefix}must match ${String(params.pattern)}` };
    default:
      return { pointer: e.instancePath, message: `${prefix}${e.message ?? "is invalid"} (${e.keyword})` };
  }
}

function metaErrors(validate: ValidateFunction, file: SourceFile): DefinitionError[] {
  if (validate(file.json)) return [];
  const out: DefinitionError[] = [];
  const seen = new Set<string>();
  for (const e of validate.errors ?? []) {
    // The pattern error behind a propertyNames error repeats it; keep the propertyNames one.
    if ((e as ErrorObject & { propertyName?: string }).propertyName !== undefined) continue;
    const { pointer, message } = describeAjvError(e);
    const key = `${pointer}\u0000${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ file: file.path, pointer, message });
  }
  return out;
}

// ---------------------------------------------------------------------------
// Helpers

function fileId(path: string): string {
  const base = path.split(/[\\/]/).pop() ?? path;
  return base.replace(/\.json$/i, "");
}

function isLogicObject(node: unknown): node is Record<string, unknown> {
  return node !== null && typeof node === "object" && !Array.isArray(node);
}

function duplicates<T>(
  items: readonly T[],
  key: (item: T) => unknown,
  report: (index: number, value: unknown) => void,
): void {
  const seen = new Set<unknown>();
  items.forEach((item, i) => {
    const k = key(item);
    if (seen.has(k)) report(i, k);
    else seen.add(k);
  });
}

// ---------------------------------------------------------------------------
// Instruments

const WIDGET_TYPES: Record<string, readonly string[]> = {
  text: ["string", "number", "integer"],
  textarea: ["string"],
  radio: ["string", "number", "integer", "boolean"],
  select: ["string", "number", "integer"],
  autocomplete: ["string", "number", "integer"],
  checkbox: ["array", "boolean"],
  yesno: ["boolean"],
  truefalse: ["boolean"],
  slider: ["number", "integer"],
  descriptive: ["null"],
};

function codeMatchesType(code: unknown, type: string | undefined): boolean {
  switch (type) {
    case "string":
      return typeof code === "string";
    case "integer":
      return Number.isInteger(code);
    case "number":
      return typeof code === "number";
    default:
      return true;
  }
}

type Reporter = (pointer: string, message: string) => void;

function checkChoices(
  choices: readonly { const: unknown; title: string }[],
  type: string | undefined,
  at: string,
  report: Reporter,
): void {
  choices.forEach((c, i) => {
    reservedName(c.const, "choice code", join(at, i, "const"), report);
    if (!codeMatchesType(c.const, type)) {
      report(
        join(at, i, "const"),
        `choice code ${JSON.stringify(c.const)} is not of the field's type ${type}`,
      );
    }
  });
  duplicates(
    choices,
    (c) => c.const,
    (i, v) => report(join(at, i, "const"), `duplicate choice code ${JSON.stringify(v)}`),
  );
  duplicates(
    choices,
    (c) => c.title.trim().toLowerCase(),
    (i) => report(join(at, i, "title"), `duplicate choice label "${choices[i]?.title}"`),
  );
}

/** A date bound is "today" or a real calendar day (the meta-schema checks the shape), min ≤ max. */
function checkDateBounds(field: FieldSchema, at: string, report: Reporter): void {
  const bounds = (["x-date-min", "x-date-max"] as const).filter((k) => field[k] !== undefined);
  for (const keyword of bounds) {
    const bound = field[keyword] as string;
    if (field.format !== "date")
      report(join(at, keyword), `"${keyword}" needs a field with "format": "date"`);
    else if (bound !== "today" && bound !== "study-start" && !parseDateText(bound).ok)
      report(join(at, keyword), `"${bound}" is not a day of the calendar`);
  }
  const [min, max] = [field["x-date-min"], field["x-date-max"]];
  const symbolic = (b: string) => b === "today" || b === "study-start";
  if (min && max && !symbolic(min) && !symbolic(max) && min > max)
    report(join(at, "x-date-max"), `"${max}" is before its minimum "${min}"`);
}

function checkField(name: string, field: FieldSchema, at: string, report: Reporter): void {
  const type = field.type ?? "";
  for (const [keyword, types] of Object.entries(KEYWORD_TYPES)) {
    if (keyword in field && !types.some((t) => t === type)) {
      report(join(at, keyword), `"${keyword}" does not apply to a field of type ${type}`);
    }
  }
  if (type === "array") {
    if (!field.items) report(at, `multiple-choice field "${name}" needs "items" with "oneOf" choices`);
    if (field.uniqueItems !== true)
      report(join(at, "uniqueItems"), `multiple-choice field "${name}" needs "uniqueItems": true`);
  }
  if (field.oneOf && field.enum) report(join(at, "enum"), `use either "oneOf" choices or "enum", not both`);
  if (field.oneOf) checkChoices(field.oneOf, type, join(at, "oneOf"), report);
  if (field.items) checkChoices(field.items.oneOf, field.items.type, join(at, "items", "oneOf"), report);
  if (field.enum) {
    field.enum.forEach((v, i) => {
      reservedName(v, "value", join(at, "enum", i), report);
      if (!codeMatchesType(v, type))
        report(join(at, "enum", i), `${JSON.stringify(v)} is not of the field's type ${type}`);
    });
    duplicates(
      field.enum,
      (v) => v,
      (i, v) => report(join(at, "enum", i), `duplicate value ${JSON.stringify(v)}`),
    );
  }
  const lo = field.minimum ?? field.exclusiveMinimum;
  const hi = field.maximum ?? field.exclusiveMaximum;
  if (lo !== undefined && hi !== undefined && lo > hi)
    report(join(at, "maximum"), `maximum ${hi} is below minimum ${lo}`);
  if (field.minLength !== undefined && field.maxLength !== undefined && field.minLength > field.maxLength) {
    report(join(at, "maxLength"), `maxLength ${field.maxLength} is below minLength ${field.minLength}`);
  }
  if (field.pattern !== undefined) {
    const problem = patternProblem(field.pattern);
    if (problem) report(join(at, "pattern"), problem);
  }
  if (field["x-format"] !== undefined && field.pattern === undefined) {
    report(join(at, "x-format"), "x-format describes a pattern: this field has none");
  }
  const widget = field["x-widget"];
  if (widget !== undefined) {
    if (!(WIDGET_TYPES[widget] ?? []).includes(type)) {
      report(join(at, "x-widget"), `widget "${widget}" does not fit a field of type ${type}`);
    } else if (
      (widget === "radio" || widget === "select" || widget === "autocomplete") &&
      type !== "boolean" &&
      !field.oneOf &&
      !field.enum
    ) {
      report(join(at, "x-widget"), `widget "${widget}" needs "oneOf" choices or "enum"`);
    }
  }
  if (type === "null") {
    if (widget !== "descriptive") {
      report(join(at, "type"), `"type": "null" is only for display-only fields ("x-widget": "descriptive")`);
    }
    for (const keyword of Object.keys(field)) {
      if (!DESCRIPTIVE_KEYWORDS.has(keyword)) {
        report(join(at, keyword), `"${keyword}" does not apply to a display-only field: it holds no value`);
      }
    }
  }
  if (field["x-slider"] !== undefined && widget !== "slider") {
    report(join(at, "x-slider"), `"x-slider" needs "x-widget": "slider"`);
  }
  reservedName(field["x-matrix"], "matrix group name", join(at, "x-matrix"), report);
  if (field["x-matrix"] !== undefined && !field.oneOf && !field.items && !field.enum) {
    report(join(at, "x-matrix"), `a matrix group holds choice fields: "${name}" has no choices`);
  }
  if (field["x-visit-date"] === true && (type !== "string" || field.format !== "date")) {
    report(join(at, "x-visit-date"), `"x-visit-date" needs a field with "format": "date"`);
  }
  checkDateBounds(field, at, report);
  const isCalc = field["x-calc"] !== undefined;
  if (isCalc && field.readOnly !== true) {
    report(at, `calculated field "${name}" must be "readOnly": true (its value is computed, never entered)`);
  }
  if (!isCalc && field.readOnly === true) {
    report(join(at, "readOnly"), `"${name}" is readOnly but has no "x-calc": nothing could ever fill it`);
  }
  if (isCalc && type === "array") report(join(at, "x-calc"), "a calculated field cannot be multiple choice");
}

/** What JSON Logic in one place of an instrument may read. */
interface LogicScope {
  instrument: Instrument;
  order: Map<string, number>;
  /** Field the expression belongs to (branching or calculation); undefined for x-rules. */
  field?: string;
  kind: "x-visible-if" | "x-calc" | "x-rules";
  /** All instruments by id; `undefined` value = exists but failed its meta-schema (fields unknown). */
  instruments: Map<string, Instrument | undefined>;
}

function checkVariable(name: unknown, at: string, scope: LogicScope, report: Reporter): void {
  if (typeof name !== "string") {
    report(
      at,
      "a variable name must be a literal string (a field name, $event, $arm or $latest.<form>.<field>)",
    );
    return;
  }
  if (name === "") {
    report(at, "an empty variable name reads the whole form; name a field");
    return;
  }
  const parts = name.split(".");
  const head = parts[0] ?? "";
  if (head.startsWith("$")) {
    if (head === "$event" || head === "$arm") {
      if (parts.length > 1) report(at, `"${head}" is a plain string: "${name}" reads nothing`);
      return;
    }
    if (head !== "$latest") {
      report(at, `unknown context variable "${head}"${suggest(head, ["$event", "$arm", "$latest"])}`);
      return;
    }
    const [, form, field] = parts;
    if (form === undefined || field === undefined) {
      report(at, `"${name}" must name a form and a field: $latest.<form>.<field>`);
      return;
    }
    if (!scope.instruments.has(form)) {
      report(at, `"${name}" names no instrument "${form}"${suggest(form, scope.instruments.keys())}`);
      return;
    }
    const other = scope.instruments.get(form);
    if (other && !Object.hasOwn(other.properties, field)) {
      report(
        at,
        `"${name}": instrument "${form}" has no field "${field}"${suggest(field, Object.keys(other.properties))}`,
      );
    }
    return;
  }
  const { instrument, order } = scope;
  if (!Object.hasOwn(instrument.properties, head)) {
    report(
      at,
      `"${head}" is not a field of ${instrument.$id}${suggest(head, Object.keys(instrument.properties))} (use $event, $arm or $latest.<form>.<field> for other data)`,
    );
    return;
  }
  if (parts.length > 1) {
    report(
      at,
      `"${name}" reads part of field "${head}": name the whole field (rules are skipped by field name while it is empty)`,
    );
    return;
  }
  if (scope.field === undefined) return;
  const self = order.get(scope.field) ?? 0;
  const other = order.get(head) ?? 0;
  if (scope.kind === "x-visible-if") {
    if (head === scope.field)
      report(at, `the branching of "${scope.field}" cannot depend on "${head}" itself`);
    else if (other > self) {
      report(
        at,
        `the branching of "${scope.field}" reads "${head}", which comes after it: move "${head}" earlier`,
      );
    }
  } else if (scope.kind === "x-calc") {
    const target = instrument.properties[head];
    if (head === scope.field) report(at, `the calculation of "${scope.field}" cannot read its own value`);
    else if (target?.["x-calc"] !== undefined && other > self) {
      report(
        at,
        `the calculation of "${scope.field}" reads calculated field "${head}", which is computed after it`,
      );
    }
  }
}

function checkLogic(node: unknown, at: string, scope: LogicScope, scoped: boolean, report: Reporter): void {
  if (Array.isArray(node)) {
    node.forEach((n, i) => {
      checkLogic(n, join(at, i), scope, scoped, report);
    });
    return;
  }
  if (!isLogicObject(node)) return;
  const keys = Object.keys(node);
  if (keys.length !== 1) {
    report(at, `a JSON Logic operation has exactly one operator key, found ${keys.length}`);
    return;
  }
  const op = keys[0] ?? "";
  const args = node[op];
  const argAt = join(at, op);
  if (!LOGIC_OPERATORS.has(op)) {
    report(argAt, `unknown JSON Logic operator "${op}"${suggest(op, LOGIC_OPERATORS)}`);
    return;
  }
  const list = Array.isArray(args) ? args : [args];
  const itemAt = (i: number) => (Array.isArray(args) ? join(argAt, i) : argAt);
  switch (op) {
    case "var": {
      if (!scoped) {
        if (isLogicObject(list[0]) || Array.isArray(list[0])) {
          report(itemAt(0), "a variable name must be a literal string, not an expression");
        } else checkVariable(list[0], itemAt(0), scope, report);
      }
      checkLogic(list.slice(1), argAt, scope, scoped, report);
      return;
    }
    case "missing": {
      if (list.length === 1 && (isLogicObject(list[0]) || Array.isArray(list[0]))) {
        const inner = list[0];
        if (Array.isArray(inner) && !scoped) {
          inner.forEach((n, i) => {
            checkVariable(n, join(itemAt(0), i), scope, report);
          });
        } else checkLogic(inner, itemAt(0), scope, scoped, report);
        return;
      }
      if (!scoped) {
        list.forEach((n, i) => {
          checkVariable(n, itemAt(i), scope, report);
        });
      }
      return;
    }
    case "missing_some": {
      checkLogic(list[0], itemAt(0), scope, scoped, report);
      const names = list[1];
      if (Array.isArray(names) && !scoped) {
        names.forEach((n, i) => {
          checkVariable(n, join(itemAt(1), i), scope, report);
        });
      } else checkLogic(names, itemAt(1), scope, scoped, report);
      return;
    }
    case "round":
      if (list.length < 1 || list.length > 2) report(argAt, "round takes (value) or (value, digits)");
      break;
    case "isempty":
      if (list.length !== 1) report(argAt, "isempty takes one argument");
      break;
    case "datediff": {
      if (list.length < 2 || list.length > 3) report(argAt, "datediff takes (from, to) or (from, to, unit)");
      const unit = list[2];
      if (typeof unit === "string" && !DATEDIFF_UNITS.includes(unit)) {
        report(itemAt(2), `datediff unit "${unit}" must be one of ${DATEDIFF_UNITS.join(", ")}`);
      }
      break;
    }
  }
  if (SCOPED_OPERATORS.has(op)) {
    checkLogic(list[0], itemAt(0), scope, scoped, report);
    checkLogic(list[1], itemAt(1), scope, true, report);
    if (op === "reduce") checkLogic(list[2], itemAt(2), scope, scoped, report);
    return;
  }
  list.forEach((n, i) => {
    checkLogic(n, itemAt(i), scope, scoped, report);
  });
}

/** Checks one expression, refusing first one too deep or too large to walk or evaluate. */
function checkExpression(logic: unknown, at: string, scope: LogicScope, report: Reporter): void {
  const { depth, nodes } = logicSize(logic);
  if (depth > LOGIC_LIMITS.depth) {
    report(at, `the logic is nested ${depth} levels deep; at most ${LOGIC_LIMITS.depth} are allowed`);
  } else if (nodes > LOGIC_LIMITS.nodes) {
    report(at, `the logic has ${nodes} nodes; at most ${LOGIC_LIMITS.nodes} are allowed`);
  } else checkLogic(logic, at, scope, false, report);
}

function checkInstrument(
  file: SourceFile,
  instrument: Instrument,
  instruments: Map<string, Instrument | undefined>,
  errors: DefinitionError[],
): void {
  const report: Reporter = (pointer, message) => {
    errors.push({ file: file.path, pointer, message });
  };
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

// ---------------------------------------------------------------------------
// Study

function checkStudy(
  file: SourceFile,
  study: StudyFile,
  instruments: Map<string, Instrument | undefined>,
  errors: DefinitionError[],
): void {
  const report: Reporter = (pointer, message) => {
    errors.push({ file: file.path, pointer, message });
  };
  const known = [...instruments.keys()];
  reservedName(study.id, "study id", "/id", report);
  study.arms.forEach((a, i) => {
    reservedName(a.id, "arm id", `/arms/${i}/id`, report);
  });
  study.sites.forEach((site, i) => {
    reservedName(site.id, "site id", `/sites/${i}/id`, report);
    reservedName(site.code, "site code", `/sites/${i}/code`, report);
  });
  study.events.forEach((e, i) => {
    reservedName(e.id, "event id", `/events/${i}/id`, report);
  });
  duplicates(
    study.arms,
    (a) => a.id,
    (i, v) => report(`/arms/${i}/id`, `duplicate arm id "${String(v)}"`),
  );
  duplicates(
    study.sites,
    (s) => s.id,
    (i, v) => report(`/sites/${i}/id`, `duplicate site id "${String(v)}"`),
  );
  duplicates(
    study.sites,
    (s) => s.code,
    (i, v) => report(`/sites/${i}/code`, `duplicate site code "${String(v)}"`),
  );
  duplicates(
    study.events,
    (e) => e.id,
    (i, v) => report(`/events/${i}/id`, `duplicate event id "${String(v)}"`),
  );
  const subjectIdProblem = patternProblem(study.subjectIdPattern);
  if (subjectIdProblem) report("/subjectIdPattern", subjectIdProblem);

  const armIds = new Set(study.arms.map((a) => a.id));
  const logs = new Set(study.logs);
  study.events.forEach((event, i) => {
    const at = `/events/${i}`;
    if (event.id === LOGS_EVENT) report(`${at}/id`, `"${LOGS_EVENT}" is reserved for the repeating logs`);
    if (event.day === 0)
      report(`${at}/day`, "there is no study day 0: day 1 is the day-one date, the day before is -1");
    if (event.repeatable === true && event.day !== undefined) {
      report(`${at}/day`, "a repeatable event is not scheduled: remove its day");
    }
    if (event.window !== undefined && event.day === undefined) {
      report(`${at}/window`, "a window needs a target day");
    }
    (event.arms ?? []).forEach((arm, j) => {
      if (!armIds.has(arm)) report(`${at}/arms/${j}`, `unknown arm "${arm}"${suggest(arm, armIds)}`);
    });
    event.forms.forEach((form, j) => {
      if (!instruments.has(form)) {
        report(
          `${at}/forms/${j}`,
          `no instrument "${form}" (instruments/${form}.json)${suggest(form, known)}`,
        );
        return;
      }
      if (logs.has(form))
        report(`${at}/forms/${j}`, `"${form}" is a log: it is kept per subject, not per visit`);
      const instrument = instruments.get(form);
      if (event.repeatable !== true && instrument?.["x-repeating"] === true && !logs.has(form)) {
        report(
          `${at}/forms/${j}`,
          `"${form}" is x-repeating: it can only be a log or belong to a repeatable event`,
        );
      }
    });
  });

  study.logs.forEach((form, i) => {
    if (!instruments.has(form)) {
      report(`/logs/${i}`, `no instrument "${form}" (instruments/${form}.json)${suggest(form, known)}`);
      return;
    }
    const instrument = instruments.get(form);
    if (instrument && instrument["x-repeating"] !== true) {
      report(`/logs/${i}`, `log "${form}" must be an x-repeating instrument`);
    }
  });

  checkDayOne(study, instruments, report);
}

function checkDayOne(
  study: StudyFile,
  instruments: Map<string, Instrument | undefined>,
  report: Reporter,
): void {
  const { event: eventId, form, field } = study.dayOne;
  const event: EventDef | undefined = study.events.find((e) => e.id === eventId);
  if (!event) {
    report(
      "/dayOne/event",
      `no event "${eventId}"${suggest(
        eventId,
        study.events.map((e) => e.id),
      )}`,
    );
    return;
  }
  if (event.day !== undefined && event.day !== 1) {
    report("/dayOne/event", `event "${eventId}" defines day 1 but is scheduled on day ${event.day}`);
  }
  if (event.repeatable === true)
    report("/dayOne/event", `event "${eventId}" is repeatable: day 1 must be one date`);
  if (event.arms !== undefined && study.arms.some((a) => !event.arms?.includes(a.id))) {
    report("/dayOne/event", `event "${eventId}" is not in every arm, so some subjects would have no day 1`);
  }
  if (!event.forms.includes(form)) {
    report("/dayOne/form", `form "${form}" is not collected at event "${eventId}"`);
    return;
  }
  const instrument = instruments.get(form);
  if (!instrument) return;
  const schema = instrument.properties[field];
  if (!schema) {
    report(
      "/dayOne/field",
      `instrument "${form}" has no field "${field}"${suggest(field, Object.keys(instrument.properties))}`,
    );
  } else if (schema.format !== "date") {
    report("/dayOne/field", `"${form}.${field}" must be a date field ("format": "date")`);
  }
}

/** x-repeating instruments must be logs or belong to a repeatable event. */
function checkRepeatingUse(
  files: Map<string, SourceFile>,
  study: StudyFile,
  instruments: Map<string, Instrument | undefined>,
  errors: DefinitionError[],
): void {
  const used = new Set(study.logs);
  for (const e of study.events) if (e.repeatable === true) for (const f of e.forms) used.add(f);
  for (const [id, instrument] of instruments) {
    if (instrument?.["x-repeating"] === true && !used.has(id)) {
      errors.push({
        file: files.get(id)?.path ?? id,
        pointer: "/x-repeating",
        message: `"${id}" is x-repeating but is neither in the study's logs nor in a repeatable event`,
      });
    }
  }
}

/** A date bound "study-start" needs study.json's startDate, a real calendar day. */
function checkStudyStart(
  studyFile: SourceFile,
  study: StudyFile,
  sources: Map<string, SourceFile>,
  instruments: Map<string, Instrument | undefined>,
  errors: DefinitionError[],
): void {
  if (study.startDate !== undefined && !parseDateText(study.startDate).ok)
    errors.push({
      file: studyFile.path,
      pointer: "/startDate",
      message: `"${study.startDate}" is not a day of the calendar`,
    });
  if (study.startDate !== undefined) return;
  for (const [id, instrument] of instruments) {
    for (const [name, field] of Object.entries(instrument?.properties ?? {})) {
      for (const keyword of ["x-date-min", "x-date-max"] as const) {
        if (field[keyword] === "study-start")
          errors.push({
            file: sources.get(id)?.path ?? "",
            pointer: join("/properties", name, keyword),
            message: `"study-start" needs "startDate" in study.json`,
          });
      }
    }
  }
}

// ---------------------------------------------------------------------------

export function checkDefinition(files: DefinitionFiles): CheckResult {
  const { study: validateStudy, instrument: validateInstrument } = metaValidators();
  const errors: DefinitionError[] = [];

  const studyErrors = metaErrors(validateStudy, files.study);
  errors.push(...studyErrors);

  /** id → instrument (undefined when its file failed the meta-schema, so its fields are unknown). */
  const instruments = new Map<string, Instrument | undefined>();
  const sources = new Map<string, SourceFile>();
  for (const file of files.instruments) {
    const id = fileId(file.path);
    const fileErrors = metaErrors(validateInstrument, file);
    errors.push(...fileErrors);
    if (sources.has(id)) {
      errors.push({
        file: file.path,
        pointer: "",
        message: `duplicate instrument "${id}" (also ${sources.get(id)?.path})`,
      });
      continue;
    }
    sources.set(id, file);
    instruments.set(id, fileErrors.length === 0 ? (file.json as Instrument) : undefined);
  }

  for (const [id, instrument] of instruments) {
    const file = sources.get(id);
    if (instrument && file) checkInstrument(file, instrument, instruments, errors);
  }

  if (studyErrors.length === 0) {
    const study = files.study.json as StudyFile;
    checkStudy(files.study, study, instruments, errors);
    checkRepeatingUse(sources, study, instruments, errors);
    checkStudyStart(files.study, study, sources, instruments, errors);
  }

  if (errors.length > 0) return { errors };
  const byId = instrumentsById(
    [...instruments].filter((entry): entry is [string, Instrument] => entry[1] !== undefined),
  );
  return { definition: { version: 0, study: files.study.json as StudyFile, instruments: byId }, errors };
}
