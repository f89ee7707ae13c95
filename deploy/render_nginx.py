"""Render deploy/nginx.conf.template for N app processes on consecutive ports (standard library only).

  python deploy/render_nginx.py --listen 8080 --ports 8701,8702 --run-dir /tmp/cnnlab > nginx.conf

Every process gets its own upstream: itself first, then every other process as a backup, each list starting
after it, so the students of a dead process spread over the live ones in a fixed order that nginx and the cookie
agree on.
"""

from __future__ import annotations

import argparse
from pathlib import Path

TEMPLATE = Path(__file__).with_name("nginx.conf.template")
# One failed connection marks a process as down for 5 s; then nginx tries it again with the next request.
HEALTH = "max_fails=1 fail_timeout=5s"


def upstreams(ports: list[int], host: str = "127.0.0.1") -> str:
    blocks = ["    upstream cnnlab_any {  # first visits: any live process, in turn"]
    blocks += [f"        server {host}:{port} {HEALTH};" for port in ports]
    blocks += ["    }"]
    for i, port in enumerate(ports):
        others = ports[i + 1:] + ports[:i]
        blocks += [f"    upstream cnnlab_{port} {{", f"        server {host}:{port} {HEALTH};"]
        blocks += [f"        server {host}:{other} backup;" for other in others]
        blocks += ["    }"]
    return "\n".join(blocks)


def render(ports: list[int], listen: str = "8080", run_dir: str = "/tmp/cnnlab-serve", host: str = "127.0.0.1",
           template: str | None = None) -> str:
    if not ports or len(set(ports)) != len(ports):
        raise ValueError(f"need one or more distinct app ports, got {ports}")
    text = TEMPLATE.read_text() if template is None else template
    route_map = "\n".join(f'        "{port}" cnnlab_{port};' for port in ports)
    for name, value in {"ROUTE_MAP": route_map, "UPSTREAMS": upstreams(ports, host), "LISTEN": listen,
                        "RUN_DIR": run_dir.rstrip("/")}.items():
        text = text.replace("{{" + name + "}}", value)
    if "{{" in text:
        raise ValueError("a placeholder of the template was left unrendered: " + text[text.index("{{"):][:40])
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ports", required=True, help="comma-separated ports of the app processes")
    parser.add_argument("--listen", default="8080", help="what nginx listens on: a port, or address:port")
    parser.add_argument("--run-dir", default="/tmp/cnnlab-serve", help="pid, log and temporary files of nginx")
    parser.add_argument("--host", default="127.0.0.1", help="where the app processes listen")
    args = parser.parse_args()
    print(render([int(p) for p in args.ports.split(",")], args.listen, args.run_dir, args.host), end="")


if __name__ == "__main__":
    main()
