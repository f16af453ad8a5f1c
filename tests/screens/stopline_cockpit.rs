//! The cockpit says what keeps a run out of an environment (another run's
//! lock, a hold, a freeze) and a break-glass in effect, in its header, from
//! the records alone; hostile text in them is shown, never sent.

use crate::common;

use common::actor;
use common::render::*;
use jiff::Timestamp;
use slate::engine::admission::{Barrier, BarrierKind};
use slate::engine::{Event, Record};

const PLAN: &str = r#"
[release]
name = "pay"
version = "2"
previous_version = "1"
owner = "qa"

[[environments]]
name = "prod"

[[stages]]
name = "deploy"
command = "true"
"#;

fn rec(seq: u64, event: Event) -> Record {
    Record {
        seq,
        ts: Timestamp::from_second(1_780_000_000 + seq as i64).unwrap(),
        event,
    }
}

fn started() -> Record {
    rec(
        1,
        Event::RunStarted {
            run_id: "20260601-000000.000-aaaa".into(),
            plan_path: "release.toml".into(),
            plan_source: PLAN.into(),
            release: "pay".into(),
            version: "2".into(),
            previous_version: "1".into(),
            owner: "qa".into(),
            // The outline the engine journals for PLAN.
            environments: slate::engine::outline(
                &slate::plan::parse(PLAN, "release.toml", ".".into()).expect("PLAN parses"),
            ),
            actor: actor("alice", "headless"),
            pid: 1,
            pre_approved: vec![],
            sealed: vec![],
            auto_approve: false,
            vars: Vec::new(),
            rollback_to: None,
        },
    )
}

fn barrier(message: &str) -> Barrier {
    Barrier {
        kind: BarrierKind::Hold,
        message: message.into(),
        holder: Some("bob".into()),
        run_id: None,
        since: None,
        until: None,
        reason: "incident".into(),
        stale: false,
    }
}

fn header(records: &[Record]) -> String {
    let mut app = plan_app(PLAN, theme("default"));
    for r in records {
        app.apply_record(r);
    }
    app.now = records.last().unwrap().ts;
    let term = render(&mut app, 200, 24);
    text(term.backend().buffer())
        .lines()
        .take(3)
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_header_says_what_holds_the_run_back_and_a_break_glass_in_effect() {
    let blocked = rec(
        2,
        Event::EnvBlocked {
            env: 0,
            barrier: barrier("prod is held by bob since 09:00: incident\u{1b}[2J\nnext"),
            until: None,
            in_flight: false,
        },
    );
    let h = header(&[started(), blocked.clone()]);
    assert!(
        h.contains("⏳ prod is held by bob since 09:00: incident"),
        "{h}"
    );
    assert!(!h.contains('\u{1b}'), "{h:?}");
    // The glass is broken: the header flags it, and no longer waits.
    let glass = rec(
        3,
        Event::BreakGlass {
            env: 0,
            actor: actor("alice", "headless"),
            reason: "CVE hotfix".into(),
            crossed: barrier("prod is held by bob"),
        },
    );
    let h = header(&[started(), blocked, glass]);
    assert!(h.contains("⚠ BREAK-GLASS by alice: CVE hotfix"), "{h}");
    assert!(!h.contains('⏳'), "{h}");
}
