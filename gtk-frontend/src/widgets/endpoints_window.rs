//! `ClEndpointsWindow`: the endpoint manager. One row per endpoint (name, backend, URL,
//! models, where its key is) with Edit, Make Default and Delete; Add Endpoint opens
//! [`ClEndpointDialog`]. Below them the fallback groups (issue 15), each row listing its
//! members in order with their breaker state, cooldown and last error, with Edit and
//! Remove; Add Group opens [`ClGroupDialog`]. Above them, where keys live (`KeyStorage`).
//! Emits `changed` after anything it changed, so the main window's pickers follow.
//!
//! Refreshing: after its own changes; on `GroupIds` and `KeyStorage` changes; and, since a
//! breaker's state and cooldown change with no signal, the groups are read again every
//! few seconds while the window is shown.

use adw::prelude::*;
use adw::subclass::prelude::*;
use codex_launcher_dbus::{EndpointInfo, GroupInfo};
use futures::StreamExt;
use gtk::glib;
use gtk::glib::subclass::Signal;

use crate::client::Client;
use crate::model;
use crate::widgets::{self, ClEndpointDialog, ClGroupDialog};

/// The groups' health is read again every this many seconds while the window is shown.
const GROUPS_EVERY_SECS: u32 = 5;

mod imp {
    use std::cell::RefCell;
    use std::sync::OnceLock;

    use super::*;

    #[derive(Debug, Default, gtk::CompositeTemplate)]
    #[template(file = "endpoints_window.ui")]
    pub struct ClEndpointsWindow {
        #[template_child]
        pub toast_overlay: TemplateChild<adw::ToastOverlay>,
        #[template_child]
        pub add_button: TemplateChild<gtk::Button>,
        #[template_child]
        pub error_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub list: TemplateChild<gtk::ListBox>,
        #[template_child]
        pub key_storage_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub add_group_button: TemplateChild<gtk::Button>,
        #[template_child]
        pub groups_list: TemplateChild<gtk::ListBox>,
        pub client: RefCell<Option<Client>>,
        pub endpoints: RefCell<Vec<EndpointInfo>>,
        pub groups: RefCell<Vec<GroupInfo>>,
        /// A groups read is under way (the poll skips a beat rather than pile up).
        pub reading_groups: std::cell::Cell<bool>,
        /// The property watchers, aborted when the window goes.
        pub tasks: RefCell<Vec<glib::JoinHandle<()>>>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for ClEndpointsWindow {
        const NAME: &'static str = "ClEndpointsWindow";
        type Type = super::ClEndpointsWindow;
        type ParentType = adw::Window;

        fn class_init(klass: &mut Self::Class) {
            klass.bind_template();
            klass.install_action("endpoints.add", None, |w, _, _| {
                w.edit(None);
            });
            klass.install_action("endpoints.add-group", None, |w, _, _| {
                w.edit_group(None);
            });
            klass.add_binding_action(
                gtk::gdk::Key::n,
                gtk::gdk::ModifierType::CONTROL_MASK,
                "endpoints.add",
            );
            klass.add_binding_action(
                gtk::gdk::Key::Escape,
                gtk::gdk::ModifierType::empty(),
                "window.close",
            );
        }

        fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
            obj.init_template();
        }
    }

    impl ObjectImpl for ClEndpointsWindow {
        fn constructed(&self) {
            self.parent_constructed();
            self.add_button.set_action_name(Some("endpoints.add"));
            self.add_group_button
                .set_action_name(Some("endpoints.add-group"));
        }

        fn dispose(&self) {
            for task in self.tasks.take() {
                task.abort();
            }
        }

        fn signals() -> &'static [Signal] {
            static SIGNALS: OnceLock<Vec<Signal>> = OnceLock::new();
            SIGNALS.get_or_init(|| vec![Signal::builder("changed").build()])
        }
    }

    impl WidgetImpl for ClEndpointsWindow {}
    impl WindowImpl for ClEndpointsWindow {}
    impl AdwWindowImpl for ClEndpointsWindow {}
}

glib::wrapper! {
    /// The endpoint manager window.
    pub struct ClEndpointsWindow(ObjectSubclass<imp::ClEndpointsWindow>)
        @extends adw::Window, gtk::Window, gtk::Widget,
        @implements gtk::Buildable, gtk::ConstraintTarget, gtk::Native,
                    gtk::Root, gtk::ShortcutManager;
}

impl ClEndpointsWindow {
    /// The manager over `client`, beside `parent`; it loads the endpoints at once.
    pub fn new(client: &Client, parent: &impl IsA<gtk::Window>) -> ClEndpointsWindow {
        let w: ClEndpointsWindow = glib::Object::builder()
            .property("transient-for", parent)
            .build();
        w.imp().client.replace(Some(client.clone()));
        w.reload();
        w.follow(client);
        w
    }

    /// A manager with no daemon behind it (widget tests).
    pub fn detached() -> ClEndpointsWindow {
        glib::Object::new()
    }

    /// Each endpoint row's title, subtitle and button labels (for tests).
    pub fn rows(&self) -> Vec<(String, String, Vec<String>)> {
        list_rows(&self.imp().list)
    }

    /// Each group row's title, subtitle and button labels (for tests).
    pub fn group_rows(&self) -> Vec<(String, String, Vec<String>)> {
        list_rows(&self.imp().groups_list)
    }

    /// The key-storage line (empty when hidden; for tests).
    pub fn key_storage_text(&self) -> String {
        let label = &self.imp().key_storage_label;
        // Its own flag: `is_visible` also asks the (maybe unshown) window.
        if label.get_visible() {
            label.text().into()
        } else {
            String::new()
        }
    }

    fn client(&self) -> Option<Client> {
        self.imp().client.borrow().clone()
    }

    fn toast(&self, text: &str) {
        self.imp().toast_overlay.add_toast(adw::Toast::new(text));
    }

    /// Show a daemon error inline (empty: none).
    fn show_error(&self, text: &str) {
        let label = &self.imp().error_label;
        label.set_text(text);
        label.set_visible(!text.is_empty());
    }

    /// Read the endpoints, the groups and where keys live again.
    pub fn reload(&self) {
        let Some(client) = self.client() else { return };
        let w = self.downgrade();
        glib::spawn_future_local(async move {
            let result = client.endpoints().await;
            let groups = client.groups().await;
            let storage = client.key_storage().await;
            let Some(w) = w.upgrade() else { return };
            match result {
                Ok(list) => w.set_endpoints(list),
                Err(e) => w.show_error(&format!("Cannot list endpoints: {e}")),
            }
            match groups {
                Ok(groups) => w.set_groups(groups),
                Err(e) => w.show_error(&format!("Cannot list groups: {e}")),
            }
            // A daemon without the property shows no line rather than an error.
            w.set_key_storage(&storage.unwrap_or_default());
        });
    }

    /// Read the groups again (their health changes with no signal).
    fn reload_groups(&self) {
        let imp = self.imp();
        let Some(client) = self.client() else { return };
        if imp.reading_groups.replace(true) {
            return;
        }
        let w = self.downgrade();
        glib::spawn_future_local(async move {
            let groups = client.groups().await;
            let Some(w) = w.upgrade() else { return };
            w.imp().reading_groups.set(false);
            match groups {
                Ok(groups) => w.set_groups(groups),
                Err(e) => w.show_error(&format!("Cannot list groups: {e}")),
            }
        });
    }

    /// Follow `KeyStorage` and `GroupIds`, and poll the groups' health while shown.
    fn follow(&self, client: &Client) {
        let manager = client.manager().clone();
        let w = self.downgrade();
        let task = glib::spawn_future_local(async move {
            let storage = manager.receive_key_storage_changed().await;
            let groups = manager.receive_group_ids_changed().await;
            enum Change {
                Storage(String),
                Groups,
            }
            let storage = storage.filter_map(|c| async move { c.get().await.ok() });
            let mut changes = std::pin::pin!(futures::stream::select(
                storage.map(Change::Storage),
                groups.map(|_| Change::Groups),
            ));
            while let Some(change) = changes.next().await {
                let Some(w) = w.upgrade() else { break };
                match change {
                    Change::Storage(s) => w.set_key_storage(&s),
                    Change::Groups => w.reload_groups(),
                }
            }
        });
        self.imp().tasks.borrow_mut().push(task);
        let w = self.downgrade();
        glib::timeout_add_seconds_local(GROUPS_EVERY_SECS, move || match w.upgrade() {
            Some(w) => {
                if w.is_visible() {
                    w.reload_groups();
                }
                glib::ControlFlow::Continue
            }
            None => glib::ControlFlow::Break,
        });
    }

    /// Show where keys live (`KeyStorage`; a value the panel does not know hides the line).
    pub fn set_key_storage(&self, storage: &str) {
        let label = &self.imp().key_storage_label;
        let text = model::key_storage_text(storage);
        label.set_text(&text);
        label.set_visible(!text.is_empty());
        if model::key_storage_is_warning(storage) {
            label.remove_css_class("dim-label");
            label.add_css_class("warning");
        } else {
            label.remove_css_class("warning");
            label.add_css_class("dim-label");
        }
    }

    fn changed(&self) {
        self.reload();
        self.emit_by_name::<()>("changed", &[]);
    }

    /// Show `list`.
    pub fn set_endpoints(&self, list: Vec<EndpointInfo>) {
        let imp = self.imp();
        super::remove_children(&imp.list);
        for e in &list {
            imp.list.append(&self.row(e));
        }
        imp.endpoints.replace(list);
    }

    fn row(&self, e: &EndpointInfo) -> adw::ActionRow {
        let row = adw::ActionRow::builder()
            .title(if e.spec.name.is_empty() {
                &e.id
            } else {
                &e.spec.name
            })
            .subtitle(model::endpoint_subtitle(e))
            .use_markup(false)
            .build();
        if e.is_default {
            let badge = gtk::Label::new(Some("Default"));
            badge.add_css_class("accent");
            badge.add_css_class("caption-heading");
            badge.set_valign(gtk::Align::Center);
            row.add_suffix(&badge);
        } else {
            row.add_suffix(&self.button(
                "Make Default",
                &e.id,
                "Launch on this endpoint when none is chosen",
                |w, id| w.make_default(id),
            ));
        }
        row.add_suffix(&self.button(
            "Edit",
            &e.id,
            "Change its settings, key and models",
            |w, id| {
                w.edit(Some(id));
            },
        ));
        let delete = self.button(
            "Delete",
            &e.id,
            "Delete the endpoint and its key",
            |w, id| w.delete(id),
        );
        delete.add_css_class("destructive-action");
        row.add_suffix(&delete);
        row
    }

    fn button(
        &self,
        label: &str,
        id: &str,
        tooltip: &str,
        then: fn(&ClEndpointsWindow, &str),
    ) -> gtk::Button {
        let b = gtk::Button::with_label(label);
        b.set_valign(gtk::Align::Center);
        b.set_tooltip_text(Some(tooltip));
        let w = self.downgrade();
        let id = id.to_owned();
        b.connect_clicked(move |_| {
            if let Some(w) = w.upgrade() {
                then(&w, &id);
            }
        });
        b
    }

    /// Show `groups`, each with its members in order.
    pub fn set_groups(&self, groups: Vec<GroupInfo>) {
        let imp = self.imp();
        if *imp.groups.borrow() == groups && imp.groups_list.row_at_index(0).is_some() {
            // The poll found nothing new: keep the rows (and the focus in them).
            return;
        }
        super::remove_children(&imp.groups_list);
        for g in &groups {
            imp.groups_list.append(&self.group_row(g));
        }
        imp.groups.replace(groups);
    }

    fn group_row(&self, g: &GroupInfo) -> adw::ActionRow {
        let row = adw::ActionRow::builder()
            .title(model::group_label(g))
            .subtitle(model::group_subtitle(g))
            .use_markup(false)
            .build();
        // Every member on its own line, however many.
        row.set_subtitle_lines(0);
        row.set_tooltip_text(Some(&format!("Codex reaches it at {}", g.proxy_url)));
        row.add_suffix(&self.button(
            "Edit",
            &g.id,
            "Change its members and their order",
            |w, id| {
                w.edit_group(Some(id));
            },
        ));
        let remove = self.button(
            "Remove",
            &g.id,
            "Remove the group (its endpoints stay)",
            |w, id| w.remove_group(id),
        );
        remove.add_css_class("destructive-action");
        row.add_suffix(&remove);
        row
    }

    /// Open the group editor: a new group (`None`) or an existing one.
    pub fn edit_group(&self, id: Option<&str>) -> Option<ClGroupDialog> {
        let client = self.client()?;
        let existing = id.and_then(|id| {
            self.imp()
                .groups
                .borrow()
                .iter()
                .find(|g| g.id == id)
                .cloned()
        });
        let endpoints = self.imp().endpoints.borrow().clone();
        let dialog = ClGroupDialog::new(&client, self, endpoints, existing.as_ref());
        let w = self.downgrade();
        dialog.connect_local("saved", false, move |args| {
            if let Some(w) = w.upgrade() {
                let id = args
                    .get(1)
                    .and_then(|v| v.get::<String>().ok())
                    .unwrap_or_default();
                w.toast(&format!("Saved group “{id}”"));
                w.show_error("");
                w.changed();
            }
            None
        });
        dialog.present();
        Some(dialog)
    }

    fn remove_group(&self, id: &str) {
        let Some(client) = self.client() else { return };
        let w = self.clone();
        let id = id.to_owned();
        glib::spawn_future_local(async move {
            let heading = format!("Remove group “{id}”?");
            let body = "Its endpoints and their keys stay.";
            if !widgets::confirm_destructive(&w, &heading, body, "_Remove").await {
                return;
            }
            match client.remove_group(&id).await {
                Ok(()) => {
                    w.show_error("");
                    w.toast(&format!("Removed group “{id}”"));
                    w.changed();
                }
                Err(e) => w.show_error(&e.to_string()),
            }
        });
    }

    fn make_default(&self, id: &str) {
        let Some(client) = self.client() else { return };
        let w = self.downgrade();
        let id = id.to_owned();
        glib::spawn_future_local(async move {
            let result = client.set_default(&id).await;
            let Some(w) = w.upgrade() else { return };
            match result {
                Ok(()) => {
                    w.show_error("");
                    w.changed();
                }
                Err(e) => w.show_error(&e.to_string()),
            }
        });
    }

    /// Open the endpoint dialog: a new endpoint (`None`) or an existing one.
    pub fn edit(&self, id: Option<&str>) -> Option<ClEndpointDialog> {
        let client = self.client()?;
        let existing = id.and_then(|id| {
            self.imp()
                .endpoints
                .borrow()
                .iter()
                .find(|e| e.id == id)
                .cloned()
        });
        let dialog = ClEndpointDialog::new(&client, self, existing);
        let w = self.downgrade();
        dialog.connect_local("saved", false, move |args| {
            if let Some(w) = w.upgrade() {
                let id = args
                    .get(1)
                    .and_then(|v| v.get::<String>().ok())
                    .unwrap_or_default();
                w.toast(&format!("Saved “{id}”"));
                w.show_error("");
                w.changed();
            }
            None
        });
        dialog.present();
        Some(dialog)
    }

    fn delete(&self, id: &str) {
        let Some(client) = self.client() else { return };
        let name = self
            .imp()
            .endpoints
            .borrow()
            .iter()
            .find(|e| e.id == id)
            .map(model::endpoint_label)
            .unwrap_or_else(|| id.to_owned());
        let w = self.clone();
        let id = id.to_owned();
        glib::spawn_future_local(async move {
            let heading = format!("Delete “{name}”?");
            let body = "Its settings are removed, and its key is deleted from the keyring.";
            if !widgets::confirm_destructive(&w, &heading, body, "_Delete").await {
                return;
            }
            match client.remove_endpoint(&id).await {
                Ok(()) => {
                    w.show_error("");
                    w.toast(&format!("Deleted “{name}”"));
                    w.changed();
                }
                Err(e) => w.show_error(&e.to_string()),
            }
        });
    }
}

/// Each row of `list`: its title, subtitle and the labels of its buttons, sorted.
fn list_rows(list: &gtk::ListBox) -> Vec<(String, String, Vec<String>)> {
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(row) = list.row_at_index(i) {
        i += 1;
        let Ok(row) = row.downcast::<adw::ActionRow>() else {
            continue;
        };
        let mut labels = Vec::new();
        let mut stack: Vec<gtk::Widget> = row.first_child().into_iter().collect();
        while let Some(w) = stack.pop() {
            if let Some(b) = w.downcast_ref::<gtk::Button>() {
                labels.extend(b.label().map(String::from));
            } else if let Some(l) = w.downcast_ref::<gtk::Label>()
                && l.text() == "Default"
            {
                labels.push("[Default]".to_owned());
            }
            stack.extend(w.next_sibling());
            stack.extend(w.first_child());
        }
        labels.sort();
        out.push((
            row.title().into(),
            row.subtitle().map(String::from).unwrap_or_default(),
            labels,
        ));
    }
    out
}
