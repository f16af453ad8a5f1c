//! The interactive cockpit, end to end: the real `slate` binary in a
//! pseudo-terminal, driven by keystrokes like a person would drive it.
//!
//! The terminal is the shared harness (`common::pty::Term`): a reader thread
//! feeds everything slate writes to the terminal into a `vt100` parser, so the
//! tests read the screen as a person would see it. Like
//! lazygit's integration tests, every step waits (with a deadline) until the
//! cockpit shows what the next keystroke needs, and never sleeps blindly.
//! Results are checked in the run's journal and in a ledger file the stages
//! append to, not only on screen.
//!
//! Nothing outlives a test: every process started here carries a unique
//! `SLATE_TEST_TAG` in its environment (stages inherit it), and dropping the
//! harness SIGKILLs slate and whatever still carries the tag, also when the
//! test panics. Each test has a budget of [`TEST_BUDGET`]; every wait is cut
//! short by it.

use std::fs;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use portable_pty::ExitStatus;
use serde_json::Value;
use tempfile::TempDir;

use crate::common;
use common::pty::{CTRL_C, CTRL_R, ENTER, ESC, TAB, Term, line_with};
use common::*;

/// The most any test may take, start to finish.
const TEST_BUDGET: Duration = Duration::from_secs(30);
/// Longest wait for one thing to show up (on screen or in the journal).
const WAIT: Duration = Duration::from_secs(15);
/// How long slate may take to exit once it has been told to.
const EXIT_WAIT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(20);

/// The common head of the plans.
const HEAD: &str = common::release_plan!();

/// A stage body that holds (at most 25 s) until the test creates `@DIR@/go`.
const HOLD_UNTIL_GO: &str = r#"echo "holding until released"
i=0
while [ ! -f "@DIR@/go" ] && [ $i -lt 500 ]; do sleep 0.05; i=$((i+1)); done"#;

// ---------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------

/// A running `slate run PLAN` (the cockpit) in a pseudo-terminal, with its own
/// SLATE_HOME, a work directory (plan, ledger) and a process tag.
///
/// The terminal itself is the shared harness (`common::pty::Term`); this adds
/// the cockpit's world around it. `term` comes first so that it drops first:
/// slate and everything carrying the tag are killed before the temporary
/// directories go.
struct Cockpit {
    term: Term,
    home: TempDir,
    dir: TempDir,
}

/// The records of the newest run's journal under `home` (none yet: empty).
fn journal_text_in(home: &Path) -> String {
    newest_run(home)
        .and_then(|d| fs::read_to_string(d.join("journal.ndjson")).ok())
        .unwrap_or_default()
}

impl Cockpit {
    /// Writes `plan` (with `@DIR@` replaced by the work directory) and starts
    /// the cockpit on it in a `cols`×`rows` terminal; returns once the first
    /// frame is on screen, so raw mode is on and keys will be read as keys.
    fn start(plan: &str, cols: u16, rows: u16) -> Cockpit {
        let home = TempDir::new().expect("tempdir");
        let dir = TempDir::new().expect("tempdir");
        let plan_path = dir.path().join("plan.toml");
        let dir_str = dir.path().to_str().expect("utf-8 temp path");
        fs::write(&plan_path, plan.replace("@DIR@", dir_str)).expect("write plan");

        // Failure messages end with the journal's record types.
        let home_path = home.path().to_path_buf();
        let term = Term::builder(&["run", plan_path.to_str().expect("utf-8 temp path")])
            .size(cols, rows)
            .cwd(dir.path())
            .env("SLATE_HOME", home.path())
            .env("LEDGER", dir.path().join("ledger"))
            .tag(&unique())
            .env_remove("SLATE_EXAMPLE_ROOT")
            .budget(TEST_BUDGET)
            .context(move || {
                format!(
                    "--- journal ---\n{:?}",
                    types(&parse_journal(&journal_text_in(&home_path), "journal"))
                )
            })
            .start();
        let c = Cockpit { term, home, dir };
        // The header's first line; raw mode is on before the first frame is drawn.
        c.wait_for_screen(" slate svc 2.0.0", WAIT);
        assert!(
            !c.term.tty_is_cooked(),
            "the cockpit draws before the terminal is in raw mode"
        );
        c
    }

    fn pid(&self) -> i32 {
        self.term.pid()
    }

    /// The screen as text, one line per row.
    fn screen_text(&self) -> String {
        self.term.screen()
    }

    fn send(&mut self, keys: &[u8]) {
        self.term.send(keys);
    }

    /// Resizes the terminal (the parser first, so the redraw lands in the new size).
    fn resize(&mut self, cols: u16, rows: u16) {
        self.term.resize(cols, rows);
    }

    fn ledger(&self) -> Vec<String> {
        fs::read_to_string(self.dir.path().join("ledger"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn journal_text(&self) -> String {
        journal_text_in(self.home.path())
    }

    fn journal(&self) -> Vec<Value> {
        parse_journal(&self.journal_text(), "journal")
    }

    fn alive(&mut self) -> bool {
        self.term.alive()
    }

    /// Polls `cond` until it holds or `timeout` (cut to the test's budget) passes.
    /// If slate exits first, `cond` gets one last look before the wait fails.
    fn wait_until(&mut self, what: &str, timeout: Duration, mut cond: impl FnMut(&Self) -> bool) {
        self.term.wait_until(what, timeout, || cond(self));
    }

    /// Waits until the screen shows `needle`; returns the screen.
    fn wait_for_screen(&self, needle: &str, timeout: Duration) -> String {
        self.term.wait_for(needle, timeout)
    }

    /// Waits until the screen no longer shows `needle`; returns the screen.
    fn wait_for_screen_without(&mut self, needle: &str, timeout: Duration) -> String {
        self.term.wait_without(needle, timeout)
    }

    /// Waits until the journal's text holds `needle`; returns its records.
    fn wait_for_journal(&mut self, needle: &str, timeout: Duration) -> Vec<Value> {
        self.wait_until(&format!("{needle:?} in the journal"), timeout, |c| {
            c.journal_text().contains(needle)
        });
        self.journal()
    }

    /// Waits for slate to exit and for its last output to be read; fails after `timeout`.
    fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let status = self.term.wait_exit(timeout);
        assert!(
            self.term.eof(),
            "slate exited but something still holds its terminal"
        );
        status
    }

    /// After exit: the terminal was handed back (alternate screen left, cursor
    /// shown), and what slate printed afterwards on the normal screen.
    fn assert_terminal_restored(&self) -> String {
        self.term.assert_terminal_restored()
    }

    /// Processes carrying this test's tag other than slate itself.
    fn leftovers(&self) -> Vec<i32> {
        let me = self.term.pid();
        tagged_processes(self.term.tag().expect("tagged"))
            .into_iter()
            .filter(|p| *p != me)
            .collect()
    }
}

/// Whether the narrow layout's tab bar marks `tab` (e.g. "▸Logs") as shown.
fn tab_bar_shows(screen: &str, tab: &str) -> bool {
    screen
        .lines()
        .any(|l| l.contains("Tab switches") && l.contains(tab))
}

// ---------------------------------------------------------------------------
// Plans
// ---------------------------------------------------------------------------

/// dev, then prod behind a manual gate; short stages that echo fixed text.
fn gated_plan(require_comment: bool) -> String {
    format!(
        r#"{HEAD}
[[environments]]
name = "dev"

[[environments]]
name = "prod"
gates = ["prod-approval"]

[[stages]]
name = "deploy"
command = 'echo "deploying to $SLATE_ENV"; echo "deploy $SLATE_ENV" >> "$LEDGER"'
rollback = 'echo "undo deploy $SLATE_ENV" >> "$LEDGER"'

[[stages]]
name = "smoke"
command = 'echo "smoke test passed"'

[[gates]]
name = "prod-approval"
kind = "manual"
require_comment = {require_comment}
"#
    )
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

/// `a` opens the gate prompt; an empty comment is refused in the dialog; a
/// typed comment approves; the release finishes; `q` exits 0 and hands the
/// terminal back.
#[test]
fn approving_a_gate_from_the_keyboard_releases() {
    let mut c = Cockpit::start(&gated_plan(true), 120, 40);
    c.wait_for_journal("\"type\":\"gate_waiting\"", WAIT);
    c.wait_for_screen("WAITING FOR APPROVAL", WAIT);

    c.send(b"a");
    // The dialog's last line: everything above it is drawn by then.
    let s = c.wait_for_screen("Enter approve · Ctrl-R reject", WAIT);
    assert!(s.contains("Approve?"), "{s}");
    assert!(
        s.contains("prod-approval"),
        "the prompt names the gate:\n{s}"
    );
    assert!(
        s.contains("a comment is required"),
        "the prompt says a comment is required:\n{s}"
    );

    c.send(ENTER);
    let s = c.wait_for_screen("approval needs a comment", WAIT);
    assert!(s.contains("Approve?"), "the prompt stays open:\n{s}");

    c.send(b"dashboards green");
    c.wait_for_screen("dashboards green", WAIT);
    c.send(ENTER);
    c.wait_for_screen_without("Approve?", WAIT);
    c.wait_for_screen("RELEASED", WAIT);

    let recs = c.wait_for_journal("\"type\":\"run_finished\"", WAIT);
    let approved = only(&recs, "approved");
    assert_eq!(approved["gate"], "prod-approval");
    assert_eq!(approved["comment"], "dashboards green");
    assert_eq!(approved["source"], "operator");
    assert_eq!(approved["actor"]["via"], "cockpit");
    assert!(
        events(&recs, "command_refused").is_empty(),
        "the empty comment never reached the engine: {:?}",
        events(&recs, "command_refused")
    );
    assert_eq!(outcome(&recs), "released");
    assert_eq!(c.ledger(), ["deploy dev", "deploy prod"]);

    c.send(b"q");
    let status = c.wait_exit(EXIT_WAIT);
    assert_eq!(status.exit_code(), 0, "released exits 0: {status:?}");
    let after = c.assert_terminal_restored();
    assert!(
        after.contains("released"),
        "the final message mentions the release:\n{after}"
    );
    assert!(
        after.contains("dossier: ") && after.contains("dossier.md"),
        "it says where the dossier is:\n{after}"
    );
}

/// `R` during a canary rollout shows what will be undone, insists on a
/// reason, then rolls prod back; the undo really runs, its verification is
/// shown, and `q` exits 1.
#[test]
fn rolling_back_during_a_rollout() {
    let plan = format!(
        r#"{HEAD}
[[environments]]
name = "dev"

[[environments]]
name = "prod"
strategy = {{ kind = "canary", steps = [10, 50, 100], pause = "30s" }}
verify_rollback = {{ command = 'grep -q "undo config prod" "$LEDGER"' }}

[[stages]]
name = "config"
command = 'echo "config $SLATE_ENV" >> "$LEDGER"'
rollback = 'echo "undo config $SLATE_ENV" >> "$LEDGER"'

[[stages]]
name = "deploy"
rollout = true
command = 'echo "deploy $SLATE_ENV $SLATE_WEIGHT" >> "$LEDGER"'
rollback = 'echo "undo deploy $SLATE_ENV $SLATE_WEIGHT" >> "$LEDGER"'
"#
    );
    let mut c = Cockpit::start(&plan, 120, 40);
    // prod (env 1) is at the 10 % canary, pausing before the next weight.
    c.wait_for_journal("\"type\":\"timer_started\",\"env\":1", WAIT);
    c.wait_for_screen("prod · pause 30s", WAIT);
    assert_eq!(
        c.ledger(),
        ["config dev", "deploy dev ", "config prod", "deploy prod 10"]
    );

    c.send(b"R");
    // The dialog's last line: everything above it is drawn by then.
    let s = c.wait_for_screen("Enter roll back · Esc cancel", WAIT);
    assert!(s.contains("Roll back?"), "{s}");
    assert!(
        s.contains("Roll back prod to 1.0.0"),
        "the confirmation names the environment and target:\n{s}"
    );
    let undo_deploy = s
        .find("run: echo \"undo deploy")
        .unwrap_or_else(|| panic!("the confirmation lists the deploy undo:\n{s}"));
    let undo_config = s
        .find("run: echo \"undo config")
        .unwrap_or_else(|| panic!("the confirmation lists the config undo:\n{s}"));
    assert!(
        undo_deploy < undo_config,
        "the undo runs in reverse order (deploy, then config):\n{s}"
    );

    c.send(ENTER);
    let s = c.wait_for_screen("a rollback needs a reason", WAIT);
    assert!(
        s.contains("Roll back?"),
        "the confirmation stays open:\n{s}"
    );

    c.send(b"error rate spiking");
    c.wait_for_screen("error rate spiking", WAIT);
    c.send(ENTER);

    let recs = c.wait_for_journal("\"type\":\"run_finished\"", WAIT);
    let req = only(&recs, "rollback_requested");
    assert_eq!(req["reason"], "error rate spiking");
    assert_eq!(req["env"], 1);
    assert_eq!(req["actor"]["via"], "cockpit");
    let started = only(&recs, "rollback_started");
    assert_eq!(started["trigger"]["kind"], "manual");
    assert_eq!(started["env"], 1);
    assert_eq!(outcome(&recs), "rolled_back");
    assert_in_order(
        &recs,
        &[
            "rollback_requested",
            "rollback_started",
            "rollback_step_started",
            "env_finished",
            "run_finished",
        ],
    );
    assert_eq!(
        c.ledger(),
        [
            "config dev",
            "deploy dev ",
            "config prod",
            "deploy prod 10",
            "undo deploy prod 0",
            "undo config prod",
        ],
        "prod is undone in reverse order; dev is left deployed"
    );
    c.wait_for_screen("ROLLED BACK", WAIT);
    // The verification is shown as the rollback's own, under its steps.
    c.wait_for_screen("↶✔ rollback verified by verify_rollback", WAIT);

    // The run is over: `q` quits at once, without asking.
    c.send(b"q");
    let status = c.wait_exit(EXIT_WAIT);
    assert_eq!(
        status.exit_code(),
        1,
        "a rolled-back run exits 1: {status:?}"
    );
    c.assert_terminal_restored();
}

/// `q` while a release is active asks first (detach or abort); `n` stays;
/// `q` `a` aborts the release, waits for it to finish and exits.
#[test]
fn quitting_while_active_asks_then_aborts() {
    let mut c = Cockpit::start(&gated_plan(false), 120, 40);
    c.wait_for_journal("\"type\":\"gate_waiting\"", WAIT);
    c.wait_for_screen("WAITING FOR APPROVAL", WAIT);

    // In raw mode Ctrl-C is a key (quit), not SIGINT: it asks too.
    c.send(CTRL_C);
    c.wait_for_screen("Quit?", WAIT);
    c.send(ESC);
    c.wait_for_screen_without("Quit?", WAIT);
    assert!(c.alive(), "Ctrl-C must not kill the cockpit");

    c.send(b"q");
    let s = c.wait_for_screen("n / Esc stay", WAIT);
    assert!(s.contains("Quit?"), "{s}");
    assert!(s.contains("A release is in progress."), "{s}");
    assert!(
        s.contains("d / Enter detach") && s.contains("a abort (asks why) and quit"),
        "{s}"
    );

    c.send(b"n");
    let s = c.wait_for_screen_without("Quit?", WAIT);
    assert!(
        s.contains("WAITING FOR APPROVAL"),
        "the cockpit is still there:\n{s}"
    );
    assert!(c.alive(), "`n` must not quit");
    let recs = c.journal();
    assert!(
        events(&recs, "abort_requested").is_empty(),
        "`n` must not abort: {:?}",
        types(&recs)
    );

    c.send(b"q");
    c.wait_for_screen("Quit?", WAIT);
    // Abort asks why, like a rollback.
    c.send(b"a");
    c.wait_for_screen("Abort the release?", WAIT);
    c.send(b"smoke is red");
    c.send(ENTER);
    let recs = c.wait_for_journal("\"type\":\"run_finished\"", WAIT);
    let abort = only(&recs, "abort_requested");
    assert_eq!(abort["actor"]["via"], "cockpit");
    assert_eq!(abort["reason"], "smoke is red");
    assert!(
        ["aborted", "rolled_back"].contains(&outcome(&recs)),
        "quitting aborts the release: {:?}",
        outcome(&recs)
    );
    assert!(
        events(&recs, "approved").is_empty(),
        "prod was never approved"
    );
    let status = c.wait_exit(EXIT_WAIT);
    assert_eq!(status.exit_code(), 1, "an aborted run exits 1: {status:?}");
    c.assert_terminal_restored();
    assert_eq!(c.ledger(), ["deploy dev"], "prod was never touched");
}

/// 80×24 shows the matrix and every other panel as a tab; 50×12 says the
/// terminal is too small; 100×30 brings the cockpit back. The release keeps
/// running (and finishes) while the terminal is too small to show it.
#[test]
fn small_terminals_and_resizing_keep_the_release_going() {
    let plan = format!(
        r#"{HEAD}
[[environments]]
name = "dev"

[[stages]]
name = "first"
command = 'echo "first done"'

[[stages]]
name = "hold"
command = '''
{HOLD_UNTIL_GO}
test -f "@DIR@/go" && echo "let go"
'''

[[stages]]
name = "last"
command = 'echo "last done"'
"#
    );
    let mut c = Cockpit::start(&plan, 80, 24);
    c.wait_for_journal("holding until released", WAIT);
    // Logs has focus first: the matrix, then a tab bar offering the rest.
    c.wait_until("the matrix and the tab bar", WAIT, |c| {
        let s = c.screen_text();
        s.contains("Environments") && tab_bar_shows(&s, "▸Logs")
    });
    let s = c.screen_text();
    for tab in ["Pipeline", "Logs", "Metrics"] {
        assert!(tab_bar_shows(&s, tab), "the tab bar offers {tab}:\n{s}");
    }
    // Tab walks every panel (Logs stays shown while the matrix has focus) and back.
    for (tab, content) in [
        ("▸Metrics", "no checks or analyses have run yet"),
        ("▸Logs", "holding until released"),
        ("▸Pipeline", "· last"),
        ("▸Logs", "holding until released"),
    ] {
        c.send(TAB);
        c.wait_until(&format!("the {tab} tab showing {content:?}"), WAIT, |c| {
            let s = c.screen_text();
            tab_bar_shows(&s, tab) && s.contains(content)
        });
    }

    let before = c.journal().len();
    c.resize(50, 12);
    let s = c.wait_for_screen("terminal too small", WAIT);
    assert!(
        !s.contains("Environments"),
        "nothing else is drawn when too small:\n{s}"
    );
    // Let the held stage finish while nothing can be shown: the run goes on.
    fs::write(c.dir.path().join("go"), "").unwrap();
    let recs = c.wait_for_journal("\"type\":\"run_finished\"", WAIT);
    assert!(recs.len() > before, "the journal kept growing");
    assert_eq!(outcome(&recs), "released");
    assert!(
        c.screen_text().contains("terminal too small"),
        "still too small:\n{}",
        c.screen_text()
    );
    assert!(c.alive());

    c.resize(100, 30);
    c.wait_until("the normal screen at 100×30", WAIT, |c| {
        let s = c.screen_text();
        s.contains("RELEASED")
            && s.contains("Environments")
            && s.contains("q/Ctrl-c quit")
            && !s.contains("terminal too small")
    });

    c.send(b"q");
    let status = c.wait_exit(EXIT_WAIT);
    assert_eq!(status.exit_code(), 0, "{status:?}");
    c.assert_terminal_restored();
}

/// `?` lists the keys from the keymap; Esc closes the overlay.
#[test]
fn help_overlay_lists_the_keys() {
    let mut c = Cockpit::start(&gated_plan(true), 120, 40);
    c.wait_for_screen("WAITING FOR APPROVAL", WAIT);

    c.send(b"?");
    let s = c.wait_for_screen("roll back an environment", WAIT);
    assert!(s.contains("Keys (? or Esc to close"), "{s}");
    let line = line_with(&s, "approve the waiting gate");
    let key = line[..line.find("approve the waiting gate").unwrap()].trim_end();
    assert!(
        key.ends_with(" a"),
        "`a` approves the waiting gate: {line:?}"
    );
    let line = line_with(&s, "roll back an environment");
    let key = line[..line.find("roll back an environment").unwrap()].trim_end();
    assert!(key.ends_with(" R"), "`R` rolls back: {line:?}");

    c.send(ESC);
    let s = c.wait_for_screen_without("approve the waiting gate", WAIT);
    assert!(
        s.contains("WAITING FOR APPROVAL"),
        "the cockpit is back:\n{s}"
    );
    // Keys reach the cockpit again after the overlay closed.
    c.send(b"a");
    c.wait_for_screen("Approve?", WAIT);
    c.send(ESC);
    c.wait_for_screen_without("Approve?", WAIT);
    assert!(c.alive());
}

/// Ctrl-R in the gate prompt rejects: an empty reason is refused in the
/// dialog, a typed one is journaled and the run ends `rejected` (exit 1).
#[test]
fn rejecting_a_gate_with_ctrl_r() {
    let mut c = Cockpit::start(&gated_plan(true), 120, 40);
    c.wait_for_screen("WAITING FOR APPROVAL", WAIT);
    c.send(b"a");
    c.wait_for_screen("Approve?", WAIT);
    c.send(CTRL_R);
    c.wait_for_screen("a rejection needs a reason", WAIT);
    c.send(b"latency too high");
    c.wait_for_screen("latency too high", WAIT);
    c.send(CTRL_R);
    let recs = c.wait_for_journal("\"type\":\"run_finished\"", WAIT);
    let rejected = only(&recs, "rejected");
    assert_eq!(rejected["reason"], "latency too high");
    assert_eq!(rejected["actor"]["via"], "cockpit");
    assert!(events(&recs, "approved").is_empty());
    assert_eq!(outcome(&recs), "rejected");
    c.wait_for_screen("REJECTED", WAIT);
    c.send(b"q");
    let status = c.wait_exit(EXIT_WAIT);
    assert_eq!(status.exit_code(), 1, "{status:?}");
    c.assert_terminal_restored();
}

/// The gate prompt is open with half a comment typed when the gate is
/// approved from the command line: the prompt closes, the toast says who
/// approved, the release goes on, and `q` is the cockpit's key again.
#[test]
fn a_gate_approved_elsewhere_closes_the_prompt_being_typed() {
    let mut c = Cockpit::start(&gated_plan(false), 120, 40);
    c.wait_for_screen("WAITING FOR APPROVAL", WAIT);
    c.send(b"a");
    c.wait_for_screen("Approve?", WAIT);
    c.send(b"half a comm");
    c.wait_for_screen("half a comm", WAIT);
    let recs = c.journal();
    let run_id = only(&recs, "run_started")["run_id"]
        .as_str()
        .expect("run id")
        .to_string();
    let out = std::process::Command::new(slate_bin())
        .env("SLATE_HOME", c.home.path())
        .args([
            "approve",
            &run_id,
            "prod-approval",
            "--comment",
            "from the CLI",
        ])
        .output()
        .expect("slate approve");
    assert!(out.status.success(), "{out:?}");
    c.wait_for_screen("RELEASED", WAIT);
    let screen = c.wait_for_screen_without("Approve?", WAIT);
    assert!(!screen.contains("half a comm"), "{screen}");
    c.send(b"q");
    let status = c.wait_exit(EXIT_WAIT);
    assert_eq!(status.exit_code(), 0, "{status:?}");
    let recs = c.journal();
    let approved = only(&recs, "approved");
    assert_eq!(approved["comment"], "from the CLI");
    assert_eq!(approved["actor"]["via"], "cli");
}

/// SIGHUP (a dropped SSH session) closes the cockpit at once, quietly; the
/// release carries on to the end in its engine host, which then exits too,
/// since nobody follows the run any more.
#[test]
fn after_a_hangup_the_release_finishes_and_slate_exits() {
    let plan = format!(
        r#"{HEAD}
[[environments]]
name = "dev"

[[stages]]
name = "hold"
command = '''
{HOLD_UNTIL_GO}
test -f "@DIR@/go" && echo "let go" >> "$LEDGER"
'''
"#
    );
    let mut c = Cockpit::start(&plan, 120, 40);
    c.wait_for_screen("holding until released", WAIT);

    kill(Pid::from_raw(c.pid()), Signal::SIGHUP).expect("send SIGHUP");
    let status = c.wait_exit(EXIT_WAIT);
    assert_eq!(status.exit_code(), 0, "{status:?}");
    assert!(
        !c.leftovers().is_empty(),
        "the engine host and its stage outlive the cockpit"
    );

    fs::write(c.dir.path().join("go"), "").unwrap();
    let end = Instant::now() + WAIT;
    while !c.journal_text().contains("\"type\":\"run_finished\"") {
        assert!(Instant::now() < end, "the release never finished");
        thread::sleep(POLL);
    }
    assert_eq!(outcome(&c.journal()), "released", "the release carried on");
    assert_eq!(c.ledger(), ["let go"]);
    while !c.leftovers().is_empty() {
        assert!(
            Instant::now() < end,
            "the engine host did not exit once the run was over: {:?}",
            c.leftovers()
        );
        thread::sleep(POLL);
    }
}

/// The quit question is open when the release finishes on its own; answering
/// `a` must still quit (there is nothing left to abort), at once.
#[test]
fn confirming_quit_after_the_run_finished_quits() {
    let plan = format!(
        r#"{HEAD}
[[environments]]
name = "dev"

[[stages]]
name = "hold"
command = '''
{HOLD_UNTIL_GO}
'''
"#
    );
    let mut c = Cockpit::start(&plan, 120, 40);
    c.wait_for_screen("holding until released", WAIT);
    c.send(b"q");
    c.wait_for_screen("Quit?", WAIT);
    fs::write(c.dir.path().join("go"), "").unwrap();
    let recs = c.wait_for_journal("\"type\":\"run_finished\"", WAIT);
    assert_eq!(outcome(&recs), "released");
    let s = c.wait_for_screen("RELEASED", WAIT);
    assert!(s.contains("Quit?"), "the question is still open:\n{s}");
    c.send(b"a");
    let status = c.wait_exit(EXIT_WAIT);
    assert_eq!(status.exit_code(), 0, "{status:?}");
    c.assert_terminal_restored();
}

/// The terminal goes away for real, as when sshd or a tmux server dies: the
/// process holding the pty's master side (`script` here) is killed. The
/// cockpit must leave rather than spin on the dead terminal, and the release
/// must carry on in its engine host, which sits idle at the gate. A spinning
/// process burns a whole core (~100 ticks a second); an idle one uses almost
/// nothing. Load on the machine can only lower the figure, so the bound is
/// not a timing race.
#[test]
fn a_dead_terminal_leaves_slate_idle_not_spinning() {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("SKIPPED: util-linux `script` is not installed (.ci/run installs it)");
        return;
    }
    let home = TempDir::new().unwrap();
    let dir = TempDir::new().unwrap();
    let tag = unique();
    let plan = dir.path().join("plan.toml");
    fs::write(
        &plan,
        format!(
            r#"{HEAD}
[[environments]]
name = "prod"
gates = ["go"]

[[stages]]
name = "deploy"
command = "echo deployed"

[[gates]]
name = "go"
kind = "manual"
"#
        ),
    )
    .unwrap();
    let mut script = std::process::Command::new("script")
        .args([
            "-qfec",
            &format!("{} run {}", env!("CARGO_BIN_EXE_slate"), plan.display()),
            "/dev/null",
        ])
        .env("SLATE_HOME", home.path())
        .env("SLATE_TEST_TAG", &tag)
        .env("TERM", "xterm-256color")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let journal = || -> String {
        fs::read_dir(home.path().join("runs"))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| fs::read_to_string(e.path().join("journal.ndjson")).ok())
            .collect()
    };
    let end = Instant::now() + WAIT;
    while !journal().contains("\"gate_waiting\"") {
        assert!(Instant::now() < end, "the run never reached its gate");
        thread::sleep(Duration::from_millis(50));
    }
    // The cockpit, and the engine host it started (`--serve`).
    let slates: Vec<(i32, String)> = live_processes()
        .into_iter()
        .filter(|(p, _)| tagged_processes(&tag).contains(p))
        .filter(|(p, _)| {
            fs::read_to_string(format!("/proc/{p}/comm")).is_ok_and(|c| c.trim() == "slate")
        })
        .collect();
    let host = slates
        .iter()
        .find(|(_, cmd)| cmd.contains(" --serve"))
        .map(|(p, _)| *p)
        .expect("find the engine host by its tag");
    let front = slates
        .iter()
        .find(|(_, cmd)| !cmd.contains(" --serve"))
        .map(|(p, _)| *p)
        .expect("find the cockpit by its tag");
    script.kill().unwrap();
    let _ = script.wait();
    let end = Instant::now() + WAIT;
    while live_processes().iter().any(|(p, _)| *p == front) {
        if Instant::now() >= end {
            kill_tagged(&tag);
            panic!("the cockpit did not leave its dead terminal");
        }
        thread::sleep(POLL);
    }
    assert!(
        !journal().contains("\"run_finished\""),
        "the release is still at its gate"
    );
    let slate = host;
    let ticks = || -> u64 {
        let stat = fs::read_to_string(format!("/proc/{slate}/stat"))
            .expect("the engine host is still running");
        let rest = &stat[stat.rfind(')').unwrap() + 2..];
        let f: Vec<&str> = rest.split_whitespace().collect();
        f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
    };
    let before = ticks();
    thread::sleep(Duration::from_secs(2));
    let used = ticks() - before;
    kill_tagged(&tag);
    assert!(
        used < 60,
        "the engine host used {used} clock ticks of CPU in 2 s at a gate: it is spinning"
    );
}

/// The engine host behind a cockpit keeps no buffer for clients it does not
/// have: its every-record channel held 65,536 records, allocated and
/// written before the run's first record (26 MB, most of 10 ms of its
/// start-up; `docs/PERFORMANCE.md`). The cockpit reads the journal file,
/// so the host keeps a small one. Its peak resident size at a gate was
/// 58 MB in a debug build with the big channel and is 33 MB without it.
#[test]
fn the_engine_host_behind_a_cockpit_stays_small_at_a_gate() {
    let mut c = Cockpit::start(&gated_plan(false), 100, 30);
    let recs = c.wait_for_journal("\"type\":\"gate_waiting\"", WAIT);
    let host = recs
        .iter()
        .find(|r| r["event"]["type"] == "run_started")
        .and_then(|r| r["event"]["pid"].as_i64())
        .expect("run_started names the host's pid");
    let status = fs::read_to_string(format!("/proc/{host}/status")).unwrap();
    let peak_kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/PID/status");
    assert!(
        peak_kb < 45 * 1024,
        "the engine host peaked at {} MB waiting at a gate",
        peak_kb / 1024
    );
}

/// `slate run`'s first frame is the plan's outline, drawn before the
/// engine host (a second process) has started and answered: the release,
/// its environments and steps, and a status that says the run is starting,
/// not that it runs (issue 22). The run's own state is drawn over it.
#[test]
fn the_first_frame_is_the_plans_outline_while_the_engine_starts() {
    let mut c = Cockpit::start(&gated_plan(false), 120, 40);
    c.wait_for_screen("WAITING FOR APPROVAL", WAIT);
    let raw = c.term.raw();
    // The first frame is one synchronized update (it is far over the
    // size below which a frame goes without one).
    let end = raw
        .find("\u{1b}[?2026l")
        .expect("a synchronized update ends the first frame");
    let mut first = vt100::Parser::new(40, 120, 0);
    first.process(&raw.as_bytes()[..end]);
    let first = first.screen().contents();
    assert!(
        line_with(&first, " slate svc 2.0.0").contains("STARTING"),
        "the first frame says the run is starting:\n{first}"
    );
    for name in [
        "dev",
        "prod",
        "1.0.0 → 2.0.0",
        "deploy",
        "smoke",
        "0/2 steps pending",
    ] {
        assert!(first.contains(name), "the outline shows {name}:\n{first}");
    }
    assert!(
        !first.contains("RUNNING") && !first.contains("WAITING"),
        "the outline claims nothing the run has not done:\n{first}"
    );
    // Then the run's records, drawn over it: nothing of the outline's
    // status is left behind.
    let now = c.screen_text();
    assert!(!now.contains("STARTING"), "{now}");
    c.send(b"q");
    c.wait_for_screen("Quit", WAIT);
}

/// A plan that does not load draws no outline: the terminal's own screen
/// is never left, and the engine host's diagnostics (`file:line:col`) are
/// printed there once, with usage's status.
#[test]
fn a_plan_that_does_not_load_draws_no_outline_first() {
    let home = TempDir::new().expect("tempdir");
    let dir = TempDir::new().expect("tempdir");
    let plan = dir.path().join("plan.toml");
    let text = gated_plan(false).replace("name = \"smoke\"", "name = \"smoke\"\ncomand = 'true'");
    fs::write(&plan, text).expect("write plan");
    let term = Term::builder(&["run", plan.to_str().expect("utf-8 temp path")])
        .size(100, 30)
        .cwd(dir.path())
        .env("SLATE_HOME", home.path())
        .tag(&unique())
        .budget(TEST_BUDGET)
        .start();
    let status = term.wait_exit(EXIT_WAIT);
    let screen = term.screen();
    assert_eq!(status.exit_code(), 2, "{status:?}\n{screen}");
    assert!(
        !term.raw().contains("\u{1b}[?1049h"),
        "the alternate screen was entered for a plan that does not load:\n{screen}"
    );
    assert_eq!(
        screen.matches("plan.toml:").count(),
        1,
        "one diagnostic, at its place:\n{screen}"
    );
    assert!(screen.contains("comand"), "{screen}");
}
