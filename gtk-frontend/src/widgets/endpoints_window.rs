//! `ClEndpointsWindow`: the endpoint manager. One row per endpoint (name, backend, URL,
//! models, where its key is) with Edit, Make Default and Delete; Add Endpoint opens
//! [`ClEndpointDialog`]. Emits `changed` after anything it changed, so the main window's
//! pickers follow.

use adw::prelude::*;
use adw::subclass::prelude::*;
use codex_launcher_dbus::EndpointInfo;
use gtk::glib;
use gtk::glib::subclass::Signal;

use crate::client::Client;
use crate::model;
use crate::widgets::{self, ClEndpointDialog};

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
        pub client: RefCell<Option<Client>>,
        pub endpoints: RefCell<Vec<EndpointInfo>>,
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
        w
    }

    /// A manager with no daemon behind it (widget tests).
    pub fn detached() -> ClEndpointsWindow {
        glib::Object::new()
    }

    /// Each row's title, subtitle and button labels (for tests).
    pub fn rows(&self) -> Vec<(String, String, Vec<String>)> {
        let mut out = Vec::new();
        let list = &self.imp().list;
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

    /// Read the endpoints again.
    pub fn reload(&self) {
        let Some(client) = self.client() else { return };
        let w = self.downgrade();
        glib::spawn_future_local(async move {
            let result = client.endpoints().await;
            let Some(w) = w.upgrade() else { return };
            match result {
                Ok(list) => w.set_endpoints(list),
                Err(e) => w.show_error(&format!("Cannot list endpoints: {e}")),
            }
        });
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
            let dialog = adw::MessageDialog::new(
                Some(&w),
                Some(&format!("Delete “{name}”?")),
                Some("Its settings are removed, and its key is deleted from the keyring."),
            );
            dialog.add_responses(&[("cancel", "_Cancel"), ("delete", "_Delete")]);
            dialog.set_response_appearance("delete", adw::ResponseAppearance::Destructive);
            dialog.set_default_response(Some("cancel"));
            dialog.set_close_response("cancel");
            if widgets::ask(&dialog).await != "delete" {
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
