//! `ClGroupDialog`: add or edit one fallback group. A name (new groups only: the daemon
//! makes the id from it, and `UpdateGroup` changes only the members) and an ordered list of
//! members, each an endpoint dropdown and an optional model, with Move Up, Move Down and
//! Remove. Save sends `AddGroup` or `UpdateGroup`; the daemon's errors are shown inline as
//! `Name: message`. Emits `saved(id)` after a save.
//!
//! The rows are rebuilt from [`model::MemberDraft`]s after every move or removal: the order
//! rules live in [`model::move_member`], the widgets only show the drafts.

use adw::prelude::*;
use adw::subclass::prelude::*;
use codex_launcher_dbus::{EndpointInfo, GroupInfo};
use gtk::glib;
use gtk::glib::subclass::Signal;

use crate::client::Client;
use crate::model::{self, MemberDraft};
use crate::widgets::ClMemberRow;

mod imp {
    use std::cell::{Cell, RefCell};
    use std::sync::OnceLock;

    use super::*;

    #[derive(Debug, Default, gtk::CompositeTemplate)]
    #[template(file = "group_dialog.ui")]
    pub struct ClGroupDialog {
        #[template_child]
        pub save_button: TemplateChild<gtk::Button>,
        #[template_child]
        pub error_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub name_row: TemplateChild<adw::EntryRow>,
        #[template_child]
        pub add_member_button: TemplateChild<gtk::Button>,
        #[template_child]
        pub members_list: TemplateChild<gtk::ListBox>,
        pub client: RefCell<Option<Client>>,
        /// The group's id when editing one.
        pub id: RefCell<Option<String>>,
        /// The endpoints a member can name.
        pub endpoints: RefCell<Vec<EndpointInfo>>,
        /// The member rows, in order.
        pub rows: RefCell<Vec<ClMemberRow>>,
        pub busy: Cell<bool>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for ClGroupDialog {
        const NAME: &'static str = "ClGroupDialog";
        type Type = super::ClGroupDialog;
        type ParentType = adw::Window;

        fn class_init(klass: &mut Self::Class) {
            klass.bind_template();
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

    impl ObjectImpl for ClGroupDialog {
        fn constructed(&self) {
            self.parent_constructed();
            let obj = self.obj();
            let d = obj.downgrade();
            self.save_button.connect_clicked(move |_| {
                if let Some(d) = d.upgrade() {
                    d.save();
                }
            });
            let d = obj.downgrade();
            self.add_member_button.connect_clicked(move |_| {
                if let Some(d) = d.upgrade() {
                    d.add_member();
                }
            });
        }

        fn signals() -> &'static [Signal] {
            static SIGNALS: OnceLock<Vec<Signal>> = OnceLock::new();
            SIGNALS.get_or_init(|| {
                vec![
                    Signal::builder("saved")
                        .param_types([String::static_type()])
                        .build(),
                ]
            })
        }
    }

    impl WidgetImpl for ClGroupDialog {}
    impl WindowImpl for ClGroupDialog {}
    impl AdwWindowImpl for ClGroupDialog {}
}

glib::wrapper! {
    /// The fallback group editor.
    pub struct ClGroupDialog(ObjectSubclass<imp::ClGroupDialog>)
        @extends adw::Window, gtk::Window, gtk::Widget,
        @implements gtk::Buildable, gtk::ConstraintTarget, gtk::Native,
                    gtk::Root, gtk::ShortcutManager;
}

impl ClGroupDialog {
    /// A dialog for a new group (`None`) or for `existing`, whose members name `endpoints`.
    pub fn new(
        client: &Client,
        parent: &impl IsA<gtk::Window>,
        endpoints: Vec<EndpointInfo>,
        existing: Option<&GroupInfo>,
    ) -> ClGroupDialog {
        let d: ClGroupDialog = glib::Object::builder()
            .property("transient-for", parent)
            .build();
        d.imp().client.replace(Some(client.clone()));
        d.show(endpoints, existing);
        d
    }

    /// A dialog with no daemon behind it (widget tests).
    pub fn detached(endpoints: Vec<EndpointInfo>, existing: Option<&GroupInfo>) -> ClGroupDialog {
        let d: ClGroupDialog = glib::Object::new();
        d.show(endpoints, existing);
        d
    }

    fn show(&self, endpoints: Vec<EndpointInfo>, existing: Option<&GroupInfo>) {
        let imp = self.imp();
        imp.endpoints.replace(endpoints);
        match existing {
            Some(g) => {
                self.set_title(Some("Edit Group"));
                imp.id.replace(Some(g.id.clone()));
                imp.name_row
                    .set_text(if g.name.is_empty() { &g.id } else { &g.name });
                // UpdateGroup changes only the members.
                imp.name_row.set_sensitive(false);
                self.set_drafts(&model::member_drafts(g));
            }
            None => self.set_drafts(&[]),
        }
    }

    fn client(&self) -> Option<Client> {
        self.imp().client.borrow().clone()
    }

    /// Show a daemon error inline (empty: none).
    pub fn show_error(&self, text: &str) {
        let label = &self.imp().error_label;
        label.set_text(text);
        label.set_visible(!text.is_empty());
    }

    /// The error shown inline.
    pub fn error_text(&self) -> String {
        let label = &self.imp().error_label;
        // Its own flag: `is_visible` also asks the (maybe unshown) window.
        if label.get_visible() {
            label.text().into()
        } else {
            String::new()
        }
    }

    /// The name field (for tests).
    pub fn name_row(&self) -> adw::EntryRow {
        self.imp().name_row.get()
    }

    /// The member rows, in order (for tests).
    pub fn member_rows(&self) -> Vec<ClMemberRow> {
        self.imp().rows.borrow().clone()
    }

    /// The members as edited, in order.
    pub fn drafts(&self) -> Vec<MemberDraft> {
        self.imp()
            .rows
            .borrow()
            .iter()
            .map(ClMemberRow::draft)
            .collect()
    }

    /// Show `drafts` as the member rows.
    pub fn set_drafts(&self, drafts: &[MemberDraft]) {
        let imp = self.imp();
        super::remove_children(&imp.members_list);
        let count = drafts.len();
        let rows: Vec<ClMemberRow> = drafts
            .iter()
            .enumerate()
            .map(|(i, m)| self.member_row(i, count, m))
            .collect();
        for r in &rows {
            imp.members_list.append(r);
        }
        imp.rows.replace(rows);
    }

    fn member_row(&self, i: usize, count: usize, m: &MemberDraft) -> ClMemberRow {
        let row = ClMemberRow::new(i, count, &self.imp().endpoints.borrow(), m);
        let d = self.downgrade();
        row.connect_local("move", false, move |args| {
            let up = args.get(1).and_then(|v| v.get::<bool>().ok());
            if let (Some(d), Some(up)) = (d.upgrade(), up) {
                d.move_member(i, up);
            }
            None
        });
        let d = self.downgrade();
        row.connect_local("remove", false, move |_| {
            if let Some(d) = d.upgrade() {
                d.remove_member(i);
            }
            None
        });
        row
    }

    /// Move member `i` one place up or down.
    pub fn move_member(&self, i: usize, up: bool) {
        let mut drafts = self.drafts();
        if model::move_member(&mut drafts, i, up) {
            self.set_drafts(&drafts);
        }
    }

    /// Remove member `i`.
    pub fn remove_member(&self, i: usize) {
        let mut drafts = self.drafts();
        if i < drafts.len() {
            drafts.remove(i);
            self.set_drafts(&drafts);
        }
    }

    /// Add a member: the first endpoint not yet in the group (else the first).
    pub fn add_member(&self) {
        let mut drafts = self.drafts();
        let endpoint = {
            let endpoints = self.imp().endpoints.borrow();
            endpoints
                .iter()
                .find(|e| !drafts.iter().any(|d| d.endpoint == e.id))
                .or_else(|| endpoints.first())
                .map(|e| e.id.clone())
                .unwrap_or_default()
        };
        drafts.push(MemberDraft {
            endpoint,
            model: String::new(),
        });
        self.set_drafts(&drafts);
    }

    /// Check the form, then `AddGroup` or `UpdateGroup`; close when the daemon took it.
    pub fn save(&self) {
        let imp = self.imp();
        if imp.busy.get() {
            return;
        }
        let members = match model::group_members(&self.drafts()) {
            Ok(m) => m,
            Err(why) => return self.show_error(&why),
        };
        let name = imp.name_row.text().trim().to_owned();
        if imp.id.borrow().is_none() && name.is_empty() {
            return self.show_error("Name the group");
        }
        let Some(client) = self.client() else { return };
        let id = imp.id.borrow().clone();
        imp.busy.set(true);
        imp.save_button.set_sensitive(false);
        let d = self.clone();
        glib::spawn_future_local(async move {
            let result = match id {
                None => client.add_group(&name, members).await,
                Some(id) => client.update_group(&id, members).await.map(|()| id),
            };
            d.imp().busy.set(false);
            d.imp().save_button.set_sensitive(true);
            match result {
                Ok(id) => {
                    d.show_error("");
                    d.emit_by_name::<()>("saved", &[&id]);
                    d.close();
                }
                Err(e) => d.show_error(&e.to_string()),
            }
        });
    }
}
