/**
 * The builder's definition editor: checks the edited JSON as it is typed, with
 * the same checker `npm run forms:check` and the publish API use.
 */
import { checkDefinition, type SourceFile } from "../../engine/check-definition.ts";

interface Draft {
  /** The file being edited: "study.json" or "instruments/<id>.json". */
  file: string;
  study: unknown;
  instruments: Record<string, unknown>;
}

function check(text: string, draft: Draft): string[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return [`${draft.file}: invalid JSON: ${(error as Error).message}`];
  }
  const editingStudy = draft.file === "study.json";
  const instruments: SourceFile[] = Object.entries(draft.instruments)
    .filter(([id]) => editingStudy || `instruments/${id}.json` !== draft.file)
    .map(([id, j]) => ({ path: `instruments/${id}.json`, json: j }));
  if (!editingStudy) instruments.push({ path: draft.file, json });
  const result = checkDefinition({
    study: { path: "study.json", json: editingStudy ? json : draft.study },
    instruments,
  });
  return result.errors.map((e) => `${e.file}: ${e.pointer || "(file)"}: ${e.message}`);
}

const draftEl = document.getElementById("edc-draft");
const editor = document.querySelector<HTMLTextAreaElement>("textarea[data-definition-editor]");
const out = document.getElementById("edc-live-errors");
if (draftEl?.textContent && editor && out) {
  const draft = JSON.parse(draftEl.textContent) as Draft;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const run = () => {
    const errors = check(editor.value, draft);
    out.replaceChildren(
      ...(errors.length === 0
        ? [Object.assign(document.createElement("li"), { textContent: "No errors." })]
        : errors.map((e) => Object.assign(document.createElement("li"), { textContent: e }))),
    );
    out.dataset.count = String(errors.length);
    editor.setAttribute("aria-invalid", errors.length > 0 ? "true" : "false");
  };
  editor.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(run, 250);
  });
  run();
}
