//! `slate replay` without a terminal: the player (speed, idle compression,
//! steps and jumps) and the read-only App it plays into. Records and keys go
//! in; we check positions, clocks, run state and the effects asked for.

use std::sync::LazyLock;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use slate::cockpit::app::{App, Effect, Modal};
use slate::cockpit::keymap::Keymap;
use slate::cockpit::replay::{End, IDLE, Move, Player, Replay};
use slate::engine::event::*;
use slate::engine::state::RunState;

use crate::common;
use common::state::*;

/// The shared plan, as it is: nothing irreversible, no comment required.
static PLAN: LazyLock<String> = LazyLock::new(|| plan(false, false));

/// How long prod waited at its gate before alice approved.
const GATE_WAIT_S: f64 = 3600.0;

fn at(secs: f64) -> Timestamp {
    t0() + SignedDuration::from_secs_f64(secs)
}

fn out(env: usize, step: usize, line: &str) -> Event {
    Event::Output {
        env,
        step,
        stream: Stream::Stdout,
        line: line.into(),
        rollback: false,
    }
}

fn finished(env: usize, step: usize, status: StepStatus) -> Event {
    Event::StepFinished {
        env,
        step,
        attempt: 1,
        status,
        exit_code: Some(if status == StepStatus::Succeeded {
            0
        } else {
            1
        }),
        duration_ms: 1000,
        message: if status == StepStatus::Succeeded {
            "ok".into()
        } else {
            "exit 1".into()
        },
    }
}

/// A run with its timings: dev deploys, prod waits an hour at gate `go`,
/// alice approves, prod's migrate fails and prod is rolled back.
/// `dev_lines` extra output lines from dev's deploy fill the log window.
fn timeline(dev_lines: usize) -> Vec<(f64, Event)> {
    let g = GATE_WAIT_S;
    let mut v = vec![
        (0.0, run_started(&PLAN)),
        (1.0, Event::EnvStarted { env: 0 }),
        (
            1.0,
            Event::StepStarted {
                env: 0,
                step: 0,
                attempt: 1,
            },
        ),
        (2.0, out(0, 0, "migrating dev")),
        (3.0, finished(0, 0, StepStatus::Succeeded)),
        (
            3.0,
            Event::StepStarted {
                env: 0,
                step: 1,
                attempt: 1,
            },
        ),
    ];
    for i in 0..dev_lines {
        v.push((4.0, out(0, 1, &format!("dev line {i}"))));
    }
    v.extend([
        (5.0, out(0, 1, "deployed dev")),
        (6.0, finished(0, 1, StepStatus::Succeeded)),
        (
            6.0,
            Event::EnvFinished {
                env: 0,
                outcome: EnvOutcome::Deployed,
            },
        ),
        (7.0, Event::EnvStarted { env: 1 }),
        (
            7.0,
            Event::StepStarted {
                env: 1,
                step: 0,
                attempt: 1,
            },
        ),
        (
            8.0,
            Event::GateWaiting {
                env: 1,
                step: 0,
                gate: "go".into(),
                required: 1,
                require_comment: false,
                timeout_ms: None,
                since: None,
            },
        ),
        (
            8.0 + g,
            Event::Approved {
                env: 1,
                step: 0,
                gate: "go".into(),
                actor: actor("alice", "cockpit"),
                comment: "dashboards green".into(),
                source: ApprovalSource::Operator,
            },
        ),
        (
            8.0 + g,
            Event::GatePassed {
                env: 1,
                step: 0,
                gate: "go".into(),
            },
        ),
        (
            9.0 + g,
            Event::StepStarted {
                env: 1,
                step: 1,
                attempt: 1,
            },
        ),
        (10.0 + g, out(1, 1, "migrating prod: lock timeout")),
        (11.0 + g, finished(1, 1, StepStatus::Failed)),
        (
            11.0 + g,
            Event::RollbackStarted {
                env: 1,
                trigger: Trigger::StepFailed { step: 1 },
                reason: "migrate failed".into(),
            },
        ),
        (
            12.0 + g,
            Event::EnvFinished {
                env: 1,
                outcome: EnvOutcome::RolledBack,
            },
        ),
        (
            13.0 + g,
            Event::RunFinished {
                outcome: RunOutcome::RolledBack,
                message: "svc 2.0 rolled back in prod".into(),
            },
        ),
    ]);
    v
}

fn records_of(timeline: Vec<(f64, Event)>) -> Vec<Record> {
    timeline
        .into_iter()
        .enumerate()
        .map(|(i, (secs, event))| Record {
            seq: i as u64 + 1,
            ts: at(secs),
            event,
        })
        .collect()
}

fn records() -> Vec<Record> {
    records_of(timeline(0))
}

/// Index (into `records`) of the first record of this type.
fn index_of(records: &[Record], ty: &str) -> usize {
    records
        .iter()
        .position(|r| r.event.type_name() == ty)
        .unwrap_or_else(|| panic!("no {ty} record"))
}

fn new_app() -> App {
    app_on(&PLAN, Keymap::default())
}

fn replay_of(records: Vec<Record>, speed: f64) -> (App, Replay) {
    let mut app = new_app();
    let replay = Replay::new(records, speed, jiff::tz::TimeZone::UTC, &mut app).unwrap();
    (app, replay)
}

/// Presses a key in a replay and carries out its effects the way the loop
/// does; fails on any command sent. Returns whether the key asked to quit.
fn press(app: &mut App, replay: &mut Replay, k: KeyEvent) -> bool {
    let mut quit = false;
    for e in app.on_key(k) {
        match e {
            Effect::Replay(c) => replay.control(app, c),
            Effect::LoadHistory { before } => app.add_history(replay.history(before)),
            Effect::Quit => quit = true,
            // The terminal's clipboard; nothing to do with the run.
            Effect::Copy(_) => {}
            Effect::Send(a) => panic!("a replay sent {a:?}"),
            Effect::Verb(v) => panic!("a replay asked for {v:?}"),
        }
    }
    quit
}

fn last_type(replay: &Replay) -> &'static str {
    replay.player().current().event.type_name()
}

fn secs(d: f64) -> Duration {
    Duration::from_secs_f64(d)
}

// ---------------------------------------------------------------------------
// The player
// ---------------------------------------------------------------------------

#[test]
fn starts_paused_at_the_run_start_and_plays_at_its_speed() {
    let mut p = Player::new(records(), 1.0).unwrap();
    assert_eq!(p.pos(), 1, "the run's start is shown at once");
    assert!(p.paused());
    assert_eq!(p.advance(secs(10.0)), 1..1, "nothing plays while paused");
    assert_eq!(p.clock(), at(0.0), "and the clock stands still");

    p.set_paused(false);
    assert_eq!(p.advance(secs(0.5)), 1..1);
    assert_eq!(p.clock(), at(0.5));
    assert_eq!(p.until_next(), Some(secs(0.5)));
    // Both records at t=1 s come due together.
    assert_eq!(p.advance(secs(0.6)), 1..3);
    assert_eq!(p.clock(), at(1.1));

    // At 4× a real quarter second is one second of the run.
    p.set_speed(4.0);
    assert_eq!(p.advance(secs(0.25)), 3..4, "the line printed at 2 s");
    assert_eq!(p.clock(), at(2.1));
    let next = p.until_next().unwrap().as_secs_f64();
    assert!((next - 0.9 / 4.0).abs() < 1e-6, "{next}");
}

#[test]
fn speed_steps_along_the_ladder_and_stays_in_bounds() {
    let mut p = Player::new(records(), 3.0).unwrap();
    p.faster(true);
    assert_eq!(
        p.speed(),
        4.0,
        "from an odd --speed, + goes to the next step"
    );
    for _ in 0..10 {
        p.faster(true);
    }
    assert_eq!(p.speed(), 64.0);
    for _ in 0..20 {
        p.faster(false);
    }
    assert_eq!(p.speed(), 0.25);
    assert_eq!(Player::new(records(), 1000.0).unwrap().speed(), 64.0);
}

#[test]
fn an_hour_at_a_gate_plays_in_a_few_seconds_and_says_what_it_skipped() {
    let recs = records();
    let gate = index_of(&recs, "gate_waiting");
    for speed in [1.0, 16.0] {
        let mut p = Player::new(recs.clone(), speed).unwrap();
        p.seek(gate + 1);
        p.set_paused(false);
        let cap = IDLE.as_secs_f64() * speed;
        // The wait's first half plays as it happened…
        assert_eq!(p.until_next(), Some(secs(IDLE.as_secs_f64() / 2.0)));
        p.advance(secs(1.0));
        assert_eq!(p.skip(), None);
        assert_eq!(p.clock(), at(8.0 + speed));
        // …then the middle is cut…
        p.advance(secs(0.6));
        let skip = p.skip().expect("the idle stretch was cut");
        let skipped = skip.skipped.as_secs_f64();
        assert!(
            (skipped - (GATE_WAIT_S - cap)).abs() < 1e-3,
            "{speed}×: skipped {skipped}s"
        );
        assert_eq!(p.pos(), gate + 1, "the approval has not come yet");
        // …and its last half plays before the approval arrives.
        let rest = p.until_next().expect("playing");
        assert!(
            (rest.as_secs_f64() - 1.4).abs() < 1e-3,
            "{speed}×: {rest:?} left"
        );
        let played = p.advance(secs(1.5));
        assert_eq!(recs[played.start].event.type_name(), "approved");
    }
}

#[test]
fn short_quiet_stretches_play_in_full() {
    let mut p = Player::new(records(), 1.0).unwrap();
    p.set_paused(false);
    // Nothing between 1 s and 2 s of the run is idle enough to cut.
    p.advance(secs(1.5));
    p.advance(secs(1.0));
    assert_eq!(p.skip(), None);
    assert_eq!(p.clock(), at(2.5));
}

#[test]
fn step_pauses_and_plays_exactly_one_record() {
    let mut p = Player::new(records(), 1.0).unwrap();
    p.set_paused(false);
    assert_eq!(p.step(), Some(Move::Forward(1..2)));
    assert!(p.paused(), "stepping pauses playback");
    assert_eq!(p.clock(), at(1.0), "the clock is the record's time");
    assert_eq!(p.step(), Some(Move::Forward(2..3)));
    let n = p.len();
    p.seek(n);
    assert_eq!(p.step(), None, "nothing after the end");
}

#[test]
fn jumps_go_to_the_next_and_previous_event_of_interest() {
    let recs = records();
    let mut p = Player::new(recs.clone(), 1.0).unwrap();
    let mut seen = Vec::new();
    while let Some(Move::Forward(_)) = p.next_interest() {
        seen.push(p.current().event.type_name());
    }
    assert_eq!(
        seen,
        [
            "gate_waiting",
            "approved",
            "step_finished",
            "rollback_started",
            "run_finished"
        ],
        "successful steps and plain output are passed over"
    );
    assert!(p.at_end());
    let back = p.prev_interest().expect("an earlier one");
    assert_eq!(p.current().event.type_name(), "rollback_started");
    assert_eq!(back, Move::Rebuild(index_of(&recs, "rollback_started") + 1));
    assert_eq!(p.clock(), at(11.0 + GATE_WAIT_S), "the clock goes back too");
    p.prev_interest();
    p.prev_interest();
    p.prev_interest();
    assert_eq!(p.current().event.type_name(), "gate_waiting");
    assert_eq!(
        p.prev_interest(),
        None,
        "nothing of interest before the gate"
    );
    assert_eq!(p.current().event.type_name(), "gate_waiting");
}

// ---------------------------------------------------------------------------
// The session: player + App, driven by keys
// ---------------------------------------------------------------------------

#[test]
fn keys_drive_the_player_and_the_app_clock_follows_it() {
    let (mut app, mut r) = replay_of(records(), 1.0);
    assert!(app.is_read_only());
    let view = app.replay.clone().expect("replay mode");
    assert!(view.paused && view.pos == 1 && view.total == r.player().len());
    assert!(toast(&app).contains("Space plays"), "{}", toast(&app));

    press(&mut app, &mut r, key(' '));
    assert!(app.replay.as_ref().unwrap().playing());
    r.advance(&mut app, secs(2.5));
    assert_eq!(app.now, at(2.5), "elapsed counters use the replay's clock");
    assert_eq!(app.run.envs[0].steps[0].state.word(), "running");

    press(&mut app, &mut r, key('+'));
    press(&mut app, &mut r, key('+'));
    assert_eq!(app.replay.as_ref().unwrap().speed, 4.0);
    press(&mut app, &mut r, key('-'));
    assert_eq!(app.replay.as_ref().unwrap().speed, 2.0);

    // `n` pauses at the gate (not search-next: replay keys win in a replay).
    press(&mut app, &mut r, key('n'));
    assert_eq!(last_type(&r), "gate_waiting");
    assert!(app.replay.as_ref().unwrap().paused);
    assert_eq!(app.run.waiting.as_ref().unwrap().gate, "go");
    assert_eq!(toast(&app), "⏭ gate go waiting in prod");
    assert_eq!(app.now, at(8.0));

    // `.` and → step one record each.
    let pos = app.replay.as_ref().unwrap().pos;
    press(&mut app, &mut r, key('.'));
    press(&mut app, &mut r, code(KeyCode::Right));
    assert_eq!(app.replay.as_ref().unwrap().pos, pos + 2);
    assert_eq!(last_type(&r), "gate_passed");
    assert!(app.run.waiting.is_none(), "alice approved");

    // `$` to the end, `0` back to the start.
    press(&mut app, &mut r, key('$'));
    assert_eq!(app.replay.as_ref().unwrap().end, Some(End::Finished));
    assert!(app.run.is_finished());
    assert!(
        !app.animating(),
        "a replay at its end draws nothing by itself"
    );
    press(&mut app, &mut r, key('0'));
    assert_eq!(app.replay.as_ref().unwrap().pos, 1);
    assert_eq!(app.run, RunState::replay(&r.player().records()[..1]));
    assert_eq!(app.now, at(0.0));
}

/// Everything a record can change in the App, for comparing two of them
/// (check series are in the run state).
fn shown(app: &App) -> (RunState, Vec<slate::cockpit::logs::LogLine>) {
    (app.run.clone(), app.logs.iter().cloned().collect())
}

#[test]
fn jumping_back_equals_a_fresh_replay_of_the_prefix() {
    let (mut app, mut r) = replay_of(records(), 8.0);
    press(&mut app, &mut r, key('$'));
    for _ in 0..3 {
        press(&mut app, &mut r, key('p'));
        let n = app.replay.as_ref().unwrap().pos;
        let mut fresh = new_app();
        for rec in &r.player().records()[..n] {
            fresh.apply_record(rec);
        }
        assert_eq!(shown(&app), shown(&fresh), "after p, at {n}");
        assert_eq!(app.run, RunState::replay(&r.player().records()[..n]));
        assert_eq!(app.now, r.player().records()[n - 1].ts);
    }
    assert_eq!(last_type(&r), "approved");
    assert!(
        toast(&app).starts_with("⏮ go approved by alice"),
        "{}",
        toast(&app)
    );
}

#[test]
fn read_only_refuses_every_command_with_a_toast_and_sends_nothing() {
    let (mut app, mut r) = replay_of(records(), 1.0);
    press(&mut app, &mut r, key('n'));
    assert!(app.run.waiting.is_some());
    for (k, name) in [
        ('a', "approve"),
        ('x', "reject"),
        ('R', "rollback"),
        ('r', "retry"),
        ('d', "decide"),
        ('m', "note"),
    ] {
        let fx = app.on_key(key(k));
        assert!(fx.is_empty(), "{k}: {fx:?}");
        assert!(app.modal.is_none(), "{k} opened a dialog");
        assert_eq!(
            toast(&app),
            format!("read-only (replay): {name} is not available")
        );
        assert!(app.toast.as_ref().unwrap().error);
    }
    // Quitting a replay just quits: no dialog, nothing to abort or shut down.
    assert_eq!(app.on_key(key('q')), vec![Effect::Quit]);
    assert!(app.modal.is_none());
    assert_eq!(app.on_terminate(), vec![Effect::Quit]);

    // The same rules hold for any read-only cockpit (attach --read-only),
    // where `p` is still the pause key.
    let mut app = new_app();
    app.set_read_only("attach --read-only");
    for rec in &r.player().played() {
        app.apply_record(rec);
    }
    assert_eq!(
        toast(&app),
        "gate go is waiting for approval",
        "no 'press a' hint"
    );
    assert!(app.on_key(key('p')).is_empty());
    assert_eq!(
        toast(&app),
        "read-only (attach --read-only): pause is not available"
    );
    assert!(
        app.on_key(key(' ')).is_empty(),
        "no player outside a replay"
    );
    assert_eq!(app.on_key(key('q')), vec![Effect::Quit]);
}

#[test]
fn a_blocked_rollback_opens_no_decision_dialog_when_read_only() {
    let (mut app, _r) = replay_of(records(), 1.0);
    app.apply_record(&Record {
        seq: 999,
        ts: at(20.0),
        event: Event::RollbackBlocked {
            env: 1,
            step: 1,
            reason: "migrate is irreversible".into(),
            choices: vec![RollbackChoice::Hold, RollbackChoice::Force],
        },
    });
    assert!(!matches!(app.modal, Some(Modal::Decide { .. })));
    assert_eq!(toast(&app), "migrate is irreversible");
}

#[test]
fn a_crashed_run_plays_to_its_last_record_and_says_so() {
    let mut recs = records();
    recs.truncate(index_of(&recs, "step_finished") + 1);
    let cut = recs.len();
    let (mut app, mut r) = replay_of(recs, 64.0);
    press(&mut app, &mut r, key(' '));
    r.advance(&mut app, secs(60.0));
    let view = app.replay.clone().unwrap();
    assert_eq!(view.pos, cut, "everything there was got played");
    assert_eq!(
        view.end,
        Some(End::Unfinished {
            still_running: false
        })
    );
    assert!(toast(&app).contains("never finished"), "{}", toast(&app));
    assert!(!app.run.is_finished());
    // The clock stops at the last record: no counter runs on past the crash.
    assert_eq!(app.now, r.player().current().ts);
    press(&mut app, &mut r, key(' '));
    assert!(
        toast(&app).contains("end of the journal"),
        "{}",
        toast(&app)
    );
}

#[test]
fn log_history_never_shows_lines_from_after_the_position() {
    // Enough dev output that the log window drops some and history is read back.
    let recs = records_of(timeline(slate::cockpit::logs::CAPACITY + 500));
    let (mut app, mut r) = replay_of(recs, 1.0);
    press(&mut app, &mut r, key('n'));
    let pos_seq = r.player().current().seq;
    assert!(app.logs.more_in_journal());
    // Scroll to the top of the window (`g`): the app asks for older lines.
    let mut asked = false;
    for _ in 0..3 {
        let fx = app.on_key(key('g'));
        for e in fx {
            if let Effect::LoadHistory { before } = e {
                asked = true;
                app.add_history(r.history(before));
            }
        }
    }
    assert!(asked, "scrolling up asked for history");
    let seqs: Vec<u64> = app.logs.iter().map(|l| l.seq).collect();
    assert!(seqs.iter().all(|&s| s <= pos_seq), "a line from the future");
    assert!(seqs.contains(&4), "the oldest dev line came back");
    // And asked directly, history stops at the position too.
    let all = r.history(u64::MAX);
    assert!(all.iter().all(|l| l.seq <= pos_seq));
    assert!(!all.iter().any(|l| l.plain.contains("lock timeout")));
}
