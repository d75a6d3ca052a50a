import { noneOfTheAboveProblems } from "./action-tags.ts";
import { dateRangeProblems } from "./date-bounds.ts";
import {
  dateProblemMessage,
  LOCAL_DATE_TIME_MESSAGE,
  parseLocalDateTimeText,
  TIME_MESSAGE,
} from "./date-text.ts";
import type { FieldSchema, FormData, FormStatus, Instrument, Logic } from "./definition.ts";
import { fileValueProblems } from "./file-fields.ts";
import {
  evaluate,
  isEmpty,
  type LogicBudget,
  LogicBudgetError,
  logicBudget,
  logicVariables,
} from "./logic.ts";
import { type MissingData, missingProblems } from "./missing-codes.ts";
import { patternMessage } from "./pattern-message.ts";
import { schemaValidator } from "./schema-validator.ts";
import { type FieldWarning, softRangeWarning, standsAsStored } from "./soft-checks.ts";
import type { SchemaError, SchemaValidator } from "./validator-runtime.ts";

/** One refused value: where (JSON pointer into the form data), a stable code, and words for a person. */
export interface FieldError {
  pointer: string;
  code: string;
  message: string;
}

/** What branching, calculations and rules can see besides the form's own values. */
export interface LogicContext {
  $event: string;
  $arm?: string;
  /** Latest non-empty value per form and field in the subject's casebook. */
  $latest?: Record<string, Record<string, unknown>>;
  /** The same per event: `$events.<event>.<form>.<field>` (REDCap's `[event][field]`). */
  $events?: Record<string, Record<string, Record<string, unknown>>>;
  /** study.json's startDate: what the date bound "study-start" means. */
  $studyStart?: string;
  /** The evaluation's clock (ISO date-time): what `today` and `now` read; the save's own time on the server. */
  $now?: string;
  /** The form instance's number (1 for a form that does not repeat): REDCap's `[current-instance]`. */
  $instance?: number;
  /** The events before and after this one in the subject's arm, and its first and last (engine/event-neighbours.ts). */
  $previousEvent?: string;
  $nextEvent?: string;
  $firstEvent?: string;
  $lastEvent?: string;
}

interface CompiledInstrument {
  /** The instrument's schema without `required`: required-ness is the engine's (status and branching decide). */
  validate: SchemaValidator;
  calcOrder: string[];
}

const compiled = new WeakMap<Instrument, CompiledInstrument>();

function compile(instrument: Instrument): CompiledInstrument {
  const cached = compiled.get(instrument);
  if (cached) return cached;
  const result: CompiledInstrument = {
    validate: schemaValidator(instrument),
    calcOrder: Object.keys(instrument.properties).filter(
      (f) => instrument.properties[f]?.["x-calc"] !== undefined,
    ),
  };
  compiled.set(instrument, result);
  return result;
}

/**
 * REDCap's spelling of a local date-time ("2026-11-10 09:30") in the stored
 * one ("2026-11-10T09:30"), so a value has one representation whichever way
 * it came; anything else is left for the schema check to refuse.
 */
export function canonicalLocalDateTimes(instrument: Instrument, data: FormData): FormData {
  const out: FormData = { ...data };
  for (const [field, value] of Object.entries(data)) {
    if (instrument.properties[field]?.format !== "local-date-time" || typeof value !== "string") continue;
    if (!/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2})?$/.test(value)) continue;
    const parsed = parseLocalDateTimeText(value);
    if (parsed.ok) out[field] = parsed.value;
  }
  return out;
}

/** Drops empty values (null, "", []) so "not answered" has one representation: absent. */
export function normaliseData(data: FormData): FormData {
  const out: FormData = {};
  for (const [k, v] of Object.entries(data)) if (!isEmpty(v)) out[k] = v;
  return out;
}

function logicData(data: FormData, context: LogicContext): object {
  // Fields the form leaves empty are null, so `var` never falls back to a context key.
  return { ...context, ...data };
}

/**
 * One form's logic evaluated together: calculations, branching and rules share
 * one budget, and an expression that runs past it is noted against its field
 * (the logic is the protocol's fault, not the data's) and counts as empty.
 */
interface LogicRun {
  budget: LogicBudget;
  overruns: FieldError[];
}

const newRun = (): LogicRun => ({ budget: logicBudget(), overruns: [] });

/** What `run` answers for logic that ran past its budget. */
const OVERRUN = Symbol("overrun");

function run(logic: unknown, data: object, field: string, state: LogicRun): unknown {
  try {
    return evaluate(logic, data, state.budget);
  } catch (e) {
    if (!(e instanceof LogicBudgetError)) throw e;
    state.overruns.push({
      pointer: pointer(field),
      code: "logic-budget",
      message: `cannot be checked: ${e.message}, past the engine's limits; the protocol must be fixed`,
    });
    return OVERRUN;
  }
}

/**
 * What a form instance holds already: its stored values, and the calculations
 * the person explicitly asked to compute again. A stored calculation is kept
 * as stored unless asked, or unless a field of this form it reads (directly,
 * through its branching, or through another recomputed calculation) changes:
 * `$latest` moving on (a later weight) never rewrites a saved value silently.
 */
export interface StoredForm {
  data: FormData;
  recalculate?: readonly string[];
}

/** Whether every `var` in the logic names its variable literally (a computed name could read any field). */
function literalVars(logic: unknown): boolean {
  const stack: unknown[] = [logic];
  while (stack.length > 0) {
    const node = stack.pop();
    if (Array.isArray(node)) stack.push(...node);
    else if (node !== null && typeof node === "object") {
      for (const [op, args] of Object.entries(node)) {
        const name = op === "var" ? (Array.isArray(args) ? args[0] : args) : undefined;
        if (name !== null && typeof name === "object") return false;
        stack.push(args);
      }
    }
  }
  return true;
}

/** The form's own fields some logic reads; all of them when it computes a variable's name. */
const ownReads = (logic: Logic | undefined, fields: string[]): string[] =>
  literalVars(logic)
    ? logicVariables(logic ?? null)
        .filter((v) => !v.startsWith("$"))
        .map((v) => v.split(".")[0] ?? v)
    : fields;

/** The calculated fields whose stored value stays: those no changed input and no explicit request reaches. */
function keptCalculations(instrument: Instrument, input: FormData, stored: StoredForm): Set<string> {
  const fields = instrument.properties;
  const calcs = compile(instrument).calcOrder;
  const same = (f: string) =>
    JSON.stringify(Object.hasOwn(input, f) ? input[f] : null) ===
    JSON.stringify(Object.hasOwn(stored.data, f) ? stored.data[f] : null);
  const moved = new Set(Object.keys(fields).filter((f) => fields[f]?.["x-calc"] === undefined && !same(f)));
  for (const f of stored.recalculate ?? []) if (calcs.includes(f)) moved.add(f);
  const names = Object.keys(fields);
  const reads = new Map(
    calcs.map((f) => [
      f,
      [...ownReads(fields[f]?.["x-calc"], names), ...ownReads(fields[f]?.["x-visible-if"], names)],
    ]),
  );
  // Until nothing more moves: a calculation reading a recomputed calculation is recomputed too.
  for (let grew = true; grew; ) {
    grew = false;
    for (const f of calcs) {
      if (!moved.has(f) && reads.get(f)?.some((r) => moved.has(r))) {
        moved.add(f);
        grew = true;
      }
    }
  }
  return new Set(calcs.filter((f) => !moved.has(f)));
}

function calculateWith(
  instrument: Instrument,
  data: FormData,
  context: LogicContext,
  state: LogicRun,
  stored?: StoredForm,
): FormData {
  const out: FormData = { ...data };
  const kept = stored ? keptCalculations(instrument, data, stored) : new Set<string>();
  for (const field of compile(instrument).calcOrder) {
    delete out[field];
    if (stored && kept.has(field)) {
      if (Object.hasOwn(stored.data, field)) out[field] = stored.data[field];
      continue;
    }
    const value = run(instrument.properties[field]?.["x-calc"], logicData(out, context), field, state);
    if (value === OVERRUN || isEmpty(value) || (typeof value === "number" && !Number.isFinite(value)))
      continue;
    // A calculated text (REDCap @CALCTEXT) holds the result as text, whatever the logic's type;
    // a calculated date (@CALCDATE) keeps the day of a date-time it is computed from.
    const schema = instrument.properties[field];
    const text = schema?.type === "string" ? String(value) : value;
    out[field] =
      schema?.format === "date" && typeof text === "string" && /^\d{4}-\d{2}-\d{2}[T ]/.test(text)
        ? text.slice(0, 10)
        : text;
  }
  return out;
}

function hiddenWith(
  instrument: Instrument,
  data: FormData,
  context: LogicContext,
  state: LogicRun,
): Set<string> {
  const out = new Set<string>();
  const visibleData: FormData = {};
  for (const [field, schema] of Object.entries(instrument.properties)) {
    const rule = schema["x-visible-if"];
    // Logic over budget shows the field: hiding it would make its value impossible to enter.
    const shown = rule === undefined ? true : run(rule, logicData(visibleData, context), field, state);
    if (!shown) out.add(field);
    else if (data[field] !== undefined) visibleData[field] = data[field];
  }
  return out;
}

/**
 * Computes every `x-calc` field from the others, in property order; a calc
 * that yields nothing leaves the field empty. With `stored`, calculations no
 * edit reaches keep their stored value (see `StoredForm`).
 */
export function applyCalculations(
  instrument: Instrument,
  data: FormData,
  context: LogicContext,
  stored?: StoredForm,
): FormData {
  return calculateWith(instrument, data, context, newRun(), stored);
}

/** A stored calculation that current data (a later `$latest`) would now compute differently. */
export interface CalculationDrift {
  field: string;
  stored: unknown;
  now: unknown;
}

/** Per calculated field shown, the stored value where computing it again would change it. */
export function calculationDrift(
  instrument: Instrument,
  stored: FormData,
  context: LogicContext,
): CalculationDrift[] {
  const state = newRun();
  const fresh = calculateWith(instrument, stored, context, state);
  const hidden = hiddenWith(instrument, fresh, context, state);
  return compile(instrument)
    .calcOrder.filter((f) => !hidden.has(f))
    .filter((f) => JSON.stringify(stored[f] ?? null) !== JSON.stringify(fresh[f] ?? null))
    .map((f) => ({ field: f, stored: stored[f] ?? null, now: fresh[f] ?? null }));
}

/** Fields whose `x-visible-if` is false for this data. A field hidden by another hidden field is hidden too. */
export function hiddenFields(instrument: Instrument, data: FormData, context: LogicContext): Set<string> {
  return hiddenWith(instrument, data, context, newRun());
}

export interface PreparedForm {
  /** The values to store: normalised, calculated fields computed here. */
  data: FormData;
  errors: FieldError[];
  /**
   * Soft checks the values fail (soft ranges, warning rules), where no error
   * is reported at the field. With `stored`, a warning whose fields all keep
   * their stored values is left out: it was answered when they were saved.
   */
  warnings: FieldWarning[];
  hidden: Set<string>;
  /** The missing-data codes to store (normalised). */
  missing: MissingData;
}

/** Missing-data codes submitted with the values, and the study's declared codes. */
export interface MissingInput {
  missing: MissingData;
  declared: readonly import("./definition.ts").MissingCode[];
}

/**
 * Everything the engine decides about one submission of one instrument:
 * unknown fields, calculations (client values ignored), branching (a hidden
 * field must be empty), JSON Schema checks, cross-field rules, and required
 * fields when the status is `complete`.
 */
export function prepareForm(
  instrument: Instrument,
  submitted: FormData,
  status: FormStatus,
  context: LogicContext,
  stored?: StoredForm,
  coded?: MissingInput,
): PreparedForm {
  const errors: FieldError[] = [];
  const warnings: FieldWarning[] = [];
  const missing = coded?.missing ?? {};
  const fields = instrument.properties;
  for (const field of stored?.recalculate ?? []) {
    if (fields[field]?.["x-calc"] === undefined)
      errors.push({
        pointer: pointer(field),
        code: "not-calculated",
        message: `"${field}" is not a calculated field of ${instrument.title}: only calculations are recalculated`,
      });
  }
  // Own keys of what was submitted: JSON.parse makes "__proto__" an own key, which must be refused, not lost.
  const known: FormData = {};
  for (const field of Object.keys(submitted)) {
    if (Object.hasOwn(fields, field)) known[field] = submitted[field];
    else
      errors.push({
        pointer: pointer(field),
        code: "unknown-field",
        message: `"${field}" is not a field of ${instrument.title}`,
      });
  }
  const input = canonicalLocalDateTimes(instrument, normaliseData(known));
  const logic = newRun();
  const data = calculateWith(instrument, input, context, logic, stored);
  const hidden = hiddenWith(instrument, data, context, logic);
  for (const problem of missingProblems(instrument, missing, data, coded?.declared ?? [])) {
    errors.push({ pointer: pointer(problem.field), code: problem.code, message: problem.message });
  }
  for (const field of hidden) {
    if (data[field] === undefined && !Object.hasOwn(missing, field)) continue;
    if (fields[field]?.["x-calc"] !== undefined) delete data[field];
    else
      errors.push({
        pointer: pointer(field),
        code: "hidden-not-empty",
        message: "must be empty: the question does not apply",
      });
  }
  errors.push(...schemaErrors(instrument, data));
  const mistyped = new Set(errors.map((e) => e.pointer));
  for (const { field, code, message } of fileValueProblems(instrument, data)) {
    if (!mistyped.has(pointer(field))) errors.push({ pointer: pointer(field), code, message });
  }
  const malformed = new Set(errors.map((e) => e.pointer));
  for (const { field, message } of dateRangeProblems(instrument, data, context.$studyStart)) {
    if (!malformed.has(pointer(field))) errors.push({ pointer: pointer(field), code: "date-range", message });
  }
  for (const { field, message } of noneOfTheAboveProblems(instrument, data)) {
    if (!malformed.has(pointer(field)))
      errors.push({ pointer: pointer(field), code: "none-of-the-above", message });
  }
  const failed = new Set(errors.map((e) => e.pointer));
  const fresh = (reads: string[]) => !standsAsStored(reads, data, stored?.data);
  for (const [field, schema] of Object.entries(fields)) {
    if (failed.has(pointer(field)) || !fresh([field])) continue;
    const warning = softRangeWarning(field, schema, data[field], pointer(field));
    if (warning) warnings.push(warning);
  }
  for (const rule of instrument["x-rules"] ?? []) {
    const reads = logicVariables(rule.logic).filter((v) => !v.startsWith("$"));
    if (reads.some((v) => isEmpty(data[v])) || failed.has(pointer(rule.field))) continue;
    const holds = run(rule.logic, logicData(data, context), rule.field, logic);
    if (holds === OVERRUN || holds) continue;
    if (rule.severity !== "warning")
      errors.push({ pointer: pointer(rule.field), code: `rule:${rule.id}`, message: rule.message });
    else if (fresh([...reads.map((v) => v.split(".")[0] ?? v), rule.field]))
      warnings.push({ pointer: pointer(rule.field), rule: rule.id, message: rule.message });
  }
  // A save whose logic ran past its budget is refused (422): storing it would store unchecked data.
  errors.push(...logic.overruns);
  if (status === "complete") {
    for (const field of instrument.required ?? []) {
      const absent = isEmpty(data[field]) && !Object.hasOwn(missing, field);
      if (!hidden.has(field) && absent && fields[field]?.["x-calc"] === undefined) {
        errors.push({
          pointer: pointer(field),
          code: "required",
          message: "is required to mark the form complete",
        });
      }
    }
  }
  const warned = new Set(errors.map((e) => e.pointer));
  return {
    data,
    errors: sortByField(instrument, errors),
    // A field with an error shows the error; its warning would be noise.
    warnings: sortByField(
      instrument,
      warnings.filter((w) => !warned.has(w.pointer)),
    ),
    hidden,
    missing,
  };
}

/** Stored values of fields the instrument no longer has (removed by a later protocol version). */
export function retiredValues(instrument: Instrument, data: FormData): FormData {
  return Object.fromEntries(
    Object.entries(data).filter(([field]) => !Object.hasOwn(instrument.properties, field)),
  );
}

export function pointer(field: string): string {
  return `/${field.replaceAll("~", "~0").replaceAll("/", "~1")}`;
}

function fieldOf(instancePath: string): string {
  const first = instancePath.split("/")[1] ?? "";
  return first.replaceAll("~1", "/").replaceAll("~0", "~");
}

// One message per field, the most basic problem first: a wrong type makes range errors noise.
const PRIORITY = [
  "type",
  "format",
  "const",
  "enum",
  "oneOf",
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "exclusiveMaximum",
];

function schemaErrors(instrument: Instrument, data: FormData): FieldError[] {
  const { validate } = compile(instrument);
  if (validate(data)) return [];
  const byField = new Map<string, SchemaError[]>();
  for (const e of validate.errors ?? []) {
    if (e.keyword === "additionalProperties") continue; // reported as unknown-field already
    const field = fieldOf(e.instancePath);
    byField.set(field, [...(byField.get(field) ?? []), e]);
  }
  const out: FieldError[] = [];
  for (const [field, list] of byField) {
    const rank = (e: SchemaError) => {
      const i = PRIORITY.indexOf(e.keyword);
      return i === -1 ? PRIORITY.length : i;
    };
    const worst = [...list].sort((a, b) => rank(a) - rank(b))[0];
    const schema = instrument.properties[field];
    if (worst && schema) out.push(describe(worst, schema, field, data[field]));
  }
  return out;
}

function describe(error: SchemaError, schema: FieldSchema, field: string, value: unknown): FieldError {
  const at = pointer(field);
  const unit = schema["x-unit"] ? ` ${schema["x-unit"]}` : "";
  const choices = schema.oneOf ?? schema.items?.oneOf;
  switch (error.keyword) {
    case "type":
      return { pointer: at, code: "type", message: `must be ${article(String(error.params.type))}` };
    case "format":
      return { pointer: at, code: "format", message: formatMessage(String(error.params.format), value) };
    case "const":
    case "oneOf":
    case "enum": {
      const allowed = choices
        ? choices.map((c) => `${c.const} (${c.title})`)
        : (schema.enum ?? []).map(String);
      return { pointer: at, code: "choice", message: `must be one of ${listOf(allowed)}` };
    }
    case "minimum":
    case "exclusiveMinimum":
    case "maximum":
    case "exclusiveMaximum":
      return { pointer: at, code: "range", message: rangeMessage(schema, unit) };
    case "multipleOf":
      return { pointer: at, code: "step", message: `must be a multiple of ${schema.multipleOf}${unit}` };
    case "maxLength":
      return { pointer: at, code: "too-long", message: `must be at most ${schema.maxLength} characters` };
    case "minLength":
      return { pointer: at, code: "too-short", message: `must be at least ${schema.minLength} characters` };
    case "pattern":
      return { pointer: at, code: "pattern", message: patternMessage(schema) };
    case "uniqueItems":
      return { pointer: at, code: "duplicate", message: "lists the same choice twice" };
    default:
      return { pointer: at, code: error.keyword, message: error.message ?? "is not valid" };
  }
}

function rangeMessage(schema: FieldSchema, unit: string): string {
  const lo =
    schema.minimum !== undefined
      ? `${schema.minimum}`
      : schema.exclusiveMinimum !== undefined
        ? `more than ${schema.exclusiveMinimum}`
        : undefined;
  const hi =
    schema.maximum !== undefined
      ? `${schema.maximum}`
      : schema.exclusiveMaximum !== undefined
        ? `less than ${schema.exclusiveMaximum}`
        : undefined;
  if (lo !== undefined && hi !== undefined) {
    if (schema.minimum !== undefined && schema.maximum !== undefined)
      return `must be between ${lo} and ${hi}${unit}`;
    return `must be ${schema.minimum !== undefined ? `at least ${lo}` : lo}${unit} and ${schema.maximum !== undefined ? `at most ${hi}` : hi}${unit}`;
  }
  if (lo !== undefined) return `must be ${schema.minimum !== undefined ? `at least ${lo}` : lo}${unit}`;
  return `must be ${schema.maximum !== undefined ? `at most ${hi}` : hi}${unit}`;
}

function formatMessage(format: string, value: unknown): string {
  if (format === "date" && typeof value === "string") return dateProblemMessage(value);
  if (format === "time") return TIME_MESSAGE;
  if (format === "local-date-time") return LOCAL_DATE_TIME_MESSAGE;
  const expected: Record<string, string> = {
    date: "a date (YYYY-MM-DD)",
    time: "a time (HH:MM)",
    "date-time": "a date and time (YYYY-MM-DDTHH:MM:SSZ)",
    email: "an e-mail address",
  };
  return `must be ${expected[format] ?? format}`;
}

function article(type: string): string {
  const words: Record<string, string> = {
    number: "a number",
    integer: "a whole number",
    string: "text",
    boolean: "yes or no",
    array: "a list of choices",
    object: "an uploaded file",
  };
  return words[type] ?? type;
}

function listOf(values: string[]): string {
  if (values.length <= 12) return values.join(", ");
  return `${values.slice(0, 5).join(", ")} … ${values.slice(-2).join(", ")}`;
}

function sortByField<T extends { pointer: string }>(instrument: Instrument, errors: T[]): T[] {
  const order = new Map(Object.keys(instrument.properties).map((f, i) => [pointer(f), i]));
  return errors.sort((a, b) => (order.get(a.pointer) ?? 1e9) - (order.get(b.pointer) ?? 1e9));
}
