//! `ClTurnWindow`: one recorded turn, readable ("Show" in "Recent failures"). The text is the
//! daemon's sections laid out by [`model::turn_text`]: Codex's request in short, each
//! upstream request and its answer, where and why it failed, the quirk row used.

use adw::prelude::*;
use adw::subclass::prelude::*;
use codex_launcher_dbus::TurnDetail;
use gtk::glib;

use crate::client::Client;
use crate::model;

mod imp {
    use super::*;

    #[derive(Debug, Default, gtk::CompositeTemplate)]
    #[template(file = "turn_window.ui")]
    pub struct ClTurnWindow {
        #[template_child]
        pub window_title: TemplateChild<adw::WindowTitle>,
        #[template_child]
        pub text_view: TemplateChild<gtk::TextView>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for ClTurnWindow {
        const NAME: &'static str = "ClTurnWindow";
        type Type = super::ClTurnWindow;
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

    impl ObjectImpl for ClTurnWindow {}
    impl WidgetImpl for ClTurnWindow {}
    impl WindowImpl for ClTurnWindow {}
    impl AdwWindowImpl for ClTurnWindow {}
}

glib::wrapper! {
    /// A recorded turn's window.
    pub struct ClTurnWindow(ObjectSubclass<imp::ClTurnWindow>)
        @extends adw::Window, gtk::Window, gtk::Widget,
        @implements gtk::Buildable, gtk::ConstraintTarget, gtk::Native,
                    gtk::Root, gtk::ShortcutManager;
}

impl ClTurnWindow {
    /// Turn `id` of `client`'s daemon, beside `parent`; it loads at once.
    pub fn new(client: &Client, parent: &impl IsA<gtk::Window>, id: u64) -> ClTurnWindow {
        let w: ClTurnWindow = glib::Object::builder()
            .property("transient-for", parent)
            .build();
        w.imp().window_title.set_title(&format!("Turn #{id}"));
        w.set_text("Loading…");
        let client = client.clone();
        let weak = w.downgrade();
        glib::spawn_future_local(async move {
            let result = client.turn(id).await;
            let Some(w) = weak.upgrade() else { return };
            match result {
                Ok(detail) => w.set_detail(&detail),
                Err(e) => w.set_text(&format!("Cannot read turn #{id}: {e}")),
            }
        });
        w
    }

    /// A window with no daemon behind it (widget tests).
    pub fn detached() -> ClTurnWindow {
        glib::Object::new()
    }

    /// Show `detail`.
    pub fn set_detail(&self, detail: &TurnDetail) {
        let imp = self.imp();
        imp.window_title
            .set_title(&format!("Turn #{}", detail.info.id));
        imp.window_title.set_subtitle(&format!(
            "{} · {} · {}",
            detail.info.endpoint, detail.info.model, detail.info.outcome
        ));
        self.set_text(&model::turn_text(detail));
    }

    fn set_text(&self, text: &str) {
        self.imp().text_view.buffer().set_text(text);
    }

    /// The text shown (for tests).
    pub fn text(&self) -> String {
        let buffer = self.imp().text_view.buffer();
        buffer
            .text(&buffer.start_iter(), &buffer.end_iter(), false)
            .into()
    }
}
