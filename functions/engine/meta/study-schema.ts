/**
 * The meta-schema of `forms/study.json` (a StudyFile). Every object is closed
 * (`additionalProperties: false`) so a misspelt key is an error. Uniqueness of
 * ids, references to instruments and fields, and day/window consistency are
 * checked by `check-definition.ts`.
 */

import { FIELD_NAME_PATTERN } from "./instrument-schema.ts";

/** Study and site ids: lowercase letters, digits and dashes (`hucmsc-ms-nmo`, `site-01`). */
export const SLUG_PATTERN = "^[a-z0-9][a-z0-9-]*$";

const nonEmptyString = { type: "string", minLength: 1 } as const;
const name = { type: "string", pattern: FIELD_NAME_PATTERN } as const;

export const studySchema = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  $id: "urn:form-engine:meta:study",
  title: "Study file (forms/study.json)",
  type: "object",
  required: ["id", "title", "arms", "sites", "subjectIdPattern", "events", "logs"],
  additionalProperties: false,
  properties: {
    id: { type: "string", pattern: SLUG_PATTERN },
    title: nonEmptyString,
    description: { type: "string" },
    arms: {
      type: "array",
      minItems: 1,
      items: {
        type: "object",
        required: ["id", "label"],
        additionalProperties: false,
        properties: { id: name, label: nonEmptyString, number: { type: "integer", minimum: 1 } },
      },
    },
    sites: {
      type: "array",
      minItems: 1,
      items: {
        type: "object",
        required: ["id", "name", "code"],
        additionalProperties: false,
        properties: {
          id: { type: "string", pattern: SLUG_PATTERN },
          name: nonEmptyString,
          code: { type: "string", pattern: "^[0-9A-Za-z]+$" },
        },
      },
    },
    subjectIdPattern: nonEmptyString,
    recordIdField: name,
    startDate: { type: "string", pattern: "^[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}$" },
    /** IANA time zone of the study's local date-times ("Europe/Berlin"); whether it exists is check-definition's. */
    timeZone: nonEmptyString,
    dayOne: {
      type: "object",
      required: ["event", "form", "field"],
      additionalProperties: false,
      properties: { event: name, form: name, field: name },
    },
    events: {
      type: "array",
      minItems: 1,
      items: { $ref: "#/$defs/event" },
    },
    logs: { type: "array", uniqueItems: true, items: name },
    formOrder: { type: "array", uniqueItems: true, items: name },
    /** Codes a field can hold instead of a value; REDCap's convention (letters, digits, "-", "_", "."). */
    missingCodes: {
      type: "array",
      items: {
        type: "object",
        required: ["code", "label"],
        additionalProperties: false,
        properties: {
          code: { type: "string", pattern: "^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$" },
          label: nonEmptyString,
        },
      },
    },
    sdv: {
      type: "object",
      required: ["default"],
      additionalProperties: false,
      properties: {
        default: { $ref: "#/$defs/sdvMode" },
        forms: {
          type: "object",
          propertyNames: { pattern: FIELD_NAME_PATTERN },
          additionalProperties: { $ref: "#/$defs/sdvMode" },
        },
      },
    },
  },
  $defs: {
    sdvMode: { enum: ["all", "critical", "none"] },
    event: {
      type: "object",
      required: ["id", "label", "forms"],
      additionalProperties: false,
      properties: {
        id: name,
        label: nonEmptyString,
        day: { type: "integer" },
        window: {
          type: "object",
          required: ["before", "after"],
          additionalProperties: false,
          properties: {
            before: { type: "integer", minimum: 0 },
            after: { type: "integer", minimum: 0 },
          },
        },
        repeatable: { type: "boolean" },
        forms: { type: "array", minItems: 1, uniqueItems: true, items: name },
        arms: { type: "array", minItems: 1, uniqueItems: true, items: name },
        armForms: {
          type: "object",
          propertyNames: { pattern: FIELD_NAME_PATTERN },
          additionalProperties: { type: "array", minItems: 1, uniqueItems: true, items: name },
        },
        repeatingForms: { type: "array", minItems: 1, uniqueItems: true, items: name },
      },
    },
  },
} as const;
