//! `codex-launcher-gtk`: the panel. Everything is in the library (`lib.rs`).

fn main() -> gtk::glib::ExitCode {
    codex_launcher_gtk::run()
}
