#!/usr/bin/env bash
# Install everything the tests need (Python packages into ./.venv; Debian's chromium and a CJK font for the
# browser screenshots, nginx for the classroom setup's tests, when missing) and run the whole suite: lint, unit,
# app (AppTest) and browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-test.txt

missing_packages() {
  [ ! -x /usr/bin/chromium ] || [ ! -x /usr/sbin/nginx ] || ! fc-list 2>/dev/null | grep -qi "wenquanyi\|noto sans cjk"
}
if missing_packages; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-wqy-microhei fontconfig nginx >/dev/null
fi

.venv/bin/python -m ruff check .
.venv/bin/python -m pytest -q --durations=10 "$@"
