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
LOCAL_BASE=localhost/max-mnist-base:bookworm
CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt
SAMPLE=samples/7_mnist_style.png
EXPECTED_DIGIT=7
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
    debootstrap --variant=minbase --include=python3,python3-venv,python3-pip \
        bookworm "$rootfs" "$mirror" >"$rootfs.log" 2>&1 \
        || { tail -n 30 "$rootfs.log" >&2; return 1; }
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
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
