#!/usr/bin/env bash
# Installs what the test suite needs on a Debian 12 machine, idempotently:
#   - Debian packages (as root, or via sudo when available): dbus, curl, Node.js/npm if absent;
#   - the Codex CLI from npm, into a cache directory outside the repository: the pinned release
#     and the previous one (CODEX_PINNED, CODEX_PREVIOUS below; test.sh tests both), or only
#     CODEX_VERSION when that is set (`CODEX_VERSION=0.172.0 ./test.sh` tests another release);
#   - the Rust crates (cargo fetch, from Cargo.lock).
# Safe to run again: every step checks first.
set -euo pipefail

# The releases the suite is tested with: keep in step with tests/src/lib.rs (CODEX_VERSION,
# CODEX_PREVIOUS_VERSION) and daemon/engine/src/codex_version.rs (NEWEST_TESTED, OLDEST_TESTED).
CODEX_PINNED=0.171.0
CODEX_PREVIOUS=0.169.0
if [ "${1:-}" = --codex-versions ]; then
    # For test.sh: the two releases, pinned first, and nothing installed.
    echo "$CODEX_PINNED $CODEX_PREVIOUS"
    exit 0
fi
if [ -n "${CODEX_VERSION:-}" ]; then
    codex_versions=("$CODEX_VERSION")
else
    codex_versions=("$CODEX_PINNED" "$CODEX_PREVIOUS")
fi
CACHE="${CODEX_LAUNCHER_CACHE:-$HOME/.cache/codex-launcher}"
here="$(cd "$(dirname "$0")/.." && pwd)"

say() { printf '==> %s\n' "$*" >&2; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
        say "need root for: $*"; return 1; fi
}

# Debian packages the tests use. Checked by command so a machine that has them needs no root.
need_pkgs=()
command -v dbus-daemon >/dev/null || need_pkgs+=(dbus)
command -v curl >/dev/null || need_pkgs+=(curl)
command -v npm >/dev/null || need_pkgs+=(nodejs npm)
command -v cc >/dev/null || need_pkgs+=(build-essential)
command -v pkg-config >/dev/null || need_pkgs+=(pkg-config)
# systemd-socket-activate (real LISTEN_FDS in the daemon tests); useradd/runuser for the
# second-user test.
command -v systemd-socket-activate >/dev/null || need_pkgs+=(systemd)
command -v useradd >/dev/null || need_pkgs+=(passwd)
command -v runuser >/dev/null || need_pkgs+=(util-linux)
command -v pgrep >/dev/null || need_pkgs+=(procps)
# The user bus under `systemd --user` (dbus.socket), for the systemd session test.
[ -e /usr/lib/systemd/user/dbus.socket ] || need_pkgs+=(dbus-user-session)
# A real Secret Service for the keyring test.
command -v gnome-keyring-daemon >/dev/null || need_pkgs+=(gnome-keyring)
# The panel (STYLE.md A2): GTK 4.8 and libadwaita 1.2 to build it; for its tests Xvfb (the
# widget tests and the end-to-end test start their own), the AT-SPI bus and python's gi
# Atspi (the end-to-end driver, run by the system python), ImageMagick's `import`
# (screenshots) and a font; for the .deb check dpkg-shlibdeps and desktop-file-validate.
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"; }
have_pkg libgtk-4-dev || need_pkgs+=(libgtk-4-dev)
have_pkg libadwaita-1-dev || need_pkgs+=(libadwaita-1-dev)
command -v Xvfb >/dev/null || need_pkgs+=(xvfb)
command -v xauth >/dev/null || need_pkgs+=(xauth)
[ -x /usr/libexec/at-spi-bus-launcher ] || need_pkgs+=(at-spi2-core)
/usr/bin/python3 -c 'import gi; gi.require_version("Atspi", "2.0")' 2>/dev/null ||
    need_pkgs+=(python3-gi gir1.2-atspi-2.0)
command -v import >/dev/null || need_pkgs+=(imagemagick)
have_pkg fonts-dejavu-core || need_pkgs+=(fonts-dejavu-core)
command -v dpkg-shlibdeps >/dev/null || need_pkgs+=(dpkg-dev)
command -v desktop-file-validate >/dev/null || need_pkgs+=(desktop-file-utils)
# A real terminal emulator (on the Xvfb above) for the `cli` session test.
command -v xterm >/dev/null || need_pkgs+=(xterm)
if [ "${#need_pkgs[@]}" -gt 0 ]; then
    say "installing Debian packages: ${need_pkgs[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}"
fi

# One directory per version (codex-<version>/), so releases sit side by side.
for version in "${codex_versions[@]}"; do
    dir="$CACHE/codex-$version"
    if [ ! -x "$dir/node_modules/.bin/codex" ]; then
        say "installing @openai/codex@$version into $dir"
        mkdir -p "$dir"
        (cd "$dir" && npm install --no-audit --no-fund --loglevel=error "@openai/codex@$version" >/dev/null)
    fi
    "$dir/node_modules/.bin/codex" --version >&2
done

say "fetching Rust crates"
(cd "$here" && cargo fetch --locked >/dev/null)

# cargo-deb, pinned, for the package check (tests/deb/check.sh via packaging/deb/build.sh).
CARGO_DEB_VERSION="${CARGO_DEB_VERSION:-3.8.0}"
if ! cargo deb --version 2>/dev/null | grep -qF "$CARGO_DEB_VERSION"; then
    say "installing cargo-deb $CARGO_DEB_VERSION"
    cargo install cargo-deb --locked --version "$CARGO_DEB_VERSION"
fi

# cargo-fuzz, for daemon/translate/fuzz/run.sh (which runs it on stable with RUSTC_BOOTSTRAP=1).
if ! cargo fuzz --version >/dev/null 2>&1; then
    say "installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi
