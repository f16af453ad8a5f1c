//! Snapshots of the cockpit's rendered screens.
//!
//! The App's state comes from a real engine run of a small plan (so the
//! snapshots follow the engine as it evolves). Everything that differs between
//! machines or runs — timestamps, durations, latencies, pids, run ids, user
//! names, paths — is normalised before the records reach the App, so the
//! rendered buffers are the same on every machine and every run.
//!
//! Regenerate with `INSTA_UPDATE=always cargo test --test screens cockpit::`
//! and review every changed `.snap` as a screen.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::OnceLock;

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::{Color, Style};
use slate::cockpit::app::{App, Effect, Modal};
use slate::engine::Action;
use slate::engine::event::{Event, Record};
use slate::tui::theme::Theme;

use crate::common;
use common::render::*;

const PLAN: &str = common::release_plan!("checkout" "2.4.0" from "2.3.1" by "release-manager"; r#"
[[environments]]
name = "dev"
config = { replicas = 1, log_level = "debug" }

[[environments]]
name = "staging"
config = { replicas = 2, log_level = "info" }

[[environments]]
name = "prod"
config = { replicas = 4, log_level = "warn", db_pool = 50 }
approval = { required = 1, require_comment = true }
strategy = { kind = "canary", steps = [10, 50, 100], pause = "200ms", gate = "canary-healthy" }
gates = ["prod-approval"]

[[stages]]
name = "build"
environments = ["dev"]
command = 'echo "built checkout $SLATE_VERSION"; echo "artifact checkout-$SLATE_VERSION.tar.gz"'

[[stages]]
name = "config"
command = 'echo "wrote config for $SLATE_ENV"'
rollback = 'echo "restored previous config"'

[[stages]]
name = "migrate"
irreversible = true
command = 'echo "applied 0042_drop_legacy_cart"'
rollback = 'echo "no down migration"'

[[stages]]
name = "deploy"
rollout = true
command = 'echo "deploying $SLATE_ENV at weight ${SLATE_WEIGHT:-100}%"'
rollback = 'echo "scaling $SLATE_ENV back to $SLATE_TARGET_VERSION"'
timeout = "5m"

[[stages]]
name = "smoke"
command = 'echo "warning: cache is cold in $SLATE_ENV" >&2'
gates_after = ["healthy"]

[[gates]]
name = "prod-approval"
kind = "manual"

[[gates]]
name = "healthy"
kind = "check"
retries = 2
interval = "20ms"
check = { command = 'n=$(cat probes 2>/dev/null || echo 0); echo $((n+1)) > probes; test "$n" -ge 1' }

[[gates]]
name = "canary-healthy"
kind = "check"
check = { command = 'true' }
"#);

const COMMENT: &str = "dashboards green, error budget fine";

/// The second run's plan: the canary pause outlasts any slow machine, so the
/// rollback command always lands in it.
fn long_pause_plan() -> String {
    PLAN.replace(r#"pause = "200ms""#, r#"pause = "1h""#)
}

/// The engine runs' records, normalised, with the cut points the tests use.
struct Run {
    /// A release that goes all the way (prod approved by alice).
    records: Vec<Record>,
    /// Records up to and including prod waiting at its manual gate.
    at_gate: usize,
    /// Records up to and including prod's first canary pause (after 10 %).
    mid_prod: usize,
    /// Another run of the plan (long pauses), rolled back from prod's first
    /// canary pause, up to the rollback blocking at the irreversible migrate.
    blocked: Vec<Record>,
}

fn run() -> &'static Run {
    static RUN: OnceLock<Run> = OnceLock::new();
    RUN.get_or_init(|| {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let raw = rt.block_on(run_plan(PLAN, false));
        let blocked_raw = rt.block_on(run_plan(&long_pause_plan(), true));
        let blocked: Vec<Record> = blocked_raw.iter().map(normalise_seq).collect();
        let cut = 1 + blocked
            .iter()
            .position(|r| matches!(r.event, Event::RollbackBlocked { .. }))
            .expect("the rollback blocked at the irreversible step");
        let blocked = blocked[..cut].to_vec();
        let records: Vec<Record> = raw.iter().map(normalise_seq).collect();
        let at_gate = 1 + records
            .iter()
            .position(
                |r| matches!(&r.event, Event::GateWaiting { gate, .. } if gate == "prod-approval"),
            )
            .expect("prod waited at its gate");
        let mid_prod = 1 + records
            .iter()
            .position(|r| matches!(r.event, Event::TimerStarted { env: 2, .. }))
            .expect("prod paused between canary weights");
        Run {
            records,
            at_gate,
            mid_prod,
            blocked,
        }
    })
}

/// Runs a plan in-process, approving prod from "the cockpit" when it waits.
/// With `roll_back`, prod is rolled back at its first canary pause and the
/// blocked rollback is held.
async fn run_plan(src: &str, roll_back: bool) -> Vec<Record> {
    run_engine(src, |event| match event {
        Event::GateWaiting { gate, .. } if gate == "prod-approval" => Some((
            Action::Approve {
                gate: Some(gate.clone()),
                comment: COMMENT.into(),
            },
            Some("approved prod-approval"),
        )),
        Event::TimerStarted { env: 2, .. } if roll_back => Some((
            Action::Rollback {
                env: None,
                reason: "p99 latency doubled".into(),
            },
            Some("rolling back prod"),
        )),
        Event::RollbackBlocked { .. } => Some((
            Action::Decide {
                choice: slate::engine::event::RollbackChoice::Hold,
                note: "DBA on it".into(),
            },
            None,
        )),
        _ => None,
    })
    .await
}

/// A record made machine- and run-independent, stamped by its sequence number.
fn normalise_seq(rec: &Record) -> Record {
    normalise(rec, ts_for(rec.seq))
}

/// An App fed the first `n` normalised records, its clock at the last of them.
fn app_after(n: usize, theme: Theme) -> App {
    app_with(PLAN, &run().records[..n], theme)
}

fn app_with(src: &str, records: &[Record], theme: Theme) -> App {
    let mut app = plan_app(src, theme);
    for r in records {
        app.apply_record(r);
    }
    app.now = records.last().map(|r| r.ts).unwrap_or_else(base_ts);
    app.frame = 0;
    app
}

fn at_gate(theme: Theme) -> App {
    app_after(run().at_gate, theme)
}

fn mid_prod() -> App {
    let mut app = app_after(run().mid_prod, theme("default"));
    // The approval was sent from the cockpit; this is the reply it showed.
    app.on_reply("approve", Ok("approved prod-approval".into()));
    app
}

/// Prod's rollback stopped at the irreversible migrate; the decision dialog is up.
fn blocked() -> App {
    let mut app = app_with(&long_pause_plan(), &run().blocked, theme("default"));
    app.on_reply("rollback", Ok("rolling back prod".into()));
    app
}

fn finished() -> App {
    app_after(run().records.len(), theme("default"))
}

fn type_text(app: &mut App, s: &str) {
    for c in s.chars() {
        let effects = app.on_key(key(c));
        assert!(effects.is_empty(), "typing sends nothing");
    }
}

fn describe(style: Style) -> String {
    let mut parts = Vec::new();
    let color = |c: Option<Color>| match c {
        None | Some(Color::Reset) => "-".to_string(),
        Some(c) => c.to_string(),
    };
    parts.push(format!("fg={}", color(style.fg)));
    parts.push(format!("bg={}", color(style.bg)));
    let m = style.add_modifier;
    if !m.is_empty() {
        let names: Vec<String> = m.iter().map(|f| format!("{f:?}")).collect();
        parts.push(names.join("|"));
    }
    parts.join(" ")
}

/// The theme's roles that style is exactly, to make the legend readable.
fn roles_of(theme: &Theme, style: Style) -> Vec<&'static str> {
    let roles: [(&str, Style); 15] = [
        ("text", theme.text),
        ("muted", theme.muted),
        ("accent", theme.accent),
        ("ok", theme.ok),
        ("warn", theme.warn),
        ("fail", theme.fail),
        ("running", theme.running),
        ("paused", theme.paused),
        ("border", theme.border),
        ("border_focus", theme.border_focus),
        ("selection", theme.selection),
        ("title", theme.title),
        ("search", theme.search),
        ("gauge", theme.gauge),
        ("status_bar", theme.status_bar),
    ];
    roles
        .iter()
        .filter(|(_, r)| cell_style(*r) == style)
        .map(|(n, _)| *n)
        .collect()
}

/// A style as a buffer cell holds it (no colour means reset, no removals).
fn cell_style(s: Style) -> Style {
    Style::default()
        .fg(s.fg.unwrap_or(Color::Reset))
        .bg(s.bg.unwrap_or(Color::Reset))
        .add_modifier(s.add_modifier)
}

/// Text plus colours in a form a reviewer can read: the screen, a legend of
/// the distinct styles (named by the theme roles they equal), and per row the
/// runs of columns in each style.
fn styled_dump(buf: &Buffer, theme: &Theme) -> String {
    let mut ids: BTreeMap<String, (char, Style)> = BTreeMap::new();
    let mut order: Vec<(char, Style)> = Vec::new();
    let letters: Vec<char> = ('A'..='Z').chain('a'..='z').chain('0'..='9').collect();
    let mut runs = String::new();
    for y in 0..buf.area.height {
        let mut row: Vec<(u16, u16, char)> = Vec::new();
        for x in 0..buf.area.width {
            let c = &buf[(x, y)];
            let style = cell_style(Style::default().fg(c.fg).bg(c.bg).add_modifier(c.modifier));
            let k = format!("{style:?}");
            let id = match ids.get(&k) {
                Some((id, _)) => *id,
                None => {
                    let id = letters[order.len() % letters.len()];
                    ids.insert(k, (id, style));
                    order.push((id, style));
                    id
                }
            };
            match row.last_mut() {
                Some((_, end, last)) if *last == id => *end = x + 1,
                _ => row.push((x, x + 1, id)),
            }
        }
        let cells: Vec<String> = row
            .iter()
            .map(|(a, b, id)| format!("{id} {a}..{b}"))
            .collect();
        writeln!(runs, "{y:>2}: {}", cells.join(", ")).unwrap();
    }
    let mut out = String::new();
    writeln!(out, "theme: {}", theme.name).unwrap();
    out.push_str("screen:\n");
    for line in text(buf).lines() {
        writeln!(out, "  │{line}│").unwrap();
    }
    out.push_str("styles:\n");
    for (id, style) in &order {
        let roles = roles_of(theme, *style);
        let roles = if roles.is_empty() {
            String::new()
        } else {
            format!("  ({})", roles.join(", "))
        };
        writeln!(out, "  {id}  {}{roles}", describe(*style)).unwrap();
    }
    out.push_str("runs (row: style columns):\n");
    out.push_str(&runs);
    out
}

#[test]
fn main_screen_80x24_waiting_at_the_prod_gate() {
    let mut app = at_gate(theme("default"));
    let term = render(&mut app, 80, 24);
    let screen = text(term.backend().buffer());
    assert!(screen.contains("WAITING FOR APPROVAL"), "{screen}");
    assert!(screen.contains("prod"), "{screen}");
    assert!(screen.contains("gate prod-approval is waiting"), "{screen}");
    insta::assert_snapshot!("main_80x24_at_gate", term.backend());
}

/// `slate run`'s first frame, before the engine host has answered: the
/// plan's outline, every step pending, the run said to be starting (no id,
/// no clock, nothing waiting).
#[test]
fn the_plans_outline_before_the_run_exists_80x24() {
    let plan = slate::plan::parse(PLAN, "release.toml", std::path::PathBuf::from("/tmp")).unwrap();
    let mut app = App::outlined(
        plan,
        slate::cockpit::keymap::Keymap::default(),
        theme("default"),
    );
    let term = render(&mut app, 80, 24);
    let screen = text(term.backend().buffer());
    assert!(screen.contains("STARTING"), "{screen}");
    assert!(screen.contains("0/5 steps pending"), "{screen}");
    for claim in ["RUNNING", "WAITING", "<1m", "ago"] {
        assert!(!screen.contains(claim), "{claim}:\n{screen}");
    }
    insta::assert_snapshot!("outline_80x24_starting", term.backend());
}

#[test]
fn main_screen_160x48_waiting_at_the_prod_gate() {
    let mut app = at_gate(theme("default"));
    let term = render(&mut app, 160, 48);
    let screen = text(term.backend().buffer());
    for panel in ["Environments", "Pipeline", "Logs", "Metrics"] {
        assert!(screen.contains(panel), "the wide layout shows {panel}");
    }
    assert!(screen.contains("dev · healthy"), "{screen}");
    assert!(screen.contains("cache is cold"), "stderr output is shown");
    insta::assert_snapshot!("main_160x48_at_gate", term.backend());
}

/// `change` journaled for prod right after the gate's record, as the engine
/// would have before prod started.
fn journal_prod_change(app: &mut App, change: slate::change::Change) {
    let last = &run().records[run().at_gate - 1];
    app.apply_record(&Record {
        seq: last.seq + 1,
        ts: last.ts,
        event: Event::EnvChange {
            env: 2,
            change: Box::new(change),
        },
    });
}

/// The record the engine journals before prod when the ledger says prod
/// runs 2.3.0 (a 2.3.1 never reached it, whatever the plan's
/// `previous_version` says): three replicas, info logs, a canary without
/// the 50% step; worked out by `slate::change` as the engine does.
fn prod_change(app: &mut App) {
    use slate::change::{Baseline, Live, Shape};
    let plan = slate::plan::parse(PLAN, "release.toml", std::env::temp_dir()).unwrap();
    let now = slate::change::shape(&plan, 2);
    let mut steps = now.steps.clone();
    steps.retain(|s| !s.contains("50%"));
    let was = Shape {
        config: vec![
            ("replicas".into(), "3".into()),
            ("log_level".into(), "info".into()),
        ],
        secrets: vec![],
        strategy: "canary 10%, 100%".into(),
        steps,
    };
    let baseline = Baseline::Known {
        live: Some(Live {
            version: "2.3.0".into(),
            run_id: "20261101-101500.000-0a1b".into(),
            since: None,
            artifacts: vec![],
            shape: Ok(was),
        }),
        drift: None,
    };
    let mut change = slate::change::between("2.4.0", &baseline, &now, &[]).unwrap();
    change.commits = Some(slate::change::commits(
        "2.3.0..2.4.0".into(),
        Ok(vec![
            "a1b2c3d retry refunds on 503".into(),
            "e4f5a6b idempotency keys for refunds".into(),
        ]),
    ));
    journal_prod_change(app, change);
}

#[test]
fn gate_modal_with_a_typed_comment() {
    let mut app = at_gate(theme("default"));
    prod_change(&mut app);
    assert!(app.on_key(key('a')).is_empty());
    assert!(matches!(app.modal, Some(Modal::Gate { .. })));
    type_text(&mut app, COMMENT);
    let term = render(&mut app, 120, 40);
    let screen = text(term.backend().buffer());
    assert!(screen.contains("Approve?"));
    assert!(screen.contains(COMMENT), "the typed comment is visible");
    assert!(screen.contains("a comment is required"));
    // What is live by the ledger, never the plan's previous_version.
    assert!(screen.contains("2.3.0 → 2.4.0 in prod"), "{screen}");
    assert!(!screen.contains("2.3.1"), "{screen}");
    insta::assert_snapshot!("gate_modal_120x40", term.backend());
    // At 80×24 the headline and the summary still show, and the input.
    let term = render(&mut app, 80, 24);
    let screen = text(term.backend().buffer());
    assert!(screen.contains("2.3.0 → 2.4.0 in prod"), "{screen}");
    assert!(screen.contains("config +1 ~2"), "{screen}");
    assert!(screen.contains(COMMENT), "{screen}");
    // At the minimum width the first line wraps; the dialog grows to keep the last.
    let term = render(&mut app, 60, 30);
    let screen = text(term.backend().buffer());
    assert!(screen.contains("a comment is required"), "{screen}");
    assert!(screen.contains(COMMENT), "{screen}");
}

#[test]
fn rollback_confirmation_lists_the_undo_in_reverse_order() {
    let mut app = mid_prod();
    assert!(
        app.on_key(KeyEvent::new(KeyCode::Char('R'), KeyModifiers::SHIFT))
            .is_empty()
    );
    assert!(matches!(app.modal, Some(Modal::Rollback { env: 2, .. })));
    let term = render(&mut app, 120, 40);
    let screen = text(term.backend().buffer());
    let pos = |s: &str| {
        screen
            .find(s)
            .unwrap_or_else(|| panic!("{s:?} is listed:\n{screen}"))
    };
    assert!(pos("1. deploy canary 10%") < pos("2. migrate"));
    assert!(pos("2. migrate") < pos("3. config"));
    assert!(screen.contains("IRREVERSIBLE"));
    insta::assert_snapshot!("rollback_confirm_120x40", term.backend());
}

/// `q` asked how to leave a release in progress; the run ended while the
/// question was on screen, so it no longer says a release is in progress
/// and offers only leaving or staying.
#[test]
fn the_quit_question_tells_the_truth_once_the_run_has_ended() {
    let mut app = at_gate(theme("default"));
    assert!(app.on_key(key('q')).is_empty());
    let screen = text(render(&mut app, 100, 30).backend().buffer());
    assert!(screen.contains("A release is in progress."), "{screen}");
    assert!(screen.contains("abort (asks why) and quit"), "{screen}");
    for r in &run().records[run().at_gate..] {
        app.apply_record(r);
    }
    assert!(matches!(app.modal, Some(Modal::Quit)), "still asking");
    let term = render(&mut app, 100, 30);
    let screen = text(term.backend().buffer());
    assert!(
        screen.contains("The release has ended: released."),
        "{screen}"
    );
    assert!(!screen.contains("in progress"), "{screen}");
    assert!(!screen.contains("abort (asks why)"), "{screen}");
    assert!(screen.contains("d / Enter leave"), "{screen}");
    insta::assert_snapshot!("quit_after_the_end_100x30", term.backend());
}

#[test]
fn help_overlay() {
    let mut app = at_gate(theme("default"));
    app.on_key(key('?'));
    assert!(matches!(app.modal, Some(Modal::Help { scroll: 0 })));
    let term = render(&mut app, 100, 40);
    let screen = text(term.backend().buffer());
    assert!(screen.contains("approve the waiting gate"));
    insta::assert_snapshot!("help_100x40", term.backend());
    // Tall enough for everything: the closing hint wraps instead of being cut.
    let term = render(&mut app, 100, 64);
    let screen = text(term.backend().buffer());
    assert!(screen.contains("config.toml [keys]"), "{screen}");
}

#[test]
fn main_screen_in_every_theme_with_styles() {
    let themes = [
        theme("default"),
        theme("light"),
        theme("high-contrast"),
        theme("sixteen"),
        Theme::monochrome(),
    ];
    let mut dumps = Vec::new();
    for t in themes {
        let name = t.name.clone();
        let mut app = at_gate(t.clone());
        let term = render(&mut app, 100, 30);
        let buf = term.backend().buffer();
        if name == "no-color" {
            assert!(
                buf.content()
                    .iter()
                    .all(|c| c.fg == Color::Reset && c.bg == Color::Reset),
                "NO_COLOR uses no colours"
            );
        }
        for y in 0..buf.area.height {
            for x in 0..buf.area.width {
                let c = &buf[(x, y)];
                assert!(
                    c.symbol() == " " || c.fg == Color::Reset || c.fg != c.bg,
                    "{name}: {:?} at ({x}, {y}) is drawn in its background colour {:?}",
                    c.symbol(),
                    c.bg
                );
            }
        }
        let dump = styled_dump(buf, &t);
        insta::assert_snapshot!(format!("theme_{name}"), dump);
        dumps.push((name, dump));
    }
    let screens: Vec<&str> = dumps
        .iter()
        .map(|(_, d)| d.split("styles:").next().unwrap())
        .collect();
    for s in &screens {
        assert_eq!(
            s.lines().skip(1).collect::<Vec<_>>(),
            screens[0].lines().skip(1).collect::<Vec<_>>(),
            "a theme changes colours, never text"
        );
    }
    for (i, (a, da)) in dumps.iter().enumerate() {
        for (b, db) in &dumps[i + 1..] {
            assert_ne!(da, db, "{a} and {b} look the same");
        }
    }
}

#[test]
fn blocked_rollback_asks_for_a_decision() {
    let mut app = blocked();
    assert!(
        matches!(app.modal, Some(Modal::Decide { ack: None })),
        "a blocked rollback opens the decision dialog"
    );
    let term = render(&mut app, 120, 40);
    let screen = text(term.backend().buffer());
    assert!(screen.contains("NEEDS A DECISION"), "{screen}");
    for choice in ["h  hold", "f  roll forward", "F  force"] {
        assert!(screen.contains(choice), "{choice:?} is offered:\n{screen}");
    }
    assert!(!screen.contains("r  retry"), "retry is not a choice here");
    insta::assert_snapshot!("rollback_blocked_decide_120x40", term.backend());
    // Closed, the main screen shows the undo so far.
    app.on_key(code(KeyCode::Esc));
    assert!(app.modal.is_none());
    let term = render(&mut app, 120, 40);
    insta::assert_snapshot!("rollback_blocked_main_120x40", term.backend());
}

#[test]
fn terminal_too_small() {
    let mut app = at_gate(theme("default"));
    let term = render(&mut app, 50, 12);
    let screen = text(term.backend().buffer());
    assert!(screen.contains("terminal too small"), "{screen}");
    insta::assert_snapshot!("too_small_50x12", term.backend());
}

#[test]
fn finished_release() {
    let mut app = finished();
    assert!(app.run.is_finished());
    let term = render(&mut app, 120, 40);
    let screen = text(term.backend().buffer());
    assert!(screen.contains("RELEASED"), "{screen}");
    assert!(!screen.contains("WAITING"), "{screen}");
    insta::assert_snapshot!("finished_120x40", term.backend());
}

#[test]
fn render_sweep_never_panics_and_draws_something() {
    let states = [at_gate(theme("default")), mid_prod(), finished(), blocked()];
    let mut with_modal = at_gate(theme("default"));
    with_modal.on_key(key('a'));
    type_text(&mut with_modal, "ok");
    let mut rollback = mid_prod();
    rollback.on_key(KeyEvent::new(KeyCode::Char('R'), KeyModifiers::SHIFT));
    let mut help = at_gate(theme("default"));
    help.on_key(key('?'));
    for mut app in states.into_iter().chain([with_modal, rollback, help]) {
        for w in (40..=220).step_by(9) {
            for h in (10..=60).step_by(5) {
                let term = render(&mut app, w, h);
                let buf = term.backend().buffer();
                let screen = text(buf);
                assert!(
                    screen.chars().any(|c| !c.is_whitespace()),
                    "blank screen at {w}×{h}"
                );
                assert!(
                    buf.content()
                        .iter()
                        .all(|c| !c.symbol().chars().any(char::is_control)),
                    "control characters on screen at {w}×{h}:\n{screen}"
                );
                let too_small =
                    w < slate::cockpit::ui::MIN_WIDTH || h < slate::cockpit::ui::MIN_HEIGHT;
                assert_eq!(
                    screen.contains("terminal too small"),
                    too_small,
                    "at {w}×{h}:\n{screen}"
                );
                if !too_small {
                    let header = screen.lines().next().unwrap();
                    assert!(header.contains("slate checkout"), "at {w}×{h}: {header}");
                }
            }
        }
    }
}

/// A canary whose error ratio climbs past its threshold: the metrics panel
/// shows the samples against the threshold and the one-line reason.
const ANALYSIS_PLAN: &str = common::release_plan!("checkout" "2.4.0" from "2.3.1" by "release-manager"; r#"
[[environments]]
name = "prod"
strategy = { kind = "canary", steps = [10, 100], pause = "1s", analysis = "canary" }

[[stages]]
name = "deploy"
rollout = true
command = 'printf "0.012\n0.02\n0.06\n0.068\n0.071\n" > values; echo "canary at $SLATE_WEIGHT%"'
rollback = 'echo "canary off"'

[[metrics]]
name = "error_ratio"
unit = "ratio"
command = 'n=$(cat n 2>/dev/null || echo 0); n=$((n+1)); echo $n > n; sed -n "${n}p" values'
interval = "50ms"
success = "<= 0.05"

[[metrics]]
name = "p99_latency"
unit = "ms"
command = 'echo 180'
interval = "50ms"
success = "< 400"

[[analyses]]
name = "canary"
metrics = ["error_ratio", "p99_latency"]
count = 5
failure_limit = 2
"#);

#[test]
fn a_failing_canary_analysis_in_the_metrics_panel() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let raw = rt.block_on(run_plan(ANALYSIS_PLAN, false));
    // Cut just after the verdict, before the rollback's records.
    let cut = 1 + raw
        .iter()
        .position(|r| matches!(r.event, Event::AnalysisFinished { .. }))
        .expect("the analysis finished");
    let records: Vec<Record> = raw[..cut].iter().map(normalise_seq).collect();
    let mut app = app_with(ANALYSIS_PLAN, &records, theme("default"));
    let term = render(&mut app, 160, 48);
    let screen = text(term.backend().buffer());
    assert!(
        screen.contains("failed: error_ratio 0.071 > 0.05 for 3 of 5 samples"),
        "{screen}"
    );
    assert!(
        screen.contains("error_ratio 0.071 ratio  <= 0.05  ✘ 3 of 5"),
        "{screen}"
    );
    // The analysis stopped at the third failure, before the last latency sample.
    assert!(
        screen.contains("p99_latency 180 ms  < 400  4/5"),
        "{screen}"
    );
    assert!(
        screen.contains('┈'),
        "the threshold rule is drawn:\n{screen}"
    );
    insta::assert_snapshot!("analysis_failing_160x48", term.backend());
}

/// Dialog keys come from the keymap: remapped in the user's config, every
/// dialog's hint names the new key and never the default it replaced, and
/// the new key is the one that acts.
#[test]
fn dialog_hints_name_the_keys_the_user_chose() {
    let cfg = slate::cockpit::config::parse(
        "[keys]\nsearch_next = \"]\"\n\
         [keys.dialog]\nconfirm = \"ctrl-s\"\ncancel = \"f10\"\nreject_gate = \"ctrl-x\"\n\
         detach = \"D\"\nstay = \"s\"\nhold = \"H\"\n",
        "config.toml",
    )
    .unwrap();
    let ctrl = |c| KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL);
    let screen_of = |app: &mut App| text(render(app, 120, 40).backend().buffer());

    // The gate prompt.
    let mut app = at_gate(theme("default"));
    app.keymap = cfg.keymap.clone();
    app.on_key(key('a'));
    let s = screen_of(&mut app);
    assert!(
        s.contains("Ctrl-s approve · Ctrl-x reject (comment is the reason) · F10 close"),
        "{s}"
    );
    assert!(!s.contains("Enter approve") && !s.contains("Ctrl-R") && !s.contains("Esc close"));
    type_text(&mut app, "looks good");
    let sent = app.on_key(ctrl('s'));
    assert!(
        matches!(sent.as_slice(), [Effect::Send(Action::Approve { comment, .. })] if comment == "looks good"),
        "{sent:?}"
    );

    // The question `q` asks.
    let mut app = at_gate(theme("default"));
    app.keymap = cfg.keymap.clone();
    app.on_key(key('q'));
    let s = screen_of(&mut app);
    assert!(
        s.contains("D / Ctrl-s detach") && s.contains("s / F10 stay"),
        "{s}"
    );
    assert!(!s.contains("d / Enter") && !s.contains("n / Esc"), "{s}");
    assert_eq!(app.on_key(key('d')), [], "d no longer detaches");
    assert_eq!(app.on_key(key('D')), [Effect::Quit]);

    // Search, and the keys that walk its matches.
    let mut app = at_gate(theme("default"));
    app.keymap = cfg.keymap.clone();
    app.on_key(key('/'));
    let s = screen_of(&mut app);
    assert!(s.contains("Ctrl-s search · F10 cancel · then ] / N"), "{s}");

    // A decision: its choices and how to close it.
    let mut app = blocked();
    app.keymap = cfg.keymap.clone();
    let s = screen_of(&mut app);
    assert!(s.contains("H  hold") && !s.contains("h  hold"), "{s}");
    assert!(s.contains("press a letter · F10 close (d reopens)"), "{s}");

    // Help says the same, from the same table.
    let mut app = at_gate(theme("default"));
    app.keymap = cfg.keymap.clone();
    app.on_key(key('?'));
    let s = text(render(&mut app, 120, 90).backend().buffer());
    assert!(s.contains("Keys (? or F10 to close, j/k to scroll)"), "{s}");
    assert!(s.contains("in dialogs: Ctrl-s confirms, F10 closes"), "{s}");
    assert!(s.contains("D             detach"), "{s}");
}

/// A prod whose `deploy` is undone when `boom` fails, and whose rollback is
/// verified by a two-line command that exits `exits`.
fn verified_plan(exits: u8) -> String {
    format!(
        common::release_plan!("checkout" "2.4.0" from "2.3.1" by "release-manager"; r#"
[[environments]]
name = "prod"
verify_rollback = {{ command = '''
echo "serving 2.3.1"
exit {exits}
''' }}

[[stages]]
name = "deploy"
command = 'echo deployed'
rollback = 'echo undone'

[[stages]]
name = "boom"
command = 'exit 3'

[[stages]]
name = "after"
command = 'true'
"#),
        exits = exits
    )
}

/// The verification is the rollback's own line in the pipeline, under the
/// undone steps: running, passed or failed; the step after the failure,
/// which never ran, stays pending.
#[test]
fn a_rollback_shows_its_verification_as_its_own() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    for (exits, name) in [(0, "verified"), (1, "not_verified")] {
        let plan = verified_plan(exits);
        let records: Vec<Record> = rt
            .block_on(run_engine(&plan, |_| None))
            .iter()
            .map(normalise_seq)
            .collect();
        let verifying = 1 + records
            .iter()
            .position(|r| matches!(r.event, Event::RollbackVerifyStarted { .. }))
            .expect("the verification started");
        let mut app = app_with(&plan, &records[..verifying], theme("default"));
        let term = render(&mut app, 120, 32);
        let screen = text(term.backend().buffer());
        assert!(
            screen.contains("↶… verifying the rollback: verify_rollback"),
            "{screen}"
        );
        if exits == 0 {
            insta::assert_snapshot!("rollback_verifying_120x32", term.backend());
        }
        let mut app = app_with(&plan, &records, theme("default"));
        let term = render(&mut app, 120, 32);
        let screen = text(term.backend().buffer());
        let line = if exits == 0 {
            "↶✔ rollback verified by verify_rollback"
        } else {
            "↶✘ verify_rollback failed: check command"
        };
        assert!(screen.contains(line), "{screen}");
        assert!(
            screen.contains("· after"),
            "the last step never ran:\n{screen}"
        );
        if exits != 0 {
            assert!(screen.contains("    serving 2.3.1"), "{screen}");
        }
        insta::assert_snapshot!(format!("rollback_{name}_120x32"), term.backend());
    }
}

/// Once a canary is rolled back none of its weight is in force: the gauge
/// (and the matrix, beside its "rolled back") say 0 %, not the last weight
/// reached.
#[test]
fn a_rolled_back_canary_reads_zero_percent() {
    use slate::cockpit::ui::widgets::rollout_progress;
    use slate::engine::event::EnvOutcome;
    let rt = tokio::runtime::Runtime::new().unwrap();
    let raw = rt.block_on(run_plan(ANALYSIS_PLAN, false));
    let records: Vec<Record> = raw.iter().map(normalise_seq).collect();
    assert!(
        records.iter().any(|r| matches!(
            r.event,
            Event::EnvFinished {
                outcome: EnvOutcome::RolledBack,
                ..
            }
        )),
        "prod rolled back"
    );
    let verdict = 1 + records
        .iter()
        .position(|r| matches!(r.event, Event::AnalysisFinished { .. }))
        .expect("the analysis finished");
    let before = app_with(ANALYSIS_PLAN, &records[..verdict], theme("default"));
    assert_eq!(
        rollout_progress(&before, 0),
        Some(("canary 10%".to_string(), 0.1))
    );
    let mut after = app_with(ANALYSIS_PLAN, &records, theme("default"));
    assert_eq!(
        rollout_progress(&after, 0),
        Some(("canary 0%".to_string(), 0.0))
    );
    let term = render(&mut after, 160, 48);
    let screen = text(term.backend().buffer());
    assert!(screen.contains("canary 0% rolled back"), "{screen}");
    assert!(!screen.contains("canary 10% rolled back"), "{screen}");
}

/// A config value of 10,000 characters in what the promotion changes is
/// cut to the dialog's width: the comment box and the keys still show at 80×24.
#[test]
fn a_huge_config_value_in_the_change_keeps_the_gate_dialog_usable() {
    use slate::change::Baseline;
    let mut app = at_gate(theme("default"));
    let plan = slate::plan::parse(PLAN, "release.toml", std::env::temp_dir()).unwrap();
    let mut now = slate::change::shape(&plan, 2);
    now.config.push(("blob".into(), "x".repeat(10_000)));
    let baseline = Baseline::Known {
        live: None,
        drift: None,
    };
    let change = slate::change::between("2.4.0", &baseline, &now, &[]).unwrap();
    journal_prod_change(&mut app, change);
    assert!(app.on_key(key('a')).is_empty());
    let term = render(&mut app, 80, 24);
    let screen = text(term.backend().buffer());
    assert!(
        screen.contains("the ledger has no version live there"),
        "{screen}"
    );
    assert!(screen.contains("blob = xxx"), "{screen}");
    assert!(screen.contains("Enter approve"), "{screen}");
    assert!(screen.contains("comment"), "{screen}");
}

/// The cells of a rendered buffer that carry an OSC 8 link, as (text of
/// the symbol, row).
fn linked(buf: &Buffer) -> Vec<(String, u16)> {
    let area = buf.area;
    let mut out = Vec::new();
    for y in area.top()..area.bottom() {
        for x in area.left()..area.right() {
            let s = buf[(x, y)].symbol();
            if s.contains("\x1b]8;;") {
                out.push((s.to_string(), y));
            }
        }
    }
    out
}

/// Once the run has ended, the header says where its dossier is; with
/// links on, the path is one OSC 8 link to the file, and with them off
/// nothing but text is drawn.
#[test]
fn a_finished_run_names_its_dossier_and_links_it() {
    let mut app = finished();
    app.dossier = Some(std::path::PathBuf::from(
        "/srv/slate/runs/20261122-143000.000-c0de/dossier.md",
    ));
    let term = render(&mut app, 120, 40);
    let screen = text(term.backend().buffer());
    assert!(
        screen.contains("dossier: /srv/slate/runs/20261122-143000.000-c0de/dossier.md"),
        "{screen}"
    );
    assert!(linked(term.backend().buffer()).is_empty());
    insta::assert_snapshot!("finished_dossier_120x40", term.backend());
    // Where the whole path does not fit, it is left to what is printed on leaving.
    let narrow = text(render(&mut app, 80, 24).backend().buffer());
    assert!(!narrow.contains("dossier:"), "{narrow}");
    app.links = true;
    let term = render(&mut app, 120, 40);
    let links = linked(term.backend().buffer());
    assert_eq!(links.len(), 1, "{links:?}");
    assert_eq!(
        links[0].0,
        "\x1b]8;;file:///srv/slate/runs/20261122-143000.000-c0de/dossier.md\x1b\\/srv/slate/runs/20261122-143000.000-c0de/dossier.md\x1b]8;;\x1b\\"
    );
    assert_eq!(links[0].1, 1, "the header's second line");
}

/// An HTTP check's name in the metrics panel links to the address it asks
/// in that environment; a check whose address holds a secret is not linked.
#[test]
fn an_http_checks_name_links_to_its_address() {
    let src = common::release_plan!(
        r#"
[[environments]]
name = "dev"
config = { host = "dev.internal" }
health = ["health", "private"]

[[stages]]
name = "deploy"
command = "true"

[[checks]]
name = "health"
http = "http://${config.host}:8080/health?v=${version}"

[[checks]]
name = "private"
http = "http://${config.host}/x?token=${secret.TOKEN}"

[secrets]
TOKEN = "env:TOKEN"
"#
    );
    let mut app = slate::cockpit::app::App::new(
        slate::plan::parse(src, "release.toml", std::path::PathBuf::from("/tmp")).unwrap(),
        slate::cockpit::keymap::Keymap::default(),
        theme("default"),
    );
    // The run's start, from a real run of the same environments without
    // the checks (which would ask the network).
    let plain = common::release_plan!(
        r#"
[[environments]]
name = "dev"
config = { host = "dev.internal" }

[[stages]]
name = "deploy"
command = "true"
"#
    );
    let records = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(run_engine(plain, |_| None));
    app.apply_record(&records[0]);
    for check in ["health", "private"] {
        app.apply_record(&Record {
            seq: 1,
            ts: base_ts(),
            event: Event::CheckResult {
                env: 0,
                step: 0,
                check: check.into(),
                role: Default::default(),
                attempt: 1,
                ok: true,
                latency_ms: 12,
                message: "200".into(),
            },
        });
    }
    app.links = true;
    let term = render(&mut app, 120, 40);
    let links = linked(term.backend().buffer());
    assert_eq!(links.len(), 1, "{links:?}");
    assert_eq!(
        links[0].0,
        "\x1b]8;;http://dev.internal:8080/health?v=2.0.0\x1b\\health\x1b]8;;\x1b\\"
    );
}
