// A map (or a picture) the student points at, drawn in the browser as a plain picture with outlines on top.
// Python (ui/clickmap.py) sends the picture's address, its size on screen, the map's size, the block size of the
// click grid, the outlines and the address of the grid cells' values; this file only draws them. Under the
// pointer the cell is outlined and its row, column and value shown (no rerun); a click, or Enter on the keyboard
// after the arrow keys, reports the cell's centre pixel (the same rule as ui.clickmap.block_centre).
const VALUES = new Map(); // values' address → Promise of a Float32Array: fetched once, shared by every map

function valuesOf(url) {
  if (!url) return null;
  if (!VALUES.has(url)) {
    VALUES.set(url, fetch(url).then((r) => r.arrayBuffer()).then((b) => new Float32Array(b)).catch(() => null));
  }
  return VALUES.get(url);
}

const fmt = (v) => (Number.isFinite(v) ? String(Number(v.toFixed(4))) : "–");

export default function (component) {
  const { data: d, parentElement, setTriggerValue } = component;
  let root = parentElement.querySelector(".cnnlab-cm");
  if (!root) {
    root = document.createElement("div");
    root.className = "cnnlab-cm";
    root.tabIndex = 0;
    root.innerHTML = '<img class="cnnlab-cm-pic" alt="" draggable="false"><div class="cnnlab-cm-boxes"></div>' +
      '<div class="cnnlab-cm-hover"></div><div class="cnnlab-cm-tip" role="status"></div>';
    parentElement.appendChild(root);
  }
  const picture = root.querySelector(".cnnlab-cm-pic");
  const boxes = root.querySelector(".cnnlab-cm-boxes");
  const hover = root.querySelector(".cnnlab-cm-hover");
  const tip = root.querySelector(".cnnlab-cm-tip");

  // Its own size, or the column's width if that is narrower (a phone): everything on top is placed in percent of
  // the map, so the outlines and the clicked cell stay right at any size.
  root.style.width = `${d.width}px`;
  root.style.aspectRatio = `${d.width} / ${d.height}`;
  root.setAttribute("aria-label", d.labels.aria || "");
  if (picture.getAttribute("src") !== d.src) picture.setAttribute("src", d.src); // same address: no reload

  const rows = Math.ceil(d.H / d.b);
  const cols = Math.ceil(d.W / d.b);
  const place = (node, top, left, height, width) => {
    node.style.top = `${(100 * top) / d.H}%`;
    node.style.left = `${(100 * left) / d.W}%`;
    node.style.height = `${(100 * height) / d.H}%`;
    node.style.width = `${(100 * width) / d.W}%`;
  };

  boxes.replaceChildren();
  for (const box of d.boxes) {
    const node = document.createElement("div");
    node.className = "cnnlab-cm-box";
    node.style.borderColor = box.color;
    place(node, box.top, box.left, box.height, box.width);
    boxes.appendChild(node);
  }

  const values = valuesOf(d.values);
  let cursor = null; // [i, j]: the grid cell under the pointer or the keyboard's cursor
  const centre = (index, n) => Math.min(index * d.b + Math.floor(d.b / 2), n - 1);

  function placeTip(i, j) {
    // Under the cell, or above it near the bottom edge; within the map's width whenever the tip fits in it.
    const { width, height } = root.getBoundingClientRect();
    const sx = width / d.W; // screen pixels per map pixel, as drawn now
    const sy = height / d.H;
    const below = (i + 1) * d.b * sy + 4;
    tip.style.top = below + 24 > height ? "" : `${below}px`;
    tip.style.bottom = below + 24 > height ? `${height - i * d.b * sy + 4}px` : "";
    tip.style.left = `${Math.max(0, Math.min(j * d.b * sx, width - tip.offsetWidth))}px`;
  }
  function show(i, j, fromKeyboard) {
    cursor = [i, j];
    place(hover, i * d.b, j * d.b, Math.min(d.b, d.H - i * d.b), Math.min(d.b, d.W - j * d.b));
    hover.style.display = "block";
    const text = `${d.labels.row} ${centre(i, d.H)} · ${d.labels.col} ${centre(j, d.W)}`;
    tip.textContent = text;
    tip.style.display = "block";
    placeTip(i, j);
    if (values) {
      values.then((v) => {
        if (v && cursor && cursor[0] === i && cursor[1] === j) {
          tip.textContent = `${text} · ${d.labels.value} ${fmt(v[i * cols + j])}`;
          placeTip(i, j); // wider now
        }
      });
    }
    if (fromKeyboard) tip.setAttribute("aria-live", "polite");
  }
  function hide() {
    cursor = null;
    hover.style.display = "none";
    tip.style.display = "none";
  }
  function cellAt(event) {
    const rect = root.getBoundingClientRect();
    const x = ((event.clientX - rect.left) / rect.width) * d.W;
    const y = ((event.clientY - rect.top) / rect.height) * d.H;
    if (x < 0 || y < 0 || x >= d.W || y >= d.H) return null;
    return [Math.floor(y / d.b), Math.floor(x / d.b)];
  }
  function pick(i, j) {
    setTriggerValue("cell", { row: centre(i, d.H), col: centre(j, d.W) });
  }

  const onMove = (event) => {
    const cell = cellAt(event);
    if (cell) show(cell[0], cell[1], false); else hide();
  };
  const onClick = (event) => {
    const cell = cellAt(event);
    if (cell) pick(cell[0], cell[1]);
  };
  const onKey = (event) => {
    const steps = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    const chosen = d.chosen || [0, 0];
    const start = cursor || [Math.floor(chosen[0] / d.b), Math.floor(chosen[1] / d.b)];
    if (event.key in steps) {
      const [di, dj] = steps[event.key];
      show(Math.min(Math.max(start[0] + di, 0), rows - 1), Math.min(Math.max(start[1] + dj, 0), cols - 1), true);
      event.preventDefault();
    } else if (event.key === "Enter" || event.key === " ") {
      pick(start[0], start[1]);
      event.preventDefault();
    }
  };
  root.addEventListener("pointermove", onMove);
  root.addEventListener("pointerleave", hide);
  root.addEventListener("click", onClick);
  root.addEventListener("keydown", onKey);
  root.addEventListener("blur", hide);
  return () => {
    root.removeEventListener("pointermove", onMove);
    root.removeEventListener("pointerleave", hide);
    root.removeEventListener("click", onClick);
    root.removeEventListener("keydown", onKey);
    root.removeEventListener("blur", hide);
  };
}
