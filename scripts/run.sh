#!/usr/bin/env bash
# Install CNN Lab into ./.venv (first time only: a few minutes) and start it; open the URL it prints.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
PORT=${PORT:-8501}
# One BLAS thread per operation (the app also sets torch to one thread): parallel sessions share two cores.
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
echo "CNN Lab: open http://localhost:${PORT} in your browser (Ctrl+C stops it)."
exec .venv/bin/python -m streamlit run app.py --server.port "$PORT"
