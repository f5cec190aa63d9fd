//! `codex-launcher-gtk`: the GTK4/libadwaita panel of codex-launcher.
//!
//! # Invariant
//! The panel decides nothing the daemon decides. It depends on `codex-launcher-dbus` (the
//! contract) only, calls the daemon's methods, shows their D-Bus error names and messages as
//! they are, and mirrors properties and signals. What it shows that needs a rule (ordering,
//! preselection, labels, numbers) is a plain function in [`model`], tested without a display.
//!
//! # Runtime
//! One thread: the GLib main loop. Every bus call is a future spawned with
//! `glib::spawn_future_local`; zbus (its default async-io executor, as the contract crate
//! is built) reads the socket on its own thread and wakes those futures, so the window never
//! waits for the daemon or a slow provider (ARCHITECTURE.md, "zbus runtime flavour").
//!
//! # Widget tree
//! ```text
//! ClWindow (AdwApplicationWindow)
//! └─ AdwToastOverlay
//!    └─ GtkBox
//!       ├─ AdwHeaderBar: [Endpoints…]  …  [Usage] [≡ menu: usage, profile export/import,
//!       │                                         legacy import, about]
//!       └─ GtkStack
//!          ├─ "loading"      AdwStatusPage + spinner
//!          ├─ "unreachable"  AdwStatusPage (the error) + [Retry]
//!          └─ "main"         AdwClamp
//!             ├─ Launch Codex: AdwComboRow endpoint (the endpoints, then the fallback
//!             │  groups), AdwComboRow model (none for a group)
//!             ├─ [Launch CLI] [Launch Desktop]
//!             ├─ [Codex Default (CLI)] [Codex Default (Desktop)]
//!             ├─ Sessions  [Kill & Cleanup]
//!             │  └─ GtkListBox of ClSessionRow (#n · mode, endpoint · model,
//!             │     duration · tokens, state, [Stop])
//!             └─ ClFailuresView: Recent failures (issue 18)
//!                └─ GtkListBox of ClFailureRow (#n · endpoint · model, when · error,
//!                   [Show] [Replay on…] [Export…])
//! ClTurnWindow (AdwWindow): one recorded turn, the daemon's sections as text
//! ClEndpointsWindow (AdwWindow): [Add Endpoint], where keys live (KeyStorage), rows
//!   with [Make Default] [Edit] [Delete]; Groups [Add Group], rows (members in order with
//!   breaker, cooldown, last error) with [Edit] [Remove]
//! ClGroupDialog (AdwWindow, modal): group name, members (ClMemberRow: endpoint
//!   GtkDropDown, model entry, [Move Up] [Move Down] [Remove]) with [Add Member]
//! ClEndpointDialog (AdwWindow, modal): preset buttons, name, base URL, backend,
//!   browser UA, API key (AdwPasswordEntryRow), extra headers (rows with [Remove]; name,
//!   value, Secret switch, [Add Header]), models (ClModelRow: context window,
//!   efforts, [Remove]) with [Fetch from API] / [Cancel Fetch], default model, paste box
//!   with [Import Models]
//! ClUsageWindow (AdwWindow): proxy summary, one bar per endpoint and model
//! ```
//!
//! # Tests
//! `model` has unit tests. The widget tests (`tests/widgets.rs`) need a display: their
//! harness starts its own Xvfb, so plain `cargo test` runs them anywhere `Xvfb` is
//! installed. The end-to-end test (`tests/tests/e2e/gtk.rs`) drives the real binary over
//! AT-SPI against a real daemon.

pub mod client;
pub mod model;
pub mod widgets;

use adw::prelude::*;
use gtk::glib;

/// The application id (desktop entry, icon, GApplication name).
pub const APP_ID: &str = "io.github.CodexLauncher";

/// Run the panel; the process exit code.
pub fn run() -> glib::ExitCode {
    let app = adw::Application::builder().application_id(APP_ID).build();
    app.connect_startup(|app| {
        gtk::Window::set_default_icon_name(APP_ID);
        app.set_accels_for_action("win.endpoints", &["<Control>e"]);
        app.set_accels_for_action("win.usage", &["<Control>u"]);
        app.set_accels_for_action("win.retry", &["F5"]);
        app.set_accels_for_action("window.close", &["<Control>w"]);
        let quit = gtk::gio::ActionEntry::builder("quit")
            .activate(|app: &adw::Application, _, _| app.quit())
            .build();
        app.add_action_entries([quit]);
        app.set_accels_for_action("app.quit", &["<Control>q"]);
    });
    app.connect_activate(|app| {
        let window = app
            .active_window()
            .unwrap_or_else(|| widgets::ClWindow::new(app).upcast());
        window.present();
    });
    app.run()
}
