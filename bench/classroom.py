"""Classroom benchmark: a class of simulated students through scripts/serve.sh (nginx + N app processes).

  .venv/bin/python bench/classroom.py                  # 40 students, one move every 3 s; then the kill test
  .venv/bin/python bench/classroom.py chromium         # check bench/load.py against Chromium (same page, same bytes)

1. Load: bench/load.py's students (Streamlit's own websocket protocol, pictures fetched like a browser) open the
   stride & padding page through nginx and move the kernel slider every 3 s. Prints N, median and p95 round trip,
   errors, server CPU per move, RSS per process and how nginx spread the students (issue 14: p95 ≤ 1 s).
2. Kill one process: mid-run, one app process is killed (SIGKILL). Its students' websockets drop; each reconnects
   as the browser does (health ping, new websocket asking for its old session) and nginx sends it to a live process,
   which starts a fresh session and runs the page. Passed when every one of them got a fresh session and a finished
   run with no exception element, and moved the slider again afterwards without an error.
3. chromium: Chromium (Playwright) and one simulated student open the same page on one plain server and move the
   same slider one step; both must receive the same pictures (media URLs are content hashes: same URL, same bytes,
   and the bytes are compared too) and the same number of websocket bytes.
4. memory: one plain app process with serve.sh's memory settings; RSS as sessions open (10, 20, … each moving the
   slider once), the least-squares MB per session, and RSS after they all closed and their TTL passed.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from load import Student, arg_parser, describe, rss_mb, run_class  # noqa: E402


def start_serve(root: Path, processes: int, port: int, run_dir: Path) -> subprocess.Popen:
    """scripts/serve.sh in its own process group (stopped with SIGTERM → its trap stops nginx and the apps)."""
    env = dict(os.environ, PORT=str(port), RUN_DIR=str(run_dir), APP_PORT=str(port + 600))
    serve = subprocess.Popen(["bash", "scripts/serve.sh", str(processes)], cwd=root, env=env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    for line in serve.stdout:
        print("  serve.sh:", line.rstrip())
        if "CNN Lab for a class" in line:
            return serve
    raise RuntimeError(f"scripts/serve.sh stopped before nginx started (exit {serve.wait()})")


@contextlib.contextmanager
def plain_server(root: Path, *flags: str):
    """One `streamlit run app.py` on a free port (no nginx), ready to serve; yields (url, pid)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                               "--server.headless", "true", *flags], cwd=root, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            try:
                if requests.get(url + "/_stcore/health", timeout=2, proxies={"http": ""}).ok:
                    break
            except requests.ConnectionError:
                pass
            time.sleep(0.5)
        yield url, server.pid
    finally:
        server.terminate()
        server.wait(timeout=60)


def app_pids(run_dir: Path) -> dict[int, int]:
    """App port → pid of its Streamlit process, from serve.sh's pid files."""
    return {int(f.stem.split("-")[1]): int(f.read_text()) for f in sorted(run_dir.glob("app-*.pid"))}


async def warm_up(args, ports) -> None:
    """The teacher tries the page once on every process before the class (a fresh process's first runs import and
    cache what later runs reuse); the class's figures start after that."""
    for port in ports:
        student = Student(args.url, args.page, args.timeout)
        student.http.cookies.set("cnnlab_route", str(port), domain="127.0.0.1", path="/")
        await student.open()
        sign = 1
        for _ in range(3):
            _, _, sign = await student.move(args.slider_key, sign)
        await student.close()


async def load_test(args, pids: dict[int, int]) -> dict:
    await warm_up(args, pids)
    figures = await run_class(args, args.students, list(pids.values()))
    print("load:", describe(figures), f"\n      students per process (port: count): {figures['routes']}")
    return figures


async def kill_test(args, run_dir: Path) -> bool:
    """Kill one process mid-run and check that its students come back on a live one."""
    pids = app_pids(run_dir)
    report, figures_students = {}, []
    await warm_up(args, pids)

    async def kill_one(students: list[Student]) -> None:
        figures_students.extend(students)
        await asyncio.sleep(args.moves * args.interval / 2)
        by_port = {}
        for student in students:
            by_port.setdefault(student.cookie("cnnlab_route"), []).append(student)
        pinned = [p for p in by_port if p and int(p) in pids]
        if not pinned:
            print("kill: no student is pinned to a process (did the page open?); nothing to kill")
            return
        victim_port = max(pinned, key=lambda p: len(by_port[p]))
        victims = by_port[victim_port]
        report.update(port=int(victim_port), victims=victims, sessions_before={id(s): s.session_ids[-1] for s in victims})
        report["at"] = time.perf_counter()
        os.kill(pids[int(victim_port)], signal.SIGKILL)
        print(f"kill: killed the app process on :{victim_port} (pid {pids[int(victim_port)]}) with "
              f"{len(victims)} of {len(students)} students on it")

    args.moves = args.kill_moves
    figures = await run_class(args, args.kill_students, list(pids.values()), during=kill_one)
    if not report:
        print("kill:", describe(figures))
        return False
    victims = report["victims"]
    fresh = [s for s in victims if s.session_ids[-1] != report["sessions_before"][id(s)]]
    recovered = [s for s in victims if s.recoveries]
    moved_on = [s for s in victims if s.cookie("cnnlab_route") != str(report["port"])]
    recoveries = sorted(r for s in victims for r in s.recoveries)
    reopened = sorted(r for s in victims for r in s.reconnected_after)
    # Each victim may lose the move in flight at the kill, and must move again successfully afterwards.
    went_on = [s for s in victims if len(s.errors) <= 1 and s.moved_at and s.moved_at[-1] > s.dropped_at]
    print("kill:", describe(figures))
    print(f"kill: of {len(victims)} students on the killed process: {len(fresh)} got a fresh session, "
          f"{len(recovered)} a finished run without an exception element on a live process "
          f"(now pinned to {sorted({s.cookie('cnnlab_route') for s in moved_on})}): websocket open again after "
          f"{reopened[0]:.1f}–{reopened[-1]:.1f} s, page drawn after {recoveries[0]:.1f}–{recoveries[-1]:.1f} s; "
          f"{len(went_on)} moved the slider again without an error"
          if recoveries else "kill: nobody recovered")
    elsewhere = [(when - report["at"], s.cookie("cnnlab_route"), what)
                 for s in figures_students if s not in victims for when, what in s.errors]
    others_failed = len(elsewhere)
    for seconds, route, what in elsewhere:
        print(f"kill: a student pinned to :{route} failed a move {seconds:+.1f} s from the kill: {what}")
    passed = len(fresh) == len(recovered) == len(went_on) == len(victims) > 0 and others_failed == 0
    print(f"kill: {'PASSED' if passed else 'FAILED'}: {figures['errors'] - others_failed} failed moves on the killed "
          f"process (the ones in flight when it died), {others_failed} elsewhere")
    return passed


async def compare_with_chromium(args) -> None:
    """Chromium and one simulated student on one plain server: same pictures after the same slider move."""
    sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "e2e")]
    from conftest import CHROMIUM, CHROMIUM_ARGS, IDLE  # the e2e tests' browser settings
    from playwright.async_api import async_playwright

    with plain_server(args.root) as (url, _):
        async with async_playwright() as p:
            browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = await browser.new_page(viewport={"width": 1400, "height": 1000}, locale="en-US")
            media, frames = {}, []

            async def on_response(response):
                if "/media/" in response.url:
                    media[response.url.split(url, 1)[1]] = hashlib.sha256(await response.body()).hexdigest()

            page.on("response", on_response)
            page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(len(payload))))
            await page.goto(f"{url}/{args.page}")
            await page.wait_for_selector(IDLE, timeout=60_000)
            await page.wait_for_timeout(1000)
            before_media, before_bytes = set(media), sum(frames)
            widget = page.locator(f'.st-key-{args.slider_key} input[type="range"], '
                                  f'.st-key-{args.slider_key} [role="slider"]').first
            await widget.focus()
            await widget.press("ArrowRight")
            await page.wait_for_timeout(500)
            await page.wait_for_selector(IDLE, timeout=60_000)
            await page.wait_for_timeout(1500)
            chromium_media = {u: h for u, h in media.items() if u not in before_media}
            chromium_bytes = sum(frames) - before_bytes
            await browser.close()
        student = Student(url, args.page)
        await student.open()
        fetched_before = set(student.fetched)
        hashes = {}
        original_get = student._get

        def get_and_hash(path: str) -> bytes:
            body = original_get(path)
            if path.startswith("/media/"):
                hashes[path] = hashlib.sha256(body).hexdigest()
            return body

        student._get = get_and_hash
        await student.move(args.slider_key, +1)
        ours = {u: hashes[u] for u in student.fetched - fetched_before}
        ws_bytes = student.run.ws_bytes
        await student.close()
    same = ours == chromium_media
    print(f"chromium: {args.page}, slider {args.slider_key} one step right: Chromium fetched {len(chromium_media)} new "
          f"pictures, load.py {len(ours)}; same URLs and same bytes (sha256): {same}")
    print(f"chromium: websocket bytes received for the move: Chromium {chromium_bytes}, load.py {ws_bytes}")
    if not same:
        print("  only in Chromium:", sorted(set(chromium_media) - set(ours)))
        print("  only in load.py:", sorted(set(ours) - set(chromium_media)))


async def memory_per_session(args) -> None:
    """RSS of one app process (serve.sh's memory settings) as sessions open, and after they are closed."""
    ttl = 10
    with plain_server(args.root, "--server.maxCacheDataSize", "256mb", "--server.disconnectedSessionTTL",
                      str(ttl)) as (url, pid):
        warm = Student(url, args.page, args.timeout)
        await warm.open()
        sign = 1
        for _ in range(3):
            _, _, sign = await warm.move(args.slider_key, sign)
        await warm.close()
        students, points = [], [(0, rss_mb(pid)[0])]
        while len(students) < args.students:
            for _ in range(args.memory_step):
                students.append(Student(url, args.page, args.timeout))
                await students[-1].open()
                _, _, _ = await students[-1].move(args.slider_key, +1)
            points.append((len(students), rss_mb(pid)[0]))
            print(f"memory: {len(students):3d} open sessions on {args.page} (each moved the slider once): "
                  f"RSS {points[-1][1]:.0f} MB", flush=True)
        await asyncio.gather(*(s.close() for s in students))
        await asyncio.sleep(ttl + 15)  # Streamlit drops a closed session's state and pictures after the TTL
        after = rss_mb(pid)[0]
        # RSS rarely falls (the allocator keeps freed memory), and Streamlit purges an expired session lazily, when
        # another disconnected session is stored (at most 128 are kept per process). A second class of the same size
        # shows the sum: open sessions + the stored ones not purged yet.
        second = [Student(url, args.page, args.timeout) for _ in students]
        for student in second:
            await student.open()
            await student.move(args.slider_key, +1)
        again = rss_mb(pid)[0]
        await asyncio.gather(*(s.close() for s in second))
    n = [x for x, _ in points]
    mb = [y for _, y in points]
    slope = statistics.linear_regression(n, mb).slope
    print(f"memory: {slope:.1f} MB per open session (least squares over {n}); RSS with none open "
          f"{mb[0]:.0f} MB; {ttl + 15} s after all {len(students)} closed: {after:.0f} MB; with {len(second)} new "
          f"sessions open after that: {again:.0f} MB")


def main() -> None:
    parser = arg_parser(__doc__)  # load.py's options (--page, --slider-key, --moves, --interval, …) and ours
    parser.add_argument("what", nargs="?", choices=["class", "chromium", "memory"], default="class")
    parser.set_defaults(arrival=1.0)  # a class opens the link within a minute, not all in the same second
    parser.add_argument("--memory-step", type=int, default=10, help="memory: sessions opened between two readings")
    parser.add_argument("--students", type=int, default=40, help="class size of the load test (0: skip it)")
    parser.add_argument("--kill-students", type=int, default=20, help="class size of the kill test (0: skip it)")
    parser.add_argument("--kill-moves", type=int, default=10, help="moves per student in the kill test")
    parser.add_argument("--processes", type=int, default=os.cpu_count(), help="app processes behind nginx")
    parser.add_argument("--port", type=int, default=18080, help="nginx port (app processes: port + 600 onwards)")
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout to serve (default: this one)")
    args = parser.parse_args()
    if args.what in ("chromium", "memory"):
        asyncio.run(compare_with_chromium(args) if args.what == "chromium" else memory_per_session(args))
        return
    run_dir = Path(f"/tmp/cnnlab-classroom-{args.port}")
    args.url = f"http://127.0.0.1:{args.port}"
    serve = start_serve(args.root, args.processes, args.port, run_dir)
    try:
        print(f"{args.processes} app processes behind nginx on {args.url}; {args.page}, slider {args.slider_key}, "
              f"{args.moves} moves per student every {args.interval:g} s")
        figures = asyncio.run(load_test(args, app_pids(run_dir))) if args.students else None
        passed = asyncio.run(kill_test(args, run_dir)) if args.kill_students else None
        if figures:
            print(f"summary: N={figures['n']} median {figures['median_s']:.2f} s, p95 {figures['p95_s']:.2f} s "
                  f"(target ≤ 1 s), errors {figures['errors']}, RSS per process {list(figures['rss_mb'].values())} MB")
        print(f"summary: kill test {'skipped' if passed is None else 'passed' if passed else 'FAILED'}")
    finally:
        serve.send_signal(signal.SIGTERM)  # serve.sh's trap stops nginx and the app processes
        try:
            serve.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(serve.pid, signal.SIGKILL)  # the process group serve.sh leads (started above)


if __name__ == "__main__":
    main()
