import type { FieldSchema } from "../engine/definition.ts";
import { echoText, isTypedFormat } from "./form-values.ts";

/**
 * Dates and times as plain text boxes, never the browser's date/time pickers:
 * those follow the browser's locale (10/11/2026 is a different day in en-US
 * and de-DE, times show AM/PM against a 24-hour protocol). The format is
 * written beside the box, and an echo spells out what will be stored
 * ("= 17 April 1988"); the form script updates it as the person types.
 */

export const DATE_HINT = "YYYY-MM-DD or day month-name year, e.g. 17 Apr 1988";
export const TIME_HINT = "HH:MM, e.g. 09:30 or 0930";
export const LOCAL_DATE_TIME_HINT = "YYYY-MM-DD HH:MM, e.g. 2026-11-10 09:30 or 10 Nov 2026 0930";

export const isTypedDateTime = (schema: FieldSchema) =>
  schema.format !== undefined && isTypedFormat(schema.format);

const HINTS = { date: DATE_HINT, time: TIME_HINT, "local-date-time": LOCAL_DATE_TIME_HINT };
const SIZES = { date: 14, time: 6, "local-date-time": 20 };

export const hintId = (name: string) => `fmt-${name}`;

export function DateTimeInput({
  name,
  schema,
  text,
  common,
  timeZone,
}: {
  name: string;
  schema: FieldSchema;
  text: string;
  common: Record<string, string | undefined>;
  /** study.json's timeZone: where a local date-time's clock is. */
  timeZone?: string | undefined;
}) {
  const format = schema.format && isTypedFormat(schema.format) ? schema.format : "date";
  return (
    <span class="date-entry">
      <span id={hintId(name)} class="format-hint">
        {HINTS[format]}
        {format === "local-date-time" && timeZone ? ` (${timeZone} time)` : ""}
      </span>
      <input
        {...common}
        type="text"
        value={text}
        data-typed={format}
        autocomplete="off"
        spellcheck={false}
        size={SIZES[format]}
      />
      <output class="echo" for={common.id} data-echo-for={name}>
        {echoText(format, text)}
      </output>
    </span>
  );
}
