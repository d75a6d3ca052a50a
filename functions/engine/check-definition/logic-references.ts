import type { Instrument } from "../definition.ts";
import { LOGIC_LIMITS, LOGIC_OPERATORS, logicSize, SCOPED_OPERATORS } from "../logic.ts";
import { isLogicObject } from "./helpers.ts";
import { join, suggest } from "./pointers.ts";
import type { Reporter } from "./types.ts";

/** JSON Logic in an instrument: known operators, variables that name fields, bounded size. */

const DATEDIFF_UNITS = ["d", "w", "M", "y"];
const DATE_ADD_UNITS = ["y", "M", "w", "d", "h", "m", "s"];

/** Context variables holding one value (validate-form.ts LogicContext), not a casebook to walk. */
export const PLAIN_CONTEXT = [
  "$event",
  "$arm",
  "$instance",
  "$previousEvent",
  "$nextEvent",
  "$firstEvent",
  "$lastEvent",
];

/** What JSON Logic in one place of an instrument may read. */
export interface LogicScope {
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
    if (PLAIN_CONTEXT.includes(head)) {
      if (parts.length > 1) report(at, `"${head}" is a plain value: "${name}" reads nothing`);
      return;
    }
    if (head !== "$latest" && head !== "$events") {
      report(
        at,
        `unknown context variable "${head}"${suggest(head, [...PLAIN_CONTEXT, "$latest", "$events"])}`,
      );
      return;
    }
    // $events.<event>.<form>.<field> is $latest.<form>.<field> within one event
    const [form, field] = head === "$events" ? parts.slice(2) : parts.slice(1);
    if (head === "$events" && (parts[1] ?? "") === "") {
      report(at, `"${name}" must name an event, a form and a field: $events.<event>.<form>.<field>`);
      return;
    }
    if (form === undefined || field === undefined) {
      report(
        at,
        `"${name}" must name a form and a field: ${head === "$events" ? "$events.<event>" : "$latest"}.<form>.<field>`,
      );
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
    case "date_add": {
      if (list.length < 2 || list.length > 3)
        report(argAt, "date_add takes (date, offset) or (date, offset, unit)");
      const unit = list[2];
      if (typeof unit === "string" && !DATE_ADD_UNITS.includes(unit)) {
        report(itemAt(2), `date_add unit "${unit}" must be one of ${DATE_ADD_UNITS.join(", ")}`);
      }
      break;
    }
    case "checked": {
      if (list.length < 2 || list.length > 3)
        report(argAt, "checked takes (value, choices) or (value, choices, ticked)");
      const choices = list[1];
      const pair = (c: unknown) =>
        Array.isArray(c) && c.length === 2 && c.every((v) => typeof v === "string" || typeof v === "number");
      if (!Array.isArray(choices) || !choices.every(pair)) {
        report(itemAt(1), "checked's choices are a literal list of [code, title] pairs");
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
export function checkExpression(logic: unknown, at: string, scope: LogicScope, report: Reporter): void {
  const { depth, nodes } = logicSize(logic);
  if (depth > LOGIC_LIMITS.depth) {
    report(at, `the logic is nested ${depth} levels deep; at most ${LOGIC_LIMITS.depth} are allowed`);
  } else if (nodes > LOGIC_LIMITS.nodes) {
    report(at, `the logic has ${nodes} nodes; at most ${LOGIC_LIMITS.nodes} are allowed`);
  } else checkLogic(logic, at, scope, false, report);
}
