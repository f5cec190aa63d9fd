//! Widget tests: the real widgets, in process, on a real (virtual) display.
//!
//! GTK needs a display and must be driven from one thread, and without a display it dies
//! with SIGSEGV rather than failing. So this binary brings its own: run as a test it starts
//! `Xvfb -displayfd` and runs itself again on that display (`GDK_BACKEND=x11`,
//! `GSK_RENDERER=cairo`, `GTK_A11Y=none`, and a session bus address that leads nowhere, so
//! the window meets an unreachable daemon), then runs every test on the GTK thread, one
//! after another. `cargo test` needs nothing more than `Xvfb` installed
//! (scripts/install-test-deps.sh). A name given on the command line runs only the tests
//! whose names contain it, as libtest does.
//!
//! Rendered widgets are saved to `target/test-artifacts/widgets/*.png`.

#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::cell::Cell;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::rc::Rc;
use std::time::{Duration, Instant};

use adw::prelude::*;
use codex_launcher_dbus::{
    Backend, BreakerState, CacheTtl, EndpointInfo, EndpointSpec, GroupInfo, GroupMemberInfo, Mode,
    ModelPrices, ModelSpec, Preset, PricedModel, ProxyStatus, SessionState, TurnDetail, TurnInfo,
    TurnOrigin, TurnOutcome, TurnSection, UsageCost,
};
use codex_launcher_gtk::model::{HeaderChange, MemberDraft, SessionTraffic, SessionView};
use codex_launcher_gtk::widgets::{
    ClEndpointDialog, ClEndpointsWindow, ClFailuresView, ClGroupDialog, ClSessionRow, ClTurnWindow,
    ClUsageWindow, ClWindow,
};
use gtk::glib;

const CHILD_ENV: &str = "CODEX_LAUNCHER_GTK_WIDGET_TESTS";

type Test = (&'static str, fn());

const TESTS: &[Test] = &[
    (
        "session_row_shows_a_session_and_asks_to_stop_it",
        session_row,
    ),
    (
        "endpoint_dialog_preset_fills_the_form",
        endpoint_dialog_preset,
    ),
    (
        "endpoint_dialog_model_rows_edit_remove_and_default",
        endpoint_dialog_models,
    ),
    (
        "usage_window_draws_one_bar_per_endpoint_and_model",
        usage_window,
    ),
    (
        "endpoints_window_lists_endpoints_with_their_actions",
        endpoints_window,
    ),
    (
        "main_window_preselects_the_default_endpoint_and_model",
        main_window_pickers,
    ),
    (
        "main_window_without_a_daemon_offers_retry",
        main_window_unreachable,
    ),
    (
        "failures_view_lists_failed_turns_with_their_actions",
        failures_view,
    ),
    ("turn_window_shows_the_recorded_turn", turn_window),
    (
        "main_window_lists_groups_after_the_endpoints",
        main_window_groups,
    ),
    (
        "endpoints_window_lists_groups_and_where_keys_live",
        endpoints_window_groups,
    ),
    ("group_dialog_orders_and_checks_members", group_dialog),
    (
        "endpoint_dialog_headers_with_a_secret_switch",
        endpoint_dialog_headers,
    ),
];

fn main() -> ExitCode {
    let (filters, skips) = parse_args(std::env::args().skip(1));
    if std::env::var_os(CHILD_ENV).is_none() {
        return on_own_display();
    }
    gtk::init().expect("gtk init");
    adw::init().expect("adw init");
    let mut failed = Vec::new();
    let mut ran = 0;
    for (name, test) in TESTS {
        if !filters.is_empty() && !filters.iter().any(|f| name.contains(f.as_str()))
            || skips.iter().any(|s| name.contains(s.as_str()))
        {
            continue;
        }
        ran += 1;
        let result = std::panic::catch_unwind(test);
        let verdict = if result.is_ok() { "ok" } else { "FAILED" };
        let _ = writeln!(std::io::stdout(), "test {name} ... {verdict}");
        if result.is_err() {
            failed.push(*name);
        }
    }
    let _ = writeln!(
        std::io::stdout(),
        "\nwidget tests: {} passed; {} failed{}",
        ran - failed.len(),
        failed.len(),
        if failed.is_empty() {
            String::new()
        } else {
            format!(" ({})", failed.join(", "))
        }
    );
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// libtest's command line, as far as it matters here: names to run (substrings) and
/// `--skip` names; other flags (and the values of those that take one) are ignored.
fn parse_args(args: impl Iterator<Item = String>) -> (Vec<String>, Vec<String>) {
    const WITH_VALUE: [&str; 6] = [
        "--test-threads",
        "--format",
        "--logfile",
        "--color",
        "--report-time",
        "-Z",
    ];
    let (mut filters, mut skips) = (Vec::new(), Vec::new());
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        if arg == "--skip" {
            skips.extend(args.next());
        } else if WITH_VALUE.contains(&arg.as_str()) {
            args.next();
        } else if !arg.starts_with('-') {
            filters.push(arg);
        }
    }
    (filters, skips)
}

/// Start Xvfb and run this binary again on it.
fn on_own_display() -> ExitCode {
    let mut xvfb = match Command::new("Xvfb")
        .args([
            "-displayfd",
            "1",
            "-screen",
            "0",
            "1280x900x24",
            "-nolisten",
            "tcp",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
    {
        Ok(x) => x,
        Err(e) => {
            let _ = writeln!(
                std::io::stderr(),
                "the widget tests need Xvfb ({e}): apt install xvfb (scripts/install-test-deps.sh does)"
            );
            return ExitCode::FAILURE;
        }
    };
    let mut line = String::new();
    let _ = BufReader::new(xvfb.stdout.take().expect("stdout")).read_line(&mut line);
    let display = format!(":{}", line.trim());
    let status = Command::new(std::env::current_exe().expect("current_exe"))
        .args(std::env::args_os().skip(1))
        .env(CHILD_ENV, "1")
        .env("DISPLAY", &display)
        .env_remove("WAYLAND_DISPLAY")
        .env("GDK_BACKEND", "x11")
        .env("GSK_RENDERER", "cairo")
        .env("GTK_A11Y", "none")
        .env("GSETTINGS_BACKEND", "memory")
        .env("ADW_DISABLE_PORTAL", "1")
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/codex-launcher-test-bus",
        )
        .status();
    let _ = xvfb.kill();
    let _ = xvfb.wait();
    match status {
        Ok(s) if s.success() => ExitCode::SUCCESS,
        Ok(s) => {
            let _ = writeln!(std::io::stderr(), "widget tests: {s}");
            ExitCode::FAILURE
        }
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "widget tests: cannot run: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Run the main loop until `cond` holds (the tick timer wakes it at least every second).
fn run_until(what: &str, cond: impl Fn() -> bool) {
    let ctx = glib::MainContext::default();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        ctx.iteration(true);
    }
}

/// Let pending idle work and redraws happen.
fn settle() {
    let ctx = glib::MainContext::default();
    while ctx.pending() {
        ctx.iteration(false);
    }
}

fn artifacts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-artifacts/widgets")
}

/// Render a shown window to `target/test-artifacts/widgets/<name>.png`.
fn save_png(window: &impl IsA<gtk::Window>, name: &str) {
    let window = window.as_ref();
    run_until("the window to be mapped", || {
        window.is_mapped() && window.width() > 0
    });
    settle();
    let paintable = gtk::WidgetPaintable::new(Some(window));
    let (w, h) = (window.width(), window.height());
    // Mapped is not yet drawn: on a loaded machine the first frame can come after the map
    // (a CI run once found an empty snapshot here), so wait for one that holds something.
    let node = std::cell::RefCell::new(None);
    run_until("the window to be drawn", || {
        settle();
        let snapshot = gtk::Snapshot::new();
        paintable.snapshot(&snapshot, f64::from(w), f64::from(h));
        *node.borrow_mut() = snapshot.to_node();
        let drawn = node.borrow().is_some();
        if !drawn {
            // So the frame clock has work and the wait below wakes for it.
            window.queue_draw();
        }
        drawn
    });
    let node = node.into_inner().expect("something was drawn");
    let renderer = window.renderer().expect("a renderer");
    let texture = renderer.render_texture(&node, None);
    std::fs::create_dir_all(artifacts_dir()).expect("artifacts dir");
    let path = artifacts_dir().join(format!("{name}.png"));
    texture.save_to_png(&path).expect("save png");
}

fn session(n: u64, state: &str, code: i32) -> SessionView {
    SessionView {
        path: format!("/io/github/CodexLauncher1/session/{n}"),
        endpoint: "deepseek".into(),
        model: "deepseek-chat".into(),
        mode: Mode::Cli,
        state: state.parse().expect("a state"),
        started: 1_000,
        exit_code: code,
        requests: 3,
        tokens_in: 12_345,
        tokens_out: 950,
        ..SessionView::default()
    }
}

fn session_row() {
    let row = ClSessionRow::new(session(7, "running", -1), 1_065);
    assert_eq!(
        row.texts(),
        [
            "#7 · CLI".to_owned(),
            "deepseek · deepseek-chat".into(),
            "1 min 05 s · 12.3k in · 950 out · 0 % cached · no price set".into(),
            "Running".into()
        ]
    );
    // The counters read on demand bring the cache hits and the cost along.
    row.update(1_065, |v| {
        v.set_traffic(SessionTraffic {
            requests: 3,
            tokens_in: 12_345,
            tokens_out: 950,
            cached_tokens_in: 9_876,
            cost_pico_usd: 21_500_000_000,
            priced_requests: 3,
        })
    });
    assert_eq!(
        row.texts()[2],
        "1 min 05 s · 12.3k in · 950 out · 80 % cached · $0.0215"
    );
    assert!(row.stop_button().is_visible());
    let asked = Rc::new(Cell::new(0));
    let count = asked.clone();
    row.connect_local("stop", false, move |_| {
        count.set(count.get() + 1);
        None
    });
    row.stop_button().emit_clicked();
    assert_eq!(asked.get(), 1, "Stop asks the window to stop the session");
    row.update(1_100, |v| {
        v.state = SessionState::Exited;
        v.exit_code = 137;
        v.ended = Some(1_090);
    });
    assert_eq!(row.texts()[3], "Killed (signal 9)");
    assert_eq!(
        row.texts()[2],
        "1 min 30 s · 12.3k in · 950 out · 80 % cached · $0.0215",
        "the clock stopped"
    );
    assert!(!row.stop_button().is_visible(), "nothing to stop");
}

fn preset(id: &str, name: &str, models: &[&str]) -> Preset {
    Preset {
        id: id.into(),
        spec: EndpointSpec {
            name: name.into(),
            preset: id.into(),
            backend: if id == "anthropic" {
                Backend::Anthropic
            } else {
                Backend::OpenaiCompat
            },
            base_url: format!("https://api.{id}.example/v1"),
            default_model: models.first().map(|m| (*m).to_owned()).unwrap_or_default(),
            models: models
                .iter()
                .map(|m| ModelSpec {
                    id: (*m).into(),
                    context_window: 64_000,
                    ..ModelSpec::default()
                })
                .collect(),
            browser_ua: id == "opencode",
            ..EndpointSpec::default()
        },
        notes: format!("{name} notes"),
    }
}

fn endpoint_dialog_preset() {
    let d = ClEndpointDialog::detached();
    d.set_presets(vec![
        preset(
            "deepseek",
            "DeepSeek",
            &["deepseek-chat", "deepseek-reasoner"],
        ),
        preset("anthropic", "Anthropic", &["claude-sonnet"]),
        preset("opencode", "OpenCode Zen", &[]),
    ]);
    d.pick_preset(0);
    let spec = d.spec();
    assert_eq!(spec.name, "DeepSeek");
    assert_eq!(spec.preset, "deepseek");
    assert_eq!(spec.base_url, "https://api.deepseek.example/v1");
    assert_eq!(spec.backend, "openai-compat");
    assert_eq!(spec.default_model, "deepseek-chat");
    assert_eq!(spec.models.len(), 2);
    assert_eq!(spec.models[0].context_window, 64_000);

    d.pick_preset(1);
    let spec = d.spec();
    assert_eq!(spec.name, "Anthropic", "the preset's own name is replaced");
    assert_eq!(spec.backend, "anthropic");
    assert_eq!(spec.models.len(), 1);

    d.name_row().set_text("Work account");
    d.pick_preset(2);
    let spec = d.spec();
    assert_eq!(spec.name, "Work account", "a typed name is kept");
    assert!(spec.browser_ua);
    assert!(spec.models.is_empty());
    assert_eq!(spec.default_model, "");
    d.present();
    save_png(&d, "endpoint-dialog");
    d.close();
}

fn endpoint_dialog_models() {
    let d = ClEndpointDialog::detached();
    let m = |id: &str| ModelSpec {
        id: id.into(),
        default_effort: "high".into(),
        reasoning_efforts: vec!["low".into(), "high".into()],
        ..ModelSpec::default()
    };
    d.set_models(vec![m("a"), m("b"), m("c")], "b");
    assert_eq!(d.spec().default_model, "b");
    let rows = d.model_rows();
    rows[0].context_spin().set_value(131_072.0);
    rows[0].efforts_entry().set_text("low");
    let spec = d.spec();
    assert_eq!(spec.models[0].context_window, 131_072);
    assert_eq!(spec.models[0].reasoning_efforts, ["low"]);
    // Prices: shown as the daemon has them; only what was typed over them is sent.
    d.show_prices(&[PricedModel {
        model: "a".into(),
        prices: ModelPrices {
            input: Some("3".into()),
            output: Some("15".into()),
            as_of: Some("2026-12-02".into()),
            ..ModelPrices::default()
        },
    }]);
    let prices = rows[0].price_entries();
    assert_eq!(prices[0].text(), "3");
    assert_eq!(prices[1].text(), "", "not set: the input price applies");
    assert!(rows[0].prices_note().contains("2026-12-02"));
    assert_eq!(rows[0].price_edit(), None, "nothing typed yet");
    prices[1].set_text("0.30");
    prices[3].set_text("");
    assert_eq!(
        rows[0].price_edit(),
        Some(ModelPrices {
            cached_input: Some("0.30".into()),
            output: Some(String::new()),
            ..ModelPrices::default()
        })
    );
    assert!(rows[1].prices_note().starts_with("No price set"));
    // The cache setting: the default until the daemon says otherwise.
    assert_eq!(d.cache(), CacheTtl::FiveMinutes);
    d.show_cache(CacheTtl::OneHour);
    assert_eq!(d.cache(), CacheTtl::OneHour);
    assert_eq!(
        spec.models[0].default_effort, "",
        "high is no longer offered"
    );
    assert_eq!(spec.models[1].default_effort, "high");

    // Removing the default model leaves the picker on another model.
    rows[1].remove_button().emit_clicked();
    let spec = d.spec();
    let ids: Vec<&str> = spec.models.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["a", "c"]);
    assert_eq!(spec.default_model, "a");
    assert_eq!(d.default_model_row().model().map(|m| m.n_items()), Some(2));
    d.set_default_size(720, 1400);
    d.present();
    save_png(&d, "endpoint-dialog-models");
    d.close();
}

fn usage_window() {
    let w = ClUsageWindow::detached();
    let u = |ep: &str, model: &str, i: u64, o: u64, err: u64| UsageCost {
        endpoint: ep.into(),
        model: model.into(),
        requests: 4,
        input_tokens: i,
        output_tokens: o,
        errors: err,
        ..UsageCost::default()
    };
    w.set_status(&ProxyStatus {
        address: "http://127.0.0.1:47821".into(),
        requests: 8,
        active_streams: 1,
        errors: 1,
        usage: Vec::new(),
    });
    w.set_usage(&[
        u("ds", "chat", 1_200, 300, 0),
        UsageCost {
            cached_input_tokens: 24_000,
            cost_pico_usd: 90_000_000_000,
            priced_requests: 4,
            ..u("kimi", "k2", 30_000, 9_000, 1)
        },
    ]);
    assert_eq!(
        w.summary(),
        "http://127.0.0.1:47821 · 8 requests · 1 open stream · 1 error"
    );
    let labels: Vec<String> = w.bars().into_iter().map(|b| b.label).collect();
    assert_eq!(labels, ["kimi / k2", "ds / chat"]);
    assert!(
        w.bars()[0].detail.ends_with("80 % cached · $0.0900"),
        "{:?}",
        w.bars()
    );
    assert!(w.bars()[1].detail.ends_with("no price set"));
    w.present();
    save_png(&w, "usage");
    w.close();
}

fn endpoint(id: &str, default: bool, models: &[&str], default_model: &str) -> EndpointInfo {
    EndpointInfo {
        id: id.into(),
        is_default: default,
        spec: EndpointSpec {
            name: id.to_uppercase(),
            backend: Backend::OpenaiCompat,
            default_model: default_model.into(),
            models: models
                .iter()
                .map(|m| ModelSpec {
                    id: (*m).into(),
                    ..ModelSpec::default()
                })
                .collect(),
            ..EndpointSpec::default()
        },
        ..EndpointInfo::default()
    }
}

fn endpoints_window() {
    let w = ClEndpointsWindow::detached();
    let mut ds = endpoint("deepseek", true, &["deepseek-chat"], "deepseek-chat");
    ds.spec.name = "DeepSeek <work>".into();
    ds.spec.base_url = "https://api.deepseek.com/v1".into();
    ds.has_key = true;
    ds.key_storage = "secret-service".into();
    let mut kimi = endpoint("kimi", false, &[], "");
    kimi.spec.base_url = "https://api.moonshot.ai/v1".into();
    w.set_endpoints(vec![ds, kimi]);
    let rows = w.rows();
    assert_eq!(
        rows,
        [
            (
                "DeepSeek <work>".to_owned(),
                "openai-compat · https://api.deepseek.com/v1 · 1 model · key in secret-service"
                    .to_owned(),
                vec!["Delete".to_owned(), "Edit".into(), "[Default]".into()]
            ),
            (
                "KIMI".to_owned(),
                "openai-compat · https://api.moonshot.ai/v1 · 0 models · no key".to_owned(),
                vec!["Delete".to_owned(), "Edit".into(), "Make Default".into()]
            ),
        ],
        "names are shown as typed (no markup), the default has a badge instead of a button"
    );
    w.set_endpoints(Vec::new());
    assert!(w.rows().is_empty());
    w.present();
    save_png(&w, "endpoints-empty");
    w.close();
}

fn app() -> adw::Application {
    // Non-unique: registering needs no bus name (and finds no bus here); it runs
    // `startup`, after which windows may be added.
    let app = adw::Application::builder()
        .application_id("io.github.CodexLauncher.WidgetTests")
        .flags(gtk::gio::ApplicationFlags::NON_UNIQUE)
        .build();
    app.register(gtk::gio::Cancellable::NONE)
        .expect("register the application");
    app
}

fn main_window_pickers() {
    let app = app();
    let w = ClWindow::new(&app);
    w.set_endpoints(Vec::new());
    let [cli, desktop, default_cli, default_desktop] = w.launch_buttons();
    assert!(
        !cli.is_sensitive() && !desktop.is_sensitive(),
        "no endpoint to launch on"
    );
    assert!(default_cli.is_sensitive() && default_desktop.is_sensitive());

    w.set_endpoints(vec![
        endpoint("a", false, &["a1"], "a1"),
        endpoint("b", true, &["b1", "b2"], "b2"),
    ]);
    assert!(cli.is_sensitive());
    assert_eq!(
        w.selected_endpoint_id().as_deref(),
        Some("b"),
        "the default endpoint"
    );
    assert_eq!(
        w.selected_model().as_deref(),
        Some("b2"),
        "its default model"
    );
    w.endpoint_row().set_selected(0);
    assert_eq!(
        w.selected_model().as_deref(),
        Some("a1"),
        "models follow the endpoint"
    );
    // A reload keeps the user's choice.
    w.set_endpoints(vec![
        endpoint("a", false, &["a1", "a2"], "a1"),
        endpoint("b", true, &["b1", "b2"], "b2"),
    ]);
    assert_eq!(w.selected_endpoint_id().as_deref(), Some("a"));
    w.close();
}

fn main_window_unreachable() {
    let app = app();
    let w = ClWindow::new(&app);
    w.present();
    run_until("the unreachable page", || w.page() == "unreachable");
    assert!(
        w.unreachable_text().contains("session bus"),
        "{}",
        w.unreachable_text()
    );
    save_png(&w, "main-window-unreachable");
    WidgetExt::activate_action(&w, "win.retry", None).expect("retry action");
    assert_eq!(w.page(), "loading", "Retry connects again");
    run_until("the unreachable page again", || w.page() == "unreachable");
    w.close();
}

fn failed_turn(id: u64, error: &str) -> TurnInfo {
    TurnInfo {
        id,
        started: 10_000,
        endpoint: "deepseek".into(),
        model: "deepseek-chat".into(),
        session: 3,
        origin: TurnOrigin::Codex,
        outcome: TurnOutcome::Failed,
        status: 400,
        failure_kind: "invalid_request".into(),
        stage: "status".into(),
        error: error.into(),
        replay_of: 0,
        duration_ms: 40,
        bytes: 9_000,
    }
}

fn failures_view() {
    let view = ClFailuresView::default();
    let window = gtk::Window::new();
    window.set_default_size(700, 300);
    window.set_child(Some(&view));
    let mut ok = failed_turn(3, "");
    ok.outcome = TurnOutcome::Completed;
    view.set_turns(
        &[
            failed_turn(1, "The endpoint `DeepSeek` answered HTTP 400: Missing `reasoning_content`"),
            ok,
            failed_turn(2, "The endpoint `DeepSeek` answered HTTP 400: Invalid schema for function 'exec_command'"),
        ],
        10_000 + 120,
    );
    let rows = view.rows();
    assert_eq!(rows.len(), 2, "failed turns only");
    assert_eq!(
        rows[0].texts(),
        [
            "#2 · deepseek · deepseek-chat".to_owned(),
            "2 min ago · The endpoint `DeepSeek` answered HTTP 400: Invalid schema for function 'exec_command'".into()
        ]
    );
    let labels: Vec<String> = rows[0]
        .buttons()
        .iter()
        .map(|b| b.label().unwrap_or_default().into())
        .collect();
    assert_eq!(labels, ["Show", "Replay on…", "Export…"]);
    let asked = Rc::new(Cell::new(0));
    let count = asked.clone();
    rows[1].connect_local("replay-turn", false, move |_| {
        count.set(count.get() + 1);
        None
    });
    rows[1].buttons()[1].emit_clicked();
    assert_eq!(asked.get(), 1, "Replay on… asks the list");
    window.present();
    save_png(&window, "recent-failures");
    view.set_turns(&[], 10_000);
    assert!(view.rows().is_empty());
    window.close();
}

fn turn_window() {
    let w = ClTurnWindow::detached();
    w.set_detail(&TurnDetail {
        info: failed_turn(2, "bad schema"),
        sections: vec![
            TurnSection {
                title: "Failure".into(),
                lines: vec![
                    (
                        "where".into(),
                        "the upstream answered with an error status: HTTP 400".into(),
                    ),
                    (
                        "message".into(),
                        "Invalid schema for function 'exec_command'".into(),
                    ),
                ],
            },
            TurnSection {
                title: "Codex's request".into(),
                lines: vec![("items".into(), "3: 2 user, 1 function_call_output".into())],
            },
        ],
        record_json: "{}".into(),
    });
    let text = w.text();
    assert!(
        text.starts_with("Failure\n  where    the upstream answered"),
        "{text}"
    );
    assert!(
        text.contains("Codex's request\n  items  3: 2 user"),
        "{text}"
    );
    w.present();
    save_png(&w, "turn-window");
    w.close();
}

fn group(id: &str, members: &[(&str, &str, BreakerState)]) -> GroupInfo {
    GroupInfo {
        id: id.into(),
        name: id.into(),
        members: members
            .iter()
            .map(|(endpoint, model, breaker)| GroupMemberInfo {
                endpoint: (*endpoint).into(),
                model: (*model).into(),
                upstream_model: String::new(),
                breaker: *breaker,
                cooldown_secs: 0,
                last_error: String::new(),
            })
            .collect(),
        proxy_url: format!("http://127.0.0.1:1/e/{id}/v1"),
    }
}

fn main_window_groups() {
    let app = app();
    let w = ClWindow::new(&app);
    let plan_first = group(
        "plan-first",
        &[
            ("plan", "", BreakerState::Closed),
            ("paygo", "", BreakerState::Closed),
        ],
    );
    w.set_targets(
        vec![
            endpoint("plan", false, &["p1"], "p1"),
            endpoint("paygo", true, &["g1"], "g1"),
        ],
        vec![plan_first.clone()],
    );
    let list = w
        .endpoint_row()
        .model()
        .and_downcast::<gtk::StringList>()
        .expect("a string list");
    let labels: Vec<String> = (0..list.n_items())
        .filter_map(|i| list.string(i))
        .map(String::from)
        .collect();
    assert_eq!(
        labels,
        [
            "PLAN (plan)",
            "PAYGO (paygo)",
            "plan-first (group: plan → paygo)"
        ]
    );
    w.endpoint_row().set_selected(2);
    assert_eq!(
        w.selected_endpoint_id().as_deref(),
        Some("plan-first"),
        "a group launches by its id"
    );
    assert_eq!(w.selected_model(), None, "a group sends no model");
    assert!(w.launch_buttons()[0].is_sensitive());
    // A reload keeps the group chosen.
    w.set_endpoints(vec![
        endpoint("plan", false, &["p1"], "p1"),
        endpoint("paygo", true, &["g1"], "g1"),
    ]);
    assert_eq!(w.selected_endpoint_id().as_deref(), Some("plan-first"));
    w.endpoint_row().set_selected(0);
    assert_eq!(w.selected_model().as_deref(), Some("p1"));
    w.close();
}

fn endpoints_window_groups() {
    let w = ClEndpointsWindow::detached();
    assert_eq!(w.key_storage_text(), "", "nothing before the daemon says");
    w.set_key_storage("locked");
    assert_eq!(
        w.key_storage_text(),
        "Keyring locked: unlock it (e.g. with Seahorse) to use stored keys"
    );
    w.set_key_storage("secret-service");
    assert_eq!(w.key_storage_text(), "Keys: in the keyring");
    let mut g = group(
        "plan-first",
        &[
            ("deepseek", "deepseek-chat", BreakerState::Open),
            ("paygo", "", BreakerState::Closed),
        ],
    );
    g.members[0].cooldown_secs = 42;
    g.members[0].last_error = "HTTP 429".into();
    w.set_groups(vec![g]);
    assert_eq!(
        w.group_rows(),
        [(
            "plan-first (group: deepseek → paygo)".to_owned(),
            "1. deepseek · deepseek-chat — open, 42 s cooldown: HTTP 429\n2. paygo — closed"
                .to_owned(),
            vec!["Edit".to_owned(), "Remove".into()]
        )]
    );
    w.present();
    save_png(&w, "endpoints-groups");
    w.set_groups(Vec::new());
    assert!(w.group_rows().is_empty());
    w.close();
}

fn group_dialog() {
    let endpoints = vec![
        endpoint("a", false, &[], ""),
        endpoint("b", false, &[], ""),
        endpoint("c", false, &[], ""),
    ];
    let existing = group(
        "g",
        &[
            ("a", "a1", BreakerState::Closed),
            ("b", "", BreakerState::Closed),
        ],
    );
    let d = ClGroupDialog::detached(endpoints.clone(), Some(&existing));
    assert!(!d.name_row().is_sensitive(), "UpdateGroup keeps the name");
    let draft = |e: &str, m: &str| MemberDraft {
        endpoint: e.into(),
        model: m.into(),
    };
    assert_eq!(d.drafts(), [draft("a", "a1"), draft("b", "")]);
    assert_eq!(
        d.member_rows()[0].button_labels(),
        ["Move Up", "Move Down", "Remove"]
    );
    d.move_member(1, true);
    assert_eq!(d.drafts(), [draft("b", ""), draft("a", "a1")]);
    d.add_member();
    assert_eq!(
        d.drafts(),
        [draft("b", ""), draft("a", "a1"), draft("c", "")],
        "the endpoint not yet in it"
    );
    let (endpoint, model) = d.member_rows()[2].fields();
    model.set_text(" c1 ");
    assert_eq!(endpoint.selected(), 2, "c, third in the dropdown");
    d.remove_member(0);
    assert_eq!(
        d.drafts(),
        [draft("a", "a1"), draft("c", "c1")],
        "what was typed survives the rebuild"
    );
    d.present();
    save_png(&d, "group-dialog");
    d.remove_member(0);
    d.remove_member(0);
    d.save();
    assert_eq!(d.error_text(), "A group needs at least one member");
    d.close();

    let d = ClGroupDialog::detached(endpoints, None);
    d.add_member();
    d.save();
    assert_eq!(d.error_text(), "Name the group");
    d.close();
}

fn endpoint_dialog_headers() {
    let d = ClEndpointDialog::detached();
    let mut p = preset("openrouter", "OpenRouter", &["m"]);
    p.spec.extra_headers = vec![
        ("X-Title".into(), "codex".into()),
        ("Authorization".into(), "***".into()),
    ];
    d.set_presets(vec![p]);
    d.pick_preset(0);
    assert_eq!(
        d.header_lines(),
        ["X-Title: codex", "Authorization: *** (secret)"]
    );
    let (name, value, secret, add) = d.header_form();
    name.set_text("X-Api-Key");
    assert!(secret.is_active(), "a credential's name turns Secret on");
    assert!(!secret.is_sensitive(), "and keeps it on");
    assert!(
        !value.property::<bool>("visibility"),
        "a secret value is not shown as typed"
    );
    name.set_text("X-Org");
    assert!(
        !secret.is_active(),
        "back off when the rule had turned it on"
    );
    assert!(secret.is_sensitive());
    secret.set_active(true);
    value.set_text(" acme ");
    add.emit_clicked();
    assert_eq!(name.text(), "", "the row is cleared for the next one");
    d.remove_header("X-Title");
    assert_eq!(
        d.header_lines(),
        ["Authorization: *** (secret)", "X-Org: *** (secret)"]
    );
    assert_eq!(
        d.header_changes(),
        [
            HeaderChange {
                name: "X-Org".into(),
                value: "acme".into(),
                secret: true
            },
            HeaderChange::remove("X-Title"),
        ]
    );
    add.emit_clicked();
    assert_eq!(d.error_text(), "Type a header name and its value");
    d.present();
    save_png(&d, "endpoint-dialog-headers");
    d.close();
}
