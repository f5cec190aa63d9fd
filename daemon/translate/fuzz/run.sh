#!/usr/bin/env bash
# Builds and runs every fuzz target of codex-launcher-translate for SECONDS each (default 60),
# one after the other, and prints one line per target. Exits non-zero if any target crashed,
# hung or failed to build; the crashing input is under fuzz/artifacts/<target>/.
#
#   daemon/translate/fuzz/run.sh [SECONDS]
#   FUZZ_SANITIZER=none daemon/translate/fuzz/run.sh 30   # without AddressSanitizer
#
# Corpora grow in fuzz/corpus/<target>/ (gitignored, kept between runs) and start from the
# committed seeds in fuzz/seeds/<target>/. Replay one input with
#   RUSTC_BOOTSTRAP=1 cargo fuzz run <target> artifacts/<target>/crash-…   (in this directory).
set -uo pipefail

secs="${1:-60}"
case "$secs" in '' | *[!0-9]*)
    echo "usage: $0 [SECONDS]" >&2
    exit 2
    ;;
esac

here="$(cd "$(dirname "$0")" && pwd)"
cd "$here" || exit 2
targets=(request_translation chat_stream anthropic_stream command_code_stream)

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "error: cargo-fuzz is not installed (cargo install cargo-fuzz --locked, or run" \
        "scripts/install-test-deps.sh)" >&2
    exit 2
fi

# cargo-fuzz passes nightly-only flags (-Zsanitizer, -Cpasses=sancov-module, …). Only stable
# Rust is available here, and RUSTC_BOOTSTRAP=1 lets stable rustc accept them. AddressSanitizer
# works this way (the stable toolchain ships the ASan runtime: tried, builds and runs), so it
# is the default: it checks the unsafe code of our dependencies (serde_json, memchr, base64)
# and the libFuzzer glue; the translate crate itself forbids unsafe. It costs throughput:
# FUZZ_SANITIZER=none measured ~5x more executions per second on the stream targets, the
# better choice for long local runs or if ASan breaks on a future toolchain.
# No -O: cargo-fuzz's default profile is optimized *with* debug assertions and overflow checks,
# so an arithmetic overflow on a huge token count in a fuzzed stream is a crash, not a wrap.
export RUSTC_BOOTSTRAP=1
sanitizer="${FUZZ_SANITIZER:-address}"
logs="$here/target/run-logs"
mkdir -p "$logs"

say() { printf '==> %s\n' "$*" >&2; }

say "building ${#targets[@]} fuzz targets (sanitizer: $sanitizer)"
if ! cargo fuzz build --sanitizer "$sanitizer" >"$logs/build.log" 2>&1; then
    tail -n 30 "$logs/build.log" >&2
    echo "error: the fuzz targets did not build (log: $logs/build.log)" >&2
    exit 1
fi

failed=0
summary=()
for t in "${targets[@]}"; do
    corpus="corpus/$t"
    mkdir -p "$corpus" "artifacts/$t"
    # Seeds and past crashers join the corpus once; libFuzzer then adds what finds new coverage.
    cp -n "seeds/$t/"* "$corpus/" 2>/dev/null || true
    cp -n "../tests/fixtures/fuzz-regressions/$t/"* "$corpus/" 2>/dev/null || true
    dict=()
    [ -f "dicts/$t.dict" ] && dict=("-dict=dicts/$t.dict")
    say "fuzzing $t for ${secs}s"
    # -timeout: one input taking 10 s is a hang worth reporting, not something to wait for.
    cargo fuzz run --sanitizer "$sanitizer" "$t" "$corpus" -- \
        -max_total_time="$secs" -timeout=10 -print_final_stats=1 "${dict[@]}" \
        >"$logs/$t.log" 2>&1
    rc=$?
    execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$logs/$t.log" | tail -n 1)"
    rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$logs/$t.log" | tail -n 1)"
    units="$(find "$corpus" -type f | wc -l)"
    if [ "$rc" -eq 0 ]; then
        result="ok"
    else
        failed=1
        artifact="$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$logs/$t.log" | tail -n 1)"
        kind="$(grep -m1 -oE 'ERROR: (libFuzzer|AddressSanitizer): [a-z -]*[a-z]' "$logs/$t.log" || true)"
        result="FAILED (rc $rc${kind:+, ${kind#ERROR: }}${artifact:+, input $artifact}; log $logs/$t.log)"
        grep -m1 -A3 "panicked at" "$logs/$t.log" >&2 || true
    fi
    summary+=("$(printf '%-20s %10s execs (%s/s) in %ss, corpus %s: %s' \
        "$t" "${execs:-?}" "${rate:-?}" "$secs" "$units" "$result")")
done

printf '%s\n' "${summary[@]}"
exit "$failed"
