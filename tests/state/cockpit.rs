//! The cockpit's state and key dispatch, with no terminal: records and keys
//! go into `App`, and we check the state and the effects (engine commands) it asks for.

use std::sync::LazyLock;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers, MouseEvent, MouseEventKind};
use slate::cockpit::app::{App, Effect, Modal, Panel, QuitState};
use slate::cockpit::keymap::Keymap;
use slate::engine::Action;
use slate::engine::event::*;

use crate::common;
use common::state::*;

/// The shared plan, with migrate irreversible and the gate requiring a comment.
static PLAN: LazyLock<String> = LazyLock::new(|| plan(true, true));

fn app_with(keymap: Keymap) -> App {
    app_on(&PLAN, keymap)
}

struct Feed {
    seq: u64,
}

impl Feed {
    fn rec(&mut self, event: Event) -> Record {
        self.seq += 1;
        Record {
            seq: self.seq,
            ts: t0() + jiff::SignedDuration::from_millis(self.seq as i64 * 100),
            event,
        }
    }
}

/// The records of a run that deployed dev and waits at prod's gate `go`.
fn gate_records(f: &mut Feed) -> Vec<Record> {
    let events = vec![
        run_started(&PLAN),
        Event::EnvStarted { env: 0 },
        Event::StepStarted {
            env: 0,
            step: 0,
            attempt: 1,
        },
        Event::Output {
            env: 0,
            step: 0,
            stream: Stream::Stdout,
            line: "migrating".into(),
            rollback: false,
        },
        Event::StepFinished {
            env: 0,
            step: 0,
            attempt: 1,
            status: StepStatus::Succeeded,
            exit_code: Some(0),
            duration_ms: 5,
            message: "ok".into(),
        },
        Event::StepStarted {
            env: 0,
            step: 1,
            attempt: 1,
        },
        Event::Output {
            env: 0,
            step: 1,
            stream: Stream::Stderr,
            line: "warning: slow disk".into(),
            rollback: false,
        },
        Event::Output {
            env: 0,
            step: 1,
            stream: Stream::Stdout,
            line: "\u{1b}[32mdeployed\u{1b}[0m".into(),
            rollback: false,
        },
        Event::StepFinished {
            env: 0,
            step: 1,
            attempt: 1,
            status: StepStatus::Succeeded,
            exit_code: Some(0),
            duration_ms: 5,
            message: "ok".into(),
        },
        Event::EnvFinished {
            env: 0,
            outcome: EnvOutcome::Deployed,
        },
        Event::EnvStarted { env: 1 },
        Event::StepStarted {
            env: 1,
            step: 0,
            attempt: 1,
        },
        Event::GateWaiting {
            env: 1,
            step: 0,
            gate: "go".into(),
            required: 1,
            require_comment: true,
            timeout_ms: None,
            since: None,
        },
    ];
    events.into_iter().map(|e| f.rec(e)).collect()
}

/// Applies those records: run started, dev deployed, prod waiting at gate `go`.
fn at_gate(app: &mut App) -> Feed {
    let mut f = Feed { seq: 0 };
    for r in gate_records(&mut f) {
        app.apply_record(&r);
    }
    f
}

/// Prod's gate `go` passed (its approvals are in).
fn go_passed() -> Event {
    Event::GatePassed {
        env: 1,
        step: 0,
        gate: "go".into(),
    }
}

fn type_text(app: &mut App, s: &str) {
    for c in s.chars() {
        assert!(app.on_key(key(c)).is_empty(), "typing sends nothing");
    }
}

#[test]
fn approving_needs_a_waiting_gate_and_a_comment_when_required() {
    let mut app = app_with(Keymap::default());
    assert!(app.on_key(key('a')).is_empty());
    assert!(app.modal.is_none());
    assert_eq!(toast(&app), "no gate is waiting for a decision");

    at_gate(&mut app);
    assert!(app.on_key(key('a')).is_empty());
    assert!(matches!(app.modal, Some(Modal::Gate { .. })));
    assert!(app.on_key(code(KeyCode::Enter)).is_empty());
    assert_eq!(toast(&app), "approval needs a comment");
    assert!(app.modal.is_some(), "the prompt stays open");
    type_text(&mut app, "looks good");
    let fx = app.on_key(code(KeyCode::Enter));
    assert_eq!(
        fx,
        [Effect::Send(Action::Approve {
            gate: Some("go".into()),
            comment: "looks good".into()
        })]
    );
    assert!(app.modal.is_none());
}

#[test]
fn ctrl_r_in_the_prompt_rejects_with_the_comment_as_reason() {
    let mut app = app_with(Keymap::default());
    at_gate(&mut app);
    app.on_key(key('a'));
    assert!(app.on_key(ctrl('r')).is_empty());
    assert_eq!(toast(&app), "a rejection needs a reason");
    type_text(&mut app, "error budget spent");
    let fx = app.on_key(ctrl('r'));
    assert_eq!(
        fx,
        [Effect::Send(Action::Reject {
            gate: Some("go".into()),
            reason: "error budget spent".into()
        })]
    );
    // `x` opens the same prompt meant for rejecting: Enter rejects.
    app.on_key(key('x'));
    type_text(&mut app, "no");
    assert!(matches!(
        app.on_key(code(KeyCode::Enter)).as_slice(),
        [Effect::Send(Action::Reject { .. })]
    ));
    // Esc closes without deciding.
    app.on_key(key('a'));
    assert!(app.on_key(code(KeyCode::Esc)).is_empty());
    assert!(app.modal.is_none());
}

#[test]
fn rollback_lists_what_will_be_undone_and_needs_a_reason() {
    let mut app = app_with(Keymap::default());
    let mut f = at_gate(&mut app);
    for e in [
        go_passed(),
        Event::StepStarted {
            env: 1,
            step: 1,
            attempt: 1,
        },
        Event::StepFinished {
            env: 1,
            step: 1,
            attempt: 1,
            status: StepStatus::Succeeded,
            exit_code: Some(0),
            duration_ms: 5,
            message: "ok".into(),
        },
        Event::StepStarted {
            env: 1,
            step: 2,
            attempt: 1,
        },
    ] {
        let r = f.rec(e);
        app.apply_record(&r);
    }
    let plan = app.rollback_plan(1);
    let labels: Vec<&str> = plan.iter().map(|(l, ..)| l.as_str()).collect();
    assert_eq!(labels, ["deploy", "migrate"], "newest first");
    assert_eq!(plan[0].1, "run: undo-deploy");
    assert!(
        plan[1].2 && plan[1].1.starts_with("IRREVERSIBLE"),
        "{:?}",
        plan[1]
    );

    app.on_key(key('R'));
    assert!(matches!(app.modal, Some(Modal::Rollback { env: 1, .. })));
    assert!(app.on_key(code(KeyCode::Enter)).is_empty());
    assert_eq!(toast(&app), "a rollback needs a reason");
    type_text(&mut app, "latency");
    let fx = app.on_key(code(KeyCode::Enter));
    assert_eq!(
        fx,
        [Effect::Send(Action::Rollback {
            env: Some("prod".into()),
            reason: "latency".into()
        })]
    );
}

#[test]
fn pause_toggles_with_the_run_state() {
    let mut app = app_with(Keymap::default());
    let mut f = at_gate(&mut app);
    assert_eq!(app.on_key(key('p')), [Effect::Send(Action::Pause)]);
    let r = f.rec(Event::PauseRequested {
        actor: actor("op", "cockpit"),
        reason: None,
    });
    app.apply_record(&r);
    assert_eq!(app.on_key(key('p')), [Effect::Send(Action::Resume)]);
}

#[test]
fn quitting_an_active_release_asks_then_aborts_and_waits_for_the_rollback() {
    let mut app = app_with(Keymap::default());
    let mut f = at_gate(&mut app);
    assert!(app.on_key(key('q')).is_empty());
    assert!(matches!(app.modal, Some(Modal::Quit)));
    app.on_key(key('n'));
    assert!(app.modal.is_none());
    // The old "yes" is no answer: only d/Enter detach and a abort.
    app.on_key(key('q'));
    assert!(app.on_key(key('y')).is_empty());
    assert!(matches!(app.modal, Some(Modal::Quit)));
    // Abort asks why, like a rollback, and refuses to go on without a reason.
    assert!(app.on_key(key('a')).is_empty());
    assert!(matches!(app.modal, Some(Modal::Reason { .. })));
    assert!(app.on_key(code(KeyCode::Enter)).is_empty());
    assert_eq!(
        app.toast.as_ref().map(|t| t.text.as_str()),
        Some("an abort needs a reason")
    );
    assert_eq!(app.quit, QuitState::Running);
    for c in "bad canary".chars() {
        app.on_key(key(c));
    }
    let fx = app.on_key(code(KeyCode::Enter));
    assert_eq!(
        fx,
        [Effect::Send(Action::Abort {
            reason: "bad canary".into()
        })]
    );
    assert!(app.modal.is_none());
    assert_eq!(app.quit, QuitState::AfterFinish);
    // Records before the end change nothing; the end quits (the engine's
    // host shuts itself down: nothing is sent).
    let r = f.rec(Event::AbortRequested {
        actor: actor("op", "socket"),
        reason: "the operator quit the cockpit".into(),
    });
    assert!(app.apply_record(&r).is_empty());
    let r = f.rec(Event::RunFinished {
        outcome: RunOutcome::Aborted,
        message: "aborted".into(),
    });
    assert_eq!(app.apply_record(&r), [Effect::Quit]);
}

#[test]
fn quitting_an_active_release_can_detach_and_leave_it_going() {
    for detach in [key('d'), KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)] {
        let mut app = app_with(Keymap::default());
        at_gate(&mut app);
        app.on_key(key('q'));
        assert!(matches!(app.modal, Some(Modal::Quit)));
        assert_eq!(app.on_key(detach), [Effect::Quit], "nothing is sent");
        assert!(app.modal.is_none());
        assert_eq!(app.quit, QuitState::Running, "no abort is pending");
        assert!(app.is_active(), "the release goes on");
    }
    // Ctrl-C is quit too: it asks the same question, and Esc stays.
    let mut app = app_with(Keymap::default());
    at_gate(&mut app);
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    assert!(app.on_key(ctrl_c).is_empty());
    assert!(matches!(app.modal, Some(Modal::Quit)));
    assert!(
        app.on_key(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE))
            .is_empty()
    );
    assert!(app.modal.is_none());
}

#[test]
fn the_quit_question_after_the_run_ended_just_quits() {
    for answer in ['a', 'd'] {
        let mut app = app_with(Keymap::default());
        let mut f = at_gate(&mut app);
        app.on_key(key('q'));
        let r = f.rec(Event::RunFinished {
            outcome: RunOutcome::Released,
            message: "released".into(),
        });
        app.apply_record(&r);
        assert!(matches!(app.modal, Some(Modal::Quit)), "still asking");
        assert_eq!(app.on_key(key(answer)), [Effect::Quit], "{answer}");
        assert_eq!(app.quit, QuitState::Running);
    }
}

/// The gate prompt is open, half a comment typed, when someone else decides
/// the gate (another cockpit, `slate approve`): the prompt closes, since it
/// has nothing left to decide and could not be drawn, and the next key is
/// the cockpit's again instead of going into a prompt nobody sees.
#[test]
fn a_gate_prompt_closes_when_the_gate_is_decided_elsewhere() {
    let approved = |who: &str| Event::Approved {
        env: 1,
        step: 0,
        gate: "go".into(),
        actor: actor(who, "socket"),
        comment: "LGTM".into(),
        source: ApprovalSource::Operator,
    };

    let rejected = Event::Rejected {
        env: 1,
        step: 0,
        gate: "go".into(),
        actor: actor("bob", "socket"),
        reason: "error budget spent".into(),
    };
    let finished = Event::RunFinished {
        outcome: RunOutcome::Rejected,
        message: "rejected".into(),
    };
    for decided in [vec![approved("bob"), go_passed()], vec![rejected, finished]] {
        let mut app = app_with(Keymap::default());
        let mut f = at_gate(&mut app);
        app.on_key(key('a'));
        assert!(matches!(app.modal, Some(Modal::Gate { .. })));
        type_text(&mut app, "looks g");
        let first = decided[0].clone();
        app.apply_record(&f.rec(first));
        assert!(
            app.toast
                .as_ref()
                .is_some_and(|t| t.text.starts_with("bob ")),
            "the toast names who decided: {:?}",
            app.toast.as_ref().map(|t| &t.text)
        );
        for e in decided.into_iter().skip(1) {
            app.apply_record(&f.rec(e));
        }
        assert!(app.modal.is_none(), "nothing is left to decide");
        // The next key is the cockpit's: `q` quits (or asks), it is not typed.
        let fx = app.on_key(key('q'));
        assert!(
            fx == [Effect::Quit] || matches!(app.modal, Some(Modal::Quit)),
            "{fx:?}"
        );
    }
}

/// An approval that leaves the gate waiting (one that needs two approvals,
/// or the moment before its `gate_passed`) leaves the prompt open: this
/// viewer may be the second approver.
#[test]
fn a_gate_prompt_stays_open_while_the_gate_still_waits() {
    let mut app = app_with(Keymap::default());
    let mut f = at_gate(&mut app);
    app.on_key(key('a'));
    type_text(&mut app, "looks g");
    app.apply_record(&f.rec(Event::Approved {
        env: 1,
        step: 0,
        gate: "go".into(),
        actor: actor("bob", "socket"),
        comment: "LGTM".into(),
        source: ApprovalSource::Operator,
    }));
    assert!(matches!(app.modal, Some(Modal::Gate { .. })), "still waits");
    type_text(&mut app, "ood");
    let fx = app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE));
    assert_eq!(
        fx,
        [Effect::Send(Action::Approve {
            gate: Some("go".into()),
            comment: "looks good".into(),
        })]
    );
}

/// A run that ends while a dialog would send it a command (a rollback to
/// confirm, a reason being typed) closes that dialog and says nothing was
/// sent; the next key is the cockpit's.
#[test]
fn a_command_dialog_closes_when_the_run_ends() {
    let open_rollback = |app: &mut App| {
        app.on_key(KeyEvent::new(KeyCode::Char('R'), KeyModifiers::SHIFT));
        assert!(matches!(app.modal, Some(Modal::Rollback { .. })));
    };
    let open_abort_reason = |app: &mut App| {
        app.on_key(key('q'));
        app.on_key(key('a'));
        assert!(matches!(app.modal, Some(Modal::Reason { .. })));
    };
    for open in [
        &open_rollback as &dyn Fn(&mut App),
        &open_abort_reason as &dyn Fn(&mut App),
    ] {
        let mut app = app_with(Keymap::default());
        let mut f = at_gate(&mut app);
        open(&mut app);
        type_text(&mut app, "half a reas");
        app.apply_record(&f.rec(Event::RunFinished {
            outcome: RunOutcome::Aborted,
            message: "aborted by bob".into(),
        }));
        assert!(app.modal.is_none());
        assert_eq!(
            app.toast.as_ref().map(|t| t.text.as_str()),
            Some("aborted by bob; the dialog closed, nothing was sent")
        );
        assert_eq!(app.quit, QuitState::Running, "no abort was sent");
        assert_eq!(app.on_key(key('q')), [Effect::Quit]);
    }
}

/// A rollback being confirmed for an environment the run then deploys stays
/// open when the run ends released: the engine takes a rollback of a
/// deployed environment after the end.
#[test]
fn a_rollback_of_what_the_run_deployed_stays_open_at_the_end() {
    let mut app = app_with(Keymap::default());
    let mut f = at_gate(&mut app);
    for e in [
        go_passed(),
        Event::EnvFinished {
            env: 1,
            outcome: EnvOutcome::Deployed,
        },
    ] {
        app.apply_record(&f.rec(e));
    }
    app.on_key(KeyEvent::new(KeyCode::Char('R'), KeyModifiers::SHIFT));
    assert!(matches!(app.modal, Some(Modal::Rollback { env: 1, .. })));
    app.apply_record(&f.rec(Event::RunFinished {
        outcome: RunOutcome::Released,
        message: "released".into(),
    }));
    assert!(matches!(app.modal, Some(Modal::Rollback { env: 1, .. })));
    type_text(&mut app, "p99 doubled");
    assert_eq!(
        app.on_key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
        [Effect::Send(Action::Rollback {
            env: Some("prod".into()),
            reason: "p99 doubled".into(),
        })]
    );
}

#[test]
fn quitting_a_finished_run_is_immediate() {
    let mut app = app_with(Keymap::default());
    let mut f = at_gate(&mut app);
    let r = f.rec(Event::RunFinished {
        outcome: RunOutcome::Released,
        message: "released".into(),
    });
    app.apply_record(&r);
    assert_eq!(app.on_key(key('q')), [Effect::Quit]);
    assert!(app.modal.is_none());
}

/// A signal ends a viewer, not a release: the cockpit leaves at once and
/// sends nothing, during a release as after it (issue 15: a session
/// manager's SIGTERM must not roll anyone's release back).
#[test]
fn a_signal_detaches_and_never_aborts() {
    let mut app = app_with(Keymap::default());
    let mut f = at_gate(&mut app);
    assert!(app.is_active());
    assert_eq!(app.on_terminate(), [Effect::Quit]);
    assert_eq!(app.quit, QuitState::Running, "nothing waits for a rollback");
    let r = f.rec(Event::RunFinished {
        outcome: RunOutcome::Released,
        message: "released".into(),
    });
    app.apply_record(&r);
    assert_eq!(app.on_terminate(), [Effect::Quit]);
}

#[test]
fn follow_is_on_by_default_and_scrolling_up_turns_it_off_without_moving_the_view() {
    let mut app = app_with(Keymap::default());
    let mut f = at_gate(&mut app);
    for i in 0..200 {
        let r = f.rec(Event::Output {
            env: 1,
            step: 0,
            stream: Stream::Stdout,
            line: format!("row {i}"),
            rollback: false,
        });
        app.apply_record(&r);
    }
    assert!(app.view.follow);
    assert_eq!(app.view.focus, Panel::Logs);
    app.on_key(key('k'));
    assert!(!app.view.follow);
    assert_eq!(app.view.log_scroll, 1);
    // New output arrives: the lines being read stay where they are.
    let r = f.rec(Event::Output {
        env: 1,
        step: 1,
        stream: Stream::Stdout,
        line: "new".into(),
        rollback: false,
    });
    app.apply_record(&r);
    assert_eq!(app.view.log_scroll, 2);
    app.on_key(key('f'));
    assert!(app.view.follow);
    assert_eq!(app.view.log_scroll, 0);
    app.on_key(code(KeyCode::PageUp));
    assert!(!app.view.follow);
    app.on_key(key('G'));
    assert!(app.view.follow && app.view.log_scroll == 0);
}

#[test]
fn search_filters_and_ansi_handling() {
    let mut app = app_with(Keymap::default());
    at_gate(&mut app);
    // ANSI codes are kept for rendering and stripped for search.
    let deployed = app
        .logs
        .iter()
        .find(|l| l.plain == "deployed")
        .unwrap()
        .clone();
    assert!(deployed.raw.as_deref().unwrap().contains('\u{1b}'));

    app.on_key(key('/'));
    type_text(&mut app, "DEPLOY");
    app.on_key(code(KeyCode::Enter));
    let search = app.view.search.clone().unwrap();
    assert_eq!(search.query, "DEPLOY");
    assert_eq!(
        search.current,
        Some(deployed.seq),
        "case-insensitive, newest match first"
    );
    assert!(!app.view.follow);
    app.on_key(key('n'));
    assert!(
        toast(&app).starts_with("no more matches"),
        "{}",
        toast(&app)
    );

    app.on_key(key('e'));
    let visible: Vec<String> = app
        .logs
        .iter()
        .filter(|l| app.log_visible(l))
        .map(|l| l.plain.clone())
        .collect();
    assert_eq!(visible, ["warning: slow disk"]);
    app.on_key(key('e'));
    app.on_key(key('l')); // pin dev, whose steps have output
    app.on_key(key('h'));
    app.on_key(key('s'));
    assert_eq!(app.view.stage_filter, Some((0, 0)));
    app.on_key(key('s'));
    assert_eq!(app.view.stage_filter, Some((0, 1)));
    app.on_key(key('s'));
    assert_eq!(app.view.stage_filter, None);
}

#[test]
fn focus_cycles_and_the_matrix_selects_environments() {
    let mut app = app_with(Keymap::default());
    at_gate(&mut app);
    assert_eq!(app.shown_env(), 1, "follows the environment in progress");
    app.on_key(code(KeyCode::Tab));
    assert_eq!(app.view.focus, Panel::Metrics);
    app.on_key(code(KeyCode::Tab));
    assert_eq!(app.view.focus, Panel::Matrix);
    app.on_key(KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT));
    assert_eq!(app.view.focus, Panel::Metrics);
    app.on_key(code(KeyCode::Tab));
    app.on_key(key('k'));
    assert_eq!(app.shown_env(), 0);
    app.on_key(code(KeyCode::Enter));
    assert!(app.view.expanded);
}

#[test]
fn a_blocked_rollback_opens_the_decision_dialog() {
    let mut app = app_with(Keymap::default());
    let mut f = at_gate(&mut app);
    let r = f.rec(Event::RollbackBlocked {
        env: 1,
        step: 1,
        reason: "migrate is irreversible".into(),
        choices: vec![
            RollbackChoice::Hold,
            RollbackChoice::RollForward,
            RollbackChoice::Force,
        ],
    });
    app.apply_record(&r);
    assert!(matches!(app.modal, Some(Modal::Decide { ack: None })));
    assert!(app.on_key(key('r')).is_empty(), "retry is not offered here");
    app.on_key(key('F'));
    assert!(matches!(app.modal, Some(Modal::Decide { ack: Some(_) })));
    assert!(app.on_key(code(KeyCode::Enter)).is_empty());
    type_text(&mut app, "accept data loss");
    let fx = app.on_key(code(KeyCode::Enter));
    assert_eq!(
        fx,
        [Effect::Send(Action::Decide {
            choice: RollbackChoice::Force,
            note: "accept data loss".into()
        })]
    );
    app.on_key(key('d'));
    assert_eq!(
        app.on_key(key('h')),
        [Effect::Send(Action::Decide {
            choice: RollbackChoice::Hold,
            note: "decided in the cockpit".into()
        })]
    );
}

#[test]
fn user_keymaps_change_dispatch() {
    let cfg = slate::cockpit::config::parse("[keys]\napprove = \"A\"\n", "config.toml").unwrap();
    let mut app = app_with(cfg.keymap);
    at_gate(&mut app);
    app.on_key(key('a'));
    assert!(app.modal.is_none(), "a no longer approves");
    app.on_key(key('A'));
    assert!(matches!(app.modal, Some(Modal::Gate { .. })));
}

#[test]
fn the_mouse_scrolls_and_focuses_panels() {
    let mut app = app_with(Keymap::default());
    at_gate(&mut app);
    let panels = slate::cockpit::ui::areas(&app, app.view.size).panels;
    let (_, matrix) = panels
        .iter()
        .find(|(p, _)| *p == Panel::Matrix)
        .copied()
        .unwrap();
    let click = MouseEvent {
        kind: MouseEventKind::Down(ratatui::crossterm::event::MouseButton::Left),
        column: matrix.x + 2,
        row: matrix.y + 1,
        modifiers: KeyModifiers::NONE,
    };
    app.on_mouse(click, &panels);
    assert_eq!(app.view.focus, Panel::Matrix);
    let (_, logs) = panels
        .iter()
        .find(|(p, _)| *p == Panel::Logs)
        .copied()
        .unwrap();
    let wheel = MouseEvent {
        kind: MouseEventKind::ScrollUp,
        column: logs.x + 2,
        row: logs.y + 2,
        modifiers: KeyModifiers::NONE,
    };
    app.on_mouse(wheel, &panels);
    assert_eq!(app.view.focus, Panel::Logs);
    assert!(!app.view.follow);
}

#[test]
fn commands_refused_elsewhere_show_up_as_errors() {
    let mut app = app_with(Keymap::default());
    let mut f = at_gate(&mut app);
    let r = f.rec(Event::CommandRefused {
        actor: actor("bob", "cli"),
        command: "approve go".into(),
        reason: "bob may not approve prod".into(),
    });
    app.apply_record(&r);
    let t = app.toast.clone().unwrap();
    assert!(t.error && t.text == "bob was refused: bob may not approve prod");
    app.on_reply("approve go", Err("approval needs a comment".into()));
    assert_eq!(toast(&app), "approve go: approval needs a comment");
}

#[test]
fn scrolling_past_the_memory_window_reads_older_lines_back_from_the_journal() {
    let mut app = app_with(Keymap::default());
    let mut f = at_gate(&mut app);
    let mut journal = Vec::new();
    for i in 0..(slate::cockpit::logs::CAPACITY + 500) {
        let r = f.rec(Event::Output {
            env: 1,
            step: 0,
            stream: Stream::Stdout,
            line: format!("line {i}"),
            rollback: false,
        });
        app.apply_record(&r);
        journal.push(r);
    }
    assert!(app.logs.more_in_journal());
    // Paging up in the live window asks for nothing until the top is near.
    assert!(app.on_key(code(KeyCode::PageUp)).is_empty());
    let fx = app.on_key(key('g'));
    let [Effect::LoadHistory { before }] = fx.as_slice() else {
        panic!("expected a history read, got {fx:?}")
    };
    assert_eq!(Some(*before), app.logs.oldest_seq());
    assert!(app.on_key(key('k')).is_empty(), "one read at a time");
    let older = slate::cockpit::logs::history_from(&journal, *before, 2_000);
    assert_eq!(
        older.last().unwrap().plain,
        "line 499",
        "the lines just before the window"
    );
    app.add_history(older);
    assert_eq!(app.logs.iter().next().unwrap().plain, "line 0");
    assert!(toast(&app).starts_with("read 500 older lines"));
    // Following again releases the history.
    app.on_key(key('G'));
    assert_eq!(app.logs.len(), slate::cockpit::logs::CAPACITY);
}

/// A cockpit behind a flood is sent counts instead of lines (`elided`): it
/// ends with the same run state as one that saw every line, shows what
/// came after the hole, and reads the hole back from the journal.
#[test]
fn elided_output_is_counted_and_read_back_from_the_journal() {
    let mut f = Feed { seq: 0 };
    let mut all = gate_records(&mut f);
    for i in 0..50 {
        all.push(f.rec(Event::Output {
            env: 1,
            step: 0,
            stream: Stream::Stdout,
            line: format!("flood {i}"),
            rollback: false,
        }));
    }
    let mut live = app_with(Keymap::default());
    for r in &all {
        live.apply_record(r);
    }
    // Lines 0..40 of the flood were left out; the last ten were sent.
    let mut behind = app_with(Keymap::default());
    let hole = all.len() - 10;
    for r in &all[..all.len() - 50] {
        behind.apply_record(r);
    }
    behind.on_elided(&slate::control::follow::Elided {
        from_seq: all[all.len() - 50].seq,
        to_seq: all[hole - 1].seq,
        lines: 40,
        steps: vec![slate::control::follow::ElidedStep {
            env: 1,
            step: 0,
            lines: 40,
        }],
    });
    for r in &all[hole..] {
        behind.apply_record(r);
    }
    assert_eq!(behind.run, live.run, "the counts stand in for the lines");
    let lines = |a: &App| a.logs.iter().map(|l| l.plain.clone()).collect::<Vec<_>>();
    assert_eq!(lines(&behind).first().unwrap(), "flood 40");
    assert_eq!(lines(&behind).len(), 10);
    // Scrolling back asks for what is before the window, and gets the hole
    // and everything older, in order.
    let before = behind.logs.oldest_seq().unwrap();
    assert_eq!(before, all[hole].seq);
    let older = slate::cockpit::logs::history_from(&all, before, 2_000);
    behind.add_history(older);
    assert_eq!(lines(&behind), lines(&live), "every line once, in order");
}

fn screen(app: &App) -> String {
    let mut t = ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 40)).unwrap();
    t.draw(|f| slate::cockpit::ui::draw(f, app)).unwrap();
    let buf = t.backend().buffer().clone();
    buf.content().iter().map(|c| c.symbol()).collect()
}

/// Output is drawn at the log's own cadence while following: a line that
/// arrives asks for no frame until the loop reveals it (state changes do).
#[test]
fn paced_output_waits_for_its_reveal_and_state_changes_do_not() {
    let mut app = app_with(Keymap::default());
    let mut f = at_gate(&mut app);
    app.pace_logs();
    app.dirty = false;
    app.apply_record(&f.rec(Event::Output {
        env: 1,
        step: 0,
        stream: Stream::Stdout,
        line: "a paced line".into(),
        rollback: false,
    }));
    assert!(app.logs_pending);
    assert!(!app.dirty, "a new line alone asks for no frame");
    assert!(!screen(&app).contains("a paced line"));
    assert!(screen(&app).contains("deployed"), "what was shown stays");
    app.reveal_logs();
    assert!(app.dirty && !app.logs_pending);
    assert!(screen(&app).contains("a paced line"));
    // A state change is drawn at once.
    app.dirty = false;
    app.apply_record(&f.rec(Event::Paused {
        env: Some(1),
        step: Some(0),
    }));
    assert!(app.dirty);
    // Scrolled back (not following), everything held is drawn.
    app.apply_record(&f.rec(Event::Output {
        env: 1,
        step: 0,
        stream: Stream::Stdout,
        line: "while reading".into(),
        rollback: false,
    }));
    app.view.follow = false;
    assert!(screen(&app).contains("while reading"));
}
