import { instrumentsById, type StudyDefinition } from "../engine/definition.ts";
import {
  type Item,
  isMap,
  MalformedItemError,
  maybeMap,
  maybeString,
  requiredList,
  requiredNumber,
  requiredString,
} from "./item-fields.ts";

/** Decoders of the definition items: the current pointer and the published versions. */

export interface DefinitionPointer {
  version: number;
  hash: string;
}

export function toDefinitionPointer(item: Item): DefinitionPointer {
  return { version: requiredNumber(item, "version"), hash: requiredString(item, "hash") };
}

export interface DefinitionVersionInfo {
  version: number;
  hash: string;
  publishedBy: string;
  publishedAt: string;
  reason?: string;
  impact?: Record<string, number>;
  acceptance?: { by: string; at: string; reason: string; changes: string[] };
  migration?: unknown;
  current: boolean;
}

/** The attributes `toDefinitionVersionInfo` reads: a listing projects only these (the body can be large). */
export const VERSION_INFO_ATTRIBUTES = [
  "version",
  "hash",
  "publishedBy",
  "publishedAt",
  "reason",
  "impact",
  "acceptance",
  "migration",
];

/** A version as the listing shows it, without its definition; `current` is the pointer's business. */
export function toDefinitionVersionInfo(item: Item, current: boolean): DefinitionVersionInfo {
  const info: DefinitionVersionInfo = {
    version: requiredNumber(item, "version"),
    hash: requiredString(item, "hash"),
    publishedBy: requiredString(item, "publishedBy"),
    publishedAt: requiredString(item, "publishedAt"),
    current,
  };
  const reason = maybeString(item, "reason");
  if (reason !== undefined) info.reason = reason;
  const impact = maybeMap(item, "impact");
  if (impact !== undefined) info.impact = toImpact(item, impact);
  const acceptance = maybeMap(item, "acceptance");
  if (acceptance !== undefined) info.acceptance = toAcceptance(item, acceptance);
  // The builder's migration, kept as it was accepted: shown, never interpreted from here.
  if (item.migration !== undefined) info.migration = item.migration;
  return info;
}

function toImpact(item: Item, impact: Record<string, unknown>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [severity, n] of Object.entries(impact)) {
    if (typeof n !== "number") throw new MalformedItemError(item, `impact.${severity}`, "a number");
    out[severity] = n;
  }
  return out;
}

function toAcceptance(item: Item, acceptance: Record<string, unknown>): DefinitionVersionInfo["acceptance"] {
  const changes = requiredList(acceptance, "changes");
  if (!changes.every((c) => typeof c === "string"))
    throw new MalformedItemError(item, "acceptance.changes", "a list of strings");
  const field = (name: string) => {
    const v = acceptance[name];
    if (typeof v !== "string") throw new MalformedItemError(item, `acceptance.${name}`, "a string");
    return v;
  };
  return { by: field("by"), at: field("at"), reason: field("reason"), changes };
}

export interface DefinitionVersion {
  hash: string;
  /** The definition's JSON as published; `toStudyDefinition` reads it. */
  body: string;
}

export function toDefinitionVersion(item: Item): DefinitionVersion {
  return { hash: requiredString(item, "hash"), body: requiredString(item, "definition") };
}

/**
 * The published definition of a version item. It was checked in full when it
 * was published and is immutable since, so only its frame is checked here
 * (version, study, instruments), not every instrument again.
 */
export function toStudyDefinition(item: Item): StudyDefinition {
  const version = requiredNumber(item, "version");
  let parsed: unknown;
  try {
    parsed = JSON.parse(toDefinitionVersion(item).body);
  } catch {
    throw new MalformedItemError(item, "definition", "JSON");
  }
  if (!isPublishedDefinition(parsed, version))
    throw new MalformedItemError(item, "definition", `a study definition of version ${version}`);
  return { ...parsed, instruments: instrumentsById(Object.entries(parsed.instruments)) };
}

function isPublishedDefinition(v: unknown, version: number): v is StudyDefinition {
  return (
    isMap(v) &&
    v.version === version &&
    isMap(v.study) &&
    typeof v.study.id === "string" &&
    isMap(v.instruments)
  );
}
