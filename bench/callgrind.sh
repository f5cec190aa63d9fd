#!/bin/sh
# Proxy CPU cost per request in instructions, under callgrind: independent of machine load.
#
#   bench/callgrind.sh [LOADBENCH ARGS...]     e.g. --request-file path/to/codex-turn.json
#
# Runs `loadbench` sequentially twice (200 and 1,200 requests through the proxy, plus its 50
# warm-up requests each time) with `codex-launcherd proxy` under valgrind, and prints the
# difference of the two instruction totals per extra request: start-up and shutdown cancel
# out. PROXY_BIN=path measures another build of the proxy. Needs release binaries:
#   cargo build --release -p codex-launcher-bench -p codex-launcher-mock-upstream -p codex-launcherd
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
rel="$root/target/release"
# PROXY_BIN: another build of codex-launcherd to measure (e.g. a baseline).
proxy="${PROXY_BIN:-$rel/codex-launcherd}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/bin"
ln -s "$rel/codex-launcher-mock-upstream" "$work/bin/"
cat >"$work/bin/codex-launcherd" <<EOF
#!/bin/sh
exec valgrind --tool=callgrind --callgrind-out-file="$work/out.\$CG_RUN" "$proxy" "\$@" 2>"$work/valgrind.\$CG_RUN.log"
EOF
chmod +x "$work/bin/codex-launcherd"
for n in 200 1200; do
    CG_RUN=$n "$rel/loadbench" --bin-dir "$work/bin" --requests "$n" --no-closed-loop "$@" >/dev/null
done
total() { sed -n 's/^summary: //p' "$work/out.$1"; }
a=$(total 200)
b=$(total 1200)
echo "proxy instructions per request: $(( (b - a) / 1000 )) (totals: $a for 250 requests, $b for 1250)"
if [ -n "${KEEP_PROFILE:-}" ]; then
    cp "$work/out.1200" "$KEEP_PROFILE"
    echo "profile of the 1,250-request run: $KEEP_PROFILE (callgrind_annotate it)"
fi
