"""Load benchmark: N simulated students on one page, speaking Streamlit 1.67's own protocol.

Each student does what the browser does: GET the page and /_stcore/health (which sets the XSRF cookie), open the
websocket /_stcore/stream (subprotocols "streamlit" + XSRF token), send a rerun BackMsg, rebuild what it needs of
the delta tree from the ForwardMsgs (widgets by key, the fragment a widget lives in, exception elements), keep the
browser's ForwardMsg cache (hashes sent back, ref_hash messages resolved, entries aged out after
maxCachedMessageAge runs), and fetch every new /media/ picture over HTTP as soon as its delta arrives. Then it
moves one slider every --interval seconds (sweeping min → max → min, one step per move).

Round trip of a move = BackMsg sent → script_finished (full or fragment run) received and every new picture of
that run downloaded. Server CPU comes from /proc/<pid>/stat of the server processes (found by the port of --url, or
given with --server-pid), so it includes everything the process did meanwhile (websocket, media, idle work).

Run (a server must be running):
  .venv/bin/python bench/load.py --url http://127.0.0.1:8611 --page stride_padding --slider-key sp_kernel \
      --sessions 1,10,20,40 --moves 10 --interval 3
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

SCRIPT_DONE = (ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# Media downloads run in threads (requests is blocking); a browser opens up to 6 connections per host.
HTTP = ThreadPoolExecutor(max_workers=64)


# ---------- the server processes, seen through /proc ----------

def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (fields 14 and 15 of /proc/<pid>/stat)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def rss_mb(pid: int) -> tuple[float, float]:
    """(current, peak) resident memory of a process in MB, from /proc/<pid>/status."""
    values = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                values[name] = int(rest.split()[0]) / 1024
    return values.get("VmRSS", 0.0), values.get("VmHWM", 0.0)


def pids_listening_on(port: int) -> list[int]:
    """The processes holding a listening TCP socket on `port` (the app server behind --url)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as lines:
                for line in list(lines)[1:]:
                    parts = line.split()
                    if int(parts[1].rsplit(":", 1)[1], 16) == port and parts[3] == "0A":  # 0A = LISTEN
                        inodes.add(parts[9])
        except FileNotFoundError:
            continue
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            links = {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
        except OSError:
            continue
        if any(f"socket:[{inode}]" in links for inode in inodes):
            pids.append(int(pid))
    return pids


class CpuMeter:
    """CPU seconds of a set of processes, sampled every second so a process killed mid-run keeps its share."""

    def __init__(self, pids: list[int]):
        self.last = dict.fromkeys(pids, 0.0)
        self.sample()

    def sample(self) -> float:
        for pid in self.last:
            try:
                self.last[pid] = cpu_seconds(pid)
            except FileNotFoundError:  # killed (the classroom test): its last sample stands
                pass
        return sum(self.last.values())

    async def keep_sampling(self) -> None:
        while True:
            await asyncio.sleep(1)
            self.sample()


# ---------- one simulated student ----------

@dataclass
class Widget:
    id: str
    kind: str
    proto: object
    fragment_id: str


@dataclass
class Run:
    """What one rerun produced, as the browser would see it."""
    started: float
    done: asyncio.Future
    media: list = field(default_factory=list)  # download tasks
    exceptions: list = field(default_factory=list)
    ws_bytes: int = 0
    deltas: int = 0  # elements and blocks the browser must render (its cost grows with them: ~2 ms each here)
    media_urls: list = field(default_factory=list)


class Student:
    def __init__(self, base_url: str, page: str, timeout: float = 60.0, reconnect: bool = False):
        self.base = base_url.rstrip("/")
        self.path, _, self.query_string = page.lstrip("/").partition("?")
        self.timeout, self.reconnect = timeout, reconnect
        self.http = requests.Session()
        self.http.trust_env = False  # never send loopback traffic through a proxy from the environment
        self.http.mount("http://", requests.adapters.HTTPAdapter(pool_connections=1, pool_maxsize=6))
        self.ws = None
        self.reader = None
        self.run: Run | None = None
        self.widgets: dict[str, Widget] = {}  # user key (and label) → the widget's latest delta
        self.values: dict[str, float] = {}  # widget id → the value this student set
        self.page_script_hash = ""
        self.session_ids: list[str] = []  # one per new session the server started for us
        self.fetched: set[str] = set()
        self.cache: dict[str, list] = {}  # ForwardMsg hash → [message, run count when last used, fragment id]
        self.run_count = 0
        self.max_cache_age = 2
        self.media_bytes = 0
        self.reconnects = 0
        self.rerun_on_reconnect: asyncio.Task | None = None
        self._reconnecting: asyncio.Task | None = None
        self.connected = asyncio.Event()
        self.dropped_at = 0.0
        self.recoveries: list[float] = []  # seconds from a dropped websocket to a finished run on the new one
        self.reconnected_after: list[float] = []  # seconds from a dropped websocket to the new one being open
        self.moved_at: list[float] = []  # when each successful move finished
        self.errors: list[tuple[float, str]] = []  # (when, what) for each failed move

    def cookie(self, name: str) -> str | None:
        return next((c.value for c in self.http.cookies if c.name == name), None)

    # --- HTTP, as the browser's fetches ---

    def _get(self, path: str) -> bytes:
        response = self.http.get(self.base + path, timeout=self.timeout)
        response.raise_for_status()
        return response.content

    async def get(self, path: str) -> bytes:
        return await asyncio.get_running_loop().run_in_executor(HTTP, self._get, path)

    async def _fetch_media(self, url: str) -> None:
        self.media_bytes += len(await self.get(url))

    # --- the websocket ---

    async def open(self) -> Run:
        """Load the page like a browser and wait until its first script run is finished and drawn."""
        await self.get(f"/{self.path}" + (f"?{self.query_string}" if self.query_string else ""))
        await self._connect()
        return await self.rerun()

    async def _connect(self) -> None:
        await self.get("/_stcore/health")  # the browser pings health first; it also sets the XSRF cookie
        await self.get("/_stcore/host-config")
        xsrf = self.cookie("_streamlit_xsrf") or "PLACEHOLDER_AUTH_TOKEN"
        protocols = ["streamlit", xsrf] + self.session_ids[-1:]  # a reconnect asks for its old session back
        origin = self.base
        cookie = "; ".join(f"{name}={value}" for name, value in self.http.cookies.items())
        self.ws = await connect(self.base.replace("http", "ws", 1) + "/_stcore/stream", subprotocols=protocols,
                                origin=origin, additional_headers={"Cookie": cookie}, proxy=None, max_size=None,
                                open_timeout=self.timeout)
        for header in self.ws.response.headers.get_all("Set-Cookie"):  # e.g. nginx re-pinning us to a live process
            name, _, value = header.split(";", 1)[0].partition("=")
            requests.cookies.remove_cookie_by_name(self.http.cookies, name.strip())
            self.http.cookies.set(name.strip(), value.strip(), domain=urlsplit(self.base).hostname, path="/")
        self.reader = asyncio.create_task(self._read())
        self.connected.set()

    async def _read(self) -> None:
        try:
            async for data in self.ws:
                try:
                    self._handle(data)
                except Exception as error:  # a message we cannot use (e.g. a cache miss) fails the run, not us
                    if self.run and not self.run.done.done():
                        self.run.done.set_exception(error)
        except ConnectionClosed:
            pass
        self.connected.clear()
        if self.reconnect:  # not when we close it ourselves
            self.dropped_at = time.perf_counter()
        if self.run and not self.run.done.done():
            self.run.done.set_exception(ConnectionError("the websocket closed during a script run"))
        if self.reconnect:
            self._reconnecting = asyncio.get_running_loop().create_task(self._reconnect())

    async def _reconnect(self) -> None:
        """What the browser does when its websocket drops: ping health until it answers, reconnect, rerun."""
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            try:
                await self._connect()
                break
            except Exception:
                await asyncio.sleep(0.5)
        else:
            return
        self.reconnects += 1
        self.reconnected_after.append(time.perf_counter() - self.dropped_at)
        # The browser reruns at once, sending the widget values it holds (here: the slider this student moved).
        states = [WidgetState(id=wid, double_array_value={"data": [v]}) for wid, v in self.values.items()]

        async def rerun_and_time() -> None:
            await self.rerun(states)
            self.recoveries.append(time.perf_counter() - self.dropped_at)

        self.rerun_on_reconnect = asyncio.get_running_loop().create_task(rerun_and_time())

    def _handle(self, data: bytes) -> None:
        msg = ForwardMsg()
        msg.ParseFromString(data)
        if self.run:
            self.run.ws_bytes += len(data)
        kind = msg.WhichOneof("type")
        if kind == "ref_hash":  # the server knows we cached this message: use our copy with the new metadata
            cached = self.cache[msg.ref_hash]
            cached[1] = self.run_count
            metadata = msg.metadata
            msg = ForwardMsg()
            msg.CopyFrom(cached[0])
            msg.metadata.CopyFrom(metadata)
            kind = msg.WhichOneof("type")
        elif msg.metadata.cacheable and msg.hash:
            self.cache.setdefault(msg.hash, [msg, self.run_count, msg.delta.fragment_id])
        if kind == "new_session":
            self.page_script_hash = msg.new_session.page_script_hash
            self.max_cache_age = msg.new_session.config.max_cached_message_age or 2
            session_id = msg.new_session.initialize.session_id
            if session_id and session_id not in self.session_ids:
                self.session_ids.append(session_id)
        elif kind == "navigation":  # with st.navigation, this names the page actually shown
            self.page_script_hash = msg.navigation.page_script_hash
        elif kind == "page_info_changed":
            self.query_string = msg.page_info_changed.query_string
        if kind == "delta" and self.run:
            self.run.deltas += 1
        if kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            self._element(msg.delta.new_element, msg.delta.fragment_id)
        elif kind == "script_finished":
            self._finished(msg)

    def _element(self, element, fragment_id: str) -> None:
        kind = element.WhichOneof("type")
        proto = getattr(element, kind)
        if kind == "exception" and self.run:
            self.run.exceptions.append(f"{proto.type}: {proto.message}")
        elif kind == "imgs" and self.run:
            for image in proto.imgs:
                if image.url.startswith("/media/") and image.url not in self.fetched:
                    self.fetched.add(image.url)
                    self.run.media_urls.append(image.url)
                    task = asyncio.get_running_loop().create_task(self._fetch_media(image.url))
                    task.add_done_callback(lambda t: t.cancelled() or t.exception())  # seen by rerun(), if awaited
                    self.run.media.append(task)
        widget_id = getattr(proto, "id", "") if kind != "imgs" else ""
        if widget_id.startswith("$$ID-"):
            widget = Widget(widget_id, kind, proto, fragment_id)
            self.widgets[widget_id.rsplit("-", 1)[1]] = widget  # the user key ends the id: $$ID-<hash>-<key>
            if getattr(proto, "label", ""):
                self.widgets[proto.label] = widget

    def _finished(self, msg: ForwardMsg) -> None:
        status = msg.script_finished
        if status != ForwardMsg.FINISHED_EARLY_FOR_RERUN:  # the browser ages its message cache per finished run
            self.run_count += 1
            fragments = set(msg.metadata.run.fragment_ids)
            for key, (_, used, fragment) in list(self.cache.items()):
                if fragments and fragment not in fragments:
                    continue
                if self.run_count - used > self.max_cache_age:
                    del self.cache[key]
        if not self.run or self.run.done.done():
            return
        if status in SCRIPT_DONE:
            self.run.done.set_result(status)
        elif status == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
            self.run.done.set_exception(RuntimeError("the script did not compile"))

    async def rerun(self, widget_states: list[WidgetState] = (), fragment_id: str = "") -> Run:
        """Send one rerun BackMsg and wait until the run is finished and its new pictures are downloaded."""
        back = BackMsg()
        state = back.rerun_script
        state.query_string = self.query_string
        state.page_script_hash = self.page_script_hash
        if not self.page_script_hash:  # the first run names the page by its URL path, as the browser does
            state.page_name = self.path
        state.fragment_id = fragment_id
        state.widget_states.widgets.extend(widget_states)
        state.cached_message_hashes.extend(self.cache)
        info = state.context_info
        info.timezone, info.timezone_offset, info.locale = "UTC", 0, "en-US"
        info.url, info.is_embedded, info.color_scheme = f"{self.base}/{self.path}", False, "light"
        loop = asyncio.get_running_loop()
        self.run = run = Run(time.perf_counter(), loop.create_future())
        run.done.add_done_callback(lambda done: done.cancelled() or done.exception())  # no "never retrieved" noise
        await self.ws.send(back.SerializeToString())
        await asyncio.wait_for(asyncio.shield(run.done), self.timeout)
        await asyncio.wait_for(asyncio.gather(*run.media), self.timeout)
        if run.exceptions:
            raise RuntimeError("exception element: " + run.exceptions[0])
        return run

    async def move(self, key: str, step_sign: int) -> tuple[float, int, int]:
        """Move slider `key` one step (up if step_sign > 0, bouncing at the ends).

        Returns (round trip in s, bytes received: websocket + pictures, the step sign for the next move).
        """
        await asyncio.wait_for(self.connected.wait(), self.timeout)  # a dropped websocket is being reconnected
        pending, self.rerun_on_reconnect = self.rerun_on_reconnect, None
        if pending is not None:  # after a reconnect the browser's own rerun comes first
            await pending
        widget = self.widgets.get(key)
        if widget is None or widget.kind != "slider":
            raise KeyError(f"no slider with key or label {key!r} on the page (seen: {sorted(self.widgets)})")
        slider = widget.proto
        current = self.values.get(widget.id, (slider.value if slider.set_value else slider.default)[0])
        target = current + step_sign * slider.step
        if not slider.min <= target <= slider.max:
            step_sign = -step_sign
            target = current + step_sign * slider.step
        self.values[widget.id] = target
        media_before = self.media_bytes
        run = await self.rerun([WidgetState(id=widget.id, double_array_value={"data": [target]})],
                               widget.fragment_id)
        return time.perf_counter() - run.started, run.ws_bytes + self.media_bytes - media_before, step_sign

    async def close(self) -> None:
        self.reconnect = False
        for task in (self._reconnecting, self.rerun_on_reconnect):
            if task is not None:
                task.cancel()
        if self.ws is not None:
            await self.ws.close()
        if self.reader is not None:
            await asyncio.gather(self.reader, return_exceptions=True)
        self.http.close()


# ---------- a class of N students ----------

def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0–100) by linear interpolation, like numpy's default."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


async def run_class(args, n: int, pids: list[int], during=None) -> dict:
    """Open n sessions, let each move the slider args.moves times every args.interval s; return the figures.

    `during(students)`, if given, is awaited alongside the moves (the classroom's kill-one-process test).
    """
    rng = random.Random(n)
    students = [Student(args.url, args.page, args.timeout, reconnect=during is not None) for _ in range(n)]
    errors: list[str] = []

    async def arrive(index: int, student: Student) -> float | None:
        await asyncio.sleep(index * args.arrival)  # students arrive one after another, not in one instant
        start = time.perf_counter()
        try:
            await student.open()
            return time.perf_counter() - start
        except Exception as error:  # counted and reported, never fatal: this is a load test
            errors.append(f"open: {type(error).__name__}: {error}")
            return None

    opened = await asyncio.gather(*(arrive(i, s) for i, s in enumerate(students)))
    live = [s for s, t in zip(students, opened, strict=True) if t is not None]
    round_trips, sizes = [], []

    async def keep_moving(student: Student) -> None:
        await asyncio.sleep(rng.uniform(0, args.interval))  # students do not move in lockstep
        sign, next_move = 1, time.perf_counter()
        for _ in range(args.moves):
            try:
                seconds, size, sign = await student.move(args.slider_key, sign)
                round_trips.append(seconds)
                sizes.append(size)
                student.moved_at.append(time.perf_counter())
            except Exception as error:
                errors.append(f"move: {type(error).__name__}: {error}")
                student.errors.append((time.perf_counter(), f"{type(error).__name__}: {error}"))
            next_move += args.interval
            await asyncio.sleep(max(0.0, next_move - time.perf_counter()))

    meter, start, client_before = CpuMeter(pids), time.perf_counter(), time.process_time()
    cpu_before, sampler = meter.sample(), asyncio.create_task(meter.keep_sampling())
    await asyncio.gather(*[keep_moving(s) for s in live], *([during(live)] if during else []))
    sampler.cancel()
    cpu, wall = meter.sample() - cpu_before, time.perf_counter() - start
    client_busy = (time.process_time() - client_before) / wall  # near 1: this one-threaded client is the bottleneck
    memory = {pid: rss_mb(pid) for pid in pids if os.path.exists(f"/proc/{pid}")}
    figures = {
        "n": n, "moves": len(round_trips), "errors": len(errors), "error_examples": sorted(set(errors))[:3],
        "open_median_s": statistics.median([t for t in opened if t is not None] or [float("nan")]),
        "median_s": statistics.median(round_trips) if round_trips else float("nan"),
        "p95_s": percentile(round_trips, 95), "max_s": max(round_trips, default=float("nan")),
        "cpu_s_per_move": cpu / max(1, len(round_trips)), "cpu_busy": cpu / wall, "client_busy": client_busy,
        "kb_per_move": statistics.median(sizes) / 1024 if sizes else float("nan"),
        "rss_mb": {pid: round(now) for pid, (now, _) in memory.items()},
        "peak_rss_mb": {pid: round(peak) for pid, (_, peak) in memory.items()},
        "reconnects": sum(s.reconnects for s in live),
        "fresh_sessions": sum(len(s.session_ids) > 1 for s in live),
        # Which process nginx pinned each student to (the cnnlab_route cookie of scripts/serve.sh), if any.
        "routes": dict(sorted(Counter(s.cookie("cnnlab_route") or "-" for s in live).items())),
    }
    await asyncio.gather(*(s.close() for s in students), return_exceptions=True)
    return figures


def describe(f: dict) -> str:
    rss = ", ".join(f"{mb} MB" for mb in f["rss_mb"].values())
    line = (f"N={f['n']:>3}  moves {f['moves']:>4}  median {f['median_s'] * 1000:7.0f} ms  p95 {f['p95_s'] * 1000:7.0f} ms"
            f"  max {f['max_s'] * 1000:7.0f} ms  errors {f['errors']}  server CPU {f['cpu_s_per_move']:.3f} s/move"
            f" (busy {f['cpu_busy']:.2f} cores)  {f['kb_per_move']:.0f} kB/move  first load {f['open_median_s']:.2f} s"
            f"  RSS {rss}  (this client: {f['client_busy']:.2f} cores)")
    if f["error_examples"]:
        line += "\n       e.g. " + " | ".join(f["error_examples"])
    return line


def arg_parser(description: str = __doc__) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8501", help="the app (or nginx in front of it)")
    parser.add_argument("--page", default="stride_padding", help="URL path of the page, optionally with ?query")
    parser.add_argument("--slider-key", default="sp_kernel", help="the slider to move: its key (or its label)")
    parser.add_argument("--moves", type=int, default=10, help="moves per student")
    parser.add_argument("--interval", type=float, default=3.0, help="seconds between one student's moves")
    parser.add_argument("--sessions", default="1,10,20,40", help="comma-separated class sizes, run one after another")
    parser.add_argument("--arrival", type=float, default=0.25, help="seconds between two students opening the page")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds before a move counts as an error")
    parser.add_argument("--server-pid", type=int, action="append",
                        help="server process to measure (repeatable); default: whoever listens on --url's port")
    return parser


async def main(argv=None) -> None:
    args = arg_parser().parse_args(argv)
    pids = args.server_pid or pids_listening_on(urlsplit(args.url).port or 80)
    print(f"{args.url}/{args.page}: slider {args.slider_key!r}, {args.moves} moves per student every "
          f"{args.interval:g} s; server processes {pids or 'not found (no CPU/RSS figures)'}")
    for n in [int(x) for x in args.sessions.split(",")]:
        print(describe(await run_class(args, n, pids)), flush=True)
        await asyncio.sleep(2)  # let the server close the sessions before the next class size


if __name__ == "__main__":
    asyncio.run(main())
