//! `ClEndpointDialog`: add or edit one endpoint. A preset (new endpoints only) fills the
//! URL, backend and starter models; the key goes to the daemon with `AddEndpoint` or
//! `SetApiKey` and is never read back. The prompt-cache setting and the models' prices are
//! read and saved with their own calls (`GetEndpointOptions`/`SetEndpointOptions`,
//! `ListModelPrices`/`SetModelPrices`); a price is sent as typed, for the daemon to check.
//! Fetch from API and Import Models work on the saved endpoint, so they save the form first.
//! Extra headers (issue 13) are listed as the daemon reports them (a secret one's value is
//! `***`: it is never read back); additions and removals wait for Save, which sends one
//! `SetHeader` each after the endpoint exists. Daemon errors are shown inline as
//! `Name: message`. Emits `saved(id)` after every save.

use adw::prelude::*;
use adw::subclass::prelude::*;
use codex_launcher_dbus::{CacheTtl, EndpointInfo, EndpointSpec, ModelSpec, Preset, PricedModel};
use gtk::glib;
use gtk::glib::subclass::Signal;

use crate::client::Client;
use crate::model::{self, HeaderChange};
use crate::widgets::ClModelRow;

mod imp {
    use std::cell::{Cell, RefCell};
    use std::sync::OnceLock;

    use super::*;

    #[derive(Debug, Default, gtk::CompositeTemplate)]
    #[template(file = "endpoint_dialog.ui")]
    pub struct ClEndpointDialog {
        #[template_child]
        pub save_button: TemplateChild<gtk::Button>,
        #[template_child]
        pub error_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub preset_group: TemplateChild<adw::PreferencesGroup>,
        #[template_child]
        pub preset_box: TemplateChild<gtk::FlowBox>,
        #[template_child]
        pub preset_notes: TemplateChild<gtk::Label>,
        #[template_child]
        pub name_row: TemplateChild<adw::EntryRow>,
        #[template_child]
        pub url_row: TemplateChild<adw::EntryRow>,
        #[template_child]
        pub backend_row: TemplateChild<adw::ComboRow>,
        #[template_child]
        pub ua_switch: TemplateChild<gtk::Switch>,
        #[template_child]
        pub cache_row: TemplateChild<adw::ComboRow>,
        /// The cache setting the daemon has (`None`: a new endpoint, which has the default).
        pub cache: Cell<Option<CacheTtl>>,
        #[template_child]
        pub key_group: TemplateChild<adw::PreferencesGroup>,
        #[template_child]
        pub key_row: TemplateChild<adw::PasswordEntryRow>,
        #[template_child]
        pub fetch_spinner: TemplateChild<gtk::Spinner>,
        #[template_child]
        pub fetch_button: TemplateChild<gtk::Button>,
        #[template_child]
        pub fetch_cancel_button: TemplateChild<gtk::Button>,
        #[template_child]
        pub fetch_status: TemplateChild<gtk::Label>,
        #[template_child]
        pub models_list: TemplateChild<gtk::ListBox>,
        #[template_child]
        pub default_model_row: TemplateChild<adw::ComboRow>,
        #[template_child]
        pub import_button: TemplateChild<gtk::Button>,
        #[template_child]
        pub paste_view: TemplateChild<gtk::TextView>,
        #[template_child]
        pub headers_list: TemplateChild<gtk::ListBox>,
        #[template_child]
        pub header_name_entry: TemplateChild<gtk::Entry>,
        #[template_child]
        pub header_value_entry: TemplateChild<gtk::Entry>,
        #[template_child]
        pub header_secret_switch: TemplateChild<gtk::Switch>,
        #[template_child]
        pub add_header_button: TemplateChild<gtk::Button>,
        /// The header changes not yet sent, in the order made.
        pub header_changes: RefCell<Vec<HeaderChange>>,
        /// The switch was turned on by the name's rule, not by the user.
        pub secret_forced: Cell<bool>,
        pub client: RefCell<Option<Client>>,
        /// The endpoint's id once it exists.
        pub id: RefCell<Option<String>>,
        /// What the form does not show (extra headers, quirks, provider row, preset id),
        /// from the endpoint being edited or the preset picked.
        pub base: RefCell<EndpointSpec>,
        pub presets: RefCell<Vec<Preset>>,
        /// The preset picked last (its name may be replaced by the next one).
        pub preset: RefCell<Option<Preset>>,
        /// The model rows, in order.
        pub rows: RefCell<Vec<ClModelRow>>,
        /// The fetch under way; aborting it drops the call (the reply is ignored).
        pub fetch: RefCell<Option<glib::JoinHandle<()>>>,
        pub busy: Cell<bool>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for ClEndpointDialog {
        const NAME: &'static str = "ClEndpointDialog";
        type Type = super::ClEndpointDialog;
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

    impl ObjectImpl for ClEndpointDialog {
        fn constructed(&self) {
            self.parent_constructed();
            let obj = self.obj();
            let d = obj.downgrade();
            self.save_button.connect_clicked(move |_| {
                if let Some(d) = d.upgrade() {
                    d.save_and_close();
                }
            });
            let d = obj.downgrade();
            self.fetch_button.connect_clicked(move |_| {
                if let Some(d) = d.upgrade() {
                    d.fetch_models();
                }
            });
            let d = obj.downgrade();
            self.fetch_cancel_button.connect_clicked(move |_| {
                if let Some(d) = d.upgrade() {
                    d.cancel_fetch();
                }
            });
            let d = obj.downgrade();
            self.import_button.connect_clicked(move |_| {
                if let Some(d) = d.upgrade() {
                    d.import_models();
                }
            });
            let d = obj.downgrade();
            self.add_header_button.connect_clicked(move |_| {
                if let Some(d) = d.upgrade() {
                    d.add_header();
                }
            });
            let d = obj.downgrade();
            self.header_name_entry.connect_changed(move |_| {
                if let Some(d) = d.upgrade() {
                    d.header_name_changed();
                }
            });
            let d = obj.downgrade();
            self.header_secret_switch
                .connect_active_notify(move |switch| {
                    if let Some(d) = d.upgrade() {
                        // A secret value is not shown while typed either.
                        d.imp()
                            .header_value_entry
                            .set_visibility(!switch.is_active());
                    }
                });
            obj.connect_close_request(|d| {
                d.cancel_fetch();
                glib::Propagation::Proceed
            });
            obj.set_models(Vec::new(), "");
            self.cache_row
                .set_model(Some(&gtk::StringList::new(&model::cache_labels())));
            self.cache_row
                .set_selected(model::cache_index(CacheTtl::default()));
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

    impl WidgetImpl for ClEndpointDialog {}
    impl WindowImpl for ClEndpointDialog {}
    impl AdwWindowImpl for ClEndpointDialog {}
}

glib::wrapper! {
    /// The endpoint editor.
    pub struct ClEndpointDialog(ObjectSubclass<imp::ClEndpointDialog>)
        @extends adw::Window, gtk::Window, gtk::Widget,
        @implements gtk::Buildable, gtk::ConstraintTarget, gtk::Native,
                    gtk::Root, gtk::ShortcutManager;
}

impl ClEndpointDialog {
    /// A dialog for a new endpoint (`None`: the presets are loaded) or for `existing`.
    pub fn new(
        client: &Client,
        parent: &impl IsA<gtk::Window>,
        existing: Option<EndpointInfo>,
    ) -> ClEndpointDialog {
        let d: ClEndpointDialog = glib::Object::builder()
            .property("transient-for", parent)
            .build();
        d.imp().client.replace(Some(client.clone()));
        match existing {
            Some(e) => d.show_endpoint(&e),
            None => {
                let client = client.clone();
                let weak = d.downgrade();
                glib::spawn_future_local(async move {
                    let result = client.presets().await;
                    let Some(d) = weak.upgrade() else { return };
                    match result {
                        Ok(presets) => d.set_presets(presets),
                        Err(e) => d.show_error(&format!("Cannot list presets: {e}")),
                    }
                });
            }
        }
        d
    }

    /// A dialog with no daemon behind it (widget tests).
    pub fn detached() -> ClEndpointDialog {
        glib::Object::new()
    }

    fn client(&self) -> Option<Client> {
        self.imp().client.borrow().clone()
    }

    /// The id of the endpoint, once saved.
    pub fn endpoint_id(&self) -> Option<String> {
        self.imp().id.borrow().clone()
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

    fn set_status(&self, text: &str, is_error: bool) {
        let label = &self.imp().fetch_status;
        label.set_text(text);
        label.set_visible(!text.is_empty());
        if is_error {
            label.add_css_class("error");
        } else {
            label.remove_css_class("error");
        }
    }

    /// The fetch/import status line.
    pub fn status_text(&self) -> String {
        self.imp().fetch_status.text().into()
    }

    /// Offer `presets` as toggle buttons.
    pub fn set_presets(&self, presets: Vec<Preset>) {
        let imp = self.imp();
        let mut group: Option<gtk::ToggleButton> = None;
        for (i, p) in presets.iter().enumerate() {
            let label = if p.spec.name.is_empty() {
                &p.id
            } else {
                &p.spec.name
            };
            let button = gtk::ToggleButton::with_label(label);
            if !p.notes.is_empty() {
                button.set_tooltip_text(Some(&p.notes));
            }
            match &group {
                Some(first) => button.set_group(Some(first)),
                None => group = Some(button.clone()),
            }
            let d = self.downgrade();
            button.connect_toggled(move |b| {
                if b.is_active()
                    && let Some(d) = d.upgrade()
                {
                    d.pick_preset(i);
                }
            });
            imp.preset_box.append(&button);
        }
        imp.presets.replace(presets);
    }

    /// Fill the form from preset number `i`.
    pub fn pick_preset(&self, i: usize) {
        let imp = self.imp();
        let Some(preset) = imp.presets.borrow().get(i).cloned() else {
            return;
        };
        let previous = imp.preset.borrow().clone();
        let filled = model::apply_preset(&self.spec(), previous.as_ref(), &preset);
        self.show_spec(&filled);
        imp.preset_notes.set_text(&preset.notes);
        imp.preset_notes.set_visible(!preset.notes.is_empty());
        imp.preset.replace(Some(preset));
    }

    fn show_endpoint(&self, e: &EndpointInfo) {
        let imp = self.imp();
        self.set_title(Some("Edit Endpoint"));
        imp.id.replace(Some(e.id.clone()));
        imp.preset_group.set_visible(false);
        imp.key_group.set_description(Some(&if e.has_key {
            format!(
                "A key is stored{}. Type a new one to replace it; leave empty to keep it",
                match e.key_storage.as_str() {
                    "" => String::new(),
                    s => format!(" ({s})"),
                }
            )
        } else {
            "No key stored. Stored by the daemon in the keyring; never shown again".to_owned()
        }));
        self.show_spec(&e.spec);
        self.load_options(&e.id);
    }

    // ---- cost and prices (issue 14) ----

    /// Read the endpoint's cache setting and its models' prices (calls apart from its
    /// settings) into the form.
    fn load_options(&self, id: &str) {
        let Some(client) = self.client() else { return };
        let weak = self.downgrade();
        let id = id.to_owned();
        glib::spawn_future_local(async move {
            let cache = client.cache(&id).await;
            let prices = client.model_prices(&id).await;
            let Some(d) = weak.upgrade() else { return };
            match cache {
                Ok(cache) => d.show_cache(cache),
                Err(e) => d.show_error(&format!("Cannot read the cache setting: {e}")),
            }
            match prices {
                Ok(prices) => d.show_prices(&prices),
                Err(e) => d.show_error(&format!("Cannot read the prices: {e}")),
            }
        });
    }

    /// Show the daemon's cache setting.
    pub fn show_cache(&self, cache: CacheTtl) {
        let imp = self.imp();
        imp.cache.set(Some(cache));
        imp.cache_row.set_selected(model::cache_index(cache));
    }

    /// The cache setting picked.
    pub fn cache(&self) -> CacheTtl {
        model::cache_at(self.imp().cache_row.selected())
    }

    /// Show the daemon's prices in the model rows.
    pub fn show_prices(&self, prices: &[PricedModel]) {
        for row in self.imp().rows.borrow().iter() {
            let id = row.id();
            if let Some(p) = prices.iter().find(|p| p.model == id) {
                row.set_prices(p.prices.clone());
            }
        }
    }

    /// Send what the form changed beyond the settings: the cache setting, then each model's
    /// edited prices; read the prices back as the daemon normalised them.
    async fn save_options(&self, client: &Client, id: &str) -> crate::client::Result<()> {
        let imp = self.imp();
        let cache = self.cache();
        if imp.cache.get().unwrap_or_default() != cache {
            client.set_cache(id, cache).await?;
            imp.cache.set(Some(cache));
        }
        let edits: Vec<(String, codex_launcher_dbus::ModelPrices)> = imp
            .rows
            .borrow()
            .iter()
            .filter_map(|r| Some((r.id(), r.price_edit()?)))
            .collect();
        if edits.is_empty() {
            return Ok(());
        }
        for (model, prices) in edits {
            client.set_model_prices(id, &model, prices).await?;
        }
        let prices = client.model_prices(id).await?;
        self.show_prices(&prices);
        Ok(())
    }

    fn show_spec(&self, spec: &EndpointSpec) {
        let imp = self.imp();
        imp.name_row.set_text(&spec.name);
        imp.url_row.set_text(&spec.base_url);
        imp.backend_row
            .set_selected(model::backend_index(spec.backend));
        imp.ua_switch.set_active(spec.browser_ua);
        imp.base.replace(spec.clone());
        self.show_headers();
        self.set_models(spec.models.clone(), &spec.default_model);
    }

    // ---- extra headers (issue 13) ----

    /// List the endpoint's headers after the changes not yet sent.
    fn show_headers(&self) {
        let imp = self.imp();
        super::remove_children(&imp.headers_list);
        let headers = model::headers_after(
            &imp.base.borrow().extra_headers,
            &imp.header_changes.borrow(),
        );
        for (name, value) in headers {
            let row = adw::ActionRow::builder()
                .title(model::header_line(&name, &value))
                .use_markup(false)
                .build();
            let remove = gtk::Button::with_label("Remove");
            remove.set_valign(gtk::Align::Center);
            remove.set_tooltip_text(Some("Remove the header (on Save)"));
            let d = self.downgrade();
            remove.connect_clicked(move |_| {
                if let Some(d) = d.upgrade() {
                    d.remove_header(&name);
                }
            });
            row.add_suffix(&remove);
            imp.headers_list.append(&row);
        }
    }

    /// The header lines listed (for tests).
    pub fn header_lines(&self) -> Vec<String> {
        let list = &self.imp().headers_list;
        let mut out = Vec::new();
        let mut i = 0;
        while let Some(row) = list.row_at_index(i) {
            i += 1;
            if let Ok(row) = row.downcast::<adw::ActionRow>() {
                out.push(row.title().into());
            }
        }
        out
    }

    /// The "Add header" widgets: name, value, Secret switch, Add Header (for tests).
    pub fn header_form(&self) -> (gtk::Entry, gtk::Entry, gtk::Switch, gtk::Button) {
        let imp = self.imp();
        (
            imp.header_name_entry.get(),
            imp.header_value_entry.get(),
            imp.header_secret_switch.get(),
            imp.add_header_button.get(),
        )
    }

    /// The header changes Save will send, in order.
    pub fn header_changes(&self) -> Vec<HeaderChange> {
        self.imp().header_changes.borrow().clone()
    }

    /// A name that says it is a credential turns Secret on, and keeps it on (the daemon
    /// refuses such a header as not secret); when the name no longer does, the switch goes
    /// back to off if the rule had turned it on.
    fn header_name_changed(&self) {
        let imp = self.imp();
        let switch = &imp.header_secret_switch;
        if model::is_secret_header_name(&imp.header_name_entry.text()) {
            if !switch.is_active() {
                imp.secret_forced.set(true);
                switch.set_active(true);
            }
            switch.set_sensitive(false);
        } else {
            switch.set_sensitive(true);
            if imp.secret_forced.replace(false) {
                switch.set_active(false);
            }
        }
    }

    /// Queue the header typed into the "Add header" row.
    pub fn add_header(&self) {
        let imp = self.imp();
        let change = HeaderChange::set(
            &imp.header_name_entry.text(),
            &imp.header_value_entry.text(),
            imp.header_secret_switch.is_active(),
        );
        let Some(change) = change else {
            return self.show_error("Type a header name and its value");
        };
        imp.header_changes.borrow_mut().push(change);
        imp.header_name_entry.set_text("");
        imp.header_value_entry.set_text("");
        imp.header_secret_switch.set_active(false);
        self.show_error("");
        self.show_headers();
    }

    /// Queue the removal of header `name`.
    pub fn remove_header(&self, name: &str) {
        self.imp()
            .header_changes
            .borrow_mut()
            .push(HeaderChange::remove(name));
        self.show_headers();
    }

    /// Send the queued header changes, one `SetHeader` each, then list the headers as the
    /// daemon has them. A change is dropped from the queue once sent, so a failed one and
    /// those after it are sent again by the next Save.
    async fn save_headers(&self, client: &Client, id: &str) -> crate::client::Result<()> {
        let imp = self.imp();
        if imp.header_changes.borrow().is_empty() {
            return Ok(());
        }
        loop {
            let Some(change) = imp.header_changes.borrow().first().cloned() else {
                break;
            };
            client.set_header(id, &change).await?;
            imp.header_changes.borrow_mut().remove(0);
            // Sent: it is part of the endpoint now (`***` for a secret one, which
            // UpdateEndpoint reads as "keep the stored value").
            let mut base = imp.base.borrow_mut();
            base.extra_headers =
                model::headers_after(&base.extra_headers, std::slice::from_ref(&change));
        }
        if let Ok(e) = client.endpoint(id).await {
            imp.base.borrow_mut().extra_headers = e.spec.extra_headers;
        }
        self.show_headers();
        Ok(())
    }

    /// Show `models`, with `default` preselected in the default-model picker.
    pub fn set_models(&self, models: Vec<ModelSpec>, default: &str) {
        let imp = self.imp();
        super::remove_children(&imp.models_list);
        let mut rows = Vec::new();
        for m in models {
            let row = ClModelRow::new(m);
            let d = self.downgrade();
            row.connect_local("remove", false, move |args| {
                let row = args.first().and_then(|v| v.get::<ClModelRow>().ok());
                if let (Some(d), Some(row)) = (d.upgrade(), row) {
                    d.remove_model(&row);
                }
                None
            });
            imp.models_list.append(&row);
            rows.push(row);
        }
        imp.rows.replace(rows);
        self.fill_default_model(default);
    }

    fn fill_default_model(&self, default: &str) {
        let imp = self.imp();
        let (ids, selected) = model::default_model_choices(&self.models(), default);
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        imp.default_model_row
            .set_model(Some(&gtk::StringList::new(&ids)));
        imp.default_model_row.set_selected(selected);
        imp.default_model_row.set_sensitive(!ids.is_empty());
    }

    fn remove_model(&self, row: &ClModelRow) {
        let imp = self.imp();
        let default = self.default_model();
        imp.models_list.remove(row);
        imp.rows.borrow_mut().retain(|r| r != row);
        let keep = if default == row.id() {
            String::new()
        } else {
            default
        };
        self.fill_default_model(&keep);
    }

    /// The models as edited.
    pub fn models(&self) -> Vec<ModelSpec> {
        self.imp()
            .rows
            .borrow()
            .iter()
            .map(ClModelRow::spec)
            .collect()
    }

    /// The default-model picker (for tests).
    pub fn default_model_row(&self) -> adw::ComboRow {
        self.imp().default_model_row.get()
    }

    /// The name field (for tests).
    pub fn name_row(&self) -> adw::EntryRow {
        self.imp().name_row.get()
    }

    /// The model rows (for tests).
    pub fn model_rows(&self) -> Vec<ClModelRow> {
        self.imp().rows.borrow().clone()
    }

    fn default_model(&self) -> String {
        self.imp()
            .default_model_row
            .selected_item()
            .and_downcast::<gtk::StringObject>()
            .map(|s| s.string().into())
            .unwrap_or_default()
    }

    /// The endpoint as the form says.
    pub fn spec(&self) -> EndpointSpec {
        let imp = self.imp();
        let backend = model::backend_at(imp.backend_row.selected());
        EndpointSpec {
            name: imp.name_row.text().trim().to_owned(),
            backend,
            base_url: imp.url_row.text().trim().to_owned(),
            default_model: self.default_model(),
            models: self.models(),
            browser_ua: imp.ua_switch.is_active(),
            ..imp.base.borrow().clone()
        }
    }

    fn set_busy(&self, busy: bool) {
        let imp = self.imp();
        imp.busy.set(busy);
        for b in [&imp.save_button, &imp.import_button] {
            b.set_sensitive(!busy);
        }
        imp.fetch_button.set_visible(!busy);
    }

    /// Save the form: `AddEndpoint` (with the key) for a new endpoint, else
    /// `UpdateEndpoint` and, when a key was typed, `SetApiKey`. The id, or `None` after
    /// showing the daemon's error.
    async fn save(&self) -> Option<String> {
        let imp = self.imp();
        let client = self.client()?;
        let spec = self.spec();
        let key = imp.key_row.text().to_string();
        let id = imp.id.borrow().clone();
        let result = match id {
            None => client.add_endpoint(spec, &key).await,
            Some(id) => match client.update_endpoint(&id, spec).await {
                Ok(()) if key.is_empty() => Ok(id),
                Ok(()) => client.set_api_key(&id, &key).await.map(|_| id),
                Err(e) => Err(e),
            },
        };
        let id = match result {
            Ok(id) => id,
            Err(e) => {
                self.show_error(&e.to_string());
                return None;
            }
        };
        imp.key_row.set_text("");
        if imp.id.borrow().is_none() {
            // Saved: from now on it is an edit, whatever happens to the options below.
            self.set_title(Some("Edit Endpoint"));
            imp.preset_group.set_visible(false);
            imp.id.replace(Some(id.clone()));
        }
        if !key.is_empty() {
            imp.key_group.set_description(Some(
                "A key is stored. Type a new one to replace it; leave empty to keep it",
            ));
        }
        let options = match self.save_headers(&client, &id).await {
            Ok(()) => self.save_options(&client, &id).await,
            Err(e) => Err(e),
        };
        self.emit_by_name::<()>("saved", &[&id]);
        match options {
            Ok(()) => {
                self.show_error("");
                Some(id)
            }
            Err(e) => {
                self.show_error(&e.to_string());
                None
            }
        }
    }

    fn save_and_close(&self) {
        if self.imp().busy.get() {
            return;
        }
        self.set_busy(true);
        let d = self.clone();
        glib::spawn_future_local(async move {
            let saved = d.save().await;
            d.set_busy(false);
            if saved.is_some() {
                d.close();
            }
        });
    }

    /// After a fetch or import: the daemon's merged list, keeping unsaved row edits.
    async fn reload_models(&self, client: &Client, id: &str) -> bool {
        match client.endpoint(id).await {
            Ok(e) => {
                let models = model::merge_edited_models(&e.spec.models, &self.models());
                let default = match self.default_model() {
                    d if d.is_empty() => e.spec.default_model.clone(),
                    d => d,
                };
                self.set_models(models, &default);
                // New rows: their prices again (saved before the fetch or import).
                match client.model_prices(id).await {
                    Ok(prices) => self.show_prices(&prices),
                    Err(e) => self.set_status(&e.to_string(), true),
                }
                true
            }
            Err(e) => {
                self.set_status(&e.to_string(), true);
                false
            }
        }
    }

    fn fetch_models(&self) {
        let imp = self.imp();
        if imp.busy.get() {
            return;
        }
        let Some(client) = self.client() else { return };
        self.set_busy(true);
        imp.fetch_spinner.set_visible(true);
        imp.fetch_spinner.start();
        imp.fetch_cancel_button.set_visible(true);
        self.set_status("Fetching models…", false);
        let d = self.downgrade();
        let task = glib::spawn_future_local(async move {
            let Some(dialog) = d.upgrade() else { return };
            let Some(id) = dialog.save().await else {
                dialog.fetch_done();
                dialog.set_status("", false);
                return;
            };
            drop(dialog);
            // Only a weak reference while the provider thinks: closing the dialog drops it.
            let result = client.fetch_models(&id).await;
            let Some(dialog) = d.upgrade() else { return };
            match result {
                Ok(models) => {
                    if dialog.reload_models(&client, &id).await {
                        dialog.set_status(
                            &match models.len() {
                                1 => "The provider lists 1 model".to_owned(),
                                n => format!("The provider lists {n} models"),
                            },
                            false,
                        );
                    }
                }
                Err(e) => dialog.set_status(&format!("Fetch failed: {e}"), true),
            }
            dialog.fetch_done();
        });
        imp.fetch.replace(Some(task));
    }

    fn fetch_done(&self) {
        let imp = self.imp();
        imp.fetch.replace(None);
        imp.fetch_spinner.stop();
        imp.fetch_spinner.set_visible(false);
        imp.fetch_cancel_button.set_visible(false);
        self.set_busy(false);
    }

    /// Drop the fetch under way, if any (its reply is ignored).
    pub fn cancel_fetch(&self) {
        if let Some(task) = self.imp().fetch.take() {
            task.abort();
            self.fetch_done();
            self.set_status("Fetch cancelled", false);
        }
    }

    fn import_models(&self) {
        let imp = self.imp();
        if imp.busy.get() {
            return;
        }
        let Some(client) = self.client() else { return };
        let buffer = imp.paste_view.buffer();
        let text = buffer
            .text(&buffer.start_iter(), &buffer.end_iter(), false)
            .to_string();
        if text.trim().is_empty() {
            self.set_status("Paste model ids first", true);
            return;
        }
        self.set_busy(true);
        let d = self.clone();
        glib::spawn_future_local(async move {
            if let Some(id) = d.save().await {
                match client.import_models(&id, &text).await {
                    Ok(new) => {
                        if d.reload_models(&client, &id).await {
                            d.set_status(&model::imported_label(new), false);
                            d.imp().paste_view.buffer().set_text("");
                        }
                    }
                    Err(e) => d.set_status(&format!("Import failed: {e}"), true),
                }
            }
            d.set_busy(false);
        });
    }
}
