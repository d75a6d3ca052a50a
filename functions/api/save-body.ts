import { FORM_STATUSES } from "../engine/definition.ts";
import type { SaveInput } from "../http/save-form.ts";

/**
 * A form save's JSON body checked without zod, so that a cold start's first
 * save does not load zod and the route schemas (docs/architecture.md, "Cold
 * start"). It only ever says yes: a body it does not accept outright is left
 * to `SaveBody` (api/schemas.ts), which stays the one definition of the body
 * (and of the OpenAPI document) and words every refusal. So this may refuse
 * more than the schema (that costs only zod's import) but must never accept
 * what the schema refuses: tests/unit/save-body.test.ts checks both on
 * generated bodies.
 */
export function acceptSaveBody(body: unknown): SaveInput | undefined {
  if (!isPlainObject(body)) return undefined;
  for (const key of Object.keys(body)) if (!KNOWN.has(key)) return undefined;
  const { data, status, rev, reason, recalculate, missing, confirmWarnings } = body;
  if (!isObject(data) || Array.isArray(data)) return undefined;
  if (!(FORM_STATUSES as readonly unknown[]).includes(status)) return undefined;
  if (!Number.isSafeInteger(rev) || (rev as number) < 0) return undefined;
  if (reason !== undefined && !isString(reason, 2000)) return undefined;
  if (recalculate !== undefined && !isStringArray(recalculate, 100, 200)) return undefined;
  if (missing !== undefined && !isMissing(missing)) return undefined;
  if (confirmWarnings !== undefined && confirmWarnings !== true && !isStringArray(confirmWarnings, 500, 300))
    return undefined;
  return {
    data: data as SaveInput["data"],
    status: status as SaveInput["status"],
    rev: rev as number,
    ...(reason !== undefined ? { reason: reason as string } : {}),
    ...(recalculate !== undefined ? { recalculate: [...(recalculate as string[])] } : {}),
    ...(missing !== undefined ? { missing: { ...(missing as SaveInput["missing"]) } } : {}),
    ...(confirmWarnings !== undefined
      ? { confirmWarnings: confirmWarnings === true ? true : [...(confirmWarnings as string[])] }
      : {}),
  };
}

const KNOWN = new Set(["data", "status", "rev", "reason", "recalculate", "missing", "confirmWarnings"]);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;

/** An object literal (what JSON.parse makes): no array, no class instance. */
function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (!isObject(v) || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** At most `max` characters, counted as zod counts them: code points, not UTF-16 units. */
const isString = (v: unknown, max: number): boolean =>
  typeof v === "string" && (v.length <= max || [...v].length <= max);

const isStringArray = (v: unknown, maxItems: number, maxLength: number): boolean =>
  Array.isArray(v) && v.length <= maxItems && v.every((s) => isString(s, maxLength));

/**
 * `{ field: { code, reason } }`, both strings, nothing else. A "__proto__"
 * field is left to the schema: it drops that key where a spread would keep it.
 */
function isMissing(v: unknown): boolean {
  if (!isPlainObject(v) || Object.hasOwn(v, "__proto__")) return false;
  return Object.entries(v).every(
    ([field, entry]) =>
      field.length <= 200 &&
      isPlainObject(entry) &&
      Object.keys(entry).every((k) => k === "code" || k === "reason") &&
      isString(entry.code, 32) &&
      isString(entry.reason, 2000),
  );
}
