import { type Instrument, LOGS_EVENT, type StudyFile } from "../definition.ts";
import { fieldTexts, hasPiping, type PipeRef, pipingRefs, unreadTags } from "../piping.ts";
import { join, suggest } from "./pointers.ts";
import type { DefinitionError, SourceFile } from "./types.ts";

/** Piped texts (`{{…}}`) name fields, forms and events that exist, with a pointer to the text. */
export function checkPiping(
  sources: Map<string, SourceFile>,
  study: StudyFile,
  instruments: Map<string, Instrument | undefined>,
  errors: DefinitionError[],
): void {
  for (const [id, instrument] of instruments) {
    if (!instrument) continue;
    const file = sources.get(id)?.path ?? "";
    for (const [name, schema] of Object.entries(instrument.properties)) {
      for (const [suffix, text] of fieldTexts(schema)) {
        if (!hasPiping(text)) continue;
        const pointer = join("/properties", name) + suffix;
        const report = (message: string) => errors.push({ file, pointer, message });
        for (const tag of unreadTags(text))
          report(
            `${tag} is not a piping reference: use {{field}}, {{form.field}}, {{event.form.field}}, {{subject.id}}, {{event.label}} or {{instance}}`,
          );
        for (const ref of pipingRefs(text)) {
          const problem = refProblem(ref, instrument, study, instruments);
          if (problem) report(problem);
        }
      }
    }
  }
}

function refProblem(
  ref: PipeRef,
  instrument: Instrument,
  study: StudyFile,
  instruments: Map<string, Instrument | undefined>,
): string | undefined {
  if (ref.kind === "subject" || ref.kind === "event-label" || ref.kind === "instance") return undefined;
  if (ref.kind === "field") return fieldProblem(instrument, ref.field, `{{${ref.field}}}`);
  const target = instruments.get(ref.form);
  if (!instruments.has(ref.form))
    return `piped form "${ref.form}" is not an instrument${suggest(ref.form, [...instruments.keys()])}`;
  if (ref.kind === "event") {
    const forms = ref.event === LOGS_EVENT ? study.logs : study.events.find((e) => e.id === ref.event)?.forms;
    if (!forms)
      return `piped event "${ref.event}" is not an event${suggest(
        ref.event,
        study.events.map((e) => e.id),
      )}`;
    if (!forms.includes(ref.form)) return `form "${ref.form}" is not collected at event "${ref.event}"`;
  }
  return target ? fieldProblem(target, ref.field, `{{${ref.form}.${ref.field}}}`) : undefined;
}

function fieldProblem(instrument: Instrument, field: string, tag: string): string | undefined {
  const schema = Object.hasOwn(instrument.properties, field) ? instrument.properties[field] : undefined;
  if (!schema)
    return `${tag}: "${instrument.$id}" has no field "${field}"${suggest(field, Object.keys(instrument.properties))}`;
  if (schema.type === "null") return `${tag}: "${field}" is display-only: it holds no value to pipe`;
  return undefined;
}
