//! `ClWindow`: the main window. Launch controls (endpoint, model, the four launch
//! buttons), the live session list, Kill & Cleanup, and the page shown while the daemon
//! cannot be reached. Menu actions open the endpoint manager, the usage view, profile
//! export/import and the legacy import.
//!
//! Live updates: `SessionAdded` adds rows, each row follows its session's `State`
//! property and `Exited`/`Stalled` signals, traffic (which emits no change signal) is read
//! every few seconds, and endpoint changes (`EndpointIds`, `GroupIds`, `DefaultEndpoint`, or
//! an edit in the manager) reload the pickers. The endpoint picker lists the fallback groups
//! after the endpoints ([`model::launch_choices`]); a group launches by its id like an
//! endpoint.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::pin::Pin;

use adw::prelude::*;
use adw::subclass::prelude::*;
use codex_launcher_dbus::{EndpointInfo, GroupInfo, SessionProxy, SessionState};
use futures::{Stream, StreamExt};
use gtk::{gio, glib};
use zbus::OwnedObjectPath;

use crate::client::{self, Client};
use crate::model::{self, LaunchKind, SessionView};
use crate::widgets::{self, ClEndpointsWindow, ClFailuresView, ClSessionRow, ClUsageWindow};

/// Traffic counters are read every this many seconds.
const TRAFFIC_EVERY_SECS: u64 = 2;

mod imp {
    use super::*;

    #[derive(Debug, Default, gtk::CompositeTemplate)]
    #[template(file = "window.ui")]
    pub struct ClWindow {
        #[template_child]
        pub toast_overlay: TemplateChild<adw::ToastOverlay>,
        #[template_child]
        pub stack: TemplateChild<gtk::Stack>,
        #[template_child]
        pub unreachable_page: TemplateChild<adw::StatusPage>,
        #[template_child]
        pub endpoint_row: TemplateChild<adw::ComboRow>,
        #[template_child]
        pub model_row: TemplateChild<adw::ComboRow>,
        #[template_child]
        pub no_endpoint_label: TemplateChild<gtk::Label>,
        #[template_child]
        pub launch_cli_button: TemplateChild<gtk::Button>,
        #[template_child]
        pub launch_desktop_button: TemplateChild<gtk::Button>,
        #[template_child]
        pub default_cli_button: TemplateChild<gtk::Button>,
        #[template_child]
        pub default_desktop_button: TemplateChild<gtk::Button>,
        #[template_child]
        pub sessions_list: TemplateChild<gtk::ListBox>,
        /// "Recent failures" (issue 18).
        #[template_child]
        pub failures_view: TemplateChild<ClFailuresView>,
        /// The daemon, once connected.
        pub client: RefCell<Option<Client>>,
        /// Endpoints in the picker's order.
        pub endpoints: RefCell<Vec<EndpointInfo>>,
        /// Fallback groups, listed after the endpoints in the picker.
        pub groups: RefCell<Vec<GroupInfo>>,
        /// Session rows by object path.
        pub rows: RefCell<HashMap<String, ClSessionRow>>,
        /// Session proxies by object path (Stop, traffic).
        pub proxies: RefCell<HashMap<String, SessionProxy<'static>>>,
        /// Signal watchers of the current connection, aborted when it is replaced.
        pub tasks: RefCell<Vec<glib::JoinHandle<()>>>,
        /// Set while the pickers are refilled, so their `selected` handlers stay quiet.
        pub filling: Cell<bool>,
        /// Seconds since the window opened (the traffic poll's clock).
        pub ticks: Cell<u64>,
        /// A traffic poll is under way.
        pub polling: Cell<bool>,
        /// The open file chooser (a native dialog is not owned by any widget).
        pub chooser: RefCell<Option<gtk::FileChooserNative>>,
        pub endpoints_window: glib::WeakRef<ClEndpointsWindow>,
        pub usage_window: glib::WeakRef<ClUsageWindow>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for ClWindow {
        const NAME: &'static str = "ClWindow";
        type Type = super::ClWindow;
        type ParentType = adw::ApplicationWindow;

        fn class_init(klass: &mut Self::Class) {
            ClFailuresView::ensure_type();
            klass.bind_template();
            klass.install_action("win.retry", None, |w, _, _| w.connect_to_daemon());
            klass.install_action("win.endpoints", None, |w, _, _| w.show_endpoints());
            klass.install_action("win.usage", None, |w, _, _| w.show_usage());
            klass.install_action("win.export", None, |w, _, _| w.export_profile(false));
            klass.install_action("win.export-keys", None, |w, _, _| w.export_profile(true));
            klass.install_action("win.import", None, |w, _, _| w.import_profile());
            klass.install_action("win.import-legacy", None, |w, _, _| w.import_legacy());
            klass.install_action("win.cleanup", None, |w, _, _| w.kill_and_cleanup());
            klass.install_action("win.about", None, |w, _, _| w.show_about());
        }

        fn instance_init(obj: &glib::subclass::InitializingObject<Self>) {
            obj.init_template();
        }
    }

    impl ObjectImpl for ClWindow {
        fn constructed(&self) {
            self.parent_constructed();
            let obj = self.obj();
            for (button, kind) in [
                (&self.launch_cli_button, LaunchKind::Cli),
                (&self.launch_desktop_button, LaunchKind::Desktop),
                (&self.default_cli_button, LaunchKind::DefaultCli),
                (&self.default_desktop_button, LaunchKind::DefaultDesktop),
            ] {
                let win = obj.downgrade();
                button.connect_clicked(move |_| {
                    if let Some(win) = win.upgrade() {
                        win.launch(kind);
                    }
                });
            }
            let win = obj.downgrade();
            self.endpoint_row.connect_selected_notify(move |_| {
                if let Some(win) = win.upgrade()
                    && !win.imp().filling.get()
                {
                    win.fill_models(None);
                }
            });
            self.sessions_list.set_sort_func(|a, b| {
                match (
                    a.downcast_ref::<ClSessionRow>(),
                    b.downcast_ref::<ClSessionRow>(),
                ) {
                    (Some(a), Some(b)) => model::session_order(&a.view(), &b.view()).into(),
                    _ => gtk::Ordering::Equal,
                }
            });
            // The daemon's endpoints may have changed elsewhere (codexctl, the manager's
            // model edits, which change no property): refresh when the window comes back.
            obj.connect_is_active_notify(|win| {
                if win.is_active() && win.client().is_some() {
                    let win = win.clone();
                    glib::spawn_future_local(async move { win.reload_endpoints().await });
                }
            });
            let win = obj.downgrade();
            glib::timeout_add_seconds_local(1, move || match win.upgrade() {
                Some(win) => {
                    win.tick();
                    glib::ControlFlow::Continue
                }
                None => glib::ControlFlow::Break,
            });
            obj.set_connected(false);
            obj.connect_to_daemon();
        }
    }

    impl WidgetImpl for ClWindow {}
    impl WindowImpl for ClWindow {}
    impl ApplicationWindowImpl for ClWindow {}
    impl AdwApplicationWindowImpl for ClWindow {}
}

glib::wrapper! {
    /// The main window.
    pub struct ClWindow(ObjectSubclass<imp::ClWindow>)
        @extends adw::ApplicationWindow, gtk::ApplicationWindow, gtk::Window, gtk::Widget,
        @implements gio::ActionGroup, gio::ActionMap, gtk::Buildable,
                    gtk::ConstraintTarget, gtk::Native, gtk::Root, gtk::ShortcutManager;
}

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// What a session's object tells the row while it runs.
enum SessionEvent {
    State(SessionState),
    Exited(i32),
    Stalled(u64),
}

type EventStream = Pin<Box<dyn Stream<Item = SessionEvent>>>;

impl ClWindow {
    /// The main window of `app`; it connects to the daemon at once.
    pub fn new(app: &adw::Application) -> ClWindow {
        glib::Object::builder().property("application", app).build()
    }

    /// The daemon connection, when there is one.
    pub fn client(&self) -> Option<Client> {
        self.imp().client.borrow().clone()
    }

    /// Show a toast.
    pub fn toast(&self, text: &str) {
        let toast = adw::Toast::new(text);
        toast.set_timeout(5);
        self.imp().toast_overlay.add_toast(toast);
    }

    /// Which stack page is shown: `loading`, `unreachable` or `main`.
    pub fn page(&self) -> String {
        self.imp()
            .stack
            .visible_child_name()
            .map(String::from)
            .unwrap_or_default()
    }

    fn set_connected(&self, connected: bool) {
        for action in [
            "win.endpoints",
            "win.usage",
            "win.export",
            "win.export-keys",
            "win.import",
            "win.import-legacy",
            "win.cleanup",
        ] {
            self.action_set_enabled(action, connected);
        }
    }

    fn stop_tasks(&self) {
        for task in self.imp().tasks.take() {
            task.abort();
        }
    }

    fn keep(&self, task: glib::JoinHandle<()>) {
        self.imp().tasks.borrow_mut().push(task);
    }

    /// (Re)connect: drop what the old connection showed, then `Ping` the daemon.
    pub fn connect_to_daemon(&self) {
        let imp = self.imp();
        self.stop_tasks();
        imp.client.replace(None);
        imp.proxies.borrow_mut().clear();
        for (_, row) in imp.rows.take() {
            imp.sessions_list.remove(&row);
        }
        imp.failures_view.set_client(None);
        imp.stack.set_visible_child_name("loading");
        self.set_connected(false);
        let win = self.downgrade();
        glib::spawn_future_local(async move {
            let result = Client::connect().await;
            let Some(win) = win.upgrade() else { return };
            match result {
                Ok(client) => win.connected(client).await,
                Err(e) => win.show_unreachable(&e.to_string()),
            }
        });
    }

    /// Show the unreachable page with `why`.
    pub fn show_unreachable(&self, why: &str) {
        let imp = self.imp();
        imp.unreachable_page.set_description(Some(&format!(
            "{}\n\nIs it installed? <tt>./install.sh</tt> installs and starts it; \
             <tt>codexctl doctor</tt> tells what is missing.",
            glib::markup_escape_text(why)
        )));
        imp.stack.set_visible_child_name("unreachable");
        self.set_connected(false);
    }

    async fn connected(&self, client: Client) {
        let imp = self.imp();
        imp.client.replace(Some(client.clone()));
        imp.stack.set_visible_child_name("main");
        self.set_connected(true);
        // Subscribe first, then list, so that nothing falls between the two.
        self.watch(&client).await;
        self.reload_endpoints().await;
        imp.failures_view.set_client(Some(client.clone()));
        match client.sessions().await {
            Ok(paths) => {
                for path in paths {
                    self.add_session(path);
                }
            }
            Err(e) => self.toast(&format!("Cannot list sessions: {e}")),
        }
    }

    /// Follow the manager's signals and its owner on the bus.
    async fn watch(&self, client: &Client) {
        let manager = client.manager();
        match manager.receive_session_added().await {
            Ok(mut added) => {
                let win = self.downgrade();
                self.keep(glib::spawn_future_local(async move {
                    while let Some(signal) = added.next().await {
                        let Some(win) = win.upgrade() else { break };
                        if let Ok(args) = signal.args() {
                            win.add_session(OwnedObjectPath::from(args.session().to_owned()));
                        }
                    }
                }));
            }
            Err(e) => self.toast(&format!("Cannot follow new sessions: {e}")),
        }

        let ids = manager.receive_endpoint_ids_changed().await.map(|_| ());
        let default = manager.receive_default_endpoint_changed().await.map(|_| ());
        let groups = manager.receive_group_ids_changed().await.map(|_| ());
        let mut changes = futures::stream::select(futures::stream::select(ids, default), groups);
        let win = self.downgrade();
        self.keep(glib::spawn_future_local(async move {
            while changes.next().await.is_some() {
                let Some(win) = win.upgrade() else { break };
                win.reload_endpoints().await;
            }
        }));

        // A failed turn was recorded: the "Recent failures" list reads them again.
        match manager.receive_turn_recorded().await {
            Ok(mut recorded) => {
                let win = self.downgrade();
                self.keep(glib::spawn_future_local(async move {
                    while let Some(signal) = recorded.next().await {
                        let Some(win) = win.upgrade() else { break };
                        if signal.args().is_ok_and(|a| *a.failed()) {
                            win.imp().failures_view.reload();
                        }
                    }
                }));
            }
            Err(e) => self.toast(&format!("Cannot follow recorded turns: {e}")),
        }

        match manager.inner().receive_owner_changed().await {
            Ok(mut owners) => {
                let win = self.downgrade();
                self.keep(glib::spawn_future_local(async move {
                    while let Some(owner) = owners.next().await {
                        let Some(win) = win.upgrade() else { break };
                        if owner.is_some() {
                            // Back (restarted, or activated by someone): start afresh, from
                            // outside this task, which the reconnection aborts.
                            glib::idle_add_local_once(move || win.connect_to_daemon());
                            break;
                        }
                        win.show_unreachable("The daemon stopped. Retry starts it again.");
                    }
                }));
            }
            Err(e) => self.toast(&format!("Cannot watch the daemon: {e}")),
        }
    }

    /// Read the endpoints and groups again and refill the pickers.
    pub async fn reload_endpoints(&self) {
        let Some(client) = self.client() else { return };
        let list = match client.endpoints().await {
            Ok(list) => list,
            Err(e) => return self.toast(&format!("Cannot list endpoints: {e}")),
        };
        // Without the groups the endpoints are still worth offering.
        let groups = client.groups().await.unwrap_or_else(|e| {
            self.toast(&format!("Cannot list groups: {e}"));
            Vec::new()
        });
        self.set_targets(list, groups);
    }

    /// Fill the pickers from `list` (the groups as they were), keeping the user's choice
    /// where it still exists.
    pub fn set_endpoints(&self, list: Vec<EndpointInfo>) {
        let groups = self.imp().groups.borrow().clone();
        self.set_targets(list, groups);
    }

    /// Fill the pickers from the endpoints and, after them, the groups, keeping the user's
    /// choice where it still exists.
    pub fn set_targets(&self, list: Vec<EndpointInfo>, groups: Vec<GroupInfo>) {
        let imp = self.imp();
        let previous_endpoint = self.selected_endpoint_id();
        let previous_model = self.selected_model();
        let (labels, selected) =
            model::launch_choices(&list, &groups, previous_endpoint.as_deref());
        let has_endpoints = !list.is_empty();
        let has_targets = has_endpoints || !groups.is_empty();
        imp.filling.set(true);
        let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
        imp.endpoint_row
            .set_model(Some(&gtk::StringList::new(&labels)));
        imp.endpoints.replace(list);
        imp.groups.replace(groups);
        imp.endpoint_row.set_selected(selected);
        imp.filling.set(false);
        let same = previous_endpoint.is_some() && previous_endpoint == self.selected_endpoint_id();
        self.fill_models(if same {
            previous_model.as_deref()
        } else {
            None
        });

        imp.no_endpoint_label.set_visible(!has_endpoints);
        for widget in [
            imp.endpoint_row.upcast_ref::<gtk::Widget>(),
            imp.launch_cli_button.upcast_ref(),
            imp.launch_desktop_button.upcast_ref(),
        ] {
            widget.set_sensitive(has_targets);
        }
    }

    fn fill_models(&self, previous: Option<&str>) {
        let imp = self.imp();
        let endpoints = imp.endpoints.borrow();
        let groups = imp.groups.borrow();
        let entry = model::picker_entry(&endpoints, &groups, imp.endpoint_row.selected());
        // A group has no model to pick: each member asks for its own, and the launch sends
        // none (the daemon then uses the group's one model).
        let (ids, selected) = match entry {
            Some(model::PickerEntry::Endpoint(e)) => model::model_choices(e, previous),
            _ => Default::default(),
        };
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        imp.model_row.set_model(Some(&gtk::StringList::new(&ids)));
        imp.model_row.set_selected(selected);
        imp.model_row
            .set_sensitive(matches!(entry, Some(model::PickerEntry::Endpoint(_))));
    }

    /// The endpoint picker (for tests).
    pub fn endpoint_row(&self) -> adw::ComboRow {
        self.imp().endpoint_row.get()
    }

    /// The launch buttons: CLI, Desktop, Codex Default CLI, Codex Default Desktop (for
    /// tests).
    pub fn launch_buttons(&self) -> [gtk::Button; 4] {
        let imp = self.imp();
        [
            imp.launch_cli_button.get(),
            imp.launch_desktop_button.get(),
            imp.default_cli_button.get(),
            imp.default_desktop_button.get(),
        ]
    }

    /// The unreachable page's description (for tests).
    pub fn unreachable_text(&self) -> String {
        self.imp()
            .unreachable_page
            .description()
            .map(String::from)
            .unwrap_or_default()
    }

    /// The id of the endpoint or group chosen in the picker.
    pub fn selected_endpoint_id(&self) -> Option<String> {
        let imp = self.imp();
        let endpoints = imp.endpoints.borrow();
        let groups = imp.groups.borrow();
        model::picker_entry(&endpoints, &groups, imp.endpoint_row.selected())
            .map(|e| e.id().to_owned())
    }

    /// The model chosen in the picker.
    pub fn selected_model(&self) -> Option<String> {
        self.imp()
            .model_row
            .selected_item()
            .and_downcast::<gtk::StringObject>()
            .map(|s| s.string().into())
    }

    fn launch(&self, kind: LaunchKind) {
        let Some(client) = self.client() else { return };
        let endpoint = self.selected_endpoint_id().unwrap_or_default();
        let model = self.selected_model().unwrap_or_default();
        if kind.needs_endpoint() && endpoint.is_empty() {
            self.toast("Add an endpoint first (Endpoints…)");
            return;
        }
        let win = self.downgrade();
        glib::spawn_future_local(async move {
            let result = client.launch(kind, &endpoint, &model).await;
            let Some(win) = win.upgrade() else { return };
            match result {
                Ok(path) => {
                    win.toast(&format!(
                        "Started {} session #{}",
                        model::mode_label(kind.mode()),
                        model::session_number(path.as_str())
                    ));
                    win.add_session(path);
                }
                Err(e) => win.toast(&format!("Cannot launch: {e}")),
            }
        });
    }

    /// Show a session (once per path) and follow it.
    pub fn add_session(&self, path: OwnedObjectPath) {
        let imp = self.imp();
        let key = path.to_string();
        if imp.rows.borrow().contains_key(&key) {
            return;
        }
        let row = ClSessionRow::new(
            SessionView {
                path: key.clone(),
                ..SessionView::default()
            },
            now(),
        );
        // Hidden until its properties are read.
        row.set_visible(false);
        let win = self.downgrade();
        let stop_key = key.clone();
        row.connect_local("stop", false, move |_| {
            if let Some(win) = win.upgrade() {
                win.stop_session(&stop_key);
            }
            None
        });
        imp.sessions_list.append(&row);
        imp.rows.borrow_mut().insert(key.clone(), row.clone());
        let Some(client) = self.client() else { return };
        let win = self.downgrade();
        let row_ref = row.downgrade();
        self.keep(glib::spawn_future_local(async move {
            let proxy = match client.session(&path).await {
                Ok(p) => p,
                Err(e) => {
                    if let Some(win) = win.upgrade() {
                        win.toast(&format!("Cannot follow {path}: {e}"));
                    }
                    return;
                }
            };
            // Subscribe before reading, so that no change falls between.
            let mut events = session_events(&proxy).await;
            let view = client::session_view(&path, &proxy).await;
            let (Some(win), Some(row)) = (win.upgrade(), row_ref.upgrade()) else {
                return;
            };
            let view = match view {
                Ok(v) => v,
                Err(e) => {
                    win.toast(&format!("Cannot read {path}: {e}"));
                    win.remove_session(&key);
                    return;
                }
            };
            let live = view.is_live();
            row.set_view(view, now());
            row.set_visible(true);
            win.imp().sessions_list.invalidate_sort();
            win.imp()
                .proxies
                .borrow_mut()
                .insert(key.clone(), proxy.clone());
            if !live {
                return;
            }
            // Only weak references while waiting: a closed window ends the task.
            drop((win, row));
            while let Some(event) = events.next().await {
                let Some(row) = row_ref.upgrade() else { break };
                let ended = matches!(event, SessionEvent::Exited(_));
                match event {
                    SessionEvent::State(state) => row.update(now(), |v| {
                        if state == SessionState::Exited && v.ended.is_none() {
                            v.ended = Some(now());
                        }
                        v.state = state;
                    }),
                    SessionEvent::Exited(code) => {
                        row.update(now(), |v| {
                            v.state = SessionState::Exited;
                            v.exit_code = code;
                            v.ended.get_or_insert_with(now);
                        });
                        // The final counters.
                        if let Ok(t) = client::session_traffic(&proxy).await {
                            row.update(now(), |v| v.set_traffic(t));
                        }
                    }
                    SessionEvent::Stalled(idle) => {
                        if let Some(win) = row.root().and_downcast::<ClWindow>() {
                            win.toast(&format!(
                                "Session #{} has been idle for {} (no traffic, no CPU)",
                                row.view().number(),
                                model::duration_label(idle)
                            ));
                        }
                    }
                }
                if ended {
                    break;
                }
            }
        }));
    }

    fn remove_session(&self, key: &str) {
        let imp = self.imp();
        if let Some(row) = imp.rows.borrow_mut().remove(key) {
            imp.sessions_list.remove(&row);
        }
        imp.proxies.borrow_mut().remove(key);
    }

    fn stop_session(&self, key: &str) {
        let Some(proxy) = self.imp().proxies.borrow().get(key).cloned() else {
            return;
        };
        let win = self.downgrade();
        glib::spawn_future_local(async move {
            if let Err(e) = proxy.stop().await
                && let Some(win) = win.upgrade()
            {
                win.toast(&format!("Cannot stop the session: {e}"));
            }
        });
    }

    /// "Recent failures" (for tests).
    pub fn failures_view(&self) -> ClFailuresView {
        self.imp().failures_view.get()
    }

    /// The session rows, newest first (for tests and the driver).
    pub fn session_rows(&self) -> Vec<ClSessionRow> {
        let mut rows: Vec<ClSessionRow> = self.imp().rows.borrow().values().cloned().collect();
        rows.sort_by(|a, b| model::session_order(&a.view(), &b.view()));
        rows
    }

    /// Every second: durations; every few seconds: traffic of the live sessions.
    fn tick(&self) {
        let imp = self.imp();
        let t = now();
        for row in imp.rows.borrow().values() {
            row.tick(t);
        }
        let ticks = imp.ticks.get() + 1;
        imp.ticks.set(ticks);
        if !ticks.is_multiple_of(TRAFFIC_EVERY_SECS) || imp.polling.get() {
            return;
        }
        let live: Vec<(ClSessionRow, SessionProxy<'static>)> = {
            let proxies = imp.proxies.borrow();
            imp.rows
                .borrow()
                .iter()
                .filter(|(_, row)| row.view().is_live())
                .filter_map(|(key, row)| Some((row.clone(), proxies.get(key)?.clone())))
                .collect()
        };
        if live.is_empty() {
            return;
        }
        imp.polling.set(true);
        let win = self.downgrade();
        glib::spawn_future_local(async move {
            for (row, proxy) in live {
                if let Ok(t) = client::session_traffic(&proxy).await {
                    row.update(now(), |v| v.set_traffic(t));
                }
            }
            if let Some(win) = win.upgrade() {
                win.imp().polling.set(false);
            }
        });
    }

    fn show_endpoints(&self) {
        let imp = self.imp();
        if let Some(w) = imp.endpoints_window.upgrade() {
            w.present();
            return;
        }
        let Some(client) = self.client() else { return };
        let w = ClEndpointsWindow::new(&client, self);
        let win = self.downgrade();
        w.connect_local("changed", false, move |_| {
            if let Some(win) = win.upgrade() {
                glib::spawn_future_local(async move { win.reload_endpoints().await });
            }
            None
        });
        imp.endpoints_window.set(Some(&w));
        w.present();
    }

    fn show_usage(&self) {
        let imp = self.imp();
        if let Some(w) = imp.usage_window.upgrade() {
            w.present();
            return;
        }
        let Some(client) = self.client() else { return };
        let w = ClUsageWindow::new(&client, self);
        imp.usage_window.set(Some(&w));
        w.present();
    }

    fn kill_and_cleanup(&self) {
        let Some(client) = self.client() else { return };
        let win = self.clone();
        glib::spawn_future_local(async move {
            // The daemon's rule, as codexctl uses it: live sessions first, then leftovers.
            let found = client.kill_and_cleanup(true).await;
            let live = found
                .as_ref()
                .map_or(0, |items| model::sessions_to_stop(items));
            let mut body = match live {
                0 => "No session is running.".to_owned(),
                1 => "1 running session will be stopped.".to_owned(),
                n => format!("{n} running sessions will be stopped."),
            };
            match &found {
                Ok(items) if model::cleanup_lines(items).is_empty() => {
                    body.push_str("\n\nEarlier sessions left nothing behind.");
                }
                Ok(items) => {
                    body.push_str("\n\nLeft behind by earlier sessions, to be stopped or removed:");
                    for line in model::cleanup_lines(items) {
                        body.push_str("\n• ");
                        body.push_str(&line);
                    }
                }
                Err(e) => body.push_str(&format!("\n\nCannot look for leftovers: {e}")),
            }
            if !widgets::confirm_destructive(&win, "Kill & Cleanup?", &body, "_Kill & Clean Up")
                .await
            {
                return;
            }
            match client.kill_and_cleanup(false).await {
                Ok(items) => win.toast(&model::cleanup_summary(&items)),
                Err(e) => win.toast(&format!("Kill & Cleanup failed: {e}")),
            }
        });
    }

    fn file_chooser(
        &self,
        title: &str,
        action: gtk::FileChooserAction,
        accept: &str,
    ) -> gtk::FileChooserNative {
        let chooser = gtk::FileChooserNative::new(
            Some(title),
            Some(self),
            action,
            Some(accept),
            Some("_Cancel"),
        );
        chooser.set_modal(true);
        let filter = gtk::FileFilter::new();
        filter.set_name(Some("JSON"));
        filter.add_pattern("*.json");
        chooser.add_filter(&filter);
        let all = gtk::FileFilter::new();
        all.set_name(Some("All files"));
        all.add_pattern("*");
        chooser.add_filter(&all);
        chooser
    }

    /// Run `chooser`; `then` gets the file the user accepted.
    fn choose_file(
        &self,
        chooser: gtk::FileChooserNative,
        then: impl Fn(ClWindow, gio::File) + 'static,
    ) {
        let win = self.downgrade();
        chooser.connect_response(move |chooser, response| {
            let Some(win) = win.upgrade() else { return };
            win.imp().chooser.replace(None);
            if response == gtk::ResponseType::Accept
                && let Some(file) = chooser.file()
            {
                then(win, file);
            }
        });
        chooser.show();
        self.imp().chooser.replace(Some(chooser));
    }

    fn export_profile(&self, include_keys: bool) {
        let title = if include_keys {
            "Export Profile with Keys"
        } else {
            "Export Profile"
        };
        let chooser = self.file_chooser(title, gtk::FileChooserAction::Save, "_Export");
        chooser.set_current_name("codex-launcher-profile.json");
        self.choose_file(chooser, move |win, file| {
            glib::spawn_future_local(async move { win.write_profile(file, include_keys).await });
        });
    }

    async fn write_profile(&self, file: gio::File, include_keys: bool) {
        let Some(client) = self.client() else { return };
        let bundle = match client.export_profile(include_keys).await {
            Ok(b) => b,
            Err(e) => return self.toast(&format!("Cannot export: {e}")),
        };
        // PRIVATE: 0600, the bundle may hold keys.
        let flags = gio::FileCreateFlags::PRIVATE | gio::FileCreateFlags::REPLACE_DESTINATION;
        match file
            .replace_contents_future(bundle.into_bytes(), None, false, flags)
            .await
        {
            Ok(_) => self.toast(&format!("Profile exported to {}", file.parse_name())),
            Err((_, e)) => self.toast(&format!("Cannot write {}: {e}", file.parse_name())),
        }
    }

    fn import_profile(&self) {
        let chooser = self.file_chooser("Import Profile", gtk::FileChooserAction::Open, "_Import");
        self.choose_file(chooser, |win, file| {
            glib::spawn_future_local(async move {
                let Some(client) = win.client() else { return };
                let text = match file.load_contents_future().await {
                    Ok((bytes, _)) => String::from_utf8_lossy(&bytes).into_owned(),
                    Err(e) => return win.toast(&format!("Cannot read {}: {e}", file.parse_name())),
                };
                let result = client.import_profile(&text).await;
                win.imported(result);
            });
        });
    }

    fn imported(&self, result: client::Result<Vec<String>>) {
        match result {
            Ok(ids) if ids.is_empty() => self.toast("Nothing to import"),
            Ok(ids) => {
                self.toast(&format!("Imported: {}", ids.join(", ")));
                let win = self.clone();
                glib::spawn_future_local(async move { win.reload_endpoints().await });
            }
            Err(e) => self.toast(&format!("Cannot import: {e}")),
        }
    }

    fn import_legacy(&self) {
        let Some(client) = self.client() else { return };
        let win = self.clone();
        glib::spawn_future_local(async move {
            let dialog = adw::MessageDialog::new(
                Some(&win),
                Some("Import Legacy Endpoints?"),
                Some(
                    "Imports the endpoints of the earlier launcher from ~/.codex/endpoints.json, \
                     or from a file you choose. Existing endpoints with the same ids are updated.",
                ),
            );
            dialog.add_responses(&[
                ("cancel", "_Cancel"),
                ("choose", "Choose _File…"),
                ("import", "_Import"),
            ]);
            dialog.set_response_appearance("import", adw::ResponseAppearance::Suggested);
            dialog.set_default_response(Some("import"));
            dialog.set_close_response("cancel");
            match widgets::ask(&dialog).await.as_str() {
                "import" => {
                    let result = client.import_legacy("").await;
                    win.imported(result);
                }
                "choose" => {
                    let chooser = win.file_chooser(
                        "Import Legacy endpoints.json",
                        gtk::FileChooserAction::Open,
                        "_Import",
                    );
                    win.choose_file(chooser, |win, file| {
                        let Some(path) = file.path() else {
                            return win.toast("Choose a local file");
                        };
                        let Some(client) = win.client() else { return };
                        glib::spawn_future_local(async move {
                            let result = client.import_legacy(&path.to_string_lossy()).await;
                            win.imported(result);
                        });
                    });
                }
                _ => {}
            }
        });
    }

    fn show_about(&self) {
        let about = adw::AboutWindow::builder()
            .transient_for(self)
            .modal(true)
            .application_name("Codex Launcher")
            .application_icon(crate::APP_ID)
            .version(env!("CARGO_PKG_VERSION"))
            .comments("Run OpenAI's Codex CLI and Codex Desktop on any model provider.")
            .license_type(gtk::License::MitX11)
            .website(env!("CARGO_PKG_REPOSITORY"))
            .build();
        if let Some(client) = self.client() {
            let about = about.downgrade();
            glib::spawn_future_local(async move {
                if let (Ok(v), Some(about)) = (client.version().await, about.upgrade()) {
                    about.set_debug_info(&format!("codex-launcherd {v}"));
                }
            });
        }
        about.present();
    }
}

/// The session's state changes, `Exited` and `Stalled`, as one stream. A stream that cannot
/// be subscribed to is left out (the row then only shows what it read).
async fn session_events(proxy: &SessionProxy<'static>) -> futures::stream::SelectAll<EventStream> {
    let mut streams: Vec<EventStream> = Vec::new();
    let states = proxy.receive_state_changed().await;
    streams.push(Box::pin(states.filter_map(|change| async move {
        change
            .get()
            .await
            .ok()
            .and_then(|s| s.parse().ok())
            .map(SessionEvent::State)
    })));
    if let Ok(exits) = proxy.receive_exited().await {
        streams.push(Box::pin(exits.filter_map(|signal| async move {
            signal
                .args()
                .ok()
                .map(|a| SessionEvent::Exited(*a.exit_code()))
        })));
    }
    if let Ok(stalls) = proxy.receive_stalled().await {
        streams.push(Box::pin(stalls.filter_map(|signal| async move {
            signal
                .args()
                .ok()
                .map(|a| SessionEvent::Stalled(*a.idle_secs()))
        })));
    }
    futures::stream::select_all(streams)
}
