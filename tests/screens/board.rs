//! Snapshots of the board, drawn into ratatui's `TestBackend` from a
//! constructed board (`common::board::sample`: five releases through dev,
//! staging and prod, a run waiting at a gate, one interrupted, fixed times),
//! so they are the same on every machine.
//!
//! Regenerate with `INSTA_UPDATE=always cargo test --test screens board::`
//! and review every changed `.snap` as a screen.

use ratatui::crossterm::event::KeyCode;
use ratatui::style::Color;
use slate::board::app::App;
use slate::board::snapshot::{CellState, FreezeNote, Snapshot};

use crate::common;
use common::board::{INTERRUPTED, app};
use common::render::{code, draw, key, text, theme};

fn render(app: &App) -> ratatui::Terminal<ratatui::backend::TestBackend> {
    draw(app.size.width, app.size.height, |f| {
        slate::board::ui::draw(f, app)
    })
}

fn screen(app: &App) -> String {
    text(render(app).backend().buffer())
}

#[test]
fn board_80x24() {
    let a = app(theme("default"), 80, 24);
    let term = render(&a);
    let s = text(term.backend().buffer());
    // Every release, the live version in each cell, the waiting gate in the
    // inbox with how long it has waited, and what takes over the dead run.
    for needle in [
        "checkout",
        "payments",
        "search",
        "inventory",
        "⏸ 2.4.0→2.5.0",
        "⚠ 7.0.2→7.1.0",
        "gate go-live 0/1 · waiting 2m 12s",
        &format!("slate recover {INTERRUPTED}"),
    ] {
        assert!(s.contains(needle), "{needle} missing:\n{s}");
    }
    insta::assert_snapshot!("board_80x24", term.backend());
}

#[test]
fn board_160x48() {
    let a = app(theme("default"), 160, 48);
    let term = render(&a);
    let s = text(term.backend().buffer());
    assert!(s.contains(&format!("slate recover {INTERRUPTED}")), "{s}");
    assert!(s.contains("‖ 0.2.0→0.2.1"), "{s}");
    insta::assert_snapshot!("board_160x48", term.backend());
}

#[test]
fn the_inbox_focused_with_the_cockpit_approval_dialog_open() {
    let mut a = app(theme("default"), 100, 30);
    a.on_key(code(KeyCode::Tab));
    a.on_key(code(KeyCode::Tab));
    let effects = a.on_key(key('a'));
    assert_eq!(
        effects,
        [slate::board::app::Effect::OpenApproval(
            "20261122-143000.000-c0de".into()
        )]
    );
    // The run as its journal says: the plan and a state waiting at the gate.
    let (plan, state) = common::board::waiting_run();
    a.approval_ready("20261122-143000.000-c0de", Ok((plan, state)));
    let s = screen(&a);
    assert!(s.contains("Approve?"), "{s}");
    assert!(s.contains("Gate go-live"), "{s}");
    insta::assert_snapshot!("approve_100x30", render(&a).backend());
}

#[test]
fn cells_carry_a_glyph_and_their_theme_colour_in_sixteen() {
    let t = theme("sixteen");
    let a = app(t.clone(), 80, 24);
    let term = render(&a);
    let buf = term.backend().buffer();
    for (glyph, state) in [
        ("⚠ 7.0.2", CellState::Interrupted),
        ("✘ 1.8.4", CellState::Failed),
        ("≠ 0.1.0", CellState::Drifted),
        ("‖ 0.2.0", CellState::Held),
    ] {
        let (x, y) = find(buf, glyph);
        let want = slate::board::ui::cell_style(&t, state)
            .fg
            .unwrap_or(Color::Reset);
        assert_eq!(buf[(x, y)].fg, want, "{glyph}");
        assert!(
            !matches!(buf[(x, y)].fg, Color::Rgb(..) | Color::Indexed(16..)),
            "sixteen stays in the 16 colours: {glyph} is {:?}",
            buf[(x, y)].fg
        );
    }
    insta::assert_snapshot!("board_80x24_sixteen", term.backend());
}

#[test]
fn help_and_an_environment_history() {
    let mut a = app(theme("default"), 80, 24);
    a.on_key(key('?'));
    let s = screen(&a);
    assert!(s.contains("approve the selected inbox gate"), "{s}");
    insta::assert_snapshot!("help_80x24", render(&a).backend());
    // Help scrolls to what the glyphs mean.
    for _ in 0..20 {
        a.on_key(key('j'));
    }
    let s = screen(&a);
    assert!(
        s.contains("interrupted: its engine died there"),
        "the glyphs are explained:\n{s}"
    );
    a.on_key(code(KeyCode::Esc));
    // Enter on checkout × prod: its history, read by the loop.
    a.on_key(key('l'));
    a.on_key(key('l'));
    let effects = a.on_key(code(KeyCode::Enter));
    assert_eq!(
        effects,
        [slate::board::app::Effect::OpenHistory {
            release: "checkout".into(),
            env: "prod".into()
        }]
    );
    a.history_loaded(
        "checkout",
        "prod",
        Ok(slate::board::snapshot::EnvHistory {
            release: "checkout".into(),
            env: "prod".into(),
            lines: vec![
                "2026-11-22 14:30  2.5.0  in progress  run 20261122-143000.000-c0de".into(),
                "2026-11-20 10:02  2.4.0  live  run 20261120-100200.000-aaaa  approved by alice (comment)  3 verdicts passed".into(),
                "2026-11-18 09:12  2.3.9  superseded by 2.4.0  run 20261118-091200.000-bbbb".into(),
            ],
            picks: ["2.5.0", "2.4.0", "2.3.9"]
                .iter()
                .enumerate()
                .map(|(i, v)| slate::board::snapshot::Pick {
                    version: v.to_string(),
                    went_live: i > 0,
                    live: i == 1,
                })
                .collect(),
        }),
    );
    let s = screen(&a);
    assert!(s.contains("checkout · prod"), "{s}");
    assert!(s.contains("alice (comment)  3 verdicts passed"), "{s}");
    insta::assert_snapshot!("history_80x24", render(&a).backend());

    // `r` picks a version to roll back to: not one in progress, nor the live
    // one; a past live one asks why, and a reason is required.
    a.on_key(key('r'));
    assert!(
        screen(&a).contains("2.5.0 never went live in prod"),
        "{}",
        screen(&a)
    );
    a.on_key(key('j'));
    a.on_key(key('r'));
    assert!(
        screen(&a).contains("2.4.0 is live in prod now"),
        "{}",
        screen(&a)
    );
    a.on_key(key('j'));
    assert!(a.on_key(key('r')).is_empty());
    assert!(
        screen(&a).contains("Roll prod back to 2.3.9?"),
        "{}",
        screen(&a)
    );
    assert!(
        a.on_key(code(KeyCode::Enter)).is_empty(),
        "no reason, no run"
    );
    assert!(
        screen(&a).contains("a rollback needs a reason"),
        "{}",
        screen(&a)
    );
    a.on_paste("p99 doubled\n\u{1b}[2J after 2.4.0");
    let s = screen(&a);
    assert!(s.contains("why: p99 doubled"), "{s}");
    assert!(s.contains("Enter start the rollback"), "{s}");
    insta::assert_snapshot!("history_rollback_80x24", render(&a).backend());
    let effects = a.on_key(code(KeyCode::Enter));
    match effects.as_slice() {
        [
            slate::board::app::Effect::RollbackTo {
                release,
                env,
                version,
                reason,
            },
        ] => {
            assert_eq!(
                (release.as_str(), env.as_str(), version.as_str()),
                ("checkout", "prod", "2.3.9")
            );
            assert!(!reason.chars().any(char::is_control), "{reason:?}");
            assert!(reason.starts_with("p99 doubled"), "{reason:?}");
        }
        other => panic!("{other:?}"),
    }
    // Refused before it began: the board says what `slate rollback --to` said.
    let none = a.rollback_started(Err(vec![
        "slate: version 2.3.9 is not in the ledger".into(),
    ]));
    assert!(none.is_empty());
    assert!(screen(&a).contains("rollback refused: version 2.3.9 is not in the ledger"));
    // Started: the cockpit opens on the new run.
    let attach = a.rollback_started(Ok("20261122-150000.000-ffff".into()));
    assert_eq!(
        attach,
        [slate::board::app::Effect::Attach(
            "20261122-150000.000-ffff".into()
        )]
    );
}

#[test]
fn any_size_draws_and_the_filter_shows_what_was_typed() {
    let mut a = app(theme("default"), 80, 24);
    a.on_key(key('/'));
    for c in "pay".chars() {
        a.on_key(key(c));
    }
    let s = screen(&a);
    assert!(s.contains("filter: pay"), "{s}");
    assert!(s.contains("payments") && !s.contains("checkout"), "{s}");
    for (w, h) in [(1, 1), (39, 9), (40, 10), (41, 11), (200, 3), (60, 60)] {
        a.resize(w, h);
        let _ = screen(&a);
    }
    let empty = App::new(theme("default"), Default::default());
    let s = screen(&empty);
    assert!(s.contains("reading the store"), "{s}");
    let mut none = App::new(theme("default"), Default::default());
    none.set_snapshot(Snapshot::default());
    let s = screen(&none);
    assert!(s.contains("nothing deployed yet"), "{s}");
}

fn find(buf: &ratatui::buffer::Buffer, needle: &str) -> (u16, u16) {
    let first = needle.chars().next().unwrap().to_string();
    for y in 0..buf.area.height {
        let row: String = (0..buf.area.width).map(|x| buf[(x, y)].symbol()).collect();
        if row.contains(needle) {
            for x in 0..buf.area.width {
                if buf[(x, y)].symbol() == first {
                    let rest: String = (x..buf.area.width).map(|x| buf[(x, y)].symbol()).collect();
                    if rest.starts_with(needle) {
                        return (x, y);
                    }
                }
            }
        }
    }
    panic!("{needle} not on screen");
}

/// `s`: the delivery panel, read by the loop; per environment what
/// `slate stats` counts over twelve weeks and a sparkline of each week.
#[test]
fn the_delivery_panel_shows_each_environment_and_its_weeks() {
    use slate::store::{Delivery, Deployment, Reach};
    let mut a = app(theme("default"), 100, 30);
    assert_eq!(a.on_key(key('s')), [slate::board::app::Effect::OpenStats]);
    assert!(screen(&a).contains("reading the ledger"), "{}", screen(&a));
    let until: jiff::Timestamp = "2026-11-22T15:00:00Z".parse().unwrap();
    let row = |env: &str, index: u32, days: i64, reach: Reach| {
        let at = until - jiff::SignedDuration::from_hours(24 * days);
        Delivery {
            deployment: Deployment {
                release: "checkout".into(),
                env: env.into(),
                env_index: index,
                version: format!("2.{days}"),
                run_id: format!("20261101-000000.000-{days:04}{index}"),
                reach,
                started: Some(at - jiff::SignedDuration::from_mins(45)),
                live_at: Some(at),
                ended: Some(at),
                artifacts: vec![],
                config_digest: None,
                approvals: vec![],
                verdicts: vec![],
                message: String::new(),
            },
            run_started: Some(at - jiff::SignedDuration::from_mins(45)),
        }
    };
    let mut rows = Vec::new();
    for d in [1, 3, 8, 9, 15, 30, 44, 60] {
        rows.push(row("staging", 1, d, Reach::Deployed));
    }
    for d in [2, 10, 31] {
        rows.push(row("prod", 2, d, Reach::Deployed));
    }
    rows.push(row("prod", 2, 5, Reach::RolledBack));
    a.stats_loaded(Ok(slate::board::stats::panel(&rows, until)));
    let s = screen(&a);
    assert!(s.contains("Delivery, last 12 weeks"), "{s}");
    assert!(s.contains("staging"), "{s}");
    let prod = s.lines().find(|l| l.contains("║ prod")).unwrap_or_default();
    assert!(prod.contains('█'), "prod's busiest week is full: {s}");
    insta::assert_snapshot!("delivery_100x30", render(&a).backend());
    // Any key closes it; the board is as it was.
    a.on_key(code(KeyCode::Esc));
    assert!(!screen(&a).contains("Delivery, last 12 weeks"));
}

/// Freezes on the board: the one in effect marks its column and is drawn
/// in the warning colour; those to come are muted; past three rows, the
/// last says how many more there are.
#[test]
fn freezes_in_effect_and_coming_sit_under_the_grid() {
    let mut a = app(theme("default"), 120, 40);
    let mut snap = common::board::sample();
    let note = |envs: &[&str], now: bool, text: &str| FreezeNote {
        env_keys: envs.iter().map(|e| e.to_string()).collect(),
        now,
        text: text.into(),
    };
    snap.freezes = vec![
        note(
            &["prod"],
            true,
            "prod frozen now: freeze by alice (incident 4411) until Sun 2026-11-22 18:00 UTC",
        ),
        note(
            &["staging", "prod"],
            false,
            "staging, prod frozen from Sat 2026-11-28 00:00 Europe/Berlin until Mon 2026-11-30 00:00 Europe/Berlin: weekend (quiet time)",
        ),
    ];
    a.set_snapshot(snap.clone());
    let term = render(&a);
    let s = text(term.backend().buffer());
    assert!(
        s.contains("❄ prod frozen now: freeze by alice (incident 4411)"),
        "{s}"
    );
    assert!(
        s.contains("❄ staging, prod frozen from Sat 2026-11-28"),
        "{s}"
    );
    // Only prod's column is marked: staging's freeze has not started.
    assert!(s.contains("❄ prod "), "{s}");
    assert!(!s.contains("❄ staging "), "{s}");
    let buf = term.backend().buffer();
    let (x, y) = find(buf, "❄ prod frozen now");
    assert_eq!(buf[(x + 2, y)].fg, theme("default").warn.fg.unwrap());
    insta::assert_snapshot!("board_freezes_120x40", term.backend());

    // Five freezes: two are shown, the third row counts the rest.
    for i in 0..3 {
        snap.freezes
            .push(note(&["dev"], false, &format!("dev frozen from later {i}")));
    }
    a.set_snapshot(snap);
    let s = screen(&a);
    assert!(
        s.contains("❄ and 3 more freezes: slate locks lists them"),
        "{s}"
    );
    assert!(!s.contains("later 0"), "{s}");
}
