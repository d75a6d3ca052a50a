/**
 * The drawing pad of a signature field: mouse, finger or pen (pointer
 * events) draw on a canvas; each finished stroke turns the drawing into a PNG
 * file put into the field's file input, so the form's ordinary multipart save
 * uploads it. The file input stays usable: a keyboard user uploads an image.
 */

const INK = "#000";
const FILE_NAME = "signature.png";

function enhancePad(pad: HTMLElement): void {
  const input = pad.closest("[data-file]")?.querySelector<HTMLInputElement>("input[type=file]");
  const canvas = pad.querySelector("canvas");
  const clear = pad.querySelector<HTMLButtonElement>("[data-signature-clear]");
  const state = pad.querySelector<HTMLElement>("[data-signature-state]");
  const ink = canvas?.getContext("2d");
  // Without a way to hand the browser a file, the pad would draw what nobody saves.
  if (!input || !canvas || !ink || typeof DataTransfer === "undefined") return;
  pad.hidden = false;
  ink.lineWidth = 2.5;
  ink.lineCap = "round";
  ink.lineJoin = "round";
  ink.strokeStyle = INK;
  ink.fillStyle = INK;
  let drawing = false;
  let drawn = false;
  const say = (text: string) => {
    if (state) state.textContent = text;
  };
  // The canvas is drawn at its own resolution whatever size the page shows it at.
  const at = (e: PointerEvent): [number, number] => {
    const box = canvas.getBoundingClientRect();
    return [
      ((e.clientX - box.left) * canvas.width) / box.width,
      ((e.clientY - box.top) * canvas.height) / box.height,
    ];
  };
  const announce = (target: HTMLInputElement) => target.dispatchEvent(new Event("change", { bubbles: true }));
  const keep = () =>
    canvas.toBlob((blob) => {
      if (!blob) return;
      const files = new DataTransfer();
      files.items.add(new File([blob], FILE_NAME, { type: "image/png" }));
      input.files = files.files;
      announce(input);
      say("Signature drawn: it is saved with the form.");
    }, "image/png");
  const wipe = () => {
    ink.clearRect(0, 0, canvas.width, canvas.height);
    drawn = false;
  };

  canvas.addEventListener("pointerdown", (e) => {
    e.preventDefault();
    drawing = true;
    canvas.setPointerCapture(e.pointerId);
    const [x, y] = at(e);
    // A tap leaves a dot, as ink would.
    ink.beginPath();
    ink.arc(x, y, ink.lineWidth / 2, 0, 2 * Math.PI);
    ink.fill();
    ink.beginPath();
    ink.moveTo(x, y);
    drawn = true;
  });
  canvas.addEventListener("pointermove", (e) => {
    if (!drawing) return;
    for (const point of e.getCoalescedEvents?.() ?? [e]) {
      const [x, y] = at(point);
      ink.lineTo(x, y);
    }
    ink.stroke();
  });
  const end = () => {
    if (!drawing) return;
    drawing = false;
    if (drawn) keep();
  };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);
  clear?.addEventListener("click", () => {
    wipe();
    input.value = "";
    announce(input);
    say("Signature cleared.");
  });
  // An image chosen by hand replaces the drawing (the pad's own file arrives untrusted).
  input.addEventListener("change", (e) => {
    if (e.isTrusted && drawn) {
      wipe();
      say("The chosen image replaces the drawing.");
    }
  });
}

export function enhanceSignaturePads(form: HTMLFormElement): void {
  for (const pad of form.querySelectorAll<HTMLElement>("[data-signature-pad]")) enhancePad(pad);
}
