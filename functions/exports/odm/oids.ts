import type { ChoiceCode } from "../../engine/definition.ts";

const utf8 = new TextEncoder();

/**
 * An id as part of an OID: letters, digits, `_` and `-` as they are, any other
 * character as `~XX` per UTF-8 byte (so `.` never appears inside a part and
 * distinct ids give distinct OIDs).
 */
export function oidPart(id: string): string {
  let out = "";
  for (const ch of id) {
    if (/[A-Za-z0-9_-]/.test(ch)) out += ch;
    else for (const b of utf8.encode(ch)) out += `~${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out === "" ? "~" : out;
}

const p = oidPart;

/** The OIDs of the export, deterministic from the definition's ids. */
export const odmOid = {
  study: (id: string) => `S.${p(id)}`,
  metaDataVersion: (version: number) => `MDV.${version}`,
  event: (id: string) => `SE.${p(id)}`,
  form: (id: string) => `F.${p(id)}`,
  itemGroup: (form: string) => `IG.${p(form)}`,
  item: (form: string, field: string) => `I.${p(form)}.${p(field)}`,
  choiceItem: (form: string, field: string, code: ChoiceCode) =>
    `I.${p(form)}.${p(field)}___${p(String(code))}`,
  statusItem: (form: string) => `I.${p(form)}.__status`,
  codeList: (form: string, field: string) => `CL.${p(form)}.${p(field)}`,
  unit: (slug: string) => `MU.${slug}`,
  location: (site: string) => `LOC.${p(site)}`,
  user: (user: string) => `U.${p(user)}`,
  condition: (form: string, field: string) => `COND.${p(form)}.${p(field)}`,
  method: (form: string, field: string) => `MT.${p(form)}.${p(field)}`,
} as const;

/** Shared code lists (their OIDs have one dot, per-field ones two: they cannot collide). */
export const CL = {
  yesno: "CL.yesno",
  truefalse: "CL.truefalse",
  status: "CL.status",
  arm: "CL.arm",
  flagType: "CL.flagtype",
  queryState: "CL.querystate",
  sdv: "CL.sdv",
  lock: "CL.lock",
  signature: "CL.signature",
  subjectStatus: "CL.subjectstatus",
  /** The study's missing-data codes (a coded ItemData's Flag). */
  missing: "CL.missing",
} as const;

/** A readable slug of a unit for `MU.<slug>` (µmol/L → umol_per_L, °C → degC, % → pct). */
export function unitSlug(unit: string): string {
  const s = unit
    .replace(/[µμ]/g, "u")
    .replace(/°/g, "deg")
    .replace(/%/g, "pct")
    .replace(/×/g, "x")
    .replace(/\//g, "_per_")
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .replace(/[^A-Za-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "");
  return s === "" ? "unit" : s;
}
