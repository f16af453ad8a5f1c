//! A board as the watcher would read it, built by hand so screens and
//! state tests are the same on every machine: four releases through dev,
//! staging and prod (one healthy, one waiting at a prod gate, one whose
//! engine died in staging, one rolled back and one drifted), their active
//! runs and the inbox.

use jiff::Timestamp;
use slate::board::app::App;
use slate::board::snapshot::{Cell, CellState, InboxEntry, ReleaseRow, RunLine, Snapshot, Waits};
use slate::cockpit::keymap::Keymap;
use slate::runs::Engine;
use slate::tui::theme::Theme;

/// The board's clock in these tests.
pub fn now() -> Timestamp {
    "2026-11-22T15:00:00Z".parse().unwrap()
}

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn cell(state: CellState, live: Option<&str>, incoming: Option<&str>) -> Option<Cell> {
    Some(Cell {
        state,
        live: live.map(str::to_string),
        incoming: incoming.map(str::to_string),
    })
}

fn row(release: &str, cells: Vec<Option<Cell>>) -> ReleaseRow {
    ReleaseRow {
        release: release.into(),
        key: release.into(),
        cells,
    }
}

/// The interrupted run, and the command that takes it over.
pub const INTERRUPTED: &str = "20261122-141500.000-dead";

pub fn sample() -> Snapshot {
    use CellState::*;
    Snapshot {
        envs: vec!["dev".into(), "staging".into(), "prod".into()],
        env_keys: vec!["dev".into(), "staging".into(), "prod".into()],
        releases: vec![
            row(
                "checkout",
                vec![
                    cell(Healthy, Some("2.5.0"), None),
                    cell(Healthy, Some("2.5.0"), None),
                    cell(Waiting, Some("2.4.0"), Some("2.5.0")),
                ],
            ),
            row(
                "payments",
                vec![
                    cell(Healthy, Some("7.1.0"), None),
                    cell(Interrupted, Some("7.0.2"), Some("7.1.0")),
                    cell(Healthy, Some("7.0.2"), None),
                ],
            ),
            row(
                "search",
                vec![
                    cell(Healthy, Some("1.9.0"), None),
                    cell(Healthy, Some("1.9.0"), None),
                    cell(Failed, Some("1.8.4"), Some("1.9.0")),
                ],
            ),
            row(
                "inventory",
                vec![
                    cell(Rolling, None, Some("0.3.0")),
                    cell(Held, Some("0.2.0"), Some("0.2.1")),
                    cell(Drifted, Some("0.1.0"), Some("0.2.0")),
                ],
            ),
            row("docs", vec![cell(Healthy, Some("5"), None), None, None]),
        ],
        runs: vec![
            RunLine {
                run_id: "20261122-144100.000-beef".into(),
                release: "inventory".into(),
                version: "0.3.0".into(),
                engine: Engine::Running,
                status: "running".into(),
                env: Some("dev".into()),
                waits: Waits::Nothing,
                // A team run whose engine is on another machine.
                elsewhere: Some("bastion-2".into()),
            },
            RunLine {
                run_id: "20261122-143000.000-c0de".into(),
                release: "checkout".into(),
                version: "2.5.0".into(),
                engine: Engine::Running,
                status: "waiting for approval".into(),
                env: Some("prod".into()),
                waits: Waits::Gate {
                    gate: "go-live".into(),
                    since: at("2026-11-22T14:57:48Z"),
                    approvals: 0,
                    required: 1,
                },
                elsewhere: None,
            },
            RunLine {
                run_id: INTERRUPTED.into(),
                release: "payments".into(),
                version: "7.1.0".into(),
                engine: Engine::Interrupted,
                status: "running".into(),
                env: Some("staging".into()),
                waits: Waits::Recover(format!("slate recover {INTERRUPTED}")),
                elsewhere: None,
            },
        ],
        inbox: vec![InboxEntry {
            run_id: "20261122-143000.000-c0de".into(),
            release: "checkout".into(),
            version: "2.5.0".into(),
            env: "prod".into(),
            gate: "go-live".into(),
            since: at("2026-11-22T14:57:48Z"),
            approvals: 0,
            required: 1,
        }],
        freezes: Vec::new(),
        warnings: Vec::new(),
    }
}

/// A board app on [`sample`] at [`now`], `w`×`h`.
pub fn app(theme: Theme, w: u16, h: u16) -> App {
    let mut app = App::new(theme, Keymap::default());
    app.resize(w, h);
    app.tick(now());
    app.set_snapshot(sample());
    app
}

/// A run of `checkout 2.5.0` (dev, then prod behind the manual gate
/// `go-live`) waiting at the gate since 14:57:48, as its journal replays:
/// the plan as it ran and its state, for the approval dialog.
pub fn waiting_run() -> (slate::plan::Plan, slate::engine::RunState) {
    use slate::engine::event::{EnvOutcome, Event, Record};
    use slate::plan::steps::{StepKind, env_steps};
    let src = crate::release_plan!("checkout" "2.5.0" from "2.4.0" by "me"; r#"[[environments]]
name = "dev"
[[environments]]
name = "prod"
gates = ["go-live"]
[[stages]]
name = "deploy"
command = "true"
[[gates]]
name = "go-live"
kind = "manual"
"#);
    let plan = slate::plan::parse(src, "t.toml", ".".into()).unwrap_or_else(|e| panic!("{e}"));
    let step = env_steps(&plan, 1)
        .iter()
        .position(|s| matches!(s.kind, StepKind::Gate { .. }))
        .expect("prod has its gate");
    let started = Event::RunStarted {
        run_id: "20261122-143000.000-c0de".into(),
        plan_path: "t.toml".into(),
        plan_source: src.into(),
        rollback_to: None,
        release: "checkout".into(),
        version: "2.5.0".into(),
        previous_version: "2.4.0".into(),
        owner: "me".into(),
        environments: slate::engine::outline(&plan),
        actor: crate::actor("starter", "headless"),
        pid: 1,
        pre_approved: Vec::new(),
        sealed: Vec::new(),
        auto_approve: false,
        vars: Vec::new(),
    };
    let events = [
        started,
        Event::EnvStarted { env: 0 },
        Event::EnvFinished {
            env: 0,
            outcome: EnvOutcome::Deployed,
        },
        Event::EnvStarted { env: 1 },
        Event::GateWaiting {
            env: 1,
            step,
            gate: "go-live".into(),
            required: 1,
            require_comment: false,
            timeout_ms: None,
            since: None,
        },
    ];
    let mut state = slate::engine::RunState::default();
    for (i, event) in events.into_iter().enumerate() {
        state.apply(&Record {
            seq: i as u64 + 1,
            ts: at("2026-11-22T14:57:48Z"),
            event,
        });
    }
    (plan, state)
}
