// The stride & padding step-through, drawn in the browser: the window slides with no rerun per frame.
// Python sends the padded grid, the output sums (computed by cnn_core) and the settings; this file only draws
// them, plays them, and reports the position back when the student stops, clicks or lets go of the slider.
export default function (component) {
  const { data, parentElement, setStateValue } = component;
  const d = data;
  const root = parentElement.querySelector(".stepper") || document.createElement("div");
  root.className = "stepper";
  root.replaceChildren();
  parentElement.appendChild(root);

  const last = d.rows * d.cols - 1;
  let position = Math.min(Math.max(d.position, 0), last);
  let timer = null;

  const el = (tag, cls, text) => {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  };
  const fmt = (v) => (Number.isInteger(v) ? String(v) : v.toFixed(2));

  // Controls: play / pause, speed, previous / next, a position slider that follows the drag.
  const bar = el("div", "bar");
  const back = el("button", "btn", "◀");
  const play = el("button", "btn play", "▶ " + d.labels.play);
  const forward = el("button", "btn", "▶");
  const speed = el("select", "speed");
  for (const [value, name] of [[1200, "0.5×"], [600, "1×"], [300, "2×"], [120, "5×"]]) {
    const option = el("option", "", name);
    option.value = String(value);
    if (value === 600) option.selected = true;
    speed.appendChild(option);
  }
  const slider = el("input", "slider");
  slider.type = "range";
  slider.min = "0";
  slider.max = String(last);
  slider.value = String(position);
  slider.setAttribute("aria-label", d.labels.position);
  const where = el("span", "where");
  bar.append(back, play, forward, speed, slider, where);
  root.appendChild(bar);

  // The two grids.
  const grids = el("div", "grids");
  const inputBox = el("div", "box");
  const outputBox = el("div", "box");
  inputBox.appendChild(el("div", "caption", d.labels.input));
  outputBox.appendChild(el("div", "caption", d.labels.output));
  const size = d.numbers ? 26 : Math.max(6, Math.min(14, Math.floor(420 / d.grid.length)));
  const makeGrid = (rows, cols) => {
    const grid = el("div", "grid");
    grid.style.gridTemplateColumns = `repeat(${cols}, ${size}px)`;
    grid.style.gridAutoRows = `${size}px`;
    grid.style.fontSize = d.numbers ? "14px" : "0";
    return grid;
  };
  const N = d.grid.length;
  const inputGrid = makeGrid(N, N);
  const inputCells = [];
  for (let r = 0; r < N; r++) {
    for (let c = 0; c < N; c++) {
      const pad = r < d.padding || c < d.padding || r >= N - d.padding || c >= N - d.padding;
      const cell = el("div", pad ? "cell pad" : "cell", d.numbers ? fmt(d.grid[r][c]) : undefined);
      inputGrid.appendChild(cell);
      inputCells.push(cell);
    }
  }
  const outputGrid = makeGrid(d.rows, d.cols);
  const outputCells = [];
  for (let i = 0; i < d.rows; i++) {
    for (let j = 0; j < d.cols; j++) {
      const cell = el("div", "cell out", "");
      const index = i * d.cols + j;
      cell.title = `(${i}, ${j})`;
      cell.addEventListener("click", () => { stop(); show(index); report(); });
      outputGrid.appendChild(cell);
      outputCells.push(cell);
    }
  }
  inputBox.appendChild(inputGrid);
  outputBox.appendChild(outputGrid);
  grids.append(inputBox, outputBox);
  root.appendChild(grids);
  const sum = el("div", "sum");
  root.appendChild(sum);

  function windowCells(i, j) {
    const cells = [];
    for (let a = 0; a < d.kernel; a++)
      for (let b = 0; b < d.kernel; b++) cells.push([i * d.stride + a * d.dilation, j * d.stride + b * d.dilation]);
    return cells;
  }

  function show(index) {
    position = Math.min(Math.max(index, 0), last);
    const i = Math.floor(position / d.cols), j = position % d.cols;
    for (const cell of inputCells) cell.classList.remove("win");
    const covered = windowCells(i, j);
    for (const [r, c] of covered) inputCells[r * N + c].classList.add("win");
    outputCells.forEach((cell, k) => {
      cell.classList.toggle("filled", k <= position);
      cell.classList.toggle("now", k === position);
      const oi = Math.floor(k / d.cols), oj = k % d.cols;
      cell.textContent = d.numbers && k <= position ? fmt(d.output[oi][oj]) : "";
    });
    const terms = covered.slice(0, 25).map(([r, c]) => fmt(d.grid[r][c])).join(" + ");
    sum.textContent = `${d.labels.output_cell} (${i}, ${j}) = ${terms}${covered.length > 25 ? " + …" : ""} = ${fmt(d.output[i][j])}`;
    slider.value = String(position);
    where.textContent = `${position + 1} / ${last + 1}`;
    back.disabled = position === 0;
    forward.disabled = position === last;
  }

  function report() { setStateValue("position", position); }
  function stop() {
    if (timer !== null) { clearInterval(timer); timer = null; play.textContent = "▶ " + d.labels.play; report(); }
  }
  function start() {
    if (position === last) show(0);
    play.textContent = "⏸ " + d.labels.pause;
    timer = setInterval(() => { if (position >= last) stop(); else show(position + 1); }, Number(speed.value));
  }
  play.addEventListener("click", () => (timer === null ? start() : stop()));
  speed.addEventListener("change", () => { if (timer !== null) { clearInterval(timer); timer = null; start(); } });
  back.addEventListener("click", () => { stop(); show(position - 1); report(); });
  forward.addEventListener("click", () => { stop(); show(position + 1); report(); });
  slider.addEventListener("input", () => { stop(); show(Number(slider.value)); });  // live while dragging
  slider.addEventListener("change", report);
  show(position);
  return () => { if (timer !== null) clearInterval(timer); };
}
