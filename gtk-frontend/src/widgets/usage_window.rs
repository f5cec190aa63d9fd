//! `ClUsageWindow`: `ProxyStatus` as a summary line and a bar chart of `UsageCosts`, one row
//! per endpoint and model with input and output tokens drawn to scale, the cache hit rate
//! and the cost beside them ([`model::usage_bars`]).

use adw::prelude::*;
use adw::subclass::prelude::*;
use codex_launcher_dbus::{ProxyStatus, UsageCost};
use gtk::glib;

use crate::client::Client;
use crate::model::{self, UsageBar};

mod imp {
    use std::cell::RefCell;

    use super::*;

    #[derive(Debug, Default, gtk::CompositeTemplate)]
    #[template(file = "usage_window.ui")]
    pub struct ClUsageWindow {
        #[template_child]
        pub refresh_button: TemplateChild<gtk::Button>,
        #[template_child]
        pub summary_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub bars_list: TemplateChild<gtk::ListBox>,
        pub client: RefCell<Option<Client>>,
        pub bars: RefCell<Vec<UsageBar>>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for ClUsageWindow {
        const NAME: &'static str = "ClUsageWindow";
        type Type = super::ClUsageWindow;
        type ParentType = adw::Window;

        fn class_init(klass: &mut Self::Class) {
            klass.bind_template();
            klass.install_action("usage.refresh", None, |w, _, _| w.refresh());
            klass.add_binding_action(
                gtk::gdk::Key::F5,
                gtk::gdk::ModifierType::empty(),
                "usage.refresh",
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

    impl ObjectImpl for ClUsageWindow {
        fn constructed(&self) {
            self.parent_constructed();
            self.refresh_button.set_action_name(Some("usage.refresh"));
        }
    }

    impl WidgetImpl for ClUsageWindow {}
    impl WindowImpl for ClUsageWindow {}
    impl AdwWindowImpl for ClUsageWindow {}
}

glib::wrapper! {
    /// The usage window.
    pub struct ClUsageWindow(ObjectSubclass<imp::ClUsageWindow>)
        @extends adw::Window, gtk::Window, gtk::Widget,
        @implements gtk::Buildable, gtk::ConstraintTarget, gtk::Native,
                    gtk::Root, gtk::ShortcutManager;
}

impl ClUsageWindow {
    /// The usage of `client`'s daemon, beside `parent`; it loads at once.
    pub fn new(client: &Client, parent: &impl IsA<gtk::Window>) -> ClUsageWindow {
        let w: ClUsageWindow = glib::Object::builder()
            .property("transient-for", parent)
            .build();
        w.imp().client.replace(Some(client.clone()));
        w.refresh();
        w
    }

    /// A window with no daemon behind it (widget tests).
    pub fn detached() -> ClUsageWindow {
        glib::Object::new()
    }

    /// Read `ProxyStatus` again.
    pub fn refresh(&self) {
        let Some(client) = self.imp().client.borrow().clone() else {
            return;
        };
        let w = self.downgrade();
        glib::spawn_future_local(async move {
            let result = match client.proxy_status().await {
                Ok(status) => client.usage_costs().await.map(|usage| (status, usage)),
                Err(e) => Err(e),
            };
            let Some(w) = w.upgrade() else { return };
            match result {
                Ok((status, usage)) => {
                    w.set_status(&status);
                    w.set_usage(&usage);
                }
                Err(e) => w
                    .imp()
                    .summary_label
                    .set_text(&format!("Cannot read usage: {e}")),
            }
        });
    }

    /// Show the proxy's counters in the summary line.
    pub fn set_status(&self, status: &ProxyStatus) {
        self.imp().summary_label.set_text(&model::proxy_summary(
            &status.address,
            status.requests,
            status.active_streams,
            status.errors,
        ));
    }

    /// Show the usage per endpoint and model, with cache hits and cost.
    pub fn set_usage(&self, usage: &[UsageCost]) {
        let imp = self.imp();
        super::remove_children(&imp.bars_list);
        let bars = model::usage_bars(usage);
        for bar in &bars {
            imp.bars_list.append(&bar_row(bar));
        }
        imp.bars.replace(bars);
    }

    /// The bars shown (for tests).
    pub fn bars(&self) -> Vec<UsageBar> {
        self.imp().bars.borrow().clone()
    }

    /// The summary line.
    pub fn summary(&self) -> String {
        self.imp().summary_label.text().into()
    }
}

/// A row: label, the bar (input then output, to the scale of the busiest model), detail.
fn bar_row(bar: &UsageBar) -> gtk::ListBoxRow {
    let vbox = gtk::Box::new(gtk::Orientation::Vertical, 4);
    vbox.set_margin_start(12);
    vbox.set_margin_end(12);
    vbox.set_margin_top(8);
    vbox.set_margin_bottom(8);
    let label = gtk::Label::new(Some(&bar.label));
    label.set_xalign(0.0);
    label.add_css_class("heading");
    vbox.append(&label);
    let area = gtk::DrawingArea::new();
    area.set_content_height(14);
    area.set_hexpand(true);
    let (input, output) = (bar.input, bar.output);
    area.set_draw_func(move |area, cr, width, height| {
        let (w, h) = (f64::from(width), f64::from(height));
        // The theme's accent and success colours, as the legend's labels use.
        let color = |name: &str, fallback: (f64, f64, f64)| {
            area.style_context()
                .lookup_color(name)
                .map(|c| {
                    (
                        f64::from(c.red()),
                        f64::from(c.green()),
                        f64::from(c.blue()),
                    )
                })
                .unwrap_or(fallback)
        };
        let trough = color("borders", (0.8, 0.8, 0.8));
        cr.set_source_rgba(trough.0, trough.1, trough.2, 0.3);
        cr.rectangle(0.0, 0.0, w, h);
        let _ = cr.fill();
        let accent = color("accent_color", (0.21, 0.52, 0.89));
        cr.set_source_rgb(accent.0, accent.1, accent.2);
        cr.rectangle(0.0, 0.0, w * input, h);
        let _ = cr.fill();
        let success = color("success_color", (0.15, 0.64, 0.41));
        cr.set_source_rgb(success.0, success.1, success.2);
        cr.rectangle(w * input, 0.0, w * output, h);
        let _ = cr.fill();
    });
    vbox.append(&area);
    let detail = gtk::Label::new(Some(&bar.detail));
    detail.set_xalign(0.0);
    detail.add_css_class("caption");
    detail.add_css_class(if bar.has_errors { "error" } else { "dim-label" });
    vbox.append(&detail);
    let row = gtk::ListBoxRow::new();
    row.set_activatable(false);
    row.set_child(Some(&vbox));
    row
}
