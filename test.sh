#!/usr/bin/env bash
# The project's test command (README "Test"): installs what the tests need, then runs
# formatting, lint, the whole test suite (unit, golden, end-to-end with the real Codex CLI;
# the panel's widget and end-to-end tests start their own Xvfb, so no DISPLAY is needed),
# the systemd user-session and .deb checks, and a bounded fuzz run. Set FUZZ_SECONDS=0 to
# skip fuzzing.
#
# Codex releases: every test runs on the pinned one (0.171.0), and the tests that exercise
# Codex itself the most (`codex_exec`, `codex_backends`) once more on the previous one
# (0.169.0), since users update at their own pace (both are set in
# scripts/install-test-deps.sh). `CODEX_VERSION=X ./test.sh` installs X and runs everything on
# X instead, and `CODEX_BIN=PATH` on that binary (neither gets the second run).
set -euo pipefail
cd "$(dirname "$0")"

scripts/install-test-deps.sh

read -r codex_pinned codex_previous < <(scripts/install-test-deps.sh --codex-versions)
codex_cache="${CODEX_LAUNCHER_CACHE:-$HOME/.cache/codex-launcher}"
codex_version="${CODEX_VERSION:-$codex_pinned}"
# The previous release gets its run only in the default matrix, not when the caller chose
# a release (CODEX_VERSION) or a binary (CODEX_BIN).
matrix=$([ -z "${CODEX_VERSION:-}${CODEX_BIN:-}" ] && echo yes || echo no)
export CODEX_BIN="${CODEX_BIN:-$codex_cache/codex-$codex_version/node_modules/.bin/codex}"
echo "==> Codex under test: $("$CODEX_BIN" --version) ($CODEX_BIN)" >&2

echo "==> cargo fmt --check" >&2
cargo fmt --all --check
echo "==> cargo clippy" >&2
cargo clippy --workspace --all-targets --locked -- -D warnings
# STYLE.md Hazard 1: features unify across the workspace, so zbus's `tokio` feature enabled
# by any crate would put zbus on tokio in the panel too, which runs on the GLib main loop
# with no tokio runtime (zbus would panic there). The e2e test runs the workspace-built panel.
echo "==> zbus on its own executor (no \`tokio\` feature anywhere)" >&2
zbus_features=$(cargo tree --workspace --locked -e features -i zbus)
if grep -q 'zbus feature "tokio' <<<"$zbus_features"; then
    echo "zbus's tokio feature is enabled in the workspace: the GTK panel needs zbus's default executor (ARCHITECTURE.md, \"zbus runtime flavour\")" >&2
    exit 1
fi
echo "==> cargo build (binaries the end-to-end tests run)" >&2
cargo build --workspace --bins --locked
echo "==> cargo test (Codex $("$CODEX_BIN" --version | awk '{print $NF}'): every test)" >&2
cargo test --workspace --locked

if [ "$matrix" = yes ]; then
    echo "==> Codex $codex_previous: codex_exec, codex_backends" >&2
    CODEX_BIN="$codex_cache/codex-$codex_previous/node_modules/.bin/codex" \
        cargo test --locked -p codex-launcher-e2e --test e2e -- codex_exec:: codex_backends::
fi

# The product as installed: install.sh under a real systemd user manager and journald
# (needs root for the throwaway user and its cgroup; prints SKIPPED otherwise).
echo "==> systemd user session (install.sh, socket activation, Type=notify, journal)" >&2
cargo build --release --locked -p codex-launcherd -p codexctl
tests/systemd/user-session.sh target/release

# The .deb: built with cargo-deb, installed with dpkg on this machine, `codexctl status`
# against the installed daemon on a private bus, removed (needs root; SKIPPED otherwise).
echo "==> Debian package (cargo-deb, dpkg -i, codexctl status, dpkg -r)" >&2
tests/deb/check.sh

fuzz="${FUZZ_SECONDS:-60}"
if [ "$fuzz" != 0 ] && [ -x daemon/translate/fuzz/run.sh ]; then
    echo "==> fuzzing ${fuzz}s per target" >&2
    daemon/translate/fuzz/run.sh "$fuzz"
fi
