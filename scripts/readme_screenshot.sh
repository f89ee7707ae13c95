#!/usr/bin/env bash
# Refresh the README's screenshot (docs/screenshot.png) from a real browser run. Tests never write tracked files,
# so this is an explicit step: run the screenshot test, then copy its picture of the convolution page.
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python -m pytest -q tests/e2e/test_browser.py -k "screenshot_every_page and en"
cp docs/screenshots/readme_convolution_en.png docs/screenshot.png
echo "docs/screenshot.png updated; commit it if it looks right."
