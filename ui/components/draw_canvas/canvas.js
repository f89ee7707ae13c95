// A drawing pad: black ink on white with a round pen; after every stroke the picture goes to Python as a PNG
// data URL (state value "png"), so a rerun or a page switch keeps it. No build step, no libraries.
export default function ({ parentElement, data, setStateValue }) {
  const canvas = parentElement.querySelector("canvas");
  const clear = parentElement.querySelector(".clear");
  parentElement.querySelector(".hint").textContent = data.hint;
  clear.textContent = data.clear;
  canvas.setAttribute("aria-label", data.hint);
  if (canvas.dataset.ready) return; // already wired up: Streamlit calls us again when data changes
  canvas.dataset.ready = "1";

  const pen = canvas.getContext("2d");
  const blank = () => { pen.fillStyle = "#fff"; pen.fillRect(0, 0, canvas.width, canvas.height); };
  blank();
  if (data.png) { // a remount (e.g. after a page switch): show the drawing Python still has
    const picture = new Image();
    picture.onload = () => pen.drawImage(picture, 0, 0, canvas.width, canvas.height);
    picture.src = data.png;
  }
  pen.lineCap = "round";
  pen.lineJoin = "round";
  pen.strokeStyle = "#000";
  pen.lineWidth = data.pen;

  let last = null;
  const at = (event) => { // pointer position in canvas pixels (the canvas may be shown scaled)
    const box = canvas.getBoundingClientRect();
    return [(event.clientX - box.left) * canvas.width / box.width,
            (event.clientY - box.top) * canvas.height / box.height];
  };
  const line = (from, to) => {
    pen.beginPath(); pen.moveTo(...from); pen.lineTo(...to); pen.stroke();
  };
  const down = (event) => {
    canvas.setPointerCapture(event.pointerId);
    last = at(event);
    line(last, last); // a tap leaves a dot
    event.preventDefault();
  };
  const move = (event) => {
    if (!last) return;
    const next = at(event);
    line(last, next);
    last = next;
    event.preventDefault();
  };
  const up = () => {
    if (!last) return;
    last = null;
    setStateValue("png", canvas.toDataURL("image/png"));
  };
  const wipe = () => { blank(); setStateValue("png", null); };
  canvas.addEventListener("pointerdown", down);
  canvas.addEventListener("pointermove", move);
  canvas.addEventListener("pointerup", up);
  canvas.addEventListener("pointercancel", up);
  clear.addEventListener("click", wipe);
  return () => {
    canvas.removeEventListener("pointerdown", down);
    canvas.removeEventListener("pointermove", move);
    canvas.removeEventListener("pointerup", up);
    canvas.removeEventListener("pointercancel", up);
    clear.removeEventListener("click", wipe);
    delete canvas.dataset.ready;
  };
}
