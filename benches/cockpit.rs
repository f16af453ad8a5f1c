//! What one cockpit frame costs: the whole screen drawn from state, at 80×24
//! and 200×50, with the log window full (5,000 lines) while a step runs —
//! the frame a flood redraws at most 30 times a second. The baseline is an
//! empty frame (the run just started) at the same size, measured in the same
//! run. `cargo bench --bench cockpit`.

use std::path::PathBuf;

use jiff::Timestamp;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use slate::cockpit::app::App;
use slate::cockpit::keymap::Keymap;
use slate::engine::event::{Actor, Event, Record, Stream};
use slate::tui::theme::Theme;

fn main() {
    divan::main();
}

const PLAN: &str = r#"
[release]
name = "checkout"
version = "2.5.0"
previous_version = "2.4.1"
owner = "bench"
[[environments]]
name = "dev"
[[environments]]
name = "staging"
[[environments]]
name = "prod"
[[stages]]
name = "migrate"
command = "true"
[[stages]]
name = "deploy"
command = "true"
"#;

/// The app after `lines` output lines of a running step.
fn app(lines: usize) -> App {
    let plan = slate::plan::parse(PLAN, "bench.toml", PathBuf::from(".")).unwrap();
    let env_steps: Vec<_> = (0..plan.environments.len())
        .map(|e| slate::plan::steps::env_steps(&plan, e))
        .collect();
    let ts = Timestamp::now();
    let mut records = vec![Record {
        seq: 1,
        ts,
        event: Event::RunStarted {
            run_id: "bench".into(),
            plan_path: "bench.toml".into(),
            plan_source: PLAN.into(),
            release: "checkout".into(),
            version: "2.5.0".into(),
            previous_version: "2.4.1".into(),
            owner: "bench".into(),
            environments: plan
                .environments
                .iter()
                .zip(&env_steps)
                .map(|(e, steps)| slate::engine::event::EnvOutline {
                    name: e.name.clone(),
                    strategy: "all-at-once".into(),
                    steps: steps
                        .iter()
                        .map(|s| slate::engine::event::StepOutline {
                            label: s.label.clone(),
                            kind: "run".into(),
                            stage: None,
                            timeout_ms: Some(60_000),
                            irreversible: false,
                        })
                        .collect(),
                })
                .collect(),
            actor: Actor {
                user: "bench".into(),
                uid: 0,
                via: "bench".into(),
                roles: None,
            },
            pid: 1,
            pre_approved: Vec::new(),
            sealed: Vec::new(),
            auto_approve: false,
            vars: Vec::new(),
            rollback_to: None,
        },
    }];
    records.push(Record {
        seq: 2,
        ts,
        event: Event::EnvStarted { env: 0 },
    });
    records.push(Record {
        seq: 3,
        ts,
        event: Event::StepStarted {
            env: 0,
            step: 0,
            attempt: 1,
        },
    });
    for i in 0..lines {
        records.push(Record {
            seq: 4 + i as u64,
            ts,
            event: Event::Output {
                env: 0,
                step: 0,
                stream: Stream::Stdout,
                line: format!(
                    "2026-11-22T10:00:00Z INFO migrate: applied row {i:>8} of table orders (batch {})",
                    i / 100
                ),
                rollback: false,
            },
        });
    }
    let theme = Theme::load("default", std::path::Path::new("/nonexistent")).unwrap();
    let mut app = App::new(plan, Keymap::default(), theme);
    for r in &records {
        app.apply_record(r);
    }
    app
}

fn frame(bencher: divan::Bencher, (w, h): (u16, u16), lines: usize) {
    let app = app(lines);
    let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
    bencher.bench_local(|| {
        term.draw(|f| slate::cockpit::ui::draw(f, &app)).unwrap();
    });
}

#[divan::bench(args = [(80, 24), (200, 50)], sample_count = 50)]
fn full_log_window(bencher: divan::Bencher, size: (u16, u16)) {
    frame(bencher, size, 5_000);
}

#[divan::bench(args = [(80, 24), (200, 50)], sample_count = 50)]
fn baseline_empty(bencher: divan::Bencher, size: (u16, u16)) {
    frame(bencher, size, 0);
}
