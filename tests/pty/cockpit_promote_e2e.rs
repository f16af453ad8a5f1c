//! The cockpit's new habits end to end: the real `slate` binary in a
//! pseudo-terminal (`common::pty::Term`), checked on screen, in the raw
//! bytes it wrote and in the run's journal and ledger. Every wait has a
//! deadline; nothing sleeps blindly.
//!
//! - `:promote` during a canary pause advances the weight (journal, ledger);
//! - `y` at a gate writes an OSC 52 sequence carrying the approve command;
//! - Esc after a search lets it go and the log follows again;
//! - `B` breaks the glass of a freeze the run waits for.

use std::fs;
use std::path::Path;
use std::time::Duration;

use base64::Engine as _;
use serde_json::Value;
use tempfile::TempDir;

use crate::common;
use common::pty::{ENTER, ESC, Term};
use common::*;

const BUDGET: Duration = Duration::from_secs(40);
const WAIT: Duration = Duration::from_secs(15);

struct Cockpit {
    term: Term,
    home: TempDir,
    dir: TempDir,
}

fn journal_in(home: &Path) -> Vec<Value> {
    let text = newest_run(home)
        .and_then(|d| fs::read_to_string(d.join("journal.ndjson")).ok())
        .unwrap_or_default();
    parse_journal(&text, "journal")
}

impl Cockpit {
    fn start(plan: &str, extra_env: &[(&str, &str)]) -> Cockpit {
        Self::start_after(plan, extra_env, |_| {})
    }

    /// [`Cockpit::start`], once `before` has prepared its state directory.
    fn start_after(plan: &str, extra_env: &[(&str, &str)], before: impl FnOnce(&Path)) -> Cockpit {
        let home = TempDir::new().unwrap();
        before(home.path());
        let dir = TempDir::new().unwrap();
        let plan_path = dir.path().join("plan.toml");
        fs::write(&plan_path, plan).unwrap();
        let home_path = home.path().to_path_buf();
        let mut b = Term::builder(&["run", plan_path.to_str().unwrap()])
            .size(120, 40)
            .cwd(dir.path())
            .env("SLATE_HOME", home.path())
            .env("LEDGER", dir.path().join("ledger"))
            .env_remove("SLATE_NO_OSC")
            .tag(&unique())
            .budget(BUDGET)
            .context(move || format!("--- journal ---\n{:?}", types(&journal_in(&home_path))));
        for (k, v) in extra_env {
            b = b.env(k, v);
        }
        let term = b.start();
        term.wait_for(" slate svc 2.0.0", WAIT);
        Cockpit { term, home, dir }
    }

    fn journal(&self) -> Vec<Value> {
        journal_in(self.home.path())
    }

    fn wait_journal(&mut self, what: &str, cond: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let home = self.home.path().to_path_buf();
        self.term
            .wait_until(what, WAIT, || cond(&journal_in(&home)));
        self.journal()
    }

    fn ledger(&self) -> Vec<String> {
        fs::read_to_string(self.dir.path().join("ledger"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }
}

const HEAD: &str = r#"
[release]
name = "svc"
version = "2.0.0"
previous_version = "1.0.0"
owner = "tests"
"#;

/// prod: a canary of 10, 50, 100 % with an hour's pause between weights,
/// each weight echoed to the log and appended to the ledger.
fn canary_plan() -> String {
    format!(
        r#"{HEAD}
[[environments]]
name = "prod"
strategy = {{ kind = "canary", steps = [10, 50, 100], pause = "1h" }}

[[stages]]
name = "deploy"
command = 'echo "weight $SLATE_WEIGHT"; echo "$SLATE_WEIGHT" >> "$LEDGER"'
rollback = 'echo "undo" >> "$LEDGER"'
rollout = true
"#
    )
}

fn timer_started_at(recs: &[Value], step: u64) -> bool {
    events(recs, "timer_started")
        .iter()
        .any(|r| r["step"] == step)
}

#[test]
fn promote_from_the_palette_during_a_canary_pause_advances_the_weight() {
    let mut c = Cockpit::start(&canary_plan(), &[]);
    c.wait_journal("the first pause", |r| timer_started_at(r, 1));
    c.term.wait_for("P promote", WAIT);
    c.term.send(b":");
    c.term.wait_for("Command", WAIT);
    c.term.send(b"promote");
    c.term.send(ENTER);
    c.term.wait_for("Promote: end this pause now?", WAIT);
    // No reason: refused in the dialog, in the engine's words.
    c.term.send(ENTER);
    c.term.wait_for("a promotion needs a reason", WAIT);
    c.term.send(b"error rate flat");
    c.term.send(ENTER);
    let recs = c.wait_journal("the 50% step and its pause", |r| timer_started_at(r, 3));
    let p = only(&recs, "promoted");
    assert_eq!(p["reason"], "error rate flat");
    assert_eq!(p["actor"]["via"], "cockpit");
    assert_eq!(p["step"], 1);
    assert_eq!(
        c.ledger(),
        ["10", "50"],
        "the 50% weight ran after promoting"
    );
    c.term.wait_for("canary 50%", WAIT);
    // Leave: detach (the release goes on in its host, which the tag ends).
    c.term.send(b"q");
    c.term.wait_for("Quit?", WAIT);
    c.term.send(b"d");
    c.term.wait_exit(WAIT);
}

/// dev, then prod behind the manual gate `prod-approval`.
fn gated_plan() -> String {
    format!(
        r#"{HEAD}
[[environments]]
name = "dev"

[[environments]]
name = "prod"
gates = ["prod-approval"]

[[stages]]
name = "deploy"
command = 'for i in 1 2 3 4 5 6; do echo "line $i of deploy to $SLATE_ENV"; done; echo "deploy $SLATE_ENV" >> "$LEDGER"'

[[gates]]
name = "prod-approval"
kind = "manual"
"#
    )
}

/// The base64 payloads of every OSC 52 sequence in `raw`, decoded.
fn osc52_payloads(raw: &str) -> Vec<String> {
    raw.split("\x1b]52;c;")
        .skip(1)
        .filter_map(|rest| rest.split('\x07').next())
        .filter_map(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .collect()
}

#[test]
fn y_at_a_gate_copies_the_approve_command_over_osc_52() {
    let mut c = Cockpit::start(&gated_plan(), &[]);
    let recs = c.wait_journal("the gate", |r| has(r, "gate_waiting"));
    let run_id = only(&recs, "run_started")["run_id"]
        .as_str()
        .unwrap()
        .to_string();
    c.term.wait_for("WAITING FOR APPROVAL", WAIT);
    c.term.send(b"y");
    c.term.wait_for("copied the approve command", WAIT);
    let want = format!("slate approve {run_id} prod-approval --comment ''");
    let raw = c.term.raw();
    assert!(
        osc52_payloads(&raw).contains(&want),
        "{:?}",
        osc52_payloads(&raw)
    );
    c.term.send(b"q");
    c.term.wait_for("Quit?", WAIT);
    c.term.send(b"d");
    c.term.wait_exit(WAIT);
}

#[test]
fn with_slate_no_osc_y_writes_no_osc_52_and_says_so() {
    let mut c = Cockpit::start(&gated_plan(), &[("SLATE_NO_OSC", "1")]);
    c.wait_journal("the gate", |r| has(r, "gate_waiting"));
    c.term.wait_for("WAITING FOR APPROVAL", WAIT);
    c.term.send(b"y");
    c.term.wait_for("copy is off", WAIT);
    assert!(osc52_payloads(&c.term.raw()).is_empty());
    c.term.send(b"q");
    c.term.wait_for("Quit?", WAIT);
    c.term.send(b"d");
    c.term.wait_exit(WAIT);
}

#[test]
fn esc_after_a_search_lets_it_go_and_follows_again() {
    let mut c = Cockpit::start(&gated_plan(), &[]);
    c.wait_journal("the gate", |r| has(r, "gate_waiting"));
    c.term.wait_for("[follow", WAIT);
    c.term.send(b"/");
    c.term.wait_for("Search logs", WAIT);
    c.term.send(b"line 2");
    c.term.send(ENTER);
    // Searching leaves the tail; the title shows the search while it is active.
    let s = c.term.wait_for("/line 2 ", WAIT);
    assert!(!s.contains("[follow"), "{s}");
    c.term.send(ESC);
    c.term
        .wait_until("the log to follow with no search", WAIT, || {
            let s = c.term.screen();
            s.contains("[follow") && !s.contains("/line 2 ")
        });
    c.term.send(b"q");
    c.term.wait_for("Quit?", WAIT);
    c.term.send(b"d");
    c.term.wait_exit(WAIT);
}

/// `B` in a cockpit whose run waits for a freeze (`lock_wait`): it asks
/// why, the engine checks the break-glass policy against whoever pressed it
/// (the cockpit's user), journals the crossing, and the run goes in.
#[test]
fn b_breaks_the_glass_of_a_freeze_the_run_waits_for() {
    let me = slate::engine::Actor::current("test").user;
    let plan = format!(
        r#"[release]
name = "svc"
version = "2.0.0"
previous_version = "1.0.0"
owner = "tests"
lock_wait = "5m"
break_glass = ["{me}"]

[[environments]]
name = "prod"

[[stages]]
name = "deploy"
command = 'echo "deploy" >> "$LEDGER"'
"#
    );
    // The freeze is in the store of the state directory the cockpit will use.
    let mut c = Cockpit::start_after(&plan, &[], |home| {
        let frozen = std::process::Command::new(slate_bin())
            .env("SLATE_HOME", home)
            .args(["freeze", "prod", "--until", "2h", "--reason", "holiday"])
            .output()
            .unwrap();
        assert!(frozen.status.success(), "{frozen:?}");
    });
    c.term.wait_for("prod is frozen", WAIT);
    c.term.send(b"B");
    c.term
        .wait_for("BREAK GLASS: cross the freeze or hold?", WAIT);
    c.term.send(b"CVE-2026-1");
    c.term.send(ENTER);
    let recs = c.wait_journal("the run's end", |r| has(r, "run_finished"));
    let glass = only(&recs, "break_glass");
    assert_eq!(glass["reason"], "CVE-2026-1");
    assert_eq!(glass["actor"]["via"], "cockpit");
    assert_eq!(glass["crossed"]["kind"], "freeze");
    assert_in_order(&recs, &["env_blocked", "break_glass", "env_started"]);
    assert_eq!(c.ledger(), ["deploy"]);
    // The journal is on disk before the cockpit hears of the end; `q` while
    // it still shows the run going would ask how to leave it.
    c.term.wait_for("RELEASED", WAIT);
    c.term.send(b"q");
    c.term.wait_exit(WAIT);
}
