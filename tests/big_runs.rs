//! Readers of a run whose stages printed a great deal: what they say about
//! it is exact, and the memory they take does not grow with the output.
//!
//! The memory bound is a peak resident size read by `wait4` for that one
//! process, not a time: it holds on any machine, loaded or not.

use std::io::Read;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;

mod common;
use common::sandbox::Sandbox;

/// Lines the flood stage prints: about 40 MB of journal, which a reader that
/// keeps every record holds as well over 100 MB.
const FLOOD: u64 = 300_000;
/// Peak resident size a reader may take for such a run; what it takes when
/// it does not keep the output is a small fraction of the journal.
const BOUND_KB: i64 = 48 * 1024;

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
command = "echo one; echo two; echo three"
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
    assert!(
        out.status.success(),
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
}
