#!/usr/bin/env bash
# Install everything the tests need (Python packages into ./.venv; Debian's chromium and a CJK font for the
# browser screenshots, when missing) and run the whole suite: lint, unit, app (AppTest) and browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-test.txt

if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi "wenquanyi\|noto sans cjk"; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium fonts-wqy-microhei fontconfig >/dev/null
fi

.venv/bin/python -m ruff check .
.venv/bin/python -m pytest -q --durations=10 "$@"
