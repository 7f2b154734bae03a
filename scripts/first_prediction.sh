#!/usr/bin/env bash
# Time a fresh clone's `make run` to its first prediction, as a new user meets it, and report
# the serving venv's size. Clones this checkout's HEAD into a temporary folder, serves on a
# free loopback port, and removes everything again.
#
#     scripts/first_prediction.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-1}
source=$(pwd)

for round in $(seq 1 "$rounds"); do
    clone=$(mktemp -d /tmp/max-mnist-clone.XXXXXX)
    git clone --quiet "$source" "$clone"
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    start=$(date +%s.%N)
    (cd "$clone" && exec setsid env PORT="$port" HOST=127.0.0.1 make run >"$clone.log" 2>&1) &
    server=$!
    until curl -fsS -F image=@samples/7_photo.jpg "http://127.0.0.1:$port/model/predict" \
            >/dev/null 2>&1; do
        if ! kill -0 "$server" 2>/dev/null; then
            tail -n 20 "$clone.log" >&2; echo "make run exited" >&2; exit 1
        fi
        if python3 -c "import sys, time; sys.exit(time.time() - $start < 600)"; then
            echo "no prediction within 600 s" >&2; kill -- -"$server"; exit 1
        fi
        sleep 0.2
    done
    seconds=$(python3 -c "import time; print(f'{time.time() - $start:.1f}')")
    echo "round $round: first prediction after $seconds s; .venv-serve is" \
         "$(du -sh "$clone/.venv-serve" | cut -f1)"
    kill -TERM -- -"$server"
    wait "$server" 2>/dev/null || true
    rm -rf "$clone" "$clone.log"
done
