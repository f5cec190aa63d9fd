#!/bin/sh
# The issue-8 measurements in one command (loopback only):
#
#   bench/run.sh            # ~4 min: sequential, fixed rate, closed loop, 1,000 streams for 60 s
#   bench/run.sh --soak     # the same, then the 10-minute soak
#
# Builds the release binaries, runs `loadbench` and `bench/callgrind.sh`, and prints Markdown
# (the tables of BENCHMARKS.md) with the machine's load before and after each part. Extra
# arguments after --soak are passed to every loadbench run.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
soak=0
if [ "${1:-}" = "--soak" ]; then
    soak=1
    shift
fi
cd "$root"
cargo build --release -p codex-launcher-bench -p codex-launcher-mock-upstream -p codex-launcherd
rel="$root/target/release"
codex_turn=/work/shared/fixtures/codex-0.169.0/turn1-request-mock-model.json
echo "## $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "### Minimal request (\"hello\", 20 chunks)"
echo
"$rel/loadbench" --requests 2000 --concurrency 32 --per-client 50 \
    --rate 200 --rate 1000 --rate-secs 10 "$@"
if [ -f "$codex_turn" ]; then
    echo
    echo "### Captured Codex turn (40 KB request, 20 chunks)"
    echo
    "$rel/loadbench" --requests 1000 --no-closed-loop --rate 200 --rate-secs 10 \
        --request-file "$codex_turn" "$@"
fi
echo
echo "### Streaming hot path (64 chunks: first token, non-stream, CPU per chunk, 32 clients)"
echo
"$rel/loadbench" --chunks 64 --requests 1000 --concurrency 32 --per-client 50 "$@"
echo
echo "### Streaming sessions"
"$rel/loadbench" --requests 0 --no-closed-loop --streams 1000 --stream-secs 60 "$@"
echo
echo "### Instructions per request (callgrind)"
echo
echo "- minimal request: $(bench/callgrind.sh | sed -n 's/^proxy instructions per request: \([0-9]*\).*/\1/p')"
echo "- minimal request, 64 chunks: $(bench/callgrind.sh --chunks 64 | sed -n 's/^proxy instructions per request: \([0-9]*\).*/\1/p')"
if [ -f "$codex_turn" ]; then
    echo "- captured Codex turn: $(bench/callgrind.sh --request-file "$codex_turn" | sed -n 's/^proxy instructions per request: \([0-9]*\).*/\1/p')"
fi
if [ "$soak" = 1 ]; then
    echo
    echo "### Soak"
    "$rel/loadbench" --requests 0 --no-closed-loop --soak-secs 600 --soak-rate 200 \
        --soak-streams 100 --sample-secs 60 "$@"
fi
