// After a lesson's "Try it": scroll to the figure the click changed and outline it briefly, so the student sees
// what the new settings did (not only the top of the experiment, with the change below the fold).
//
// Drawn on every run at the top of the experiment (ui/classroom.py experiment_anchor), so it is already loaded when
// a Try-it button is pressed. Then:
//  1. on the press (pointer or keyboard), every figure below the anchor is fingerprinted: a picture's address (an
//     st.image's src: Streamlit serves equal bytes at one address), a clickable map's src and outlines, a
//     chart's pixels (canvas) or markup (SVG);
//  2. the run that follows draws this component with data.go; from then on the figures are polled as the run
//     redraws them (figures in an st.fragment are redrawn by a full run like any other), and the first one in page
//     order whose fingerprint is new and has settled (picture loaded, chart still for a few polls) is scrolled to
//     and outlined (.cnnlab-flash, in classroom.py's CSS);
//  3. when nothing identifiable changed within FALLBACK_MS, the experiment's start is scrolled to and outlined
//     instead; a figure that changes later in a slow run is still shown, unless the student has scrolled.
// Module state (one module for every mount) carries the fingerprints from the press to the run.

const FIGURES = '[data-testid="stImage"], [data-testid="stVegaLiteChart"], .cnnlab-cm';
const POLL_MS = 100; // how often the figures are looked at while the run redraws them
const STEADY_POLLS = 3; // a chart counts as drawn once it looked the same this many polls in a row
const LAND_DELAY_MS = 300; // after the first changed figure is seen: time for earlier ones to finish drawing
const FALLBACK_MS = 1500; // nothing changed by then: go to the experiment's start
const AFTER_IDLE_MS = 1500; // the run is over: keep looking this long (pictures loading, charts drawing)
const GIVE_UP_MS = 15000;
const FLASH_MS = 2000;
const SCROLL_KEYS = new Set(["ArrowDown", "ArrowUp", "PageDown", "PageUp", "Home", "End", " "]);

let pressed = null; // {at, prints}: the figures when a Try-it button was last pressed
let handled = null; // data.n of the last Try-it acted on (a later run draws the same n again)
let generation = 0; // a newer Try-it stops the watch of an older one
let listening = false;
let sampler = null; // a small canvas that charts are shrunk into to read their pixels

function hash(values) {
  // FNV-1a over numbers (pixel bytes) or a string's char codes: a short fingerprint, no crypto needed.
  let h = 2166136261;
  const text = typeof values === "string";
  for (let i = 0; i < values.length; i++) {
    h ^= text ? values.charCodeAt(i) : values[i];
    h = Math.imul(h, 16777619) >>> 0;
  }
  return h.toString(16);
}

function canvasPrint(canvas) {
  if (!sampler) {
    sampler = document.createElement("canvas");
    sampler.width = sampler.height = 128;
  }
  const pen = sampler.getContext("2d", { willReadFrequently: true });
  pen.imageSmoothingEnabled = true;
  pen.imageSmoothingQuality = "high"; // every source pixel counts, so a moved outline changes the print
  pen.clearRect(0, 0, 128, 128);
  try {
    pen.drawImage(canvas, 0, 0, 128, 128);
    return hash(pen.getImageData(0, 0, 128, 128).data);
  } catch {
    return null; // a canvas the page may not read (it drew a picture from elsewhere): not identifiable
  }
}

// What a figure shows now: {print, ready}; print is null when it cannot be told.
function fingerprint(figure) {
  if (figure.matches('[data-testid="stImage"]')) {
    const img = figure.querySelector("img");
    if (!img) return { print: null, ready: false };
    return { print: "img " + (img.currentSrc || img.src), ready: img.complete && img.naturalWidth > 0 };
  }
  if (figure.matches(".cnnlab-cm")) { // a clickable map (clickmap.js): its picture and its outlines
    const img = figure.querySelector("img");
    const boxes = figure.querySelector(".cnnlab-cm-boxes");
    return { print: "map " + (img && img.src) + " " + (boxes ? hash(boxes.innerHTML) : ""),
             ready: !!img && img.complete && img.naturalWidth > 0 };
  }
  const canvas = figure.querySelector("canvas");
  if (canvas) {
    const print = canvas.width && canvas.height ? canvasPrint(canvas) : null;
    return { print: print && "canvas " + print, ready: true };
  }
  const svg = figure.querySelector("svg");
  return { print: svg ? "svg " + hash(svg.outerHTML) : null, ready: true };
}

function shown(element) {
  const box = element.getBoundingClientRect();
  return box.width > 0 && box.height > 0; // not in a closed expander or a hidden tab
}

// The figures of the experiment, in page order: below the anchor, in the main area (not the sidebar).
function figures(anchor) {
  const main = anchor.closest('[data-testid="stMain"]') || document;
  return [...main.querySelectorAll(FIGURES)].filter(
    (figure) => anchor.compareDocumentPosition(figure) & Node.DOCUMENT_POSITION_FOLLOWING);
}

function prints(anchor) {
  return new Set(figures(anchor).map((figure) => fingerprint(figure).print).filter(Boolean));
}

function flash(element, block) {
  element.classList.add("cnnlab-flash");
  element.scrollIntoView({ behavior: "smooth", block });
  setTimeout(() => element.classList.remove("cnnlab-flash"), FLASH_MS); // never cancelled: no outline stays
}

function land(figure) {
  const tall = figure.getBoundingClientRect().height > 0.8 * window.innerHeight;
  flash(figure, tall ? "start" : "center");
}

function landAtStart(anchor) {
  const block = anchor.closest('[data-testid="stElementContainer"]') || anchor;
  const group = block.parentElement?.closest('[data-testid="stLayoutWrapper"]') || block;
  const heading = group.nextElementSibling; // what follows: the experiment, its "Experiment" heading first
  if (heading) flash(heading, "start");
  else group.scrollIntoView({ behavior: "smooth", block: "start" });
}

function listen(selector, target) {
  if (listening) return;
  listening = true;
  const remember = (event) => {
    if (event.type === "keydown" && event.key !== "Enter" && event.key !== " ") return;
    if (!(event.target instanceof Element) || !event.target.closest(selector)) return;
    const anchor = document.getElementById(target);
    if (anchor) pressed = { at: performance.now(), prints: prints(anchor) };
  };
  document.addEventListener("pointerdown", remember, true); // capture: before Streamlit handles the click
  document.addEventListener("keydown", remember, true);
}

function watch(anchor, before, mine) {
  const app = document.querySelector('[data-testid="stApp"]');
  const start = performance.now();
  const steady = new WeakMap(); // figure → {print, polls}
  let firstSeen = 0;
  let fellBack = false;
  let idleSince = 0;
  let looks = 0; // a busy browser may run the first poll late: fall back only after looking a few times
  let moved = false; // the student scrolled: leave the page where they put it
  const onWheel = () => { moved = true; };
  const onKey = (event) => { if (SCROLL_KEYS.has(event.key)) moved = true; };
  window.addEventListener("wheel", onWheel, { capture: true, passive: true });
  window.addEventListener("touchmove", onWheel, { capture: true, passive: true });
  window.addEventListener("keydown", onKey, true);
  const timer = setInterval(poll, POLL_MS);

  function stop() {
    clearInterval(timer);
    window.removeEventListener("wheel", onWheel, true);
    window.removeEventListener("touchmove", onWheel, true);
    window.removeEventListener("keydown", onKey, true);
  }

  function changed(figure) {
    const { print, ready } = fingerprint(figure);
    const last = steady.get(figure);
    const polls = last && last.print === print ? last.polls + 1 : 1;
    steady.set(figure, { print, polls });
    if (!print || before.has(print) || !ready || !shown(figure)) return false;
    if (figure.matches('[data-testid="stImage"]')) return true;
    // A chart under the pointer redraws for the hover alone: not a change the Try-it made.
    return polls >= STEADY_POLLS && !figure.matches(":hover");
  }

  function poll() {
    const now = performance.now();
    if (mine !== generation || !anchor.isConnected || moved || now - start > GIVE_UP_MS) return stop();
    looks += 1;
    const idle = !app || app.getAttribute("data-test-script-state") === "notRunning";
    idleSince = idle ? idleSince || now : 0;
    const found = figures(anchor).filter(changed);
    if (found.length) {
      firstSeen = firstSeen || now;
      if (now - firstSeen >= LAND_DELAY_MS) {
        land(found[0]);
        stop();
      }
      return;
    }
    if (!fellBack && now - start >= FALLBACK_MS && looks >= STEADY_POLLS) {
      fellBack = true;
      landAtStart(anchor);
    }
    if (idleSince && now - idleSince > AFTER_IDLE_MS) { // the run is over and no figure changed
      if (!fellBack) landAtStart(anchor);
      stop();
    }
  }
}

export default function (component) {
  const { target, tryIt, n, go } = component.data;
  listen(tryIt, target);
  if (!go || n === handled) return;
  handled = n;
  const anchor = document.getElementById(target);
  if (!anchor) return;
  const recent = pressed && performance.now() - pressed.at < 60000;
  const before = recent ? pressed.prints : prints(anchor); // no press seen (a script clicked): the page as it is
  pressed = null;
  generation += 1;
  watch(anchor, before, generation);
}
