//! Snapshots of the history browser's screens, drawn into ratatui's
//! `TestBackend` from constructed runs (fixed ids, times in UTC), so they are
//! the same on every machine.
//!
//! Regenerate with `INSTA_UPDATE=always cargo test --test screens history::`
//! and review every changed `.snap` as a screen.

use jiff::tz::TimeZone;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::KeyCode;
use ratatui::style::Color;
use slate::history::app::{App, Effect};
use slate::runs::{Outcome, RunSummary};

use crate::common;
use common::render::{draw, text, theme};

struct R {
    id: &'static str,
    release: &'static str,
    version: &'static str,
    start: &'static str,
    secs: Option<u64>,
    reached: Option<&'static str>,
    outcome: Outcome,
    approvers: &'static [&'static str],
    message: &'static str,
}

const RUNS: &[R] = &[
    R {
        id: "20261122-140312.101-a1b2",
        release: "checkout",
        version: "2.4.0",
        start: "2026-11-22T14:03:12Z",
        secs: Some(842),
        reached: Some("prod"),
        outcome: Outcome::Released,
        approvers: &["alice", "bob"],
        message: "checkout 2.4.0 released to dev, staging, prod",
    },
    R {
        id: "20261122-113005.554-c3d4",
        release: "payments-gateway",
        version: "7.1.0-rc.2",
        start: "2026-11-22T11:30:05Z",
        secs: Some(1261),
        reached: Some("prod"),
        outcome: Outcome::RolledBack,
        approvers: &["carol", "dave", "erin", "frank"],
        message: "prod rolled back: analysis canary failed: error_ratio 0.071 > 0.05 for 3 of 3 samples",
    },
    R {
        id: "20261122-094411.002-e5f6",
        release: "checkout",
        version: "2.3.9",
        start: "2026-11-22T09:44:11Z",
        secs: Some(95),
        reached: Some("staging"),
        outcome: Outcome::Failed,
        approvers: &[],
        message: "staging: deploy failed: exited with status 3",
    },
    R {
        id: "20261121-170000.000-0a0b",
        release: "search",
        version: "1.0.0",
        start: "2026-11-21T17:00:00Z",
        secs: None,
        reached: Some("dev"),
        outcome: Outcome::Running,
        approvers: &[],
        message: "",
    },
    R {
        id: "20261121-163012.900-1c1d",
        release: "search",
        version: "0.9.8",
        start: "2026-11-21T16:30:12Z",
        secs: Some(4_100),
        reached: Some("prod"),
        outcome: Outcome::Held,
        approvers: &["alice"],
        message: "",
    },
    R {
        id: "20261121-101010.101-2e2f",
        release: "payments-gateway",
        version: "7.0.3",
        start: "2026-11-21T10:10:10Z",
        secs: Some(30),
        reached: Some("staging"),
        outcome: Outcome::Rejected,
        approvers: &[],
        message: "",
    },
    R {
        id: "20261120-235959.999-3a3b",
        release: "inventory",
        version: "12.0.0",
        start: "2026-11-20T23:59:59Z",
        secs: Some(612),
        reached: Some("prod"),
        outcome: Outcome::Aborted,
        approvers: &["bob"],
        message: "",
    },
    R {
        id: "20261120-080000.000-4c4d",
        release: "inventory",
        version: "11.9.1",
        start: "2026-11-20T08:00:00Z",
        secs: None,
        reached: None,
        outcome: Outcome::Interrupted,
        approvers: &[],
        message: "",
    },
    R {
        id: "20261119-120000.000-5e5f",
        release: "checkout",
        version: "2.3.8",
        start: "2026-11-19T12:00:00Z",
        secs: Some(90_061),
        reached: Some("prod"),
        outcome: Outcome::Released,
        approvers: &["alice", "carol"],
        message: "",
    },
];

fn summary(r: &R) -> RunSummary {
    let started: jiff::Timestamp = r.start.parse().unwrap();
    RunSummary {
        run_id: r.id.into(),
        release: r.release.into(),
        version: r.version.into(),
        previous_version: "0.0.0".into(),
        owner: "release-manager".into(),
        started_by: "erin".into(),
        started: Some(started),
        finished: r.secs.map(|s| {
            started
                .checked_add(jiff::SignedDuration::from_secs(s as i64))
                .unwrap()
        }),
        duration_ms: r.secs.map(|s| s * 1000),
        reached: r.reached.map(Into::into),
        outcome: r.outcome,
        approvers: r.approvers.iter().map(|s| s.to_string()).collect(),
        message: r.message.into(),
        memory: String::new(),
        pid: 0,
    }
}

fn app() -> App {
    let mut app = App::new(
        RUNS.iter().map(summary).collect(),
        theme("default"),
        TimeZone::UTC,
    );
    app.now = "2026-11-23T09:00:00Z".parse().unwrap();
    app
}

fn render(app: &mut App, w: u16, h: u16) -> Terminal<TestBackend> {
    app.resize(w, h);
    draw(w, h, |f| slate::history::ui::draw(f, app))
}

fn key(app: &mut App, c: char) -> Vec<Effect> {
    app.on_key(common::render::key(c))
}

fn code(app: &mut App, code: KeyCode) -> Vec<Effect> {
    app.on_key(common::render::code(code))
}

/// The position of `needle` on screen: (column, row).
fn find(buf: &Buffer, needle: &str) -> (u16, u16) {
    let screen = text(buf);
    for (y, line) in screen.lines().enumerate() {
        if let Some(byte) = line.find(needle) {
            let x = unicode_width::UnicodeWidthStr::width(&line[..byte]);
            return (x as u16, y as u16);
        }
    }
    panic!("{needle:?} is not on screen:\n{screen}");
}

const DOSSIER: &str = r#"# Deployment dossier: checkout 2.4.0

## Release Summary

Released **checkout 2.4.0** (from `2.3.9`) to dev, staging and prod in 14m 02s.
Approved by alice and bob; see the [runbook](https://wiki.example.com/checkout) for the rota.

## Environment Matrix

| Environment | Status | Version | Duration | Approvers | Notes |
|:------------|:------:|--------:|---------:|-----------|-------|
| dev | ✔ healthy | 2.4.0 | 1m 10s | — | smoke passed on the first attempt |
| staging | ✔ healthy | 2.4.0 | 2m 41s | alice | warm-up took longer because the cache was cold |
| prod | ✔ healthy | 2.4.0 | 10m 11s | alice, bob | canary 10 → 50 → 100 % with `error_ratio` under 0.05 |

## Deployment Plan

1. Build `checkout-2.4.0.tar.gz`
2. For each environment:
   - write the config
   - deploy with the canary strategy
3. Run the smoke checks

## Rollback Strategy

> Undo runs in reverse order; the migration has no down step.

```sh
slate rollback --env prod --reason "error rate"
```

## Memory Entry

checkout 2.4.0 released to prod on 2026-11-22.
"#;

fn viewer(w: u16, h: u16) -> App {
    let mut a = app();
    a.resize(w, h);
    let effects = code(&mut a, KeyCode::Enter);
    assert_eq!(
        effects,
        [Effect::OpenDossier("20261122-140312.101-a1b2".into())]
    );
    a.dossier_loaded("20261122-140312.101-a1b2", Ok((DOSSIER.into(), None)));
    a
}

#[test]
fn list_120x30() {
    let mut a = app();
    let term = render(&mut a, 120, 30);
    let buf = term.backend().buffer();
    let screen = text(buf);
    for col in [
        "Started",
        "Release",
        "Version",
        "Reached",
        "Outcome",
        "Duration",
        "Approvers",
    ] {
        assert!(screen.contains(col), "{col} column:\n{screen}");
    }
    assert!(screen.contains("▸ 2026-11-22 14:03  checkout"), "{screen}");
    assert!(screen.contains("9 of 9 runs"), "{screen}");
    insta::assert_snapshot!("list_120x30", term.backend());
}

#[test]
fn list_80x24() {
    let mut a = app();
    let term = render(&mut a, 80, 24);
    let screen = text(term.backend().buffer());
    assert!(screen.contains("✔ released"), "{screen}");
    assert!(screen.contains("↩ rolled back"), "{screen}");
    insta::assert_snapshot!("list_80x24", term.backend());
}

#[test]
fn list_filtered_while_typing_80x24() {
    let mut a = app();
    key(&mut a, 'o'); // released
    key(&mut a, '/');
    for c in "check".chars() {
        key(&mut a, c);
    }
    let term = render(&mut a, 80, 24);
    let screen = text(term.backend().buffer());
    assert!(
        screen.contains("2 of 9 runs · outcome: released · filter: “check”"),
        "{screen}"
    );
    assert!(screen.contains(" filter: check▏"), "{screen}");
    insta::assert_snapshot!("list_filtered_typing_80x24", term.backend());
}

#[test]
fn outcomes_are_coloured_by_their_theme_role() {
    let mut a = app();
    let term = render(&mut a, 120, 30);
    let buf = term.backend().buffer();
    let t = theme("default");
    for (needle, role) in [
        ("✘ failed", t.fail),
        ("↩ rolled back", t.warn),
        ("▶ running", t.running),
        ("‖ held", t.warn),
    ] {
        let (x, y) = find(buf, needle);
        assert_eq!(buf[(x, y)].fg, role.fg.unwrap_or(Color::Reset), "{needle}");
    }
    // The selected row keeps its outcome colour over the selection background.
    let (x, y) = find(buf, "✔ released");
    assert_eq!(buf[(x, y)].fg, t.ok.fg.unwrap());
    assert_eq!(buf[(x, y)].bg, t.selection.bg.unwrap());
}

#[test]
fn viewer_120x30_with_a_table() {
    let mut a = viewer(120, 30);
    let term = render(&mut a, 120, 30);
    let screen = text(term.backend().buffer());
    assert!(screen.contains("Release Summary"), "{screen}");
    assert!(
        screen.contains("┌"),
        "the table is drawn with box characters:\n{screen}"
    );
    insta::assert_snapshot!("viewer_120x30", term.backend());
}

#[test]
fn viewer_80x24_searching() {
    let mut a = viewer(80, 24);
    key(&mut a, '/');
    for c in "prod".chars() {
        key(&mut a, c);
    }
    code(&mut a, KeyCode::Enter);
    key(&mut a, 'n');
    let term = render(&mut a, 80, 24);
    let buf = term.backend().buffer();
    let screen = text(buf);
    assert!(screen.contains("match 2 of"), "{screen}");
    // Matches are highlighted with the search role; the current one is marked in the margin.
    let t = theme("default");
    let (x, y) = find(buf, "│ prod");
    assert_eq!(buf[(x + 2, y)].bg, t.search.bg.unwrap(), "{screen}");
    assert_eq!(buf[(0, y)].symbol(), "›", "{screen}");
    insta::assert_snapshot!("viewer_80x24_search", term.backend());
}

#[test]
fn help_over_the_list_100x30() {
    let mut a = app();
    key(&mut a, '?');
    let term = render(&mut a, 100, 30);
    let screen = text(term.backend().buffer());
    assert!(screen.contains("filter by outcome"), "{screen}");
    insta::assert_snapshot!("help_list_100x30", term.backend());
}

#[test]
fn help_over_the_viewer_80x24() {
    let mut a = viewer(80, 24);
    key(&mut a, '?');
    let term = render(&mut a, 80, 24);
    let screen = text(term.backend().buffer());
    assert!(screen.contains("search the dossier"), "{screen}");
    assert!(
        !screen.contains("filter by outcome"),
        "only the viewer's keys:\n{screen}"
    );
    insta::assert_snapshot!("help_viewer_80x24", term.backend());
}

#[test]
fn ten_thousand_runs_list_from_newest_to_oldest() {
    // How fast this draws is measured by `cargo bench --bench history`, not here.
    let base: jiff::Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
    let runs: Vec<RunSummary> = (0..10_000)
        .map(|i| {
            let mut s = summary(&RUNS[i % RUNS.len()]);
            s.run_id = format!("run-{:05}", 10_000 - i);
            s.started = Some(
                base.checked_add(jiff::SignedDuration::from_secs(-(i as i64) * 600))
                    .unwrap(),
            );
            s
        })
        .collect();
    let mut a = App::new(runs, theme("default"), TimeZone::UTC);
    let mut term = render(&mut a, 120, 40);
    assert!(text(term.backend().buffer()).contains("10000 of 10000 runs"));
    key(&mut a, 'G');
    term.draw(|f| slate::history::ui::draw(f, &a)).unwrap();
    assert!(
        text(term.backend().buffer()).contains("2025-10-23 13:30"),
        "the oldest run is in view"
    );
}

#[test]
fn any_size_draws_without_panicking() {
    let mut list = app();
    let mut help = app();
    key(&mut help, '?');
    let mut view = viewer(80, 24);
    let mut empty = App::new(Vec::new(), theme("default"), TimeZone::UTC);
    for w in (1..=200).step_by(7) {
        for h in (1..=60).step_by(5) {
            for a in [&mut list, &mut help, &mut view, &mut empty] {
                let term = render(a, w, h);
                assert!(!text(term.backend().buffer()).trim().is_empty() || w * h < 4);
            }
        }
    }
}
