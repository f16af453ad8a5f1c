//! `slate replay`, end to end: a real run is made with `slate run
//! --headless`, then the real binary replays it in a pseudo-terminal, driven
//! by keystrokes, through the shared pseudo-terminal harness
//! (`common::pty::Term`): every step waits (with a deadline) for what the
//! next keystroke needs, never blindly.
//!
//! Every process started here carries a unique `SLATE_TEST_TAG`; dropping
//! the harness SIGKILLs whatever still carries it, also when a test panics.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::common;
use common::pty::{LEAVE_ALT_SCREEN, Term};
use common::*;

/// The most any test may take, start to finish.
const TEST_BUDGET: Duration = Duration::from_secs(40);
/// Longest wait for one thing to show up on screen.
const WAIT: Duration = Duration::from_secs(15);
const POLL: Duration = Duration::from_millis(20);

/// dev, then prod behind the manual gate `go`; stages only echo.
const PLAN: &str = common::release_plan!(
    r#"
[[environments]]
name = "dev"

[[environments]]
name = "prod"
gates = ["go"]

[[stages]]
name = "deploy"
command = 'echo "deploying to $SLATE_ENV"'

[[gates]]
name = "go"
kind = "manual"
"#
);

/// A SLATE_HOME holding one finished run of [`PLAN`], gate pre-approved.
struct Made {
    home: TempDir,
    _dir: TempDir,
    tag: String,
}

impl Made {
    fn run() -> Made {
        let home = TempDir::new().expect("tempdir");
        let dir = TempDir::new().expect("tempdir");
        let tag = unique();
        let plan = dir.path().join("plan.toml");
        fs::write(&plan, PLAN).expect("write plan");
        let mut child = Command::new(env!("CARGO_BIN_EXE_slate"))
            .args(["run", "--headless", "--approve", "go"])
            .arg(&plan)
            .current_dir(dir.path())
            .env("SLATE_HOME", home.path())
            .env("SLATE_TEST_TAG", &tag)
            .env_remove("SLATE_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn slate run");
        let end = Instant::now() + WAIT;
        let status = loop {
            if let Some(s) = child.try_wait().expect("try_wait") {
                break s;
            }
            if Instant::now() >= end {
                let _ = child.kill();
                kill_tagged(&tag);
                panic!("slate run --headless did not finish within {WAIT:?}");
            }
            thread::sleep(POLL);
        };
        assert!(status.success(), "the headless run failed: {status:?}");
        Made {
            home,
            _dir: dir,
            tag,
        }
    }

    /// The run's journal (the run directory, not the index next to it).
    fn journal(&self) -> PathBuf {
        let mut dirs: Vec<PathBuf> = fs::read_dir(self.home.path().join("runs"))
            .expect("runs dir")
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect();
        dirs.sort();
        dirs.pop().expect("a run").join("journal.ndjson")
    }

    /// `slate ARGS` without a terminal: (exit code, stderr).
    fn plain(&self, args: &[&str]) -> (i32, String) {
        let out = Command::new(env!("CARGO_BIN_EXE_slate"))
            .args(args)
            .env("SLATE_HOME", self.home.path())
            .env("SLATE_TEST_TAG", &self.tag)
            .env_remove("SLATE_LOG")
            .stdin(Stdio::null())
            .output()
            .expect("run slate");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

impl Drop for Made {
    fn drop(&mut self) {
        kill_tagged(&self.tag);
    }
}

/// `slate ARGS` in a 120×40 pseudo-terminal on `home`, with a tag of its own.
fn replay(home: &Path, args: &[&str]) -> Term {
    Term::builder(args)
        .size(120, 40)
        .env("SLATE_HOME", home)
        .tag(&unique())
        .budget(TEST_BUDGET)
        .start()
}

/// The whole story: jump to the gate, see the approval, try to approve
/// (refused: read-only), let it play to the end, quit with 0; the journal is
/// untouched.
#[test]
fn replaying_a_run_jumps_to_the_gate_refuses_commands_and_plays_to_the_end() {
    let made = Made::run();
    let journal = made.journal();
    let before = fs::read(&journal).expect("journal");
    let mut p = replay(
        made.home.path(),
        &["replay", "latest", "--speed", "16", "--paused"],
    );

    // It starts paused at the run's start, and says how to go on.
    let s = p.wait_for_all(&["REPLAY 16×", "· 1/", "paused", "Space plays"], WAIT);
    assert!(
        s.contains("Space play"),
        "the footer shows the player's keys:\n{s}"
    );

    p.send(b"n");
    let s = p.wait_for_all(&["⏭ gate go waiting in prod", "WAITING FOR APPROVAL"], WAIT);
    assert!(
        s.contains("✔ dev"),
        "dev was deployed before the gate:\n{s}"
    );

    p.send(b"n");
    p.wait_for_all(&["⏭ go approved: pre-approved with --approve go"], WAIT);

    p.send(b"a");
    let s = p.wait_for_all(&["read-only (replay): approve is not available"], WAIT);
    assert!(
        !s.contains("Approve?"),
        "no approval dialog in a replay:\n{s}"
    );

    // Space plays on; a pre-approved run finishes in well under a second of run time.
    p.send(b" ");
    let s = p.wait_for_all(&["RELEASED", "· end"], WAIT);
    assert!(s.contains("■ REPLAY 16×"), "{s}");

    p.send(b"q");
    let status = p.wait_exit(WAIT);
    assert_eq!(status.exit_code(), 0, "{status:?}");
    // The terminal was handed back (alternate screen left, cursor shown,
    // cooked mode), and the summary printed on the normal screen after it.
    let after = p.assert_terminal_restored();
    let raw = p.raw();
    let left = raw
        .rfind(LEAVE_ALT_SCREEN)
        .expect("the alternate screen was left");
    assert!(after.contains("replayed run"), "{}", &raw[left..]);
    assert_eq!(
        fs::read(&journal).expect("journal"),
        before,
        "a replay writes nothing"
    );
}

/// A run that stopped mid-way (its last line torn, no RunFinished) plays
/// to its last record and says so; the torn line is a warning, not an error.
#[test]
fn a_crashed_run_with_a_torn_tail_plays_what_is_there() {
    let made = Made::run();
    let journal = made.journal();
    let text = fs::read_to_string(&journal).expect("journal");
    let lines: Vec<&str> = text.lines().collect();
    let gate = lines
        .iter()
        .position(|l| l.contains("\"type\":\"gate_waiting\""))
        .expect("the gate waited");
    // Everything up to the gate, then half a line: slate died while writing.
    let mut cut = lines[..=gate].join("\n");
    cut.push('\n');
    cut.push_str(&lines[gate + 1][..lines[gate + 1].len() / 2]);
    fs::write(&journal, cut).expect("cut the journal");

    let mut p = replay(made.home.path(), &["replay", "--speed", "64", "--paused"]);
    p.wait_for_all(&["REPLAY 64×", "torn last line"], WAIT);
    p.send(b"$");
    let s = p.wait_for_all(&["the run never finished"], WAIT);
    assert!(
        s.contains("WAITING FOR APPROVAL"),
        "it stops where the journal stops:\n{s}"
    );
    p.send(b"q");
    assert_eq!(p.wait_exit(WAIT).exit_code(), 0);
}

/// Mistakes are explained and exit non-zero, before any terminal is needed.
#[test]
fn bad_run_ids_corrupt_journals_and_missing_terminals_are_explained() {
    let made = Made::run();
    let (code, err) = made.plain(&["replay", "nope"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no run matches `nope`"), "{err}");

    let (code, err) = made.plain(&["replay", "latest", "--speed", "100"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--speed must be between 0.25 and 64"), "{err}");

    let (code, err) = made.plain(&["replay", "latest"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("replay needs a terminal"), "{err}");

    // A bad line in the middle: the journal can't be trusted, so nothing plays.
    let journal = made.journal();
    let text = fs::read_to_string(&journal).expect("journal");
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines[2] = "{not json".into();
    fs::write(&journal, lines.join("\n") + "\n").expect("corrupt the journal");
    let (code, err) = made.plain(&["replay", "latest"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("journal is corrupt at line 3"), "{err}");
}
