"""Serving a class: the nginx config (rendered and run in front of two tiny backends), scripts/serve.sh, the
Dockerfile and the Kubernetes manifests (validated offline against the bundled Kubernetes schemas, and against
each other: names, ports, labels and probes must agree across files)."""

from __future__ import annotations

import ast
import importlib.util
import re
import shutil
import socket
import subprocess
import threading
import time
from http import HTTPStatus
from pathlib import Path

import kubernetes_validate
import pytest
import requests
import yaml
from streamlit import config as streamlit_config
from websockets.sync.client import connect
from websockets.sync.server import serve

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S_VERSION = "1.37.0"  # the newest schemas kubernetes-validate 1.37.0 bundles
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
needs_nginx = pytest.mark.skipif(NGINX is None, reason="nginx is not installed (Debian package nginx)")

spec = importlib.util.spec_from_file_location("render_nginx", DEPLOY / "render_nginx.py")
render_nginx = importlib.util.module_from_spec(spec)
spec.loader.exec_module(render_nginx)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------- nginx ----------

def test_every_process_has_an_upstream_with_all_others_as_backups_in_turn():
    ports = [9101, 9102, 9103]
    text = render_nginx.render(ports, listen="9100", run_dir="/tmp/x")
    for i, port in enumerate(ports):
        block = re.search(rf"upstream cnnlab_{port} {{(.*?)}}", text, re.S).group(1)
        servers = re.findall(r"server 127\.0\.0\.1:(\d+)( backup)?", block)
        assert [int(p) for p, _ in servers] == ports[i:] + ports[:i]  # itself first, then the next ones in turn
        assert [bool(b) for _, b in servers] == [False] + [True] * (len(ports) - 1)
        assert f'"{port}" cnnlab_{port};' in text  # the cookie value names that upstream
    any_block = re.search(r"upstream cnnlab_any {(.*?)}", text, re.S).group(1)
    assert sorted(int(p) for p in re.findall(r"127\.0\.0\.1:(\d+) max_fails", any_block)) == ports
    assert "{{" not in text and "listen 9100;" in text and "pid /tmp/x/nginx.pid;" in text


def test_render_refuses_what_cannot_work():
    with pytest.raises(ValueError, match="distinct"):
        render_nginx.render([])
    with pytest.raises(ValueError, match="distinct"):
        render_nginx.render([9101, 9101])
    with pytest.raises(ValueError, match="placeholder"):
        render_nginx.render([9101], template="listen {{LISTEN}}; {{SOMETHING_NEW}}")


def test_proxy_settings_a_streamlit_websocket_needs():
    text = render_nginx.render([9101])
    assert "proxy_http_version 1.1;" in text
    assert "proxy_set_header Upgrade $http_upgrade;" in text
    assert "proxy_set_header Connection $connection_upgrade;" in text
    assert "proxy_set_header Host $http_host;" in text  # with the port, or Streamlit refuses the websocket's Origin
    for directive in ("proxy_read_timeout", "proxy_send_timeout"):
        value = re.search(rf"{directive} (\w+);", text).group(1)
        seconds = int(value[:-1]) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[value[-1]] if value[-1].isalpha() else int(value)
        assert seconds >= 3600, directive  # a lesson's websocket must not be cut after nginx's default 60 s


def test_a_busy_process_keeps_its_students():
    """Only a refused connection (or a 503 while starting) moves a student: every failover re-pins them, away from
    the process holding their session. Slow answers and reused keepalive connections must not count as failures."""
    text = render_nginx.render([9101, 9102])
    retry_on = set(re.search(r"proxy_next_upstream ([^;]+);", text).group(1).split())
    assert retry_on <= {"error", "http_503"} and "error" in retry_on
    directives = re.sub(r"#[^\n]*", "", text)
    assert not re.search(r"\bkeepalive\b", directives)  # uvicorn drops idle connections after 5 s; reusing one fails
    assert re.search(r'map \$http_upgrade \$connection_upgrade {\s*default upgrade;\s*""\s+close;', text)


@needs_nginx
def test_nginx_accepts_the_rendered_config(tmp_path):
    conf = tmp_path / "nginx.conf"
    conf.write_text(render_nginx.render([free_port(), free_port()], listen=str(free_port()), run_dir=str(tmp_path)))
    result = subprocess.run([NGINX, "-t", "-p", str(tmp_path), "-e", str(tmp_path / "error.log"), "-c", str(conf)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr


class Backend:
    """A stand-in for one app process: answers HTTP with its port and the Host it saw, and echoes websockets."""

    def __init__(self):
        self.port = free_port()

        def answer(connection, request):
            if request.headers.get("Upgrade", "").lower() != "websocket":
                return connection.respond(HTTPStatus.OK, f"{self.port} {request.headers['Host']}\n")
            return None  # go on with the websocket handshake

        def echo(websocket):
            for message in websocket:
                websocket.send(f"{self.port}:{message}")

        self.server = serve(echo, "127.0.0.1", self.port, process_request=answer)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()


@pytest.fixture
def proxied(tmp_path):
    backends = [Backend(), Backend()]
    listen = free_port()
    conf = tmp_path / "nginx.conf"
    conf.write_text(render_nginx.render([b.port for b in backends], listen=f"127.0.0.1:{listen}", run_dir=str(tmp_path)))
    nginx = subprocess.Popen([NGINX, "-p", str(tmp_path), "-e", str(tmp_path / "error.log"), "-c", str(conf),
                              "-g", "daemon off;"], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", listen), timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)
    yield f"127.0.0.1:{listen}", backends
    nginx.terminate()
    nginx.wait(timeout=10)
    for backend in backends:
        backend.server.shutdown()


def get(address: str, route: str | None = None) -> requests.Response:
    with requests.Session() as session:
        session.trust_env = False  # loopback, never through a proxy from the environment
        return session.get(f"http://{address}/_stcore/health", cookies={"cnnlab_route": route} if route else None,
                           timeout=10)


@needs_nginx
def test_nginx_pins_each_student_and_moves_them_when_their_process_dies(proxied):
    address, (a, b) = proxied
    first = [get(address) for _ in range(4)]  # first visits: spread over both processes, each pinned by a cookie
    served = [int(r.text.split()[0]) for r in first]
    assert sorted(set(served)) == sorted([a.port, b.port])
    assert [r.cookies.get("cnnlab_route") for r in first] == [str(p) for p in served]
    assert all(r.text.split()[1] == address for r in first)  # Host reaches the app with its port
    for backend in (a, b):  # a pinned student always reaches their own process
        replies = [get(address, str(backend.port)) for _ in range(3)]
        assert [int(r.text.split()[0]) for r in replies] == [backend.port] * 3
    a.stop()
    moved = get(address, str(a.port))  # the student of the dead process...
    assert moved.status_code == 200 and int(moved.text.split()[0]) == b.port  # ...reaches the live one
    assert moved.cookies.get("cnnlab_route") == str(b.port)  # ...and is re-pinned to it


@needs_nginx
def test_websockets_pass_through_nginx_to_the_pinned_process(proxied):
    address, (_, b) = proxied
    with connect(f"ws://{address}/_stcore/stream", additional_headers={"Cookie": f"cnnlab_route={b.port}"},
                 proxy=None, open_timeout=10) as websocket:
        websocket.send("hello")
        assert websocket.recv(timeout=10) == f"{b.port}:hello"


# ---------- scripts/serve.sh ----------

def test_serve_script_is_valid_bash():
    result = subprocess.run(["bash", "-n", str(ROOT / "scripts" / "serve.sh")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def streamlit_flags(text: str) -> set[str]:
    return set(re.findall(r"--((?:server|browser|global|runner|client)\.\w+)", text))


def test_streamlit_options_used_for_serving_exist_in_this_streamlit():
    options = streamlit_config.get_config_options()
    for path in (ROOT / "scripts" / "serve.sh", DEPLOY / "Dockerfile"):
        flags = streamlit_flags(path.read_text())
        assert {"server.maxCacheDataSize", "server.disconnectedSessionTTL", "server.headless"} <= flags, path.name
        assert flags <= set(options), (path.name, flags - set(options))


# ---------- Dockerfile ----------

def dockerfile() -> list[str]:
    """Instructions of deploy/Dockerfile, continuation lines joined and comments dropped."""
    lines = [line for line in (DEPLOY / "Dockerfile").read_text().splitlines() if not line.lstrip().startswith("#")]
    return [i.strip() for i in re.sub(r"\\\n", " ", "\n".join(lines)).splitlines() if i.strip()]


def runtime_paths() -> set[str]:
    """Top-level files and folders the running app needs: local packages it imports, folders its code names."""
    top = {p.name for p in ROOT.iterdir()}
    sources = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]
    needed, seen = {"app.py", ".streamlit", "pages"}, set()
    while sources:
        source = sources.pop()
        if source in seen:
            continue
        seen.add(source)
        tree = ast.parse(source.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else []
            for name in names:
                package = name.split(".")[0]
                if (ROOT / package).is_dir() and package in top:
                    needed.add(package)
                    sources += sorted((ROOT / package).glob("*.py"))
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in top \
                    and (ROOT / node.value).is_dir() and not node.value.startswith((".", "_")):
                needed.add(node.value)  # e.g. Path(...) / "assets"
    return needed


def test_the_image_has_everything_the_app_reads():
    copied = {i.split()[1] for i in dockerfile() if i.startswith("COPY ")}
    needed = runtime_paths()
    assert {"lessons", "assets", "cnn_core", "ui"} <= needed  # the search above finds at least these
    assert needed <= copied, needed - copied
    assert all((ROOT / path).exists() for path in copied)


def test_the_image_is_slim_python_with_the_pinned_cpu_torch():
    instructions = dockerfile()
    assert instructions[0] == "FROM python:3.11-slim"
    pinned = re.search(r"^torch==(\S+)", (ROOT / "requirements.txt").read_text(), re.M).group(1)
    torch_line = next(i for i in instructions if "pip install torch" in i)
    assert f"torch=={pinned}" in torch_line and "--index-url https://download.pytorch.org/whl/cpu" in torch_line
    assert instructions.index(torch_line) < next(i for i, x in enumerate(instructions) if "-r requirements.txt" in x)
    port = re.search(r"--server\.port=(\d+)", next(i for i in instructions if i.startswith("CMD"))).group(1)
    assert f"EXPOSE {port}" in instructions
    assert any(i.startswith("HEALTHCHECK") and f":{port}/_stcore/health" in i for i in instructions)
    assert any(i.startswith("USER ") and i != "USER root" for i in instructions)


# ---------- Kubernetes ----------

def manifests() -> dict[str, dict]:
    return {path.stem: yaml.safe_load(path.read_text()) for path in sorted((DEPLOY / "k8s").glob("*.yaml"))}


def test_manifests_are_valid_against_the_bundled_kubernetes_schemas(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("kubernetes-validate tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)  # proof that the validation runs offline
    found = manifests()
    assert set(found) == {"deployment", "service", "ingress"}
    for name, resource in found.items():
        assert K8S_VERSION.startswith(kubernetes_validate.validate(resource, K8S_VERSION, strict=True)), name


def test_the_validator_rejects_a_broken_manifest():
    deployment = manifests()["deployment"]
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["paht"] = "/"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, K8S_VERSION, strict=True)


def test_manifests_agree_with_each_other_and_with_the_image():
    m = manifests()
    pod = m["deployment"]["spec"]["template"]
    container = pod["spec"]["containers"][0]
    labels = pod["metadata"]["labels"]
    assert m["deployment"]["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert m["service"]["spec"]["selector"].items() <= labels.items()
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    image_port = int(re.search(r"EXPOSE (\d+)", "\n".join(dockerfile())).group(1))
    assert ports[m["service"]["spec"]["ports"][0]["targetPort"]] == image_port
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"]["path"] == "/_stcore/health", probe
        assert container[probe]["httpGet"]["port"] in ports, probe
    backend = m["ingress"]["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == m["service"]["metadata"]["name"]
    assert backend["port"]["name"] in {p["name"] for p in m["service"]["spec"]["ports"]}
    notes = m["ingress"]["metadata"]["annotations"]
    assert notes["nginx.ingress.kubernetes.io/affinity"] == "cookie"
    assert notes["nginx.ingress.kubernetes.io/session-cookie-change-on-failure"] == "true"
    assert int(notes["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600
