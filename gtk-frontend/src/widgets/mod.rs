//! The widgets, one `.rs` + `.ui` each (composite templates embedded at build time).

mod endpoint_dialog;
mod endpoints_window;
mod failure_row;
mod failures_view;
mod group_dialog;
mod member_row;
mod model_row;
mod session_row;
mod turn_window;
mod usage_window;
mod window;

pub use endpoint_dialog::ClEndpointDialog;
pub use endpoints_window::ClEndpointsWindow;
pub use failure_row::ClFailureRow;
pub use failures_view::ClFailuresView;
pub use group_dialog::ClGroupDialog;
pub use member_row::ClMemberRow;
pub use model_row::ClModelRow;
pub use session_row::ClSessionRow;
pub use turn_window::ClTurnWindow;
pub use usage_window::ClUsageWindow;
pub use window::{ClWindow, now};

use std::cell::RefCell;

use adw::prelude::*;

/// Present `dialog` and wait for the user's response id (adw 1.2 has no `choose`).
pub async fn ask(dialog: &adw::MessageDialog) -> String {
    let (tx, rx) = futures::channel::oneshot::channel::<String>();
    let tx = RefCell::new(Some(tx));
    dialog.connect_response(None, move |_, response| {
        if let Some(tx) = tx.take() {
            let _ = tx.send(response.to_owned());
        }
    });
    dialog.present();
    rx.await.unwrap_or_default()
}

/// Ask before something that cannot be undone: Cancel (the default, and what closing the
/// dialog means) or `action`, shown as destructive. True when the user chose `action`.
pub async fn confirm_destructive(
    parent: &impl IsA<gtk::Window>,
    heading: &str,
    body: &str,
    action: &str,
) -> bool {
    let dialog = adw::MessageDialog::new(Some(parent), Some(heading), Some(body));
    dialog.add_responses(&[("cancel", "_Cancel"), ("confirm", action)]);
    dialog.set_response_appearance("confirm", adw::ResponseAppearance::Destructive);
    dialog.set_default_response(Some("cancel"));
    dialog.set_close_response("cancel");
    ask(&dialog).await == "confirm"
}

/// Remove every row of `list`, keeping its placeholder (`gtk_list_box_remove_all` is GTK
/// 4.12, and removing `first_child()`s would take the placeholder too).
pub fn remove_children(list: &gtk::ListBox) {
    while let Some(row) = list.row_at_index(0) {
        list.remove(&row);
    }
}
