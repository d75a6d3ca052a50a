/**
 * The meta-schema every `forms/instruments/<id>.json` must satisfy. It is
 * strict on purpose: every key of an instrument and of a field is on an
 * allow-list, so a typo such as `x-visble-if` or `minimun` is an error with a
 * JSON pointer instead of a silently ignored keyword. What a JSON Schema cannot
 * say (a keyword that does not fit the field's type, a JSON Logic variable
 * that names no field, …) is checked by `check-definition.ts`.
 */

import { FILE_MAX_BYTES_CEILING, MEDIA_TYPE_PATTERN } from "../file-fields.ts";

/** Field names (property names) and instrument ids: lowercase snake_case. */
export const FIELD_NAME_PATTERN = "^[a-z][a-z0-9_]*$";

const X_WIDGETS = [
  "text",
  "textarea",
  "radio",
  "select",
  "autocomplete",
  "checkbox",
  "yesno",
  "truefalse",
  "slider",
  "descriptive",
  "file",
  "signature",
] as const;
/** "local-date-time": a wall-clock date and time without a zone (the study's `timeZone` says where). */
const FIELD_FORMATS = ["date", "time", "date-time", "local-date-time", "email"] as const;
/** "null" is only for display-only fields (`"x-widget": "descriptive"`); "object" only for file fields (`"x-file"`). */
const FIELD_TYPES = ["string", "number", "integer", "boolean", "array", "null", "object"] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

const nonEmptyString = { type: "string", minLength: 1 } as const;

/** Any JSON value: JSON Logic is checked semantically (operators, variables). */
const logic = true;

const choiceList = {
  type: "array",
  minItems: 1,
  items: { $ref: "#/$defs/choice" },
} as const;

const fieldSchema = {
  type: "object",
  required: ["type", "title"],
  additionalProperties: false,
  properties: {
    type: { enum: FIELD_TYPES },
    title: nonEmptyString,
    description: { type: "string" },
    format: { enum: FIELD_FORMATS },
    minimum: { type: "number" },
    maximum: { type: "number" },
    exclusiveMinimum: { type: "number" },
    exclusiveMaximum: { type: "number" },
    multipleOf: { type: "number", exclusiveMinimum: 0 },
    minLength: { type: "integer", minimum: 0 },
    maxLength: { type: "integer", minimum: 1 },
    pattern: nonEmptyString,
    enum: { type: "array", minItems: 1, items: { type: ["string", "number"] } },
    oneOf: choiceList,
    items: {
      type: "object",
      required: ["oneOf"],
      additionalProperties: false,
      properties: {
        type: { enum: ["string", "integer"] },
        oneOf: choiceList,
      },
    },
    uniqueItems: { type: "boolean" },
    minItems: { type: "integer", minimum: 0 },
    readOnly: { type: "boolean" },
    "x-identifier": { type: "boolean" },
    "x-widget": { enum: X_WIDGETS },
    "x-unit": nonEmptyString,
    "x-section": nonEmptyString,
    "x-visible-if": logic,
    /** A REDCap branching logic the engine cannot evaluate: kept verbatim, exported back as is; the field is always shown. */
    "x-visible-if-redcap": nonEmptyString,
    /** The field's value, computed; on a text field REDCap's @CALCTEXT, a `date_add` on a date field its @CALCDATE. */
    "x-calc": logic,
    /** A REDCap calculation the engine cannot compute: kept verbatim, the field read-only and empty, exported back as is. */
    "x-calc-redcap": nonEmptyString,
    "x-visit-date": { type: "boolean" },
    "x-date-min": { $ref: "#/$defs/dateBound" },
    "x-date-max": { $ref: "#/$defs/dateBound" },
    "x-annotation": { type: "string" },
    "x-matrix": { type: "string", pattern: FIELD_NAME_PATTERN },
    "x-slider": {
      type: "object",
      additionalProperties: false,
      properties: {
        labels: { type: "array", minItems: 1, maxItems: 3, items: { type: "string" } },
        showNumber: { type: "boolean" },
      },
    },
    "x-text-validation": { type: "string", pattern: "^[a-z][a-z0-9_]*$" },
    "x-format": { ...nonEmptyString, maxLength: 80 },
    "x-text-validation-min": nonEmptyString,
    "x-text-validation-max": nonEmptyString,
    /** A soft range: a value outside it is saved only once the person confirms it, and opens a query. */
    "x-soft-minimum": { type: "number" },
    "x-soft-maximum": { type: "number" },
    "x-sdv-critical": { type: "boolean" },
    /** Not shown on the form page (REDCap @HIDDEN); the value is kept, saved and exported. */
    "x-hidden": { type: "boolean" },
    /** Shown but not editable on the form page (REDCap @READONLY); an API save may still set it. */
    "x-readonly": { type: "boolean" },
    /** The value a new instance opens with: a value of the field's type, or "today"/"now" (engine/action-tags.ts). */
    "x-default": { $ref: "#/$defs/presetValue" },
    /** Like x-default, and also fills the field when a saved instance is opened with it empty (REDCap @SETVALUE). */
    "x-set-value": { $ref: "#/$defs/presetValue" },
    /** Checkbox codes that exclude every other box (REDCap @NONEOFTHEABOVE). */
    "x-none-of-the-above": {
      type: "array",
      minItems: 1,
      uniqueItems: true,
      items: { type: ["string", "number"] },
    },
    /** A file field: allowed media types (`image/*` allowed) and a size limit in bytes. */
    "x-file": {
      type: "object",
      additionalProperties: false,
      properties: {
        mediaTypes: {
          type: "array",
          minItems: 1,
          uniqueItems: true,
          items: { type: "string", pattern: MEDIA_TYPE_PATTERN },
        },
        maxBytes: { type: "integer", minimum: 1, maximum: FILE_MAX_BYTES_CEILING },
      },
    },
    /** The protocol writes this number with a decimal comma ("1,5"): the page and REDCap's /api/ take it so. */
    "x-decimal-comma": { type: "boolean" },
    /** REDCap's question number ("1a"), shown before the label. */
    "x-question-number": { ...nonEmptyString, maxLength: 20 },
    /** REDCap's custom alignment: label Left/Right of the control, choices Horizontal/Vertical. */
    "x-align": { enum: ["LH", "LV", "RH", "RV"] },
  },
} as const;

/**
 * The allow-list of keys a field schema may carry, in the order instrument
 * files list them: the meta-schema's own properties, so a new keyword is
 * declared once.
 */
export type FieldKeyword = keyof typeof fieldSchema.properties;
export const FIELD_KEYWORDS = Object.keys(fieldSchema.properties) as readonly FieldKeyword[];

/** Engine annotations (`x-` keywords). Register them with `ajv.addVocabulary(ENGINE_KEYWORDS)` to compile instruments strictly. */
export const ENGINE_KEYWORDS: readonly string[] = [
  ...FIELD_KEYWORDS.filter((k) => k.startsWith("x-")),
  "x-repeating",
  "x-rules",
];

/** Keywords that only mean something for some field types (check-definition refuses them elsewhere). */
export const KEYWORD_TYPES: Partial<Record<FieldKeyword, readonly FieldType[]>> = {
  format: ["string"],
  minLength: ["string"],
  maxLength: ["string"],
  pattern: ["string"],
  minimum: ["number", "integer"],
  maximum: ["number", "integer"],
  exclusiveMinimum: ["number", "integer"],
  exclusiveMaximum: ["number", "integer"],
  multipleOf: ["number", "integer"],
  "x-unit": ["number", "integer"],
  enum: ["string", "number", "integer"],
  oneOf: ["string", "number", "integer"],
  items: ["array"],
  uniqueItems: ["array"],
  minItems: ["array"],
  "x-slider": ["number", "integer"],
  "x-text-validation": ["string", "number", "integer"],
  "x-format": ["string"],
  "x-text-validation-min": ["string", "number", "integer"],
  "x-text-validation-max": ["string", "number", "integer"],
  "x-soft-minimum": ["number", "integer"],
  "x-soft-maximum": ["number", "integer"],
  "x-none-of-the-above": ["array"],
  "x-file": ["object"],
  "x-decimal-comma": ["number"],
};

/** Keywords a display-only field (type "null") can carry: it has a label and can be hidden, nothing more. */
export const DESCRIPTIVE_KEYWORDS: ReadonlySet<string> = new Set<FieldKeyword>([
  "type",
  "title",
  "description",
  "x-widget",
  "x-section",
  "x-visible-if",
  "x-visible-if-redcap",
  "x-annotation",
  "x-hidden",
  "x-question-number",
  "x-align",
]);

export const instrumentSchema = {
  $schema: "https://json-schema.org/draft/2020-12/schema",
  $id: "urn:form-engine:meta:instrument",
  title: "Instrument (case report form)",
  type: "object",
  required: ["$id", "title", "type", "properties", "additionalProperties"],
  additionalProperties: false,
  properties: {
    $schema: { const: "https://json-schema.org/draft/2020-12/schema" },
    $id: { type: "string", pattern: FIELD_NAME_PATTERN },
    title: nonEmptyString,
    description: { type: "string" },
    type: { const: "object" },
    properties: {
      type: "object",
      minProperties: 1,
      propertyNames: { pattern: FIELD_NAME_PATTERN },
      additionalProperties: { $ref: "#/$defs/field" },
    },
    required: {
      type: "array",
      uniqueItems: true,
      items: { type: "string", pattern: FIELD_NAME_PATTERN },
    },
    additionalProperties: { const: false },
    "x-repeating": { type: "boolean" },
    "x-rules": {
      type: "array",
      items: { $ref: "#/$defs/rule" },
    },
  },
  $defs: {
    /** A value a field opens with (x-default, x-set-value): of the field's type (check-definition's), or "today"/"now". */
    presetValue: {
      type: ["string", "number", "boolean", "array"],
      items: { type: ["string", "number"] },
    },
    /** An ISO date (calendar validity is check-definition's), "today" or "study-start" (study.json's startDate). */
    dateBound: { type: "string", pattern: "^(today|study-start|[1-9][0-9]{3}-[0-9]{2}-[0-9]{2})$" },
    choice: {
      type: "object",
      required: ["const", "title"],
      additionalProperties: false,
      properties: {
        const: { type: ["string", "number"] },
        title: nonEmptyString,
      },
    },
    rule: {
      type: "object",
      required: ["id", "logic", "field", "message"],
      additionalProperties: false,
      properties: {
        id: { type: "string", pattern: FIELD_NAME_PATTERN },
        logic,
        field: { type: "string", pattern: FIELD_NAME_PATTERN },
        message: nonEmptyString,
        /** "warning": the value is saved once confirmed, and a query opens; "error" (the default) refuses it. */
        severity: { enum: ["error", "warning"] },
      },
    },
    field: fieldSchema,
  },
} as const;
