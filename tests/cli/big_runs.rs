//! Readers of a run whose stages printed a great deal: what they say about
//! it is exact, and the memory they take does not grow with the output.
//!
//! The memory bound is a peak resident size read by `wait4` for that one
//! process, not a time: it holds on any machine, loaded or not.

use std::io::Read;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

use crate::common;
use common::sandbox::Sandbox;

/// Lines the flood stage prints: about 40 MB of journal, which a reader that
/// keeps every record holds as well over 100 MB.
const FLOOD: u64 = 300_000;
/// Peak resident size a reader may take for such a run; what it takes when
/// it does not keep the output is a small fraction of the journal.
const BOUND_KB: i64 = 128 * 1024;

fn plan(sandbox: &Sandbox) -> std::path::PathBuf {
    sandbox.plan(
        "plan.toml",
        &format!(
            r#"
[release]
name = "big"
version = "2.0.0"
previous_version = "1.0.0"
owner = "tests"

[[environments]]
name = "dev"

[[environments]]
name = "prod"

[[stages]]
name = "flood"
kind = "custom"
command = "seq 1 {FLOOD}"

[[stages]]
name = "tail"
kind = "custom"
# Fails in prod, after its three lines: prod rolls back, which gives a
# replay a place of interest to jump back to across both floods.
command = "echo one; echo two; echo three; test \"$SLATE_ENV\" != prod"
"#
        ),
    )
}

/// Runs `slate args…` to its end and returns its stdout and peak resident
/// size in KiB, read from the kernel's accounting of that process alone.
// The child is reaped by `wait4`, which std's `wait` cannot stand in for: it
// is what returns that one process's resource usage.
#[allow(clippy::zombie_processes)]
fn measured(sandbox: &Sandbox, args: &[&str]) -> (String, i64) {
    let mut child = sandbox
        .slate()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start slate");
    // Read to the end first: the process exits after writing everything.
    let mut out = String::new();
    child
        .stdout
        .take()
        .expect("stdout")
        .read_to_string(&mut out)
        .expect("read stdout");
    let mut status = 0;
    // SAFETY: `rusage` is plain data the kernel fills; the pid is our child's.
    let mut usage: nix::libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as nix::libc::pid_t;
    let got = unsafe { nix::libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(got, pid, "wait4: {}", std::io::Error::last_os_error());
    assert!(
        nix::libc::WIFEXITED(status) && nix::libc::WEXITSTATUS(status) == 0,
        "slate {args:?} failed ({status:#x}):\n{out}"
    );
    (out, usage.ru_maxrss)
}

#[test]
fn show_of_a_flooded_run_counts_every_line_in_bounded_memory() {
    let sandbox = Sandbox::new();
    let plan = plan(&sandbox);
    // The run's own printout is half a million lines nobody reads here.
    let child = sandbox
        .slate()
        .args(["run", "--headless", plan.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start slate");
    let out = common::sandbox::wait_output(child, Duration::from_secs(120), &["run"]);
    // prod's `tail` fails and prod rolls back: exit status 1.
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let (json, peak_kb) = measured(&sandbox, &["show", "latest", "--json"]);
    let state: Value = serde_json::from_str(&json).expect("show --json is JSON");
    let lines: Vec<Vec<u64>> = state["envs"]
        .as_array()
        .expect("envs")
        .iter()
        .map(|e| {
            e["steps"]
                .as_array()
                .expect("steps")
                .iter()
                .map(|s| s["output_lines"].as_u64().expect("output_lines"))
                .collect()
        })
        .collect();
    // Every line counted against the step that printed it, in both
    // environments, although none of them was kept.
    assert_eq!(lines, [[FLOOD, 3], [FLOOD, 3]], "{json}");
    assert!(
        peak_kb < BOUND_KB,
        "slate show --json of a run with {} output lines peaked at {peak_kb} KiB (bound {BOUND_KB} KiB)",
        2 * FLOOD
    );

    let (text, peak_kb) = measured(&sandbox, &["show", "latest"]);
    assert!(text.contains("big 2.0.0"), "{text}");
    assert!(peak_kb < BOUND_KB, "slate show peaked at {peak_kb} KiB");

    replay_reads_a_flood_back_a_window_at_a_time(&sandbox);
}

/// A replay of the same run from its journal file: jumping to the end and
/// back to a point mid-flood gives exactly the state a replay of every
/// record gives, with the newest lines of the flood in the log window and
/// the older ones left in the journal to be read back on scrolling.
fn replay_reads_a_flood_back_a_window_at_a_time(sandbox: &Sandbox) {
    use slate::cockpit::replay::{Control, Replay, Tape};

    let dir = common::newest_run(sandbox.home()).expect("a run");
    let path = dir.join(slate::journal::JOURNAL_FILE);
    let every = slate::journal::read_journal(&path)
        .expect("journal")
        .records;
    let (tape, warning) = Tape::open(&path).expect("a tape");
    assert!(warning.is_none());
    assert_eq!(tape.len(), every.len());
    let plan = slate::runs::recorded_plan(tape.states())
        .expect("started")
        .expect("plan loads");
    let mut app = slate::cockpit::app::App::new(
        plan,
        slate::cockpit::keymap::Keymap::default(),
        slate::tui::theme::Theme::monochrome(),
    );
    let mut replay = Replay::on(tape, 1.0, jiff::tz::TimeZone::UTC, &mut app).expect("replay");

    replay.control(&mut app, Control::End);
    assert_eq!(app.run, slate::engine::state::RunState::replay(&every));
    let newest = app.logs.iter().last().expect("log lines").plain.clone();
    assert_eq!(newest, "three", "the log ends with the run's last line");
    assert!(
        app.logs.more_in_journal(),
        "the flood's older lines stay in the journal"
    );

    // Back to the rollback (or the failure before it): a rebuild of the
    // whole run up to there, across both floods.
    replay.control(&mut app, Control::PrevInterest);
    let k = replay.player().pos();
    assert!(k < every.len() && k > 2 * FLOOD as usize, "landed at {k}");
    assert_eq!(app.run, slate::engine::state::RunState::replay(&every[..k]));
    let last = app.logs.iter().last().expect("log lines").plain.clone();
    assert_eq!(last, "three");
}
