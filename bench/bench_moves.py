"""Server CPU per control move, control by control, on the real server (Streamlit's own websocket protocol).

One simulated browser (bench/load.py's Student) opens a page, then moves every chosen control a few times, one
step each (a slider one step, a select box to the next option, a toggle flipped, a button clicked), sending the
widget states a browser would send and the fragment the widget lives in. For each control it prints the median
server CPU of one move (from /proc of the server process: everything the server did for it, script run,
serialisation, media), the round trip and the bytes sent (websocket + pictures), then the median over the
controls. Not part of the test suite.

  .venv/bin/python bench/bench_moves.py --page batch_norm                 # starts its own server
  .venv/bin/python bench/bench_moves.py --page activations --keys act_bias,act_depth --moves 5
  .venv/bin/python bench/bench_moves.py --page convolution --warm      # after another student made the same moves
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from load import Student, cpu_seconds, pids_listening_on  # noqa: E402
from streamlit.proto.WidgetStates_pb2 import WidgetState  # noqa: E402

MOVABLE = ("slider", "select_slider", "selectbox", "radio", "number_input", "checkbox", "toggle", "button",
           "multiselect", "text_input")


def total_cpu(pids: list[int]) -> float:
    """User + system CPU seconds of the server processes so far."""
    return sum(cpu_seconds(pid) for pid in pids)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def is_select_slider(widget) -> bool:
    return widget.kind == "slider" and len(widget.proto.options) > 0


def state_of(widget, value) -> WidgetState:
    """The WidgetState a browser sends for `value` of this widget (values as the frontend holds them)."""
    kind = widget.kind
    if is_select_slider(widget) or kind == "multiselect":
        return WidgetState(id=widget.id, string_array_value={"data": list(value)})
    if kind == "slider":
        return WidgetState(id=widget.id, double_array_value={"data": list(value)})
    if kind in ("selectbox", "radio", "text_input"):
        return WidgetState(id=widget.id, string_value=value)
    if kind == "number_input":
        return WidgetState(id=widget.id, double_value=value)
    if kind == "checkbox":
        return WidgetState(id=widget.id, bool_value=value)
    return WidgetState(id=widget.id, trigger_value=True)


def current(widget):
    """The value the page shows now, as the frontend holds it."""
    proto, kind = widget.proto, widget.kind
    if is_select_slider(widget):
        return [proto.options[int(i)] for i in ((proto.set_value and proto.value) or proto.default)]
    if kind == "slider":
        return list(proto.value if proto.set_value else proto.default)
    if kind in ("selectbox", "radio"):
        if proto.set_value and proto.HasField("raw_value"):
            return proto.raw_value
        return proto.options[proto.default] if proto.HasField("default") else proto.options[0]
    if kind == "multiselect":
        return list(proto.raw_values) if proto.set_value else [proto.options[i] for i in proto.default]
    if kind in ("number_input", "checkbox", "text_input"):
        return proto.value if proto.set_value else proto.default
    return None


def next_value(widget, value, sign: int):
    """One step from `value` (bouncing at the ends); returns (new value, sign for the next step)."""
    proto, kind = widget.proto, widget.kind
    if is_select_slider(widget) or kind in ("selectbox", "radio"):
        options = list(proto.options)
        now = (value[0] if value else options[0]) if is_select_slider(widget) else value  # [] when unknown
        index = (options.index(now) if now in options else 0) + sign
        if not 0 <= index < len(options):
            sign = -sign
            index += 2 * sign
        index = min(max(index, 0), len(options) - 1)
        return ([options[index]] if is_select_slider(widget) else options[index]), sign
    if kind == "slider":
        target = value[0] + sign * proto.step
        if not proto.min <= target <= proto.max:
            sign = -sign
            target = value[0] + sign * proto.step
        return [target], sign
    if kind == "number_input":
        step = proto.step or 1
        target = value + sign * step
        low = proto.min if proto.has_min else -1e300
        high = proto.max if proto.has_max else 1e300
        if not low <= target <= high:
            sign = -sign
            target = value + sign * step
        return target, sign
    if kind == "checkbox":
        return (not value), sign
    if kind == "multiselect":
        if len(value) > 1:
            return value[:-1], sign
        return value + [o for o in proto.options if o not in value][:1], sign
    if kind == "text_input":
        return (value + " 1") if sign > 0 else value.rsplit(" ", 1)[0], -sign
    return None, sign


async def measure(url: str, page: str, keys: list[str] | None, moves: int, pids: list[int], pause: float) -> None:
    student = Student(url, page, timeout=120)
    await student.open()
    student.timeout = 30  # a move that takes longer is reported as failed, not waited for (the first run may be slow)
    await asyncio.sleep(pause)
    found = {key: w for key, w in student.widgets.items() if w.kind in MOVABLE and key == w.id.rsplit("-", 1)[1]}
    chosen = keys or sorted(found)
    sent: dict[str, WidgetState] = {}  # the browser sends every widget value it holds, not only the moved one
    figures = []
    for key in chosen:
        widget = student.widgets.get(key)
        if widget is None or widget.kind not in MOVABLE:
            print(f"{key:28s} not on the page (or not movable)")
            continue
        cpus, trips, sizes, deltas, sign = [], [], [], [], 1
        for _ in range(moves):
            widget = student.widgets[key]  # the latest delta (its range may have changed)
            value, sign = next_value(widget, current(widget) if widget.id not in sent else _held(sent[widget.id]),
                                     sign)
            state = state_of(widget, value)
            if widget.kind != "button":
                sent[widget.id] = state
            states = [s for wid, s in sent.items() if wid != widget.id] + [state]
            media_before = student.media_bytes
            cpu_before = total_cpu(pids)
            try:
                run = await student.rerun(states, widget.fragment_id)
            except Exception as error:  # counted, not fatal: the next control still gets measured
                print(f"{key:28s} move failed: {type(error).__name__}: {str(error)[:120]}")
                continue
            trips.append(time.perf_counter() - run.started)
            await asyncio.sleep(pause)  # let the server finish what it does after the run (media, session writes)
            cpus.append(total_cpu(pids) - cpu_before)
            sizes.append(run.ws_bytes + student.media_bytes - media_before)
            deltas.append(run.deltas)
        if not cpus:
            continue
        where = "fragment" if widget.fragment_id else "page"
        cpu = statistics.median(cpus) * 1000
        figures.append(cpu)
        print(f"{key:28s} {widget.kind:13s} {where:8s} server CPU {cpu:6.0f} ms/move   round trip "
              f"{statistics.median(trips) * 1000:6.0f} ms   {statistics.median(sizes) / 1024:7.1f} kB/move   "
              f"{statistics.median(deltas):4.0f} deltas", flush=True)
    if figures:
        print(f"median over {len(figures)} controls: {statistics.median(figures):.0f} ms server CPU per move")
    await student.close()


def _held(state: WidgetState):
    kind = state.WhichOneof("value")
    value = getattr(state, kind)
    return list(value.data) if kind in ("double_array_value", "string_array_value") else value


def wait_until_up(url: str, seconds: float = 120) -> None:
    """Poll /_stcore/health until the new server answers (it can take a while on a busy machine)."""
    import requests

    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            if requests.get(f"{url}/_stcore/health", timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.5)
    raise SystemExit(f"no server at {url} after {seconds:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running app; default: start one on a free port")
    parser.add_argument("--page", default="receptive_field", help="URL path, optionally with ?query")
    parser.add_argument("--keys", help="comma-separated widget keys (default: every keyed control on the page)")
    parser.add_argument("--moves", type=int, default=4)
    parser.add_argument("--pause", type=float, default=0.3, help="seconds after each run before reading the CPU")
    parser.add_argument("--warm", action="store_true",
                        help="make the same moves once first (another student before you): the caches are shared, "
                             "so this measures a class on one picture, not its first student")
    args = parser.parse_args()
    server = None
    url = args.url
    if url is None:
        port = free_port()
        server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                                   "--server.headless", "true", "--server.fileWatcherType", "none"], cwd=ROOT,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        wait_until_up(url)
    try:
        port = int(url.rsplit(":", 1)[1].split("/")[0])
        pids = pids_listening_on(port)
        page = args.page if "lang=" in args.page else args.page + ("&" if "?" in args.page else "?") + "lang=en"
        print(f"{url}/{page}: server processes {pids}")
        keys = args.keys.split(",") if args.keys else None
        if args.warm:
            print("warming up: the same moves once, unmeasured")
            with open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):
                asyncio.run(measure(url, page, keys, args.moves, pids, args.pause))
        asyncio.run(measure(url, page, keys, args.moves, pids, args.pause))
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()


if __name__ == "__main__":
    main()
