#!/usr/bin/env bash
# The .deb as a user gets it: build it (packaging/deb/build.sh), install it with dpkg on
# this machine, check what it put where, run `codexctl status` against the installed daemon
# (D-Bus-activated from /usr/share/dbus-1/services on a private bus, dbus-run-session),
# then remove it again and check it is gone.
#
# Usage (as root; prints SKIPPED otherwise): tests/deb/check.sh
# Prints one `ok`/`not ok` line per check and a summary; exit 1 when a check failed.
set -euo pipefail
cd "$(dirname "$0")/../.."

passed=0
failed=0
check() { # check NAME COMMAND...
    local name=$1; shift
    if "$@"; then passed=$((passed + 1)); echo "ok - $name"
    else failed=$((failed + 1)); echo "not ok - $name"; fi
}
say() { printf '==> %s\n' "$*" >&2; }

if [ "$(id -u)" != 0 ]; then
    echo "SKIPPED: needs root (dpkg -i)"; exit 0
fi
command -v cargo-deb >/dev/null || { echo "cargo-deb missing: scripts/install-test-deps.sh installs it"; exit 1; }
if dpkg-query -W -f '${Status}' codex-launcher 2>/dev/null | grep -q installed; then
    echo "codex-launcher is installed on this machine already; this check installs and removes it"; exit 1
fi

deb=$(packaging/deb/build.sh)
[ -f "$deb" ] || { echo "no package built (got: $deb)"; exit 1; }
say "built $deb"

contents=$(dpkg-deb -c "$deb" | awk '{print $6}')
for path in ./usr/bin/codex-launcherd ./usr/bin/codexctl ./usr/bin/codex-launcher-gtk \
    ./usr/lib/systemd/user/codex-launcherd.service ./usr/lib/systemd/user/codex-launcherd.socket \
    ./usr/share/dbus-1/services/io.github.CodexLauncher1.service \
    ./usr/share/applications/io.github.CodexLauncher.desktop \
    ./usr/share/icons/hicolor/scalable/apps/io.github.CodexLauncher.svg \
    ./usr/share/bash-completion/completions/codexctl ./usr/share/zsh/vendor-completions/_codexctl \
    ./usr/share/fish/vendor_completions.d/codexctl.fish ./usr/share/man/man1/codexctl.1.gz \
    ./usr/share/doc/codex-launcher/copyright; do
    check "package holds $path" grep -qxF "$path" <<<"$contents"
done
depends=$(dpkg-deb -f "$deb" Depends)
check "depends on GTK 4 and libadwaita (from the binaries' libraries)" \
    grep -q "libgtk-4-1.*libadwaita-1-0\|libadwaita-1-0.*libgtk-4-1" <<<"$depends"

home=$(mktemp -d /tmp/cl-deb-home.XXXXXX)
cleanup() {
    dpkg -r codex-launcher >/dev/null 2>&1 || true
    rm -rf "$home"
}
trap cleanup EXIT

say "dpkg -i"
check "dpkg installs it" env DEBIAN_FRONTEND=noninteractive dpkg -i "$deb"
check "the activation file starts /usr/bin/codex-launcherd" \
    grep -qx "Exec=/usr/bin/codex-launcherd" /usr/share/dbus-1/services/io.github.CodexLauncher1.service
check "the service unit runs /usr/bin/codex-launcherd" \
    grep -qx "ExecStart=/usr/bin/codex-launcherd" /usr/lib/systemd/user/codex-launcherd.service
check "no template placeholder is left" \
    bash -c '! grep -rq @bindir@ /usr/lib/systemd/user/codex-launcherd.* /usr/share/dbus-1/services/io.github.CodexLauncher1.service'
if command -v systemctl >/dev/null; then
    check "postinst enabled the socket for every user" \
        test -L /etc/systemd/user/sockets.target.wants/codex-launcherd.socket
fi
if command -v desktop-file-validate >/dev/null; then
    check "the desktop entry is valid" desktop-file-validate /usr/share/applications/io.github.CodexLauncher.desktop
fi
check "the man page reads" bash -c 'zcat /usr/share/man/man1/codexctl.1.gz | grep -q codexctl'

# The installed client and daemon only: a clean environment, a scratch home, a bus of its
# own whose dbus-daemon activates the packaged service (port 0: the machine's 47821 may be
# taken). The activated daemon outlives its bus, so it is stopped (by the pid the bus
# reports for its name) before the bus goes.
on_private_bus() { # on_private_bus COMMAND...
    env -i PATH=/usr/bin:/bin HOME="$home" CODEX_LAUNCHER_LISTEN=127.0.0.1:0 \
        dbus-run-session -- bash -c '
            "$@"; rc=$?
            pid=$(dbus-send --session --print-reply=literal --dest=org.freedesktop.DBus \
                /org/freedesktop/DBus org.freedesktop.DBus.GetConnectionUnixProcessID \
                string:io.github.CodexLauncher1 2>/dev/null | awk "{print \$2}")
            if [ -n "$pid" ]; then
                kill "$pid"
                # It drains for up to 30 s; none are open here.
                for _ in $(seq 400); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            fi
            exit $rc' bash "$@" </dev/null
}

say "codexctl status on a private bus"
status=$(on_private_bus /usr/bin/codexctl status 2>"$home/daemon.log") && rc=0 || rc=$?
printf '%s\n' "$status" | sed 's/^/    /'
check "codexctl status exits 0" test "$rc" = 0
check "the installed daemon answered" grep -q "codex-launcherd $(dpkg-query -W -f '${Version}' codex-launcher | sed 's/-.*//')" <<<"$status"
check "the daemon was D-Bus-activated and said so" grep -q "codex-launcherd ready" "$home/daemon.log"
json=$(on_private_bus /usr/bin/codexctl preset list --json 2>/dev/null) || true
check "presets come from the installed daemon" grep -q '"deepseek"' <<<"$json"

say "dpkg -r"
check "dpkg removes it" dpkg -r codex-launcher
check "its binaries are gone" test ! -e /usr/bin/codexctl -a ! -e /usr/bin/codex-launcherd -a ! -e /usr/bin/codex-launcher-gtk
check "its activation file is gone" test ! -e /usr/share/dbus-1/services/io.github.CodexLauncher1.service
if command -v systemctl >/dev/null; then
    check "prerm disabled the socket" test ! -e /etc/systemd/user/sockets.target.wants/codex-launcherd.socket
fi

echo "# deb: $passed passed, $failed failed"
[ "$failed" = 0 ]
