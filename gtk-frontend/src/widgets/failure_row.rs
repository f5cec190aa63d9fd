//! `ClFailureRow`: one failed turn in the main window's "Recent failures". It shows a
//! [`FailureLine`](crate::model::FailureLine) and emits `show-turn`, `replay-turn` or
//! `export-turn` when its
//! buttons are clicked; the list ([`ClFailuresView`](super::ClFailuresView)) does the call.

use gtk::glib;
use gtk::glib::subclass::Signal;
use gtk::prelude::*;
use gtk::subclass::prelude::*;

use crate::model::FailureLine;

mod imp {
    use std::cell::RefCell;
    use std::sync::OnceLock;

    use super::*;

    #[derive(Debug, Default, gtk::CompositeTemplate)]
    #[template(file = "failure_row.ui")]
    pub struct ClFailureRow {
        #[template_child]
        pub title_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub subtitle_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub show_button: TemplateChild<gtk::Button>,
        #[template_child]
        pub replay_button: TemplateChild<gtk::Button>,
        #[template_child]
        pub export_button: TemplateChild<gtk::Button>,
        pub line: RefCell<Option<FailureLine>>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for ClFailureRow {
        const NAME: &'static str = "ClFailureRow";
        type Type = super::ClFailureRow;
        type ParentType = gtk::ListBoxRow;

        fn class_init(klass: &mut Self::Class) {
            klass.bind_template();
        }

        fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
            obj.init_template();
        }
    }

    impl ObjectImpl for ClFailureRow {
        fn constructed(&self) {
            self.parent_constructed();
            for (button, signal) in [
                (&self.show_button, "show-turn"),
                (&self.replay_button, "replay-turn"),
                (&self.export_button, "export-turn"),
            ] {
                let row = self.obj().downgrade();
                button.connect_clicked(move |_| {
                    if let Some(row) = row.upgrade() {
                        row.emit_by_name::<()>(signal, &[]);
                    }
                });
            }
        }

        fn signals() -> &'static [Signal] {
            static SIGNALS: OnceLock<Vec<Signal>> = OnceLock::new();
            SIGNALS.get_or_init(|| {
                // Not `show`: GtkWidget has that signal already.
                ["show-turn", "replay-turn", "export-turn"]
                    .into_iter()
                    .map(|name| Signal::builder(name).build())
                    .collect()
            })
        }
    }

    impl WidgetImpl for ClFailureRow {}
    impl ListBoxRowImpl for ClFailureRow {}
}

glib::wrapper! {
    /// One failed turn of the list.
    pub struct ClFailureRow(ObjectSubclass<imp::ClFailureRow>)
        @extends gtk::ListBoxRow, gtk::Widget,
        @implements gtk::Actionable, gtk::Buildable, gtk::ConstraintTarget;
}

impl ClFailureRow {
    /// A row showing `line`.
    pub fn new(line: FailureLine) -> ClFailureRow {
        let row: ClFailureRow = glib::Object::new();
        let imp = row.imp();
        imp.title_label.set_text(&line.title);
        imp.subtitle_label.set_text(&line.subtitle);
        row.set_tooltip_text(Some(&line.error));
        imp.line.replace(Some(line));
        row
    }

    /// What the row shows.
    pub fn line(&self) -> Option<FailureLine> {
        self.imp().line.borrow().clone()
    }

    /// The texts of the labels, top to bottom (for tests).
    pub fn texts(&self) -> [String; 2] {
        let imp = self.imp();
        [
            imp.title_label.text().into(),
            imp.subtitle_label.text().into(),
        ]
    }

    /// The buttons: Show, Replay on…, Export… (for tests).
    pub fn buttons(&self) -> [gtk::Button; 3] {
        let imp = self.imp();
        [
            imp.show_button.get(),
            imp.replay_button.get(),
            imp.export_button.get(),
        ]
    }
}
