#!/usr/bin/env bash
# Install codex-launcher for the current user and start it (README "Install").
#   ./install.sh              build release binaries, install them and the units, enable the socket
#   ./install.sh --uninstall  stop and remove what it installed (user data and keys are left alone)
#
# Where files go (all overridable, for packaging or tests):
#   PREFIX    (~/.local)                       binaries in $PREFIX/bin
#   UNIT_DIR  (~/.config/systemd/user)         codex-launcherd.socket / .service
#   DBUS_DIR  ($XDG_DATA_HOME/dbus-1/services) D-Bus activation file
# NO_SYSTEMCTL=1 skips systemctl (staging installs). SKIP_BUILD=1 installs the binaries
# already in target/release (packaging, and the systemd test, whose user has no cargo).
set -euo pipefail
cd "$(dirname "$0")"

PREFIX="${PREFIX:-$HOME/.local}"
BIN_DIR="$PREFIX/bin"
UNIT_DIR="${UNIT_DIR:-${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user}"
DBUS_DIR="${DBUS_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/dbus-1/services}"
BINARIES=(codex-launcherd)

say() { printf '==> %s\n' "$*" >&2; }

have_user_manager() {
    [ "${NO_SYSTEMCTL:-0}" != 1 ] && command -v systemctl >/dev/null &&
        systemctl --user show-environment >/dev/null 2>&1
}

if [ "${1:-}" = "--uninstall" ]; then
    if have_user_manager; then
        systemctl --user disable --now codex-launcherd.socket codex-launcherd.service 2>/dev/null || true
    fi
    for f in "$UNIT_DIR/codex-launcherd.socket" "$UNIT_DIR/codex-launcherd.service" \
             "$DBUS_DIR/io.github.CodexLauncher1.service"; do
        rm -f "$f" && say "removed $f"
    done
    for b in "${BINARIES[@]}"; do
        rm -f "$BIN_DIR/$b" && say "removed $BIN_DIR/$b"
    done
    have_user_manager && systemctl --user daemon-reload || true
    say "left alone: ~/.config/codex-launcher (endpoints), ~/.local/state/codex-launcher, keyring entries"
    exit 0
fi

if [ "${SKIP_BUILD:-0}" = 1 ]; then
    for b in "${BINARIES[@]}"; do
        [ -x "target/release/$b" ] || { say "SKIP_BUILD=1 but target/release/$b is missing"; exit 1; }
    done
else
    command -v cargo >/dev/null || { say "cargo not found: install Rust (https://rustup.rs) first"; exit 1; }
    say "building release binaries"
    cargo build --release --locked -p codex-launcherd
fi

mkdir -p "$BIN_DIR" "$UNIT_DIR" "$DBUS_DIR"
for b in "${BINARIES[@]}"; do
    install -m 0755 "target/release/$b" "$BIN_DIR/$b"
    say "installed $BIN_DIR/$b"
done
# Units and the activation file name the installed binary.
for u in codex-launcherd.socket codex-launcherd.service; do
    sed "s|@bindir@|$BIN_DIR|g" "systemd/$u" > "$UNIT_DIR/$u"
    say "installed $UNIT_DIR/$u"
done
sed "s|@bindir@|$BIN_DIR|g" dbus/io.github.CodexLauncher1.service > "$DBUS_DIR/io.github.CodexLauncher1.service"
say "installed $DBUS_DIR/io.github.CodexLauncher1.service"

if have_user_manager; then
    systemctl --user daemon-reload
    systemctl --user enable --now codex-launcherd.socket
    say "started: codex-launcherd.socket is listening on 127.0.0.1:47821 (logs: journalctl --user -u codex-launcherd)"
else
    say "no systemd user manager here: run \`systemctl --user enable --now codex-launcherd.socket\` in your session,"
    say "or just use it: the first D-Bus call starts codex-launcherd through $DBUS_DIR"
fi
case ":$PATH:" in
    *":$BIN_DIR:"*) ;;
    *) say "note: $BIN_DIR is not on your PATH" ;;
esac
