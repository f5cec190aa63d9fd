#!/usr/bin/env bash
# Build the Debian package: the three binaries, the user units, the D-Bus activation file,
# the panel's desktop entry and icon, codexctl's completions and man page
# (cargo-deb; metadata in gtk-frontend/Cargo.toml, [package.metadata.deb]).
#   packaging/deb/build.sh      → prints the path of target/debian/codex-launcher_*.deb
# Needs cargo-deb (cargo install --locked cargo-deb) and dpkg-dev (dpkg-shlibdeps).
set -euo pipefail
cd "$(dirname "$0")/../.."

say() { printf '==> %s\n' "$*" >&2; }

say "building release binaries"
cargo build --release --locked -p codex-launcherd -p codexctl -p codex-launcher-gtk >&2

# Files the package installs that are made from templates or by codexctl. Kept under
# target/release/ because cargo-deb resolves that prefix to the real target directory.
assets=target/release/deb-assets
rm -rf "$assets" && mkdir -p "$assets"
for f in systemd/codex-launcherd.socket systemd/codex-launcherd.service dbus/io.github.CodexLauncher1.service; do
    sed 's|@bindir@|/usr/bin|g' "$f" > "$assets/$(basename "$f")"
done
ctl=target/release/codexctl
"$ctl" completions bash > "$assets/codexctl.bash"
"$ctl" completions zsh > "$assets/_codexctl"
"$ctl" completions fish > "$assets/codexctl.fish"
"$ctl" man | gzip -9n > "$assets/codexctl.1.gz"

say "cargo deb"
out=$(cargo deb -p codex-launcher-gtk --no-build --locked --output target/debian/ 2>&1) || {
    printf '%s\n' "$out" >&2
    exit 1
}
printf '%s\n' "$out" | tail -n 1
