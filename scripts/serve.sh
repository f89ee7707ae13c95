#!/usr/bin/env bash
# Serve CNN Lab to a class: N app processes (default: one per core) on consecutive ports behind nginx, with sticky
# sessions, websocket upgrades, long timeouts, health checks and bounded memory per process. Ctrl+C stops it all.
#
#   bash scripts/serve.sh [N]        then open http://<this machine>:8080
#
# Settings (environment): PORT (nginx, 8080), APP_PORT (first app process, 8701; the others follow),
# CACHE_SIZE (st.cache_data budget per process, 256mb), SESSION_TTL (seconds a closed tab's session is kept, 30),
# RUN_DIR (nginx config, logs and pid files; default /tmp/cnnlab-serve-$PORT).
# A process that dies is restarted; one that has not answered /_stcore/health for 2 minutes is killed and restarted
# (a busy process answers late, and killing it would cost all its students their sessions, so the bar is high).
# Its students are moved to a live process by nginx at once (their session restarts there; see README).
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-${PROCESSES:-$(nproc)}}
PORT=${PORT:-8080}
APP_PORT=${APP_PORT:-8701}
CACHE_SIZE=${CACHE_SIZE:-256mb}
SESSION_TTL=${SESSION_TTL:-30}
RUN_DIR=${RUN_DIR:-/tmp/cnnlab-serve-$PORT}

NGINX=$(command -v nginx || echo /usr/sbin/nginx)
if [ ! -x "$NGINX" ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  echo "Installing nginx (Debian package)…"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nginx >/dev/null
  NGINX=$(command -v nginx || echo /usr/sbin/nginx)
fi
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt

mkdir -p "$RUN_DIR"
rm -f "$RUN_DIR"/app-*.pid "$RUN_DIR/stopping"
PORTS=()
for ((i = 0; i < N; i++)); do PORTS+=($((APP_PORT + i))); done

healthy() {  # GET /_stcore/health on 127.0.0.1:$1 within ${2:-5} s, in plain bash (no curl needed)
  local line
  { exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 1
  printf 'GET /_stcore/health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
  read -r -t "${2:-5}" line <&3 || line=""
  exec 3<&- 3>&-
  [[ $line == *" 200 "* ]]
}

run_app() {  # one app process, restarted whenever it exits, until serve.sh stops
  local port=$1
  while [ ! -e "$RUN_DIR/stopping" ]; do
    # One BLAS thread per operation: the processes share the cores (app.py sets torch to one thread too).
    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 .venv/bin/python -m streamlit run app.py \
      --server.port "$port" --server.address 127.0.0.1 --server.headless true --server.fileWatcherType none \
      --server.maxCacheDataSize "$CACHE_SIZE" --server.disconnectedSessionTTL "$SESSION_TTL" \
      --browser.gatherUsageStats false >>"$RUN_DIR/app-$port.log" 2>&1 &
    echo $! >"$RUN_DIR/app-$port.pid"
    wait $! || true
    [ -e "$RUN_DIR/stopping" ] || { echo "$(date '+%T') app on :$port exited; restarting" >>"$RUN_DIR/serve.log"; sleep 1; }
  done
}

watch_health() {  # active check beside nginx's passive one: a process that hangs is killed (run_app restarts it)
  declare -A misses
  while [ ! -e "$RUN_DIR/stopping" ]; do
    sleep 10
    for port in "${PORTS[@]}"; do
      if healthy "$port" 10; then misses[$port]=0; else misses[$port]=$(( ${misses[$port]:-0} + 1 )); fi
      if [ "${misses[$port]}" -ge 6 ] && [ -e "$RUN_DIR/app-$port.pid" ]; then  # 6 × (10 s wait + 10 s sleep)
        echo "$(date '+%T') app on :$port has not answered /_stcore/health for 2 minutes; killing it" >>"$RUN_DIR/serve.log"
        kill -9 "$(cat "$RUN_DIR/app-$port.pid")" 2>/dev/null || true
        misses[$port]=0
      fi
    done
  done
}

SUPERVISORS=()
WATCHER=""
stop() {
  trap - INT TERM EXIT
  touch "$RUN_DIR/stopping"
  [ -n "$WATCHER" ] && kill "$WATCHER" 2>/dev/null || true
  [ -e "$RUN_DIR/nginx.pid" ] && kill "$(cat "$RUN_DIR/nginx.pid")" 2>/dev/null || true
  local apps=()
  for port in "${PORTS[@]}"; do [ -e "$RUN_DIR/app-$port.pid" ] && apps+=("$(cat "$RUN_DIR/app-$port.pid")"); done
  [ ${#apps[@]} -gt 0 ] && kill "${apps[@]}" 2>/dev/null || true
  for _ in $(seq 30); do kill -0 "${apps[@]}" 2>/dev/null || break; sleep 0.5; done  # Streamlit takes a few s
  kill -9 "${apps[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
  echo "CNN Lab stopped."
}
trap stop INT TERM EXIT

for port in "${PORTS[@]}"; do run_app "$port" & SUPERVISORS+=($!); done
echo "Starting $N app processes on ports ${PORTS[*]}…"
for port in "${PORTS[@]}"; do
  for _ in $(seq 120); do healthy "$port" && break; sleep 0.5; done
  healthy "$port" || { echo "The app on port $port did not start; see $RUN_DIR/app-$port.log" >&2; exit 1; }
done
watch_health & WATCHER=$!

IFS=,; .venv/bin/python deploy/render_nginx.py --ports "${PORTS[*]}" --listen "$PORT" --run-dir "$RUN_DIR" \
  >"$RUN_DIR/nginx.conf"; unset IFS
"$NGINX" -t -q -p "$RUN_DIR" -e "$RUN_DIR/nginx-error.log" -c "$RUN_DIR/nginx.conf"
"$NGINX" -p "$RUN_DIR" -e "$RUN_DIR/nginx-error.log" -c "$RUN_DIR/nginx.conf" -g "daemon off;" &
NGINX_PID=$!
for _ in $(seq 40); do healthy "$PORT" && break; sleep 0.25; done  # nginx is up and reaches an app process
ADDRESS=$(hostname -I 2>/dev/null | awk '{print $1}' || true)
echo "CNN Lab for a class: open http://${ADDRESS:-localhost}:$PORT ($N processes; logs in $RUN_DIR; Ctrl+C stops)."
wait "$NGINX_PID"
