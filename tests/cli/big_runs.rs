//! Readers of a run whose stages printed a great deal: what they say about
//! it is exact, and the memory they take does not grow with the output.
//!
//! The memory bound is the peak resident size of that one process (its own
//! `VmHWM`, read as it exits), not a time: it holds on any machine, loaded
//! or not, and whatever else the test binary holds.

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
/// size in KiB: the high-water mark of its own image (`VmHWM`), read as it
/// exits.
///
/// Not `wait4`'s `ru_maxrss`: at `exec` Linux folds the peak of the image
/// the child leaves — this test binary's, which a spawned child shares until
/// then — into the child's, so a child of a test process that other tests
/// had grown past the bound measured past it too (202 MB once, under a
/// whole `cli` run). `VmHWM` starts again at `exec`; the child is traced
/// (`PTRACE_O_TRACEEXIT`) so that it stops at its exit with its memory
/// still there to read.
// The child is reaped by `waitpid`, which std's `wait` cannot stand in for:
// a traced child stops, and is let go, on the way.
#[allow(clippy::zombie_processes)]
fn measured(sandbox: &Sandbox, args: &[&str]) -> (String, i64) {
    use nix::libc;
    use std::os::unix::process::CommandExt;

    let mut cmd = sandbox.slate();
    cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::null());
    // SAFETY: one system call between fork and exec, nothing allocated.
    unsafe {
        cmd.pre_exec(|| {
            if libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().expect("start slate traced");
    let pid = child.id() as libc::pid_t;
    // Read while it runs: a child that fills the pipe would wait for us.
    let mut stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        stdout.read_to_string(&mut out).map(|_| out)
    });
    let mut peak_kb = None;
    let status = loop {
        let mut status = 0;
        // SAFETY: waits for our own child, whose status goes in `status`.
        let got = unsafe { libc::waitpid(pid, &mut status, 0) };
        assert_eq!(got, pid, "waitpid: {}", std::io::Error::last_os_error());
        if libc::WIFEXITED(status) || libc::WIFSIGNALED(status) {
            break status;
        }
        assert!(libc::WIFSTOPPED(status), "{status:#x}");
        let signal = libc::WSTOPSIG(status);
        let event = status >> 16;
        let pass = if event == libc::PTRACE_EVENT_EXIT {
            peak_kb = Some(vm_hwm_kb(pid));
            0
        } else if signal == libc::SIGTRAP && event == 0 && peak_kb.is_none() {
            // The stop after `exec`: from here on, stop at the exit too.
            let options = libc::PTRACE_O_TRACEEXIT | libc::PTRACE_O_EXITKILL;
            // SAFETY: our tracee, stopped; options is a plain integer.
            let set = unsafe { libc::ptrace(libc::PTRACE_SETOPTIONS, pid, 0, options) };
            assert_eq!(
                set,
                0,
                "PTRACE_SETOPTIONS: {}",
                std::io::Error::last_os_error()
            );
            0
        } else {
            // A signal on its way to the child: it gets it.
            signal
        };
        // SAFETY: our tracee, stopped.
        let cont = unsafe { libc::ptrace(libc::PTRACE_CONT, pid, 0, pass) };
        assert_eq!(cont, 0, "PTRACE_CONT: {}", std::io::Error::last_os_error());
    };
    let out = reader.join().unwrap().expect("read stdout");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "slate {args:?} failed ({status:#x}):\n{out}"
    );
    let peak_kb = peak_kb.expect("the child stopped at its exit");
    (out, peak_kb)
}

/// `VmHWM` of a live process, in KiB.
fn vm_hwm_kb(pid: nix::libc::pid_t) -> i64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmHWM in:\n{status}"))
}

/// The measure is the child's own: a test process that holds more than the
/// bound (as the whole `cli` run's may) does not count in it.
#[test]
fn the_measured_peak_is_the_childs_own() {
    let sandbox = Sandbox::new();
    let held = BOUND_KB as usize * 1024 + (32 << 20);
    // Written, so that every page of it is resident.
    let ballast = std::hint::black_box(vec![1u8; held]);
    let (out, peak_kb) = measured(&sandbox, &["--version"]);
    assert!(out.starts_with("slate "), "{out}");
    assert!(
        peak_kb < BOUND_KB / 4,
        "`slate --version` peaked at {peak_kb} KiB while this process held {} KiB",
        ballast.len() / 1024
    );
    drop(ballast);
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

    // The other readers of a finished run skip the output as well: an
    // analysis explains analysis records, a dossier counts lines.
    let (text, peak_kb) = measured(&sandbox, &["analysis", "latest"]);
    assert!(text.contains("no analysis ran"), "{text}");
    assert!(peak_kb < BOUND_KB, "slate analysis peaked at {peak_kb} KiB");
    let (text, peak_kb) = measured(&sandbox, &["dossier", "latest"]);
    assert!(text.contains("big 2.0.0"), "{text}");
    assert!(peak_kb < BOUND_KB, "slate dossier peaked at {peak_kb} KiB");

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
