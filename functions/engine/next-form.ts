import { LOGS_EVENT, type StudyFile } from "./definition.ts";

/**
 * The form after `form` in its visit's form order (the protocol's `forms`
 * list), or undefined after the last one, and for a log, which belongs to no
 * visit.
 */
export function nextFormOfVisit(study: StudyFile, event: string, form: string): string | undefined {
  if (event === LOGS_EVENT) return undefined;
  const forms = study.events.find((e) => e.id === event)?.forms ?? [];
  const at = forms.indexOf(form);
  return at >= 0 ? forms[at + 1] : undefined;
}
