/**
 * The form page's script: live branching (a hidden field is cleared), live
 * calculations and inline validation, all with the engine's own code, so the
 * browser and the server cannot disagree. Without it the page still works as
 * a plain form post.
 */
import type { FormData, FormStatus, Instrument, MissingCode } from "../../engine/definition.ts";
import { pipeResolver, renderPiped } from "../../engine/piping.ts";
import type { FieldWarning } from "../../engine/soft-checks.ts";
import {
  applyCalculations,
  type FieldError,
  hiddenFields,
  type LogicContext,
  prepareForm,
  type StoredForm,
} from "../../engine/validate-form.ts";
import { type FormEntries, readFormEntries, readMissingEntries } from "../form-values.ts";
import { untickExclusive } from "./exclusive-choices.ts";
import { keepRoomForSaveBar } from "./save-bar-room.ts";
import { enhanceSignaturePads } from "./signature-pad.ts";
import { pointerGate } from "./steady-messages.ts";
import { enhanceTypedDates } from "./typed-dates.ts";
import { guardUnsaved } from "./unsaved-guard.ts";

interface Definition {
  instrument: Instrument;
  context: LogicContext;
  requireReason: boolean;
  currentStatus: FormStatus | null;
  /** The instance's stored values: calculations no edit reaches keep them (engine `StoredForm`). */
  stored: FormData | null;
  /** Only where edits can be saved does leaving with unsaved edits warn (not in a preview or a read-only view). */
  canSave: boolean;
  /** The values shown came back from a refused save: they are not stored. */
  unsaved: boolean;
  /** The study's missing-data codes: a coded field is empty for logic and satisfies "required". */
  missingCodes: MissingCode[];
  /** Piped values from outside the form, computed by the server (engine `outsideValues`). */
  piping?: Record<string, string>;
}

function entriesOf(form: HTMLFormElement): FormEntries {
  const data = new FormData(form);
  const out: FormEntries = {};
  for (const key of new Set(data.keys())) {
    const values = data.getAll(key).filter((v): v is string => typeof v === "string");
    out[key] = values.length > 1 ? values : values[0];
  }
  return out;
}

function clearControls(container: Element): boolean {
  let cleared = false;
  for (const el of container.querySelectorAll<HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement>(
    "input, select, textarea",
  )) {
    if (el instanceof HTMLInputElement && (el.type === "radio" || el.type === "checkbox")) {
      if (el.checked) {
        el.checked = false;
        cleared = true;
      }
    } else if (el.value !== "") {
      el.value = "";
      cleared = true;
    }
  }
  return cleared;
}

function enhance(form: HTMLFormElement, def: Definition): void {
  const { instrument, context } = def;
  const redrawEchoes = enhanceTypedDates(form);
  enhanceSignaturePads(form);
  const touched = new Set<string>();
  const whenPointerFree = pointerGate(document);
  const fieldEls = new Map<string, HTMLElement>();
  // Some refusals only the server can make (a file's type, size or name): kept until the field is edited.
  const serverErrors = new Map<string, string>();
  for (const el of form.querySelectorAll<HTMLElement>("[data-field]")) {
    const name = el.dataset.field ?? "";
    fieldEls.set(name, el);
    // Errors the server reported stay visible until the field is edited.
    const reported = el.querySelector(".error")?.textContent;
    if (reported) {
      touched.add(name);
      serverErrors.set(name, reported);
    }
  }

  const showErrors = (errors: FieldError[], all: boolean) => {
    const byField = new Map(errors.map((e) => [e.pointer.slice(1), e.message]));
    for (const [name, el] of fieldEls) {
      const message = touched.has(name) || all ? (byField.get(name) ?? serverErrors.get(name)) : undefined;
      const box = el.querySelector(".error");
      if (box && box.textContent !== (message ?? "")) box.textContent = message ?? "";
      for (const control of el.querySelectorAll("input, select, textarea")) {
        if (message) control.setAttribute("aria-invalid", "true");
        else control.removeAttribute("aria-invalid");
      }
    }
  };

  // Soft checks are warnings: shown as the person types, never blocking the save (the server asks to confirm).
  const showWarnings = (warnings: FieldWarning[]) => {
    const byField = new Map(warnings.map((w) => [w.pointer.slice(1), w.message]));
    for (const [name, el] of fieldEls) {
      const box = el.querySelector(".warning");
      const message = touched.has(name) ? (byField.get(name) ?? "") : (box?.textContent ?? "");
      if (box && box.textContent !== message) box.textContent = message;
    }
  };

  const recalculating = () =>
    [...form.querySelectorAll<HTMLInputElement>("input[name=_recalculate]:checked")].map((el) => el.value);
  // Never overwrite a stored calculation on load: only an edit it reads, or an explicit tick, recomputes it.
  const stored = (): StoredForm | undefined =>
    def.stored ? { data: def.stored, recalculate: recalculating() } : undefined;

  const refresh = (status: FormStatus = "incomplete", all = false): FieldError[] => {
    let data = applyCalculations(instrument, readFormEntries(instrument, entriesOf(form)), context, stored());
    const hidden = hiddenFields(instrument, data, context);
    let cleared = false;
    for (const [name, el] of fieldEls) {
      const hide = hidden.has(name);
      // A field the protocol hides (x-hidden) stays hidden and keeps its value; branching hides and clears.
      const shown = !hide && el.dataset.alwaysHidden === undefined;
      if (el.hidden === shown) el.hidden = !shown;
      if (hide) cleared = clearControls(el) || cleared;
    }
    if (cleared) {
      data = applyCalculations(instrument, readFormEntries(instrument, entriesOf(form)), context, stored());
      redrawEchoes();
    }
    // Labels that pipe this form's values follow the typing; outside values are the server's.
    const resolve = pipeResolver(instrument, data, def.piping ?? {});
    for (const el of form.querySelectorAll<HTMLElement>("[data-pipe]")) {
      const text = renderPiped(el.dataset.pipe ?? "", resolve);
      if (el.textContent !== text) el.textContent = text;
    }
    for (const output of form.querySelectorAll<HTMLOutputElement>("output[data-calc]")) {
      const value = data[output.dataset.calc ?? ""];
      output.value = value === undefined || value === null ? "" : String(value);
    }
    const missing = readMissingEntries(instrument, entriesOf(form));
    // A reason is typed after the code is chosen: the script leaves "say why" to the save.
    for (const m of Object.values(missing)) if (m.reason === "") m.reason = "…";
    const { errors, warnings } = prepareForm(instrument, data, status, context, stored(), {
      missing,
      declared: def.missingCodes ?? [],
    });
    whenPointerFree(() => {
      showErrors(errors, all);
      showWarnings(warnings);
    });
    return errors;
  };

  const nameOf = (target: EventTarget | null) =>
    target instanceof Element ? (target.closest<HTMLElement>("[data-field]")?.dataset.field ?? "") : "";
  form.addEventListener("change", (e) => {
    if (e.target instanceof HTMLInputElement) untickExclusive(form, instrument, e.target);
    touched.add(nameOf(e.target));
    serverErrors.delete(nameOf(e.target));
    refresh();
  });
  form.addEventListener("input", (e) => {
    serverErrors.delete(nameOf(e.target));
    refresh();
  });
  form.addEventListener("focusout", (e) => {
    const name = nameOf(e.target);
    if (name && !touched.has(name)) {
      touched.add(name);
      refresh();
    }
  });

  const reasonBox = form.querySelector<HTMLElement>("[data-reason]");
  // A file chosen or removed is a change too (the text entries do not show it).
  const fileChoices = () =>
    [...form.querySelectorAll<HTMLInputElement>("[data-file] input[type=file], [data-file-remove]")].map(
      (el) => (el.type === "file" ? [...(el.files ?? [])].map((f) => `${f.name}:${f.size}`) : el.checked),
    );
  const snapshot = () =>
    JSON.stringify([
      readFormEntries(instrument, entriesOf(form)),
      readMissingEntries(instrument, entriesOf(form)),
      recalculating(),
      fileChoices(),
    ]);
  const initial = snapshot();
  form.addEventListener("submit", (e) => {
    const status = ((e.submitter as HTMLButtonElement | null)?.value ?? "incomplete") as FormStatus;
    const errors = refresh(status, true);
    const reason = form.querySelector<HTMLInputElement>("input[name=_reason]");
    // A complete form that is saved again unchanged needs no reason: the server makes no revision.
    const changes = snapshot() !== initial || status !== def.currentStatus;
    const reasonMissing = def.requireReason && changes && reason !== null && reason.value.trim() === "";
    if (reasonBox && reasonMissing) {
      reasonBox.hidden = false;
      const box = reasonBox.querySelector(".error");
      if (box) box.textContent = "Say why this completed form changes.";
      reason?.setAttribute("aria-invalid", "true");
    }
    if (errors.length > 0 || reasonMissing) {
      e.preventDefault();
      const first = errors[0] ? fieldEls.get(errors[0].pointer.slice(1)) : reasonBox;
      first?.querySelector<HTMLElement>("input, select, textarea")?.focus();
    }
  });
  if (def.canSave) guardUnsaved(form, () => def.unsaved || snapshot() !== initial);
  const bar = form.querySelector<HTMLElement>(":scope > .actions");
  if (bar) keepRoomForSaveBar(bar);
  refresh();
}

const definitionEl = document.getElementById("edc-form-definition");
const formEl = document.querySelector<HTMLFormElement>("form[data-edc-form]");
if (definitionEl?.textContent && formEl) enhance(formEl, JSON.parse(definitionEl.textContent) as Definition);
