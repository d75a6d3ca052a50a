import type { FieldSchema } from "./definition.ts";

/** The formats of REDCap's pattern-like validation types, as a person would be told them. */
const TEXT_VALIDATION_FORMATS: Record<string, string> = {
  zipcode: "a 5-digit ZIP code, e.g. 12345",
  phone: "a 10-digit phone number, e.g. 555-555-1234",
  alpha_only: "letters only",
  mrn_10d: "10 digits",
  mrn_generic: "letters, digits and hyphens",
  postalcode_canada: "a Canadian postal code, e.g. K1A 0B1",
  postalcode_french: "a 5-digit French postal code",
  postalcode_germany: "a 5-digit German postal code",
  postalcode_uk: "a UK postcode, e.g. SW1A 1AA",
  vmrn: "a medical record number",
};

/**
 * A pattern error that says which format is expected: the protocol's own
 * words for it (`x-format`), else the REDCap validation type's format, else
 * the field's help text, else the pattern itself — never just "not in the
 * expected format". `x-format` comes first because it is short: a message
 * that fits its slot's one line does not move the fields below it.
 */
export function patternMessage(schema: FieldSchema): string {
  if (schema["x-format"]) return `is not in the expected format: ${schema["x-format"]}`;
  const known = schema["x-text-validation"] && TEXT_VALIDATION_FORMATS[schema["x-text-validation"]];
  if (known) return `is not in the expected format: ${known}`;
  if (schema.description) return `is not in the expected format: ${schema.description}`;
  return `is not in the expected format (pattern ${schema.pattern ?? "?"})`;
}
