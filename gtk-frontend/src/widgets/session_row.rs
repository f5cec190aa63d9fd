//! `ClSessionRow`: one session in the main window's list. It shows a
//! [`SessionView`](crate::model::SessionView) and emits `stop` when its Stop button is
//! clicked; the window does the call.

use gtk::glib;
use gtk::glib::subclass::Signal;
use gtk::prelude::*;
use gtk::subclass::prelude::*;

use codex_launcher_dbus::SessionState;

use crate::model::{self, SessionView};

mod imp {
    use std::cell::RefCell;
    use std::sync::OnceLock;

    use super::*;

    #[derive(Debug, Default, gtk::CompositeTemplate)]
    #[template(file = "session_row.ui")]
    pub struct ClSessionRow {
        #[template_child]
        pub title_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub target_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub detail_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub state_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub stop_button: TemplateChild<gtk::Button>,
        pub view: RefCell<SessionView>,
        /// The CSS class last put on the state label.
        pub state_class: RefCell<Option<&'static str>>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for ClSessionRow {
        const NAME: &'static str = "ClSessionRow";
        type Type = super::ClSessionRow;
        type ParentType = gtk::ListBoxRow;

        fn class_init(klass: &mut Self::Class) {
            klass.bind_template();
        }

        fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
            obj.init_template();
        }
    }

    impl ObjectImpl for ClSessionRow {
        fn constructed(&self) {
            self.parent_constructed();
            let row = self.obj().downgrade();
            self.stop_button.connect_clicked(move |_| {
                if let Some(row) = row.upgrade() {
                    row.emit_by_name::<()>("stop", &[]);
                }
            });
        }

        fn signals() -> &'static [Signal] {
            static SIGNALS: OnceLock<Vec<Signal>> = OnceLock::new();
            SIGNALS.get_or_init(|| vec![Signal::builder("stop").build()])
        }
    }

    impl WidgetImpl for ClSessionRow {}
    impl ListBoxRowImpl for ClSessionRow {}
}

glib::wrapper! {
    /// One session of the list.
    pub struct ClSessionRow(ObjectSubclass<imp::ClSessionRow>)
        @extends gtk::ListBoxRow, gtk::Widget,
        @implements gtk::Actionable, gtk::Buildable, gtk::ConstraintTarget;
}

impl ClSessionRow {
    /// A row showing `view` at time `now` (seconds since the epoch).
    pub fn new(view: SessionView, now: u64) -> ClSessionRow {
        let row: ClSessionRow = glib::Object::new();
        row.set_view(view, now);
        row
    }

    /// What the row shows.
    pub fn view(&self) -> SessionView {
        self.imp().view.borrow().clone()
    }

    /// Show `view`.
    pub fn set_view(&self, view: SessionView, now: u64) {
        let imp = self.imp();
        imp.title_label.set_text(&format!(
            "#{} · {}",
            view.number(),
            model::mode_label(view.mode)
        ));
        imp.target_label.set_text(&view.target_label());
        imp.state_label
            .set_text(&model::state_label(view.state, view.exit_code));
        let class = model::state_style(view.state, view.exit_code);
        if let Some(old) = imp.state_class.replace(Some(class)) {
            imp.state_label.remove_css_class(old);
        }
        imp.state_label.add_css_class(class);
        imp.stop_button.set_visible(view.is_live());
        imp.stop_button.set_sensitive(!matches!(
            view.state,
            SessionState::Stopping | SessionState::Starting
        ));
        imp.view.replace(view);
        self.tick(now);
    }

    /// Change the view with `edit` and show it.
    pub fn update(&self, now: u64, edit: impl FnOnce(&mut SessionView)) {
        let mut view = self.view();
        edit(&mut view);
        self.set_view(view, now);
    }

    /// Refresh the duration (called every second).
    pub fn tick(&self, now: u64) {
        let imp = self.imp();
        let view = imp.view.borrow();
        imp.detail_label.set_text(&format!(
            "{} · {}",
            view.duration_label(now),
            view.traffic_label()
        ));
    }

    /// The texts of the labels, top to bottom (for tests).
    pub fn texts(&self) -> [String; 4] {
        let imp = self.imp();
        [
            imp.title_label.text().into(),
            imp.target_label.text().into(),
            imp.detail_label.text().into(),
            imp.state_label.text().into(),
        ]
    }

    /// The Stop button (for tests).
    pub fn stop_button(&self) -> gtk::Button {
        self.imp().stop_button.get()
    }
}
