//! `ClMemberRow`: one member of the fallback group being edited: its place, an endpoint
//! dropdown and an optional model. Emits `move(up)` from Move Up / Move Down and `remove`
//! from Remove; the group editor reorders its drafts ([`model::move_member`]) and rebuilds
//! the rows.

use gtk::glib;
use gtk::glib::subclass::Signal;
use gtk::prelude::*;
use gtk::subclass::prelude::*;

use crate::model::{self, MemberDraft};

mod imp {
    use std::cell::RefCell;
    use std::sync::OnceLock;

    use super::*;

    #[derive(Debug, Default, gtk::CompositeTemplate)]
    #[template(file = "member_row.ui")]
    pub struct ClMemberRow {
        #[template_child]
        pub position_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub endpoint_dropdown: TemplateChild<gtk::DropDown>,
        #[template_child]
        pub model_entry: TemplateChild<gtk::Entry>,
        #[template_child]
        pub up_button: TemplateChild<gtk::Button>,
        #[template_child]
        pub down_button: TemplateChild<gtk::Button>,
        #[template_child]
        pub remove_button: TemplateChild<gtk::Button>,
        /// The endpoint ids in the dropdown's order.
        pub ids: RefCell<Vec<String>>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for ClMemberRow {
        const NAME: &'static str = "ClMemberRow";
        type Type = super::ClMemberRow;
        type ParentType = gtk::ListBoxRow;

        fn class_init(klass: &mut Self::Class) {
            klass.bind_template();
        }

        fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
            obj.init_template();
        }
    }

    impl ObjectImpl for ClMemberRow {
        fn constructed(&self) {
            self.parent_constructed();
            for (button, up) in [(&self.up_button, true), (&self.down_button, false)] {
                let row = self.obj().downgrade();
                button.connect_clicked(move |_| {
                    if let Some(row) = row.upgrade() {
                        row.emit_by_name::<()>("move", &[&up]);
                    }
                });
            }
            let row = self.obj().downgrade();
            self.remove_button.connect_clicked(move |_| {
                if let Some(row) = row.upgrade() {
                    row.emit_by_name::<()>("remove", &[]);
                }
            });
        }

        fn signals() -> &'static [Signal] {
            static SIGNALS: OnceLock<Vec<Signal>> = OnceLock::new();
            SIGNALS.get_or_init(|| {
                vec![
                    Signal::builder("move")
                        .param_types([bool::static_type()])
                        .build(),
                    Signal::builder("remove").build(),
                ]
            })
        }
    }

    impl WidgetImpl for ClMemberRow {}
    impl ListBoxRowImpl for ClMemberRow {}
}

glib::wrapper! {
    /// One member row of the group editor.
    pub struct ClMemberRow(ObjectSubclass<imp::ClMemberRow>)
        @extends gtk::ListBoxRow, gtk::Widget,
        @implements gtk::Actionable, gtk::Buildable, gtk::ConstraintTarget;
}

impl ClMemberRow {
    /// Member number `index` (from 0) of `count`, `m`, whose endpoint is one of `endpoints`.
    pub fn new(
        index: usize,
        count: usize,
        endpoints: &[codex_launcher_dbus::EndpointInfo],
        m: &MemberDraft,
    ) -> ClMemberRow {
        let row: ClMemberRow = glib::Object::new();
        let imp = row.imp();
        let (ids, labels, selected) = model::member_endpoint_choices(endpoints, &m.endpoint);
        let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
        imp.endpoint_dropdown
            .set_model(Some(&gtk::StringList::new(&labels)));
        imp.endpoint_dropdown.set_selected(selected);
        imp.ids.replace(ids);
        imp.model_entry.set_text(&m.model);
        imp.position_label.set_text(&format!("{}.", index + 1));
        imp.up_button.set_sensitive(index > 0);
        imp.down_button.set_sensitive(index + 1 < count);
        row
    }

    /// The member as edited.
    pub fn draft(&self) -> MemberDraft {
        let imp = self.imp();
        let endpoint = usize::try_from(imp.endpoint_dropdown.selected())
            .ok()
            .and_then(|i| imp.ids.borrow().get(i).cloned())
            .unwrap_or_default();
        MemberDraft {
            endpoint,
            model: imp.model_entry.text().trim().to_owned(),
        }
    }

    /// The buttons' labels, in order (for tests).
    pub fn button_labels(&self) -> Vec<String> {
        let imp = self.imp();
        [&imp.up_button, &imp.down_button, &imp.remove_button]
            .iter()
            .filter_map(|b| b.label().map(String::from))
            .collect()
    }

    /// The endpoint dropdown and the model entry (for tests).
    pub fn fields(&self) -> (gtk::DropDown, gtk::Entry) {
        let imp = self.imp();
        (imp.endpoint_dropdown.get(), imp.model_entry.get())
    }
}
