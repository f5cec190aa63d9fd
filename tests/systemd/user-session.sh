#!/usr/bin/env bash
# The product as a user gets it, under a real systemd user manager and journald:
#   ./install.sh → `systemctl --user enable --now codex-launcherd.socket` → the first
#   connection starts the daemon (Type=notify: the unit is active only after READY=1) →
#   D-Bus calls, reload, stop, D-Bus activation through SystemdService=, restart after a
#   crash, the journal with structured fields → ./install.sh --uninstall.
#
# Usage (as root): tests/systemd/user-session.sh [RELEASE_BINARY_DIR]
#   RELEASE_BINARY_DIR defaults to target/release (built with `cargo build --release`).
#
# This machine has no systemd as PID 1, so the script brings up what a login would:
#   - journald, started by hand when its socket is missing;
#   - a throwaway user, and `systemd --user` for it inside a delegated cgroup (so the
#     manager cannot move the machine's processes into its own scope) and a private mount
#     namespace where /run/systemd/system exists (systemd's "booted" check) with the real
#     journal sockets bound in.
# Everything is torn down on exit. Prints one `ok`/`not ok` line per check and a summary.
set -euo pipefail

repo="$(cd "$(dirname "$0")/../.." && pwd)"
bin_dir="${1:-$repo/target/release}"
user=cl-sd-e2e
port=47821
passed=0
failed=0

say() { printf '==> %s\n' "$*" >&2; }
check() { # check NAME COMMAND...
    local name=$1; shift
    if "$@"; then passed=$((passed + 1)); echo "ok - $name"
    else failed=$((failed + 1)); echo "not ok - $name"; fi
}

if [ "$(id -u)" != 0 ]; then
    echo "SKIPPED: needs root (a throwaway user, cgroups, a mount namespace)"; exit 0
fi
for tool in /lib/systemd/systemd /lib/systemd/systemd-journald systemctl busctl journalctl unshare setpriv curl; do
    command -v "$tool" >/dev/null || { echo "missing $tool (apt install systemd dbus-user-session util-linux curl)"; exit 1; }
done
for b in codex-launcherd codexctl; do
    [ -x "$bin_dir/$b" ] || { echo "no $bin_dir/$b: cargo build --release -p codex-launcherd -p codexctl"; exit 1; }
done
if ss -ltn "sport = :$port" 2>/dev/null | grep -q LISTEN; then
    echo "port $port is in use; this test installs the real socket unit on it"; exit 1
fi

stage=$(mktemp -d /tmp/cl-sd-stage.XXXXXX)
runtime=/tmp/cl-sd-runtime
journald_pid=""
manager_pid=""

as_user() {
    runuser -u "$user" -- env HOME="$home" XDG_RUNTIME_DIR="$runtime" \
        DBUS_SESSION_BUS_ADDRESS="unix:path=$runtime/bus" PATH=/usr/local/bin:/usr/bin:/bin "$@"
}

teardown() {
    set +e
    if [ -n "$manager_pid" ]; then
        as_user systemctl --user exit >/dev/null 2>&1
        for _ in $(seq 100); do kill -0 "$manager_pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$manager_pid" 2>/dev/null
    fi
    pkill -9 -u "$user" >/dev/null 2>&1
    [ -n "$journald_pid" ] && kill "$journald_pid" 2>/dev/null && wait "$journald_pid" 2>/dev/null
    for h in /sys/fs/cgroup/unified /sys/fs/cgroup/systemd /sys/fs/cgroup; do
        [ -d "$h/user.slice" ] && find "$h/user.slice" -depth -type d -exec rmdir {} \; 2>/dev/null
    done
    userdel -r "$user" >/dev/null 2>&1
    rm -rf "$stage" "$runtime"
}
trap teardown EXIT

# 1. journald (a socket file left by an earlier, stopped journald does not count).
started_at=$(date +%s)
if ! pgrep -x systemd-journal >/dev/null; then
    rm -f /run/systemd/journal/socket /run/systemd/journal/stdout /run/systemd/journal/dev-log
    /lib/systemd/systemd-journald >/dev/null 2>&1 &
    journald_pid=$!
    for _ in $(seq 100); do [ -S /run/systemd/journal/socket ] && break; sleep 0.05; done
fi

# 2. The user and its manager.
id "$user" >/dev/null 2>&1 && userdel -r "$user" >/dev/null 2>&1
useradd -m -G systemd-journal "$user"
home=$(getent passwd "$user" | cut -d: -f6)
uid=$(id -u "$user"); gid=$(id -g "$user")
mkdir -p "$runtime"; chown "$uid:$gid" "$runtime"; chmod 700 "$runtime"
(
    # Into a cgroup of the user's own (both hierarchies of this hybrid layout) before
    # anything runs systemd: the manager takes over the cgroup it starts in.
    cg="user.slice/user-$uid.slice/user@$uid.service"
    for h in /sys/fs/cgroup/unified /sys/fs/cgroup/systemd /sys/fs/cgroup; do
        [ -e "$h/cgroup.procs" ] || continue
        mkdir -p "$h/$cg"; chown -R "$uid:$gid" "$h/$cg"; echo $BASHPID > "$h/$cg/cgroup.procs"
    done
    exec unshare --mount --propagation private /bin/sh -c '
        saved=$(mktemp -d); mount --bind /run/systemd "$saved"
        mount -t tmpfs -o mode=755 tmpfs /run/systemd
        mkdir -p /run/systemd/system /run/systemd/journal
        mount --bind "$saved/journal" /run/systemd/journal; umount "$saved"; rmdir "$saved"
        exec setpriv --reuid='"$uid"' --regid='"$gid"' --init-groups --reset-env \
            env HOME='"$home"' USER='"$user"' LOGNAME='"$user"' PATH=/usr/local/bin:/usr/bin:/bin \
            XDG_RUNTIME_DIR='"$runtime"' /lib/systemd/systemd --user --log-target=journal'
) >/dev/null 2>&1 &
manager_pid=$!
state=""
for _ in $(seq 200); do
    state=$(as_user systemctl --user show -p SystemState --value 2>/dev/null || true)
    [ "$state" = running ] && break
    sleep 0.05
done
check "user manager running" test "$state" = running
# The daemon started later gets this from the manager: a stand-in for Codex that records how
# it was started and exits 3.
stub="$home/codex-stub"
printf '#!/bin/sh\nenv > "$0.env"\nprintf "%%s\\n" "$@" > "$0.args"\nexit 3\n' > "$stub"
chown "$uid:$gid" "$stub"; chmod 755 "$stub"
as_user systemctl --user set-environment "CODEX_LAUNCHER_CODEX_CMD=$stub"

# 3. Install as the user, the README's way (binaries prebuilt: the user has no cargo).
mkdir -p "$stage/target/release"
cp -r "$repo/install.sh" "$repo/systemd" "$repo/dbus" "$stage/"
cp "$bin_dir/codex-launcherd" "$bin_dir/codexctl" "$stage/target/release/"
chmod -R a+rX "$stage"
install_log=$(as_user env SKIP_BUILD=1 "$stage/install.sh" 2>&1 || true)
check "install.sh enables the socket" grep -q "started: codex-launcherd.socket" <<<"$install_log"
check "socket unit enabled" test "$(as_user systemctl --user is-enabled codex-launcherd.socket)" = enabled
check "socket unit listening" test "$(as_user systemctl --user is-active codex-launcherd.socket)" = active
check "daemon not started before first use" test "$(as_user systemctl --user is-active codex-launcherd.service || true)" = inactive

# 4. Socket activation: the first connection starts the daemon; Type=notify makes the unit
#    active only once READY=1 arrived.
health=$(curl -s -m 30 "http://127.0.0.1:$port/healthz" || true)
check "first connection answered through the passed socket" test -n "$health"
svc() { as_user systemctl --user show codex-launcherd.service -p "$1" --value; }
check "service active after READY=1" test "$(svc ActiveState)" = active
check "service is Type=notify" test "$(svc Type)" = notify
check "STATUS= line reported" grep -q "endpoints; proxy on" <<<"$(svc StatusText)"
check "watchdog armed" test "$(svc WatchdogUSec)" != 0
first_pid=$(svc MainPID)

# 5. The bus API, as codexctl and the panel use it.
status_json=$(as_user "$home/.local/bin/codexctl" status --json 2>&1 || true)
check "codexctl status over the user bus" grep -q '"proxy_address": "http://127.0.0.1:47821"' <<<"$status_json"
check "man page and completions installed" test -s "$home/.local/share/man/man1/codexctl.1" -a -s "$home/.local/share/bash-completion/completions/codexctl"
check "D-Bus Ping" grep -q pong <<<"$(as_user busctl --user call io.github.CodexLauncher1 /io/github/CodexLauncher1 io.github.CodexLauncher1.Manager Ping 2>&1)"
token=$(as_user cat "$home/.local/state/codex-launcher/token")
check "token file is 0600" test "$(stat -c %a "$home/.local/state/codex-launcher/token")" = 600
check "proxy refuses without the token" test "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v1/models")" = 403
check "proxy accepts the token" test "$(curl -s -o /dev/null -w '%{http_code}' -H "authorization: Bearer $token" "http://127.0.0.1:$port/e/none/v1/models")" = 404
# An endpoint whose upstream is down (port 9, nothing listens): the request fails upstream
# and is logged with its fields.
added=$(as_user busctl --user call io.github.CodexLauncher1 /io/github/CodexLauncher1 \
    io.github.CodexLauncher1.Manager AddEndpoint '(sssssa(ssttassasb)ba(ss)ss)s' \
    Dead custom openai-compat http://127.0.0.1:9/v1 m 0 false 0 "" "" sk-test-journal-key 2>&1 || true)
check "AddEndpoint over the user bus" grep -q '"dead"' <<<"$added"
grep -q '"dead"' <<<"$added" || echo "# AddEndpoint said: $added"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "authorization: Bearer $token" \
    -H 'content-type: application/json' -d '{"model":"m","input":"hi","stream":true}' \
    "http://127.0.0.1:$port/e/dead/v1/responses")
check "unreachable upstream is a retryable 502" test "$code" = 502

# Sessions under the user manager: `codexctl run` starts the stand-in here, the daemon
# supervises it, its exit code is passed on; Kill & Cleanup finds nothing to do.
run_rc=0
as_user bash -c "cd '$home' && '$home/.local/bin/codexctl' run -e dead -- --version" >/dev/null 2>&1 || run_rc=$?
check "codexctl run passes Codex's exit code on" test "$run_rc" = 3
check "the session's own token, no provider key" bash -c 'grep -q "^CODEX_LAUNCHER_TOKEN=cls" "$1.env" && ! grep -q sk-test "$1.env"' _ "$stub"
sessions_json=$(as_user "$home/.local/bin/codexctl" sessions --json 2>&1 || true)
check "the run session is listed with its exit code" grep -q '"exit_code": 3' <<<"$sessions_json"
check "codexctl cleanup --dry-run" grep -q "nothing to clean up" <<<"$(as_user "$home/.local/bin/codexctl" cleanup --dry-run 2>&1)"

# 6. Reload (ExecReload → SIGHUP → RELOADING=1 … READY=1).
check "systemctl reload" as_user systemctl --user reload codex-launcherd.service
check "same process after reload" test "$(svc MainPID)" = "$first_pid"

# 7. Stop, then D-Bus activation through SystemdService= brings it back.
as_user systemctl --user stop codex-launcherd.service
check "stopped cleanly" test "$(svc ActiveState)" = inactive
check "stop exit status 0" test "$(svc ExecMainStatus)" = 0
check "socket survives a service stop" test "$(as_user systemctl --user is-active codex-launcherd.socket)" = active
check "D-Bus activation via SystemdService=" grep -q pong <<<"$(as_user busctl --user call io.github.CodexLauncher1 /io/github/CodexLauncher1 io.github.CodexLauncher1.Manager Ping 2>&1)"
check "activated as the systemd unit" test "$(svc ActiveState)" = active
second_pid=$(svc MainPID)
check "a new process" test "$second_pid" != "$first_pid"

# 8. A crash is restarted (Restart=on-failure), and the socket keeps serving.
kill -9 "$second_pid"
for _ in $(seq 100); do
    [ "$(svc ActiveState)" = active ] && [ "$(svc MainPID)" != "$second_pid" ] && [ "$(svc MainPID)" != 0 ] && break
    sleep 0.1
done
check "restarted after SIGKILL" test "$(svc NRestarts)" -ge 1
check "serves after the restart" test -n "$(curl -s -m 30 "http://127.0.0.1:$port/healthz" || true)"

# 9. The journal: the daemon logs there with structured fields (journald is in memory and
#    read as root by unit name).
journal=$(journalctl --no-pager -o json --since "@$started_at" _SYSTEMD_USER_UNIT=codex-launcherd.service 2>/dev/null || true)
check "journal has the ready line" grep -q '"MESSAGE":"codex-launcherd ready"' <<<"$journal"
check "journal entries carry fields" grep -q '"PROXY":"127.0.0.1:' <<<"$journal"
[ -n "${KEEP_JOURNAL:-}" ] && printf '%s\n' "$journal" > "$KEEP_JOURNAL"
check "journal has the reload" grep -q 'reloaded endpoints and keys' <<<"$journal"
check "request logged with ENDPOINT/REQUEST_ID" grep -q '"ENDPOINT":"dead".*"REQUEST_ID"\|"REQUEST_ID".*"ENDPOINT":"dead"' <<<"$journal"
check "no token in the journal" bash -c '! grep -q "$1" <<<"$2"' _ "$token" "$journal"
check "no API key in the journal" bash -c '! grep -q sk-test-journal-key <<<"$1"' _ "$journal"

# 10. Uninstall reverses the install and keeps the user's data.
as_user "$stage/install.sh" --uninstall >/dev/null 2>&1 || true
check "units removed" test ! -e "$home/.config/systemd/user/codex-launcherd.socket"
check "binaries removed" test ! -e "$home/.local/bin/codex-launcherd" -a ! -e "$home/.local/bin/codexctl"
check "completions removed" test ! -e "$home/.local/share/bash-completion/completions/codexctl"
check "socket no longer listening" test "$(curl -s -o /dev/null -w '%{http_code}' -m 5 "http://127.0.0.1:$port/healthz" || true)" = 000
check "user data kept" test -f "$home/.local/state/codex-launcher/token"

echo "systemd-user: $passed passed, $failed failed"
[ "$failed" = 0 ]
