//! `codexctl`: the command-line client over D-Bus (see issue "codexctl").

fn main() -> std::process::ExitCode {
    // The D-Bus API lands with the daemon issue; until then say so plainly.
    let _ = codex_launcher_dbus::BUS_NAME;
    std::process::ExitCode::from(2)
}
