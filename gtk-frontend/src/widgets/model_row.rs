//! `ClModelRow`: one model of the endpoint being edited, with its context window, reasoning
//! efforts and prices. Emits `remove` when its Remove button is clicked.

use codex_launcher_dbus::{ModelPrices, ModelSpec};
use gtk::glib;
use gtk::glib::subclass::Signal;
use gtk::prelude::*;
use gtk::subclass::prelude::*;

use crate::model;

mod imp {
    use std::cell::RefCell;
    use std::sync::OnceLock;

    use super::*;

    #[derive(Debug, Default, gtk::CompositeTemplate)]
    #[template(file = "model_row.ui")]
    pub struct ClModelRow {
        #[template_child]
        pub id_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub context_spin: TemplateChild<gtk::SpinButton>,
        #[template_child]
        pub efforts_entry: TemplateChild<gtk::Entry>,
        #[template_child]
        pub remove_button: TemplateChild<gtk::Button>,
        #[template_child]
        pub input_entry: TemplateChild<gtk::Entry>,
        #[template_child]
        pub cached_entry: TemplateChild<gtk::Entry>,
        #[template_child]
        pub write_entry: TemplateChild<gtk::Entry>,
        #[template_child]
        pub output_entry: TemplateChild<gtk::Entry>,
        #[template_child]
        pub prices_label: TemplateChild<gtk::Label>,
        /// The model as the daemon sent it (fields the row does not edit are kept).
        pub spec: RefCell<ModelSpec>,
        /// Its prices as the daemon sent them (a separate call: `ListModelPrices`).
        pub prices: RefCell<ModelPrices>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for ClModelRow {
        const NAME: &'static str = "ClModelRow";
        type Type = super::ClModelRow;
        type ParentType = gtk::ListBoxRow;

        fn class_init(klass: &mut Self::Class) {
            klass.bind_template();
        }

        fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
            obj.init_template();
        }
    }

    impl ObjectImpl for ClModelRow {
        fn constructed(&self) {
            self.parent_constructed();
            let row = self.obj().downgrade();
            self.remove_button.connect_clicked(move |_| {
                if let Some(row) = row.upgrade() {
                    row.emit_by_name::<()>("remove", &[]);
                }
            });
        }

        fn signals() -> &'static [Signal] {
            static SIGNALS: OnceLock<Vec<Signal>> = OnceLock::new();
            SIGNALS.get_or_init(|| vec![Signal::builder("remove").build()])
        }
    }

    impl WidgetImpl for ClModelRow {}
    impl ListBoxRowImpl for ClModelRow {}
}

glib::wrapper! {
    /// One model row.
    pub struct ClModelRow(ObjectSubclass<imp::ClModelRow>)
        @extends gtk::ListBoxRow, gtk::Widget,
        @implements gtk::Actionable, gtk::Buildable, gtk::ConstraintTarget;
}

impl ClModelRow {
    /// A row for `spec`.
    pub fn new(spec: ModelSpec) -> ClModelRow {
        let row: ClModelRow = glib::Object::new();
        let imp = row.imp();
        imp.id_label.set_text(&spec.id);
        if !spec.display_name.is_empty() && spec.display_name != spec.id {
            imp.id_label.set_tooltip_text(Some(&spec.display_name));
        }
        imp.context_spin.set_value(spec.context_window as f64);
        imp.efforts_entry
            .set_text(&model::efforts_text(&spec.reasoning_efforts));
        imp.remove_button
            .set_tooltip_text(Some(&format!("Remove {} from this endpoint", spec.id)));
        imp.spec.replace(spec);
        row.set_prices(ModelPrices::default());
        row
    }

    /// Show the prices the daemon has for this model.
    pub fn set_prices(&self, prices: ModelPrices) {
        let imp = self.imp();
        let texts = model::price_texts(&prices);
        for (entry, text) in self.price_entries().iter().zip(&texts) {
            entry.set_text(text);
        }
        imp.prices_label.set_text(&model::prices_note(&prices));
        imp.prices.replace(prices);
    }

    /// The prices typed here that differ from the daemon's (`None`: unchanged).
    pub fn price_edit(&self) -> Option<ModelPrices> {
        let texts = self.price_entries().map(|e| e.text().to_string());
        let typed = [
            texts[0].as_str(),
            texts[1].as_str(),
            texts[2].as_str(),
            texts[3].as_str(),
        ];
        model::price_edit(&self.imp().prices.borrow(), typed)
    }

    /// The price entries: input, cached input, cache write, output (also for tests).
    pub fn price_entries(&self) -> [gtk::Entry; 4] {
        let imp = self.imp();
        [
            imp.input_entry.get(),
            imp.cached_entry.get(),
            imp.write_entry.get(),
            imp.output_entry.get(),
        ]
    }

    /// The line saying where the prices come from (for tests).
    pub fn prices_note(&self) -> String {
        self.imp().prices_label.text().into()
    }

    /// The model with what the user set here.
    pub fn spec(&self) -> ModelSpec {
        let imp = self.imp();
        model::with_edits(
            &imp.spec.borrow(),
            u64::try_from(imp.context_spin.value_as_int()).unwrap_or(0),
            &imp.efforts_entry.text(),
        )
    }

    /// The model id.
    pub fn id(&self) -> String {
        self.imp().spec.borrow().id.clone()
    }

    /// The context window spin button (for tests).
    pub fn context_spin(&self) -> gtk::SpinButton {
        self.imp().context_spin.get()
    }

    /// The Remove button (for tests).
    pub fn remove_button(&self) -> gtk::Button {
        self.imp().remove_button.get()
    }

    /// The efforts entry (for tests).
    pub fn efforts_entry(&self) -> gtk::Entry {
        self.imp().efforts_entry.get()
    }
}
