//! How fast history opens with 10,000 past runs: loading the index against
//! the baseline of summarising every journal (what the index saves).
//!
//! `cargo bench --bench history` — medians are what to report; the fixture
//! is built once per process in a temporary SLATE_HOME.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use jiff::{SignedDuration, Timestamp};
use slate::engine::event::{
    Actor, EnvOutcome, EnvOutline, Event, Record, RunOutcome, StepOutline, StepStatus,
};

/// Past runs in the fixture; CI's smoke run sets `SLATE_BENCH_RUNS` small.
fn runs() -> usize {
    std::env::var("SLATE_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

static HOME: OnceLock<PathBuf> = OnceLock::new();

fn main() {
    divan::main();
    if let Some(home) = HOME.get() {
        let _ = std::fs::remove_dir_all(home);
    }
}

fn fixture() -> &'static Path {
    HOME.get_or_init(|| {
        let home = std::env::temp_dir().join(format!("slate-bench-history-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&home);
        let t0: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        for i in 0..runs() {
            let start = t0 + SignedDuration::from_secs(i as i64 * 600);
            let id = format!("{}-{i:04x}", start.strftime("%Y%m%d-%H%M%S.000"));
            let dir = slate::runs::runs_dir(&home).join(&id);
            std::fs::create_dir_all(&dir).unwrap();
            let text: String = journal(&id, start, i)
                .iter()
                .map(|r| serde_json::to_string(r).unwrap() + "\n")
                .collect();
            std::fs::write(dir.join(slate::journal::JOURNAL_FILE), text).unwrap();
        }
        // The first load writes the index, as history does after an upgrade.
        let h = slate::runs::load(&home);
        assert_eq!(h.runs.len(), runs());
        home
    })
}

/// A small but real journal: two environments, a gate, an ending.
fn journal(id: &str, start: Timestamp, i: usize) -> Vec<Record> {
    let actor = Actor {
        user: "alice".into(),
        uid: 1000,
        via: "cockpit".into(),
        roles: None,
    };
    let step = |label: &str, kind: &str| StepOutline {
        label: label.into(),
        kind: kind.into(),
        stage: None,
        timeout_ms: None,
        irreversible: false,
    };
    let envs = ["staging", "prod"]
        .iter()
        .map(|n| EnvOutline {
            name: n.to_string(),
            strategy: "all-at-once".into(),
            steps: vec![step("gate ok", "gate"), step("deploy", "run")],
        })
        .collect();
    let mut events = vec![Event::RunStarted {
        run_id: id.into(),
        plan_path: "/srv/plans/payments.toml".into(),
        plan_source: String::new(),
        release: format!("service-{}", i % 7),
        version: format!("1.{i}.0"),
        previous_version: format!("1.{}.0", i.saturating_sub(1)),
        owner: "payments".into(),
        environments: envs,
        actor: actor.clone(),
        pid: 0,
        pre_approved: Vec::new(),
        sealed: Vec::new(),
        auto_approve: false,
        vars: Vec::new(),
        rollback_to: None,
    }];
    for env in 0..2 {
        events.push(Event::EnvStarted { env });
        events.push(Event::GateWaiting {
            env,
            step: 0,
            gate: "ok".into(),
            required: 1,
            require_comment: false,
            timeout_ms: None,
            since: None,
        });
        events.push(Event::Approved {
            env,
            step: 0,
            gate: "ok".into(),
            actor: actor.clone(),
            comment: "lgtm".into(),
            source: slate::engine::event::ApprovalSource::Operator,
        });
        events.push(Event::GatePassed {
            env,
            step: 0,
            gate: "ok".into(),
        });
        events.push(Event::StepStarted {
            env,
            step: 1,
            attempt: 1,
        });
        for n in 0..5 {
            events.push(Event::Output {
                env,
                step: 1,
                stream: slate::engine::event::Stream::Stdout,
                line: format!("deploying shard {n}"),
                rollback: false,
            });
        }
        events.push(Event::StepFinished {
            env,
            step: 1,
            attempt: 1,
            status: StepStatus::Succeeded,
            exit_code: Some(0),
            duration_ms: 1200,
            message: "exit 0".into(),
        });
        events.push(Event::EnvFinished {
            env,
            outcome: EnvOutcome::Deployed,
        });
    }
    events.push(Event::RunFinished {
        outcome: RunOutcome::Released,
        message: "released".into(),
    });
    events
        .into_iter()
        .enumerate()
        .map(|(n, event)| Record {
            seq: n as u64 + 1,
            ts: start + SignedDuration::from_secs(n as i64),
            event,
        })
        .collect()
}

/// What `slate history` and `slate memory` do: one read of the index.
#[divan::bench(sample_count = 20)]
fn index_load_10k(b: divan::Bencher) {
    let home = fixture();
    b.bench(|| {
        let h = slate::runs::load(home);
        assert_eq!(h.runs.len(), runs());
        h
    });
}

/// The baseline the index avoids: summarising every run from its journal.
#[divan::bench(sample_count = 5)]
fn journal_scan_10k(b: divan::Bencher) {
    let home = fixture();
    b.bench(|| {
        let dirs: Vec<PathBuf> = std::fs::read_dir(slate::runs::runs_dir(home))
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_dir())
            .map(|e| e.path())
            .collect();
        dirs.iter()
            .map(|d| {
                let j =
                    slate::journal::read_journal(&d.join(slate::journal::JOURNAL_FILE)).unwrap();
                slate::runs::RunSummary::from_records(&j.records, false)
            })
            .count()
    });
}

/// `slate history`'s first frame, minus the terminal: load the index, build
/// the list state, draw it at 120×40.
#[divan::bench(sample_count = 20)]
fn first_frame_10k(b: divan::Bencher) {
    let home = fixture();
    let theme = slate::tui::theme::Theme::builtin("default")
        .expect("a built-in theme")
        .expect("it parses");
    b.bench(|| {
        let h = slate::runs::load(home);
        let app = slate::history::app::App::new(h.runs, theme.clone(), jiff::tz::TimeZone::UTC);
        let mut term = ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 40)).unwrap();
        term.draw(|f| slate::history::ui::draw(f, &app)).unwrap();
        term
    });
}
