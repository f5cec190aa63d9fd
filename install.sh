#!/usr/bin/env bash
# Install codex-launcher for the current user (README "Install").
#   ./install.sh              build release binaries and install them under ~/.local/bin
#   ./install.sh --uninstall  remove what it installed (user data is left alone)
# PREFIX (default ~/.local) changes where files go; DESTDIR is honoured for staging.
set -euo pipefail
cd "$(dirname "$0")"

PREFIX="${PREFIX:-$HOME/.local}"
BIN_DIR="${DESTDIR:-}$PREFIX/bin"
BINARIES=(codex-launcherd)

say() { printf '==> %s\n' "$*" >&2; }

if [ "${1:-}" = "--uninstall" ]; then
    for b in "${BINARIES[@]}"; do
        rm -f "$BIN_DIR/$b" && say "removed $BIN_DIR/$b"
    done
    exit 0
fi

command -v cargo >/dev/null || { say "cargo not found: install Rust (https://rustup.rs) first"; exit 1; }
say "building release binaries"
cargo build --release --locked -p codex-launcherd
mkdir -p "$BIN_DIR"
for b in "${BINARIES[@]}"; do
    install -m 0755 "target/release/$b" "$BIN_DIR/$b"
    say "installed $BIN_DIR/$b"
done
case ":$PATH:" in
    *":$PREFIX/bin:"*) ;;
    *) say "note: $PREFIX/bin is not on your PATH" ;;
esac
say "done: run \`codex-launcherd proxy --help\` (see README, Quick start)"
