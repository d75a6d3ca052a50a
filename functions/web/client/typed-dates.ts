/**
 * The date and time boxes of a form (web/date-input.tsx): the echo beside
 * each box follows what is typed, and on leaving the box a value that parses
 * is rewritten in the stored spelling (17 Apr 1988 → 1988-04-17, 0930 → 09:30),
 * so what the person sees is what the server stores.
 */
import { echoText, inputText, isTypedFormat, parseTyped } from "../form-values.ts";

/** Wires the boxes; the answer redraws every echo (for values the script changed, e.g. a field hidden and cleared). */
export function enhanceTypedDates(form: HTMLFormElement): () => void {
  const updates: (() => void)[] = [];
  for (const input of form.querySelectorAll<HTMLInputElement>("input[data-typed]")) {
    const typed = input.dataset.typed ?? "";
    const format = isTypedFormat(typed) ? typed : "date";
    const echo = form.querySelector<HTMLOutputElement>(`output[data-echo-for="${CSS.escape(input.name)}"]`);
    const update = () => {
      const text = echoText(format, input.value);
      if (echo && echo.value !== text) echo.value = text;
    };
    updates.push(update);
    input.addEventListener("input", update);
    // The box's own listener runs before the form's (bubbling) change handler reads the value.
    input.addEventListener("change", () => {
      const parsed = parseTyped(format, input.value);
      const shown = parsed.ok ? inputText(parsed.value, { type: "string", title: "", format }) : input.value;
      if (shown !== input.value) input.value = shown;
      update();
    });
  }
  return () => {
    for (const update of updates) update();
  };
}
