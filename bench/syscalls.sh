#!/bin/bash
# System calls the proxy makes per request, counted by `strace -c` (loopback only):
#
#   bench/syscalls.sh [--chunks N] [--requests N] [--non-stream]
#
# Starts the mock upstream (N content chunks per answer, default 64) and
# `codex-launcherd proxy` in front of it, warms them with 20 requests, then attaches strace to
# the proxy for the measured requests (curl, one at a time; default 200) and prints each
# system call's count divided by the number of requests. PROXY_BIN=path measures another
# build. Needs strace, curl and release binaries:
#   cargo build --release -p codex-launcher-mock-upstream -p codex-launcherd
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rel="$root/target/release"
proxy="${PROXY_BIN:-$rel/codex-launcherd}"
chunks=64
requests=200
stream=true
while [ $# -gt 0 ]; do
    case "$1" in
        --chunks) chunks=$2; shift 2 ;;
        --requests) requests=$2; shift 2 ;;
        --non-stream) stream=false; shift ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done
work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT
# Both servers print `listening on URL` first.
listening() {
    for _ in $(seq 100); do
        url=$(sed -n 's/^listening on //p' "$1")
        [ -n "$url" ] && { echo "$url"; return; }
        sleep 0.05
    done
    echo "no address in $1" >&2
    exit 1
}
"$rel/codex-launcher-mock-upstream" --listen 127.0.0.1:0 --chunks "$chunks" >"$work/mock" 2>/dev/null &
pids+=($!)
mock=$(listening "$work/mock")
"$proxy" proxy --target-url "$mock" --listen 127.0.0.1:0 --api-key bench-key >"$work/proxy" 2>/dev/null &
proxy_pid=$!
pids+=("$proxy_pid")
url=$(listening "$work/proxy")
send() {
    for _ in $(seq "$1"); do
        curl -sf -o /dev/null -X POST "$url/responses" -H 'content-type: application/json' \
            -d "{\"model\":\"bench\",\"stream\":$stream,\"input\":\"hello\"}"
    done
}
send 20
strace -f -c -o "$work/counts" -p "$proxy_pid" 2>/dev/null &
strace_pid=$!
sleep 0.5
send "$requests"
sleep 0.3
kill -INT "$strace_pid"
wait "$strace_pid" 2>/dev/null || true
echo "system calls per request ($requests requests, $chunks chunks, stream: $stream):"
awk -v n="$requests" 'NR > 2 && $NF != "total" && $4 ~ /^[0-9]+$/ {
    printf "  %-14s %7.1f\n", $NF, $4 / n; total += $4
} END { printf "  %-14s %7.1f\n", "total", total / n }' "$work/counts"
