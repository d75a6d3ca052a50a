/**
 * Leaving a form with unsaved edits asks first (the browser's own
 * "leave site?" dialog). A submit that goes ahead is not leaving: the edits
 * are on their way to the server.
 */
export function guardUnsaved(form: HTMLFormElement, hasUnsavedEdits: () => boolean): void {
  let submitting = false;
  // Registered after the page's own submit checks, so a refused submit is seen as prevented.
  form.addEventListener("submit", (e) => {
    submitting = !e.defaultPrevented;
  });
  window.addEventListener("beforeunload", (e) => {
    if (submitting || !hasUnsavedEdits()) return;
    e.preventDefault();
    // Older Chromium needs returnValue set to show the dialog.
    e.returnValue = "";
  });
}
