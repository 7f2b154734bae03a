#!/usr/bin/env bash
# Build the Dockerfile, run the image, check it over HTTP, stop it and report its size.
#
# Uses a running Docker engine when there is one, podman otherwise. Where no public registry is
# reachable (PODMAN_LOCAL_BASE=1, the default with podman) the base image is made locally with
# debootstrap from the Debian mirror apt already uses. `--check` only says whether an engine can
# run here (exit 0) or why not (exit 1).
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE=${IMAGE:-localhost/max-mnist:test}
LOCAL_BASE=localhost/max-mnist-base:bookworm-slim
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
SAMPLE=samples/7_mnist_style.png
EXPECTED_DIGIT=7
NUMBER_SAMPLE=samples/numbers/2026.jpg
EXPECTED_NUMBER=2026
READY_SECONDS=${READY_SECONDS:-180}
PODMAN=(podman --runtime runc)
LIMITS=(--ulimit nofile=1024:1024 --ulimit nproc=4096:4096)

say() { printf '== container-test: %s\n' "$*" >&2; }

pick_engine() {
    if [ -n "${ENGINE:-}" ]; then echo "$ENGINE"
    elif command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then echo docker
    elif command -v podman >/dev/null 2>&1 && podman --runtime runc info >/dev/null 2>&1; then echo podman
    else return 1
    fi
}

debian_mirror() {
    # The first non-security Debian mirror in apt's sources (deb822 or one-line format).
    {
        grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}'
        grep -hsE '^deb[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
            | sed -E 's/\[[^]]*\]//' | awk '{print $2}'
    } | grep -v security | head -n 1 || true
}

make_local_base() {
    if podman image exists "$LOCAL_BASE"; then
        say "base image $LOCAL_BASE already present"
        return
    fi
    local mirror rootfs
    mirror=${DEBIAN_MIRROR:-$(debian_mirror)}
    mirror=${mirror:-http://deb.debian.org/debian}
    rootfs=$(mktemp -d /tmp/max-mnist-rootfs.XXXXXX)
    say "debootstrap bookworm from $mirror into $rootfs (a few minutes)"
    # python3-venv brings pip's wheel for new venvs, so the system needs no pip of its own; docs,
    # manuals and translations go, as in Debian's own slim images.
    debootstrap --variant=minbase --include=python3,python3-venv \
        bookworm "$rootfs" "$mirror" >"$rootfs.log" 2>&1 \
        || { tail -n 30 "$rootfs.log" >&2; return 1; }
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
        "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* \
        "$rootfs"/usr/share/locale/*
    tar -C "$rootfs" -c . | podman import --quiet \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        - "$LOCAL_BASE" >/dev/null
    rm -rf "$rootfs" "$rootfs.log"
}

if [ "${1:-}" = "--check" ]; then
    if engine=$(pick_engine); then say "engine: $engine"; exit 0; fi
    say "no engine: no running Docker engine, and podman is missing or cannot run here"
    exit 1
fi
if [ "${1:-}" = "--base" ]; then make_local_base; exit; fi

engine=$(pick_engine) || { say "no engine: no running Docker engine and no working podman"; exit 1; }
if [ ! -f models/mnist_cnn.h5 ] || [ ! -f models/mnist_cnn.tflite ] \
        || [ ! -f models/mnist_reader.tflite ] || [ ! -f md5sums.txt ]; then
    say "models/mnist_cnn.h5, models/mnist_cnn.tflite, models/mnist_reader.tflite and" \
        "md5sums.txt must be in the build context"
    exit 1
fi
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
name=max-mnist-test-$$
if [ "$engine" = podman ]; then
    # Rootful podman where no registry is reachable: a local base, the host's network and
    # CA bundle (pip reaches the index only through it), the Docker image format (HEALTHCHECK).
    if [ -z "${BASE_IMAGE:-}" ]; then make_local_base; BASE_IMAGE=$LOCAL_BASE; fi
    ENGINE_CMD=("${PODMAN[@]}")
    BUILD=(build --format docker --network host "${LIMITS[@]}"
           --volume "$CA_BUNDLE:$CA_BUNDLE:ro" --build-arg "PIP_CERT=$CA_BUNDLE")
    PUBLISH=(--network host -e HOST=127.0.0.1 -e "PORT=$port")
else
    ENGINE_CMD=(docker)
    BUILD=(build)
    PUBLISH=(-p "127.0.0.1:$port:5000")
fi
BUILD+=(--build-arg "BASE_IMAGE=${BASE_IMAGE:-python:3.11-slim}")
engine() { "${ENGINE_CMD[@]}" "$@"; }

cleanup() {
    if [ -n "${started:-}" ]; then
        [ "${passed:-}" = 1 ] || engine logs "$name" 2>&1 | tail -n 40 >&2
        engine rm -f "$name" >/dev/null 2>&1 || true
    fi
}
trap cleanup EXIT

say "building $IMAGE with $engine from ${BASE_IMAGE:-python:3.11-slim}"
build_start=$(date +%s)
engine "${BUILD[@]}" -t "$IMAGE" .
say "built in $(( $(date +%s) - build_start )) s"

# Podman without systemd logs that it cannot schedule the periodic health checks; harmless:
# `healthcheck run` below runs the image's HEALTHCHECK once.
engine run -d --name "$name" "${LIMITS[@]}" "${PUBLISH[@]}" "$IMAGE" >/dev/null
started=1
url=http://127.0.0.1:$port
say "waiting for $url/model/metadata"
ready_start=$(date +%s)
until curl -fsS "$url/model/metadata" >/tmp/"$name".metadata 2>/dev/null; do
    if [ $(( $(date +%s) - ready_start )) -gt "$READY_SECONDS" ]; then
        say "FAILED: no answer within $READY_SECONDS s"; exit 1
    fi
    [ "$(engine inspect --format '{{.State.Running}}' "$name")" = true ] \
        || { say "FAILED: the container exited"; exit 1; }
    sleep 1
done
say "ready after $(( $(date +%s) - ready_start )) s: $(cat /tmp/"$name".metadata)"
rm -f /tmp/"$name".metadata

predicted=$(curl -fsS -F "image=@$SAMPLE" "$url/model/predict" \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["predictions"][0]["prediction"])')
[ "$predicted" = "$EXPECTED_DIGIT" ] \
    || { say "FAILED: $SAMPLE predicted as $predicted, expected $EXPECTED_DIGIT"; exit 1; }
say "prediction over HTTP: $SAMPLE -> $predicted"

number=$(curl -fsS -F "image=@$NUMBER_SAMPLE" "$url/model/read" \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["text"])')
[ "$number" = "$EXPECTED_NUMBER" ] \
    || { say "FAILED: $NUMBER_SAMPLE read as $number, expected $EXPECTED_NUMBER"; exit 1; }
say "number read over HTTP: $NUMBER_SAMPLE -> $number"

# the workers' metrics add up in the directory gunicorn makes (the image sets none)
# (read whole first: `curl | grep -q` fails under pipefail when grep stops before curl is done)
metrics=$(curl -fsS "$url/metrics")
grep -q '^maxmnist_predictions_total{digit="'"$predicted"'"} [1-9]' <<<"$metrics" \
    || { say "FAILED: /metrics does not count the prediction"; exit 1; }
read_ok='endpoint="/model/read"[^}]*status="200"|status="200"[^}]*endpoint="/model/read"'
grep -qE "^maxmnist_http_requests_total\{[^}]*($read_ok)[^}]*\} [1-9]" <<<"$metrics" \
    || { say "FAILED: /metrics does not count the number read"; exit 1; }
say "/metrics counts the prediction and the number read"

uid=$(engine exec "$name" id -u)
[ "$uid" != 0 ] || { say "FAILED: the service runs as root"; exit 1; }
say "runs as uid $uid"

if [ "$engine" = podman ]; then
    engine healthcheck run "$name" || { say "FAILED: the HEALTHCHECK does not pass"; exit 1; }
    say "HEALTHCHECK passes"
else
    [ "$(docker image inspect --format '{{json .Config.Healthcheck}}' "$IMAGE")" != null ] \
        || { say "FAILED: the image has no HEALTHCHECK"; exit 1; }
    say "HEALTHCHECK present"
fi

# shellcheck disable=SC2016  # expanded by the container's shell
engine exec "$name" sh -c 'for tool in gcc cc g++ make; do
        if command -v "$tool"; then echo "build tool in the final image: $tool"; exit 1; fi
    done
    for path in models scripts tests training; do
        if [ -e "$path" ]; then echo "$path/ should not be in the final image"; exit 1; fi
    done' >&2 || { say "FAILED: the final stage carries build-time files"; exit 1; }
say "no compilers, make, models/, scripts/, tests/ or training/ in the final image"

engine exec "$name" python3 -c 'import importlib.util, sys
missing = [m for m in ("tensorflow", "keras", "h5py") if importlib.util.find_spec(m) is None]
sys.exit(0 if len(missing) == 3 else "TensorFlow, Keras or h5py is in the final image")' >&2 \
    || { say "FAILED: the final stage carries the build-time TensorFlow"; exit 1; }
say "no TensorFlow, Keras or h5py in the final image (LiteRT serves)"

stop_start=$(date +%s)
engine stop -t 30 "$name" >/dev/null
say "stopped in $(( $(date +%s) - stop_start )) s"
passed=1
size=$(engine image inspect --format '{{.Size}}' "$IMAGE")
say "PASSED; image $IMAGE is $(( size / 1000000 )) MB ($size bytes)"
