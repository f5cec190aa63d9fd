//! `ClFailuresView`: "Recent failures" in the main window — the newest failed turns the
//! daemon's turn recorder kept ([`model::failure_lines`]), each with Show (a
//! [`ClTurnWindow`]), Replay on… (an endpoint picker; `ReplayTurn`) and Export… (with or
//! without the conversation's text; `ExportTurn`, written 0600). The window hands it the
//! connection and reloads it when the daemon says a turn failed (`TurnRecorded`).

use std::cell::RefCell;

use adw::prelude::*;
use adw::subclass::prelude::*;
use codex_launcher_dbus::TurnInfo;
use gtk::{gio, glib};

use crate::client::Client;
use crate::model::{self, FailureLine};
use crate::widgets::{self, ClFailureRow, ClTurnWindow, ClWindow};

mod imp {
    use super::*;

    #[derive(Debug, Default, gtk::CompositeTemplate)]
    #[template(file = "failures_view.ui")]
    pub struct ClFailuresView {
        #[template_child]
        pub failures_list: TemplateChild<gtk::ListBox>,
        pub client: RefCell<Option<Client>>,
        pub lines: RefCell<Vec<FailureLine>>,
        /// The open file chooser (a native dialog is not owned by any widget).
        pub chooser: RefCell<Option<gtk::FileChooserNative>>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for ClFailuresView {
        const NAME: &'static str = "ClFailuresView";
        type Type = super::ClFailuresView;
        type ParentType = gtk::Box;

        fn class_init(klass: &mut Self::Class) {
            klass.bind_template();
        }

        fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
            obj.init_template();
        }
    }

    impl ObjectImpl for ClFailuresView {}
    impl WidgetImpl for ClFailuresView {}
    impl BoxImpl for ClFailuresView {}
}

glib::wrapper! {
    /// The "Recent failures" list.
    pub struct ClFailuresView(ObjectSubclass<imp::ClFailuresView>)
        @extends gtk::Box, gtk::Widget,
        @implements gtk::Buildable, gtk::ConstraintTarget, gtk::Orientable;
}

impl Default for ClFailuresView {
    fn default() -> Self {
        glib::Object::new()
    }
}

impl ClFailuresView {
    /// Follow `client`'s daemon (`None`: disconnected, the list empties).
    pub fn set_client(&self, client: Option<Client>) {
        let connected = client.is_some();
        self.imp().client.replace(client);
        if connected {
            self.reload();
        } else {
            self.set_turns(&[], widgets::now());
        }
    }

    /// Read the failed turns again.
    pub fn reload(&self) {
        let Some(client) = self.imp().client.borrow().clone() else {
            return;
        };
        let view = self.downgrade();
        glib::spawn_future_local(async move {
            let result = client.failed_turns().await;
            let Some(view) = view.upgrade() else { return };
            match result {
                Ok(turns) => view.set_turns(&turns, widgets::now()),
                Err(e) => view.toast(&format!("Cannot list recorded turns: {e}")),
            }
        });
    }

    /// Show `turns` (the failed ones, newest first) at time `now`.
    pub fn set_turns(&self, turns: &[TurnInfo], now: u64) {
        let imp = self.imp();
        widgets::remove_children(&imp.failures_list);
        let lines = model::failure_lines(turns, now);
        for line in &lines {
            let row = ClFailureRow::new(line.clone());
            for signal in ["show-turn", "replay-turn", "export-turn"] {
                let view = self.downgrade();
                row.connect_local(signal, false, move |values| {
                    let row = values.first()?.get::<ClFailureRow>().ok()?;
                    let (view, line) = (view.upgrade()?, row.line()?);
                    match signal {
                        "show-turn" => view.show(line.id),
                        "replay-turn" => view.replay(line),
                        _ => view.export(line.id),
                    }
                    None
                });
            }
            imp.failures_list.append(&row);
        }
        imp.lines.replace(lines);
    }

    /// What the rows show (for tests).
    pub fn lines(&self) -> Vec<FailureLine> {
        self.imp().lines.borrow().clone()
    }

    /// The rows (for tests).
    pub fn rows(&self) -> Vec<ClFailureRow> {
        let list = &self.imp().failures_list;
        (0..)
            .map_while(|i| list.row_at_index(i))
            .filter_map(|r| r.downcast::<ClFailureRow>().ok())
            .collect()
    }

    fn client(&self) -> Option<Client> {
        self.imp().client.borrow().clone()
    }

    fn window(&self) -> Option<gtk::Window> {
        WidgetExt::root(self).and_downcast::<gtk::Window>()
    }

    fn toast(&self, text: &str) {
        if let Some(win) = WidgetExt::root(self).and_downcast::<ClWindow>() {
            win.toast(text);
        }
    }

    fn show(&self, id: u64) {
        let (Some(client), Some(parent)) = (self.client(), self.window()) else {
            return;
        };
        ClTurnWindow::new(&client, &parent, id).present();
    }

    /// Replay on…: pick an endpoint (another one than the failed turn's preselected), or
    /// send the turn again as recorded.
    fn replay(&self, line: FailureLine) {
        let (Some(client), Some(parent)) = (self.client(), self.window()) else {
            return;
        };
        let view = self.clone();
        glib::spawn_future_local(async move {
            let endpoints = match client.endpoints().await {
                Ok(list) => list,
                Err(e) => return view.toast(&format!("Cannot list endpoints: {e}")),
            };
            let (labels, selected) = model::replay_choices(&endpoints, &line.endpoint);
            let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
            let picker = gtk::DropDown::from_strings(&labels);
            picker.set_selected(selected);
            let dialog = adw::MessageDialog::new(
                Some(&parent),
                Some(&format!("Replay Turn #{}?", line.id)),
                Some(
                    "On an endpoint: Codex's recorded request is translated for it and sent. \
                     As recorded: the same upstream request is sent again, with the endpoint's \
                     current key. Either way the outcome is recorded as a new turn.",
                ),
            );
            dialog.set_extra_child(Some(&picker));
            dialog.add_responses(&[
                ("cancel", "_Cancel"),
                ("recorded", "As _Recorded"),
                ("replay", "_Replay"),
            ]);
            dialog.set_response_appearance("replay", adw::ResponseAppearance::Suggested);
            dialog.set_default_response(Some("replay"));
            dialog.set_close_response("cancel");
            let (target, label) = match widgets::ask(&dialog).await.as_str() {
                "replay" => {
                    let Some(e) = endpoints.get(picker.selected() as usize) else {
                        return;
                    };
                    (e.id.clone(), model::endpoint_label(e))
                }
                "recorded" => (String::new(), format!("{} (as recorded)", line.endpoint)),
                _ => return,
            };
            view.toast(&format!("Replaying #{} on {label}…", line.id));
            match client.replay_turn(line.id, &target).await {
                Ok(outcome) => view.toast(&model::replay_summary(&outcome, &label)),
                Err(e) => view.toast(&format!("Cannot replay #{}: {e}", line.id)),
            }
            // A failed replay is a new failure: the daemon's signal reloads the list.
        });
    }

    /// Export…: with the conversation, or with its text replaced, to a 0600 file.
    fn export(&self, id: u64) {
        let Some(parent) = self.window() else { return };
        let view = self.clone();
        glib::spawn_future_local(async move {
            let dialog = adw::MessageDialog::new(
                Some(&parent),
                Some(&format!("Export Turn #{id}?")),
                Some(
                    "The file never holds a key or a secret header. It does hold the \
                     conversation; without text, every message, tool output and reasoning is \
                     replaced by a placeholder of the same length (for a public bug report).",
                ),
            );
            dialog.add_responses(&[
                ("cancel", "_Cancel"),
                ("text", "_With Text"),
                ("redacted", "_Without Text"),
            ]);
            dialog.set_response_appearance("redacted", adw::ResponseAppearance::Suggested);
            dialog.set_default_response(Some("redacted"));
            dialog.set_close_response("cancel");
            let redact_text = match widgets::ask(&dialog).await.as_str() {
                "redacted" => true,
                "text" => false,
                _ => return,
            };
            let chooser = gtk::FileChooserNative::new(
                Some("Export Turn"),
                Some(&parent),
                gtk::FileChooserAction::Save,
                Some("_Export"),
                Some("_Cancel"),
            );
            chooser.set_modal(true);
            chooser.set_current_name(&model::turn_file_name(id, redact_text));
            let weak = view.downgrade();
            chooser.connect_response(move |chooser, response| {
                let Some(view) = weak.upgrade() else { return };
                view.imp().chooser.replace(None);
                if response == gtk::ResponseType::Accept
                    && let Some(file) = chooser.file()
                {
                    let view = view.clone();
                    glib::spawn_future_local(async move {
                        view.write_turn(id, redact_text, file).await;
                    });
                }
            });
            chooser.show();
            view.imp().chooser.replace(Some(chooser));
        });
    }

    async fn write_turn(&self, id: u64, redact_text: bool, file: gio::File) {
        let Some(client) = self.client() else { return };
        let bundle = match client.export_turn(id, redact_text).await {
            Ok(b) => b,
            Err(e) => return self.toast(&format!("Cannot export #{id}: {e}")),
        };
        // PRIVATE: 0600, like the daemon's own records (the conversation is the user's).
        let flags = gio::FileCreateFlags::PRIVATE | gio::FileCreateFlags::REPLACE_DESTINATION;
        match file
            .replace_contents_future(bundle.into_bytes(), None, false, flags)
            .await
        {
            Ok(_) => self.toast(&format!("Turn #{id} exported to {}", file.parse_name())),
            Err((_, e)) => self.toast(&format!("Cannot write {}: {e}", file.parse_name())),
        }
    }
}
