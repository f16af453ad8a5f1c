//! The board's state with no terminal: keys go in, effects come out. The
//! board is `common::board::sample` (five releases, a run waiting at a
//! gate, an interrupted one); approving goes through the cockpit's own
//! dialog on the run's plan and state (`common::board::waiting_run`).

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use slate::board::app::{App, Effect, Pane};
use slate::board::keymap::{self, Action, Scope};
use slate::board::snapshot::{self, CellState, RunLine, Waits};
use slate::engine::Action as Command;
use slate::runs::Engine;
use slate::store::{Deployment, Reach};
use slate::tui::theme::Theme;

use crate::common;
use common::board::{INTERRUPTED, app, waiting_run};
use common::render::{code, key};

const WAITING: &str = "20261122-143000.000-c0de";

fn board() -> App {
    app(Theme::monochrome(), 80, 24)
}

fn toast(a: &App) -> String {
    a.toast.as_ref().map(|t| t.text.clone()).unwrap_or_default()
}

fn type_text(a: &mut App, s: &str) -> Vec<Effect> {
    s.chars().flat_map(|c| a.on_key(key(c))).collect()
}

#[test]
fn keys_move_within_the_focused_pane_and_tab_moves_between_panes() {
    let mut a = board();
    assert_eq!(a.focus, Pane::Releases);
    a.on_key(key('j'));
    a.on_key(code(KeyCode::Down));
    assert_eq!(a.selected_release().unwrap().release, "search");
    a.on_key(key('k'));
    assert_eq!(a.selected_release().unwrap().release, "payments");
    a.on_key(key('G'));
    assert_eq!(a.selected_release().unwrap().release, "docs");
    for _ in 0..9 {
        a.on_key(key('l'));
    }
    assert_eq!(a.col, 2, "the last environment, no further");
    a.on_key(code(KeyCode::Left));
    assert_eq!(a.col, 1);
    a.on_key(code(KeyCode::Tab));
    assert_eq!(a.focus, Pane::Runs);
    a.on_key(key('j'));
    assert_eq!(a.selected_run().unwrap().run_id, WAITING);
    a.on_key(code(KeyCode::Tab));
    assert_eq!(a.focus, Pane::Inbox);
    a.on_key(code(KeyCode::Tab));
    assert_eq!(a.focus, Pane::Releases);
    a.on_key(code(KeyCode::BackTab));
    assert_eq!(a.focus, Pane::Inbox);
}

#[test]
fn approving_from_the_inbox_opens_the_cockpit_dialog_and_sends_what_it_decides() {
    let mut a = board();
    a.on_key(code(KeyCode::BackTab));
    assert_eq!(a.focus, Pane::Inbox);
    assert_eq!(a.on_key(key('a')), [Effect::OpenApproval(WAITING.into())]);
    let (plan, state) = waiting_run();
    a.approval_ready(WAITING, Ok((plan, state)));
    let cockpit = &a.approval.as_ref().expect("the dialog is open").cockpit;
    assert!(matches!(
        cockpit.modal,
        Some(slate::cockpit::app::Modal::Gate { .. })
    ));
    // Keys now type the comment: `q` and `j` are text, not the board's.
    assert!(type_text(&mut a, "looks good, qj").is_empty());
    let effects = a.on_key(code(KeyCode::Enter));
    assert_eq!(
        effects,
        [Effect::Send {
            run_id: WAITING.into(),
            command: Command::Approve {
                gate: Some("go-live".into()),
                comment: "looks good, qj".into(),
            },
        }]
    );
    assert!(a.approval.is_none(), "the dialog closes once it has sent");
    a.on_reply("approve", Ok("approved go-live".into()));
    assert_eq!(toast(&a), "approved go-live");
    a.on_reply("approve", Err("four-eyes: me started this run".into()));
    assert!(toast(&a).contains("four-eyes"), "{}", toast(&a));
}

#[test]
fn the_dialog_closes_without_sending_and_a_gate_gone_meanwhile_is_said() {
    let mut a = board();
    a.focus = Pane::Inbox;
    a.on_key(key('a'));
    let (plan, state) = waiting_run();
    a.approval_ready(WAITING, Ok((plan.clone(), state.clone())));
    assert!(a.on_key(code(KeyCode::Esc)).is_empty());
    assert!(a.approval.is_none());
    // Someone else decided while the run was read: no dialog, a reason.
    a.on_key(key('a'));
    let mut passed = state;
    passed.waiting = None;
    a.approval_ready(WAITING, Ok((plan, passed)));
    assert!(a.approval.is_none());
    assert!(toast(&a).contains("no longer waits"), "{}", toast(&a));
    // A read that failed says why.
    a.on_key(key('a'));
    a.approval_ready(WAITING, Err("the journal is gone".into()));
    assert!(toast(&a).contains("the journal is gone"));
    // An answer for a dialog nobody asked for any more is ignored.
    a.approval_ready(WAITING, Ok(waiting_run()));
    assert!(a.approval.is_none());
}

/// The dialog is open, a comment half typed, when the gate is decided
/// elsewhere: the next snapshot no longer lists it, so the dialog closes
/// and says so, and the next keys are the board's again. A snapshot that
/// still lists the gate (anything else changed) leaves it open.
#[test]
fn an_approval_dialog_closes_when_its_gate_leaves_the_inbox() {
    let mut a = board();
    a.focus = Pane::Inbox;
    a.on_key(key('a'));
    a.approval_ready(WAITING, Ok(waiting_run()));
    assert!(type_text(&mut a, "looks g").is_empty());
    let mut other = common::board::sample();
    other.releases.truncate(1);
    a.set_snapshot(other);
    assert!(a.approval.is_some(), "the gate still waits");
    // A read that failed lists nothing and says why: it cannot tell.
    a.set_snapshot(snapshot::Snapshot {
        warnings: vec!["cannot open the store".into()],
        ..Default::default()
    });
    assert!(a.approval.is_some(), "a failed read closes nothing");
    let mut decided = common::board::sample();
    decided.inbox.clear();
    a.set_snapshot(decided);
    assert!(a.approval.is_none());
    assert!(toast(&a).contains("decided elsewhere"), "{}", toast(&a));
    // `q` is the board's again: it quits, it is not typed.
    assert_eq!(a.on_key(key('q')), [Effect::Quit]);
}

#[test]
fn approve_outside_the_inbox_says_where_to_go() {
    let mut a = board();
    assert!(a.on_key(key('a')).is_empty());
    assert!(toast(&a).contains("inbox"), "{}", toast(&a));
    // On the runs pane, a run in the inbox can be approved from there.
    a.on_key(code(KeyCode::Tab));
    a.on_key(key('j'));
    assert_eq!(a.on_key(key('a')), [Effect::OpenApproval(WAITING.into())]);
}

#[test]
fn enter_attaches_a_live_run_and_tells_how_to_recover_an_interrupted_one() {
    let mut a = board();
    a.focus = Pane::Runs;
    a.on_key(key('j'));
    assert_eq!(
        a.on_key(code(KeyCode::Enter)),
        [Effect::Attach(WAITING.into())]
    );
    a.on_key(key('j'));
    assert!(a.on_key(code(KeyCode::Enter)).is_empty());
    assert!(
        toast(&a).contains(&format!("`slate recover {INTERRUPTED}`")),
        "{}",
        toast(&a)
    );
}

#[test]
fn enter_on_a_cell_opens_its_history_and_q_comes_back() {
    let mut a = board();
    a.on_key(key('j'));
    a.on_key(key('l'));
    assert_eq!(
        a.on_key(code(KeyCode::Enter)),
        [Effect::OpenHistory {
            release: "payments".into(),
            env: "staging".into()
        }]
    );
    assert_eq!(a.screen(), Scope::History);
    assert!(
        a.on_key(key('q')).is_empty(),
        "q leaves the history, not the board"
    );
    assert_eq!(a.screen(), Scope::Board);
    // docs has no staging: nothing to open.
    a.on_key(key('G'));
    assert!(a.on_key(code(KeyCode::Enter)).is_empty());
    assert!(
        toast(&a).contains("no environment staging"),
        "{}",
        toast(&a)
    );
    assert_eq!(a.on_key(key('q')), [Effect::Quit]);
}

#[test]
fn the_filter_narrows_every_pane_by_release_and_esc_clears_it() {
    let mut a = board();
    a.on_key(key('/'));
    assert!(a.typing);
    type_text(&mut a, "CHECK");
    a.on_key(code(KeyCode::Enter));
    assert!(!a.typing);
    let shown: Vec<&str> = a
        .shown_releases()
        .iter()
        .map(|r| r.release.as_str())
        .collect();
    assert_eq!(shown, ["checkout"]);
    assert_eq!(a.shown_runs().len(), 1);
    assert_eq!(a.shown_inbox().len(), 1);
    a.on_key(code(KeyCode::Esc));
    assert!(a.filter.is_empty());
    assert_eq!(a.shown_releases().len(), 5);
    // Ctrl-C quits even with help open.
    a.on_key(key('?'));
    assert_eq!(
        a.on_key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
        [Effect::Quit]
    );
}

#[test]
fn a_new_board_is_redrawn_only_when_it_differs_and_keeps_the_selection() {
    let mut a = board();
    a.focus = Pane::Runs;
    a.on_key(key('j'));
    a.dirty = false;
    a.set_snapshot(common::board::sample());
    assert!(!a.dirty, "the same board again draws nothing");
    // A new run at the top: the selection stays on the run it was on.
    let mut snap = common::board::sample();
    snap.runs.insert(
        0,
        RunLine {
            run_id: "20261122-145900.000-new1".into(),
            release: "docs".into(),
            version: "6".into(),
            engine: Engine::Running,
            status: "running".into(),
            env: Some("dev".into()),
            waits: Waits::Nothing,
            elsewhere: None,
        },
    );
    a.set_snapshot(snap);
    assert!(a.dirty);
    assert_eq!(a.selected_run().unwrap().run_id, WAITING);
    // The inbox empties: nothing selected, nothing to approve.
    let mut snap = common::board::sample();
    snap.inbox.clear();
    a.set_snapshot(snap);
    a.focus = Pane::Inbox;
    assert!(a.on_key(key('a')).is_empty());
    assert!(toast(&a).contains("no gate waits"), "{}", toast(&a));
}

#[test]
fn the_wait_clock_redraws_each_second_only_while_something_waits() {
    let mut a = board();
    a.dirty = false;
    a.tick(common::board::now() + jiff::SignedDuration::from_secs(1));
    assert!(a.dirty);
    let mut quiet = App::new(Theme::monochrome(), Default::default());
    quiet.set_snapshot(Default::default());
    quiet.dirty = false;
    quiet.tick(common::board::now());
    quiet.tick(common::board::now() + jiff::SignedDuration::from_secs(1));
    assert!(!quiet.dirty);
}

fn dep(run: &str, version: &str, reach: Reach) -> Deployment {
    Deployment {
        release: "svc".into(),
        env: "prod".into(),
        env_index: 2,
        version: version.into(),
        run_id: run.into(),
        reach,
        started: None,
        live_at: None,
        ended: None,
        artifacts: Vec::new(),
        config_digest: None,
        approvals: Vec::new(),
        verdicts: Vec::new(),
        message: String::new(),
    }
}

#[test]
fn a_cell_is_what_its_newest_run_did() {
    let live = dep("r1", "1.0", Reach::Deployed);
    let run = |waits| RunLine {
        run_id: "r2".into(),
        release: "svc".into(),
        version: "2.0".into(),
        engine: Engine::Running,
        status: "running".into(),
        env: Some("prod".into()),
        waits,
        elsewhere: None,
    };
    let gate = Waits::Gate {
        gate: "go".into(),
        since: common::board::now(),
        approvals: 0,
        required: 1,
    };
    for (reach, runs, want) in [
        (Reach::Deployed, vec![], CellState::Healthy),
        (
            Reach::InProgress,
            vec![run(Waits::Nothing)],
            CellState::Rolling,
        ),
        (Reach::InProgress, vec![run(gate)], CellState::Waiting),
        (
            Reach::InProgress,
            vec![run(Waits::Barrier("prod is locked".into()))],
            CellState::Waiting,
        ),
        (Reach::Held, vec![], CellState::Held),
        (Reach::RolledBack, vec![], CellState::Failed),
        (Reach::Failed, vec![], CellState::Drifted),
        (Reach::Interrupted, vec![], CellState::Interrupted),
    ] {
        let newest = dep("r2", "2.0", reach);
        let live = if reach == Reach::Deployed {
            &newest
        } else {
            &live
        };
        let cell = snapshot::cell(Some(live), Some(&newest), &runs);
        assert_eq!(cell.state, want, "{reach:?}");
        if reach == Reach::Deployed {
            assert_eq!(cell.incoming, None);
        } else {
            assert_eq!(cell.live.as_deref(), Some("1.0"));
            assert_eq!(cell.incoming.as_deref(), Some("2.0"));
        }
    }
    let empty = snapshot::cell(None, None, &[]);
    assert_eq!(empty.state, CellState::Empty);
    // A version is a person's text: shown, never obeyed.
    let hostile = dep("r3", "1.0\u{1b}]52;c;AAAA\u{7}\nx", Reach::Deployed);
    let cell = snapshot::cell(Some(&hostile), Some(&hostile), &[]);
    let shown = cell.live.unwrap();
    assert!(!shown.chars().any(char::is_control), "{shown:?}");
    assert!(shown.contains("␛]52"), "{shown:?}");
}

#[test]
fn no_key_does_two_things_on_one_screen_and_help_comes_from_the_table() {
    use slate::tui::key::Key;
    for screen in [Scope::Board, Scope::History] {
        let mut seen: Vec<(Key, Action)> = Vec::new();
        for b in keymap::KEYMAP
            .bindings()
            .iter()
            .filter(|b| b.scope == screen || b.scope == Scope::Both)
        {
            for k in b.keys.iter().copied() {
                if let Some((_, other)) = seen.iter().find(|(s, _)| *s == k) {
                    assert_eq!(
                        *other,
                        b.action,
                        "{} is bound twice on {screen:?}",
                        k.label()
                    );
                }
                seen.push((k, b.action));
            }
        }
    }
    let hints: Vec<&str> = keymap::hints(Scope::Board)
        .iter()
        .map(|(_, h)| *h)
        .collect();
    assert_eq!(
        hints,
        ["approve", "open", "pane", "filter", "stats", "help", "quit"]
    );
    let help = keymap::help(Scope::History);
    assert_eq!(help[0].0, "Environment history");
    assert!(
        help[0]
            .1
            .contains(&("Esc/q".to_string(), "back to the board"))
    );
    let history: Vec<&str> = keymap::hints(Scope::History)
        .iter()
        .map(|(_, h)| *h)
        .collect();
    assert_eq!(history, ["roll back to", "back", "help"]);
}
