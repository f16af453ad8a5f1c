//! `slate status --watch`, end to end with the real binary: in a
//! pseudo-terminal it redraws in place as a run starts, waits at a gate and
//! ends, and gives the terminal back on q; piped, it prints a new block
//! only when the status changed. Every wait has a deadline; nothing sleeps
//! blindly, and nothing is timed.

use std::fs::File;
use std::io::Read;
use std::process::{Child, Stdio};
use std::time::Duration;

use crate::common;
use common::pty::Term;
use common::sandbox::Sandbox;

const TEST_BUDGET: Duration = Duration::from_secs(60);
const WAIT: Duration = Duration::from_secs(20);

/// One environment and a manual gate before the end.
const PLAN: &str = common::release_plan!("watched" "3.1.0" from "3.0.0" by "tests"; r#"
[[environments]]
name = "dev"

[[stages]]
name = "deploy"
command = 'echo "deployed"'
gates_after = ["signoff"]

[[stages]]
name = "verify"
command = 'true'

[[gates]]
name = "signoff"
kind = "manual"
timeout = "60s"
"#);

/// `slate run --headless` in the background; it waits at the gate.
struct Run {
    child: Child,
    out: std::path::PathBuf,
}

impl Run {
    fn start(s: &Sandbox) -> Run {
        let plan = s.plan("plan.toml", PLAN);
        let out = s.path("run.out");
        let child = s
            .slate()
            .args(["run", plan.to_str().unwrap(), "--headless"])
            .stdout(Stdio::from(File::create(&out).unwrap()))
            .stderr(Stdio::null())
            .spawn()
            .expect("start slate run");
        Run { child, out }
    }

    /// The run id, once the gate waits (the hint names it).
    fn at_gate(&self, s: &Sandbox) -> String {
        let printed = || std::fs::read_to_string(&self.out).unwrap_or_default();
        s.wait_for("the gate", WAIT, || printed().contains("slate approve "));
        let text = printed();
        let line = text.lines().find(|l| l.contains("slate approve ")).unwrap();
        line.split_whitespace().nth(2).unwrap().to_string()
    }

    fn approve(&mut self, s: &Sandbox, id: &str) {
        let o = s.run(&["approve", id, "signoff"], WAIT);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        s.wait_for("the run to end", WAIT, || {
            self.child.try_wait().ok().flatten().is_some()
        });
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_watched_status_shows_a_run_start_wait_and_end_in_place() {
    let s = Sandbox::new();
    let mut t = Term::builder(&["status", "--watch"])
        .size(160, 30)
        .cwd(s.dir.path())
        .env("SLATE_HOME", s.home())
        .tag(&s.tag)
        .budget(TEST_BUDGET)
        .start();
    t.wait_for("no active runs", WAIT);

    let mut run = Run::start(&s);
    let id = run.at_gate(&s);
    let screen = t.wait_for_all(&[&id, "gate signoff", "waiting since"], WAIT);
    assert!(
        screen
            .lines()
            .any(|l| l.contains(&id) && l.contains("watched 3.1.0") && l.contains("gate signoff")),
        "{screen}"
    );

    run.approve(&s, &id);
    let screen = t.wait_for("finished while watching", WAIT);
    let screen = if screen.contains("released") {
        screen
    } else {
        t.wait_for("released", WAIT)
    };
    let finished = screen
        .split("finished while watching:")
        .nth(1)
        .unwrap_or("");
    assert!(
        finished
            .lines()
            .any(|l| l.contains(&id) && l.contains("watched 3.1.0  released")),
        "{screen}"
    );
    assert!(screen.contains("no active runs"), "{screen}");
    // In place: one alternate screen, entered once.
    assert_eq!(t.raw().matches("\u{1b}[?1049h").count(), 1);

    t.send(b"q");
    assert!(t.wait_exit(WAIT).success());
    t.assert_terminal_restored();
}

#[test]
fn ctrl_c_and_sigterm_give_the_terminal_back() {
    for stop in ["ctrl-c", "sigterm"] {
        let s = Sandbox::new();
        let mut t = Term::builder(&["status", "-w"])
            .size(100, 20)
            .cwd(s.dir.path())
            .env("SLATE_HOME", s.home())
            .tag(&s.tag)
            .budget(TEST_BUDGET)
            .start();
        t.wait_for("no active runs", WAIT);
        match stop {
            "ctrl-c" => t.send(b"\x03"),
            _ => {
                nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(t.pid()),
                    nix::sys::signal::Signal::SIGTERM,
                )
                .unwrap();
            }
        }
        t.wait_exit(WAIT);
        t.assert_terminal_restored();
    }
}

#[test]
fn piped_it_prints_a_block_only_when_the_status_changed() {
    let s = Sandbox::new();
    let out = s.path("watch.out");
    let mut watch = s
        .slate()
        .args(["status", "--watch"])
        .stdout(Stdio::from(File::create(&out).unwrap()))
        .stderr(Stdio::piped())
        .spawn()
        .expect("start slate status --watch");
    let printed = || std::fs::read_to_string(&out).unwrap_or_default();
    s.wait_for("the first block", WAIT, || {
        printed().contains("no active runs")
    });

    let mut run = Run::start(&s);
    let id = run.at_gate(&s);
    s.wait_for("the run in the watch", WAIT, || {
        printed().contains("gate signoff")
    });
    run.approve(&s, &id);
    s.wait_for("the run's end in the watch", WAIT, || {
        printed().contains("finished while watching")
    });
    // However long it polled meanwhile, a status printed again unchanged
    // would show here as two equal blocks in a row.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(watch.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let mut ended = None;
    s.wait_for("the watch to end on SIGTERM", WAIT, || {
        ended = watch.try_wait().ok().flatten();
        ended.is_some()
    });
    let mut err = String::new();
    if let Some(mut e) = watch.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    assert!(
        ended.unwrap().success(),
        "SIGTERM ends the watch cleanly: {err}"
    );

    let text = printed();
    assert!(
        !text.contains('\u{1b}'),
        "no escape codes when piped: {text:?}"
    );
    // Each block starts with its heading; compared without it (its time).
    let blocks: Vec<String> = text
        .split("slate status · as of ")
        .skip(1)
        .map(|b| {
            b.split_once('\n')
                .map_or("", |(_, rest)| rest)
                .trim()
                .to_string()
        })
        .collect();
    assert!(blocks.len() >= 3, "start, gate, end: {text}");
    for pair in blocks.windows(2) {
        assert_ne!(pair[0], pair[1], "printed again without a change:\n{text}");
    }
    let last = blocks.last().unwrap();
    assert!(
        last.lines()
            .any(|l| l.contains(&id) && l.contains("released")),
        "{text}"
    );
}
