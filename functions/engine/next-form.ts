import { LOGS_EVENT, type StudyFile } from "./definition.ts";
import { eventFormsFor } from "./slots.ts";

/**
 * The form after `form` in its visit's form order for a subject of `arm` (the
 * protocol's `forms` list, or the arm's own `armForms`), or undefined after
 * the last one, and for a log, which belongs to no visit.
 */
export function nextFormOfVisit(
  study: StudyFile,
  arm: string,
  event: string,
  form: string,
): string | undefined {
  if (event === LOGS_EVENT) return undefined;
  const found = study.events.find((e) => e.id === event);
  const forms = found ? eventFormsFor(found, arm) : [];
  const at = forms.indexOf(form);
  return at >= 0 ? forms[at + 1] : undefined;
}
