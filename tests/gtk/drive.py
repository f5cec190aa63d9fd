#!/usr/bin/python3
"""Drive the real codex-launcher-gtk over AT-SPI, as a user would (tests/tests/e2e/gtk.rs).

Add an endpoint from the DeepSeek preset pointed at a mock provider, fetch its models, add
two extra headers (one secret by its name), save, see where keys live, add a fallback group with that endpoint as its member (and see it in
the manager), launch a CLI session on the endpoint, see it run, let it end (by creating
GO_FILE, which the stand-in Codex waits for), see it end, then Kill & Cleanup (confirmed)
and its result toast. Screenshots
of the endpoint dialog and the main window go to ARTIFACTS. Prints one `step: ...` line
per step; exits non-zero with the reason (and a dump of the window it was looking at) when
a condition does not come true in time.

Runs with the system python (gi + Atspi: python3-gi, gir1.2-atspi-2.0), on the display and
session bus the panel uses. Waits are on conditions, polled, each with a deadline.
"""

import argparse
import os
import signal
import subprocess
import sys
import time

import gi

gi.require_version("Atspi", "2.0")
from gi.repository import Atspi  # noqa: E402

APP = "codex-launcher-gtk"
TIMEOUT = float(os.environ.get("DRIVE_TIMEOUT", "60"))


class Failed(Exception):
    pass


def step(text):
    print(f"step: {text}", flush=True)


def wait(what, probe, timeout=TIMEOUT):
    """Poll `probe` until it returns something truthy; that value."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = probe()
        except gi.repository.GLib.Error:
            # An object went away while we looked: look again.
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise Failed(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.1)


def children(node):
    try:
        n = node.get_child_count()
    except gi.repository.GLib.Error:
        return []
    out = []
    for i in range(n):
        try:
            c = node.get_child_at_index(i)
        except gi.repository.GLib.Error:
            continue
        if c is not None:
            out.append(c)
    return out


def walk(node):
    yield node
    for c in children(node):
        yield from walk(c)


def role(node):
    try:
        return node.get_role_name()
    except gi.repository.GLib.Error:
        return ""


def name(node):
    try:
        return node.get_name() or ""
    except gi.repository.GLib.Error:
        return ""


def text(node):
    try:
        return Atspi.Text.get_text(node, 0, Atspi.Text.get_character_count(node)) or ""
    except (gi.repository.GLib.Error, TypeError, AttributeError):
        return ""


def showing(node):
    # GTK 4.8 sets VISIBLE from the widget's own flag and SHOWING only on windows, so a
    # widget on a stack page not shown still counts: callers look for what only the
    # shown page has.
    try:
        return node.get_state_set().contains(Atspi.StateType.VISIBLE)
    except gi.repository.GLib.Error:
        return False


def enabled(node):
    try:
        return node.get_state_set().contains(Atspi.StateType.SENSITIVE)
    except gi.repository.GLib.Error:
        return False


def app():
    desktop = Atspi.get_desktop(0)
    for a in children(desktop):
        if name(a) == APP:
            return a
    return None


def window(*titles):
    """The panel's toplevel with one of `titles`."""
    a = app()
    if a is None:
        return None
    for w in children(a):
        if name(w) in titles and role(w) == "frame":
            return w
    return None


def find(root, want_role, want_name=None, want_text=None, visible=True):
    for n in walk(root):
        if role(n) != want_role:
            continue
        if want_name is not None and name(n) != want_name:
            continue
        if want_text is not None and text(n) != want_text:
            continue
        if visible and not showing(n):
            continue
        return n
    return None


def labels(root):
    return [text(n) for n in walk(root) if role(n) == "label" and showing(n)]


def find_button(root, label):
    """A button named `label`, or holding a label that reads `label` (libadwaita 1.2's
    message dialog names its buttons `_Mnemonic Label`)."""
    for n in walk(root):
        if role(n) != "push button" or not showing(n):
            continue
        if name(n) == label or any(
            role(c) == "label" and text(c) == label for c in children(n)
        ):
            return n
    return None


def click(root, button):
    node = wait(
        f"an enabled button {button!r}",
        lambda: (lambda b: b if b is not None and enabled(b) else None)(
            find_button(root, button)
        ),
    )
    node.do_action(0)


def type_into(root, field, value):
    node = wait(f"a text field {field!r}", lambda: find(root, "text", field))
    Atspi.EditableText.set_text_contents(node, value)
    wait(f"{field!r} to read back", lambda: text(node) == value)


def screenshot(title, path):
    """The X window titled `title` (ImageMagick's import finds it by name)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    subprocess.run(["import", "-window", title, path], check=True)
    step(f"screenshot {path}")


def dump(node, depth=0, out=None):
    out = [] if out is None else out
    extra = f" text={text(node)!r}" if text(node) else ""
    out.append("  " * depth + f"[{role(node)}] {name(node)!r}{extra}")
    for c in children(node):
        dump(c, depth + 1, out)
    return out


def session_labels():
    main = window("Codex Launcher")
    sessions = main and find(main, "list", "Sessions")
    return labels(sessions) if sessions else []


def run(args):
    step("waiting for the main window to connect")
    main = wait("the main window", lambda: window("Codex Launcher"))
    # Its actions are enabled once the daemon answered.
    wait(
        "the Endpoints… button to be enabled",
        lambda: enabled(find(main, "push button", "Endpoints…")),
    )

    step("endpoint manager → Add Endpoint")
    click(main, "Endpoints…")
    manager = wait("the Endpoints window", lambda: window("Endpoints"))
    click(manager, "Add Endpoint")
    dialog = wait("the endpoint dialog", lambda: window("Add Endpoint"))

    step("preset DeepSeek fills the form")
    click(dialog, "DeepSeek")
    url = wait("the Base URL field", lambda: find(dialog, "text", "Base URL"))
    wait("the preset's URL", lambda: text(url).startswith("https://api.deepseek.com"))
    name_field = find(dialog, "text", "Name")
    if text(name_field) != "DeepSeek":
        raise Failed(f"the preset did not fill the name: {text(name_field)!r}")

    step("pointing it at the mock provider, with a key")
    type_into(dialog, "Base URL", args.mock_url)
    key = wait("the API Key field", lambda: find(dialog, "text", "API Key"))
    Atspi.EditableText.set_text_contents(key, "sk-test-not-the-key")
    screenshot("Add Endpoint", os.path.join(args.artifacts, "endpoint-preset.png"))

    step("Fetch from API with a wrong key: the provider's refusal is shown inline")
    click(dialog, "Fetch from API")
    dialog = wait("the dialog, now editing", lambda: window("Edit Endpoint"))
    refusal = wait(
        "the fetch error",
        lambda: next((t for t in labels(dialog) if t.startswith("Fetch failed: ")), None),
    )
    step(f"inline: {refusal}")

    step("the right key, Fetch from API again")
    key = wait("the API Key field", lambda: find(dialog, "text", "API Key"))
    Atspi.EditableText.set_text_contents(key, args.api_key)
    click(dialog, "Fetch from API")
    for model in args.expect_model:
        wait(f"model {model!r} in the list", lambda m=model: m in labels(dialog))
    status = wait(
        "the fetch status",
        lambda: next((t for t in labels(dialog) if t.startswith("The provider lists")), None),
    )
    step(f"fetched: {status}")
    screenshot("Edit Endpoint", os.path.join(args.artifacts, "endpoint-dialog.png"))

    step("two extra headers: a plain one, and one whose name makes it secret")
    type_into(dialog, "Header Name", "X-Title")
    type_into(dialog, "Header Value", "codex")
    click(dialog, "Add Header")
    wait("the plain header listed", lambda: "X-Title: codex" in [name(n) for n in walk(dialog)])
    # The Secret switch turns itself on for this name: the daemon would refuse it otherwise.
    type_into(dialog, "Header Name", "X-Api-Key")
    type_into(dialog, "Header Value", "sk-header-secret")
    click(dialog, "Add Header")
    wait(
        "the secret header listed as ***",
        lambda: "X-Api-Key: *** (secret)" in [name(n) for n in walk(dialog)],
    )

    step("Save")
    click(dialog, "Save")
    wait("the dialog to close", lambda: window("Edit Endpoint") is None)
    wait("the endpoint in the manager", lambda: "DeepSeek" in [name(n) for n in walk(manager)])
    storage = wait(
        "where keys live",
        lambda: next(
            (t for t in labels(manager) if t.startswith(("Keys: ", "Keyring locked"))), None
        ),
    )
    step(f"key storage: {storage}")

    step("Groups → Add Group: the new endpoint as its one member")
    click(manager, "Add Group")
    group_dialog = wait("the group dialog", lambda: window("Add Group"))
    type_into(group_dialog, "Group Name", "plan-first")
    click(group_dialog, "Add Member")
    click(group_dialog, "Save")
    wait("the group dialog to close", lambda: window("Add Group") is None)
    group_row = "plan-first (group: deepseek)"
    wait("the group in the manager", lambda: group_row in [name(n) for n in walk(manager)])
    step(f"group: {group_row}")
    click(manager, "Close")
    wait("the manager to close", lambda: window("Endpoints") is None)

    step("Launch CLI on the new endpoint")
    wait(
        "the endpoint picker to show it",
        lambda: "DeepSeek (deepseek)" in labels(find(main, "combo box", "Endpoint")),
    )
    click(main, "Launch CLI")
    wait("a running session", lambda: "Running" in session_labels())
    step(f"session row: {session_labels()}")
    screenshot("Codex Launcher", os.path.join(args.artifacts, "main-window.png"))

    step("the session ends")
    with open(args.go_file, "w"):
        pass
    wait("the session to end", lambda: "Exited (0)" in session_labels())
    step(f"session row: {session_labels()}")
    screenshot("Codex Launcher", os.path.join(args.artifacts, "main-window-exited.png"))

    step("Kill & Cleanup, confirmed")
    click(main, "Kill & Cleanup")
    click(wait("the confirmation", app), "Kill & Clean Up")
    outcome = wait(
        "the cleanup's toast",
        lambda: next(
            (
                t
                for t in labels(main)
                if t.startswith("Nothing to clean up") or "cleanup failed" in t
                or any(w in t for w in (" stopped", " ended", " removed", " restored"))
            ),
            None,
        ),
    )
    step(f"cleanup: {outcome}")
    screenshot("Codex Launcher", os.path.join(args.artifacts, "main-window-cleanup.png"))
    if "failed" in outcome:
        raise Failed(f"Kill & Cleanup: {outcome}")
    step("done")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mock-url", required=True)
    p.add_argument("--api-key", required=True)
    p.add_argument("--go-file", required=True)
    p.add_argument("--artifacts", required=True)
    p.add_argument("--expect-model", action="append", default=[])
    args = p.parse_args()
    # Every wait has its deadline; this bounds the whole run whatever happens.
    signal.alarm(int(TIMEOUT * 5))
    failure = os.path.join(args.artifacts, "failure.png")
    if os.path.exists(failure):
        os.remove(failure)
    try:
        run(args)
    except Failed as e:
        print(f"FAILED: {e}", file=sys.stderr)
        a = app()
        if a is not None:
            print("\n".join(dump(a)), file=sys.stderr)
        subprocess.run(["import", "-window", "root", failure])
        sys.exit(1)


if __name__ == "__main__":
    main()
