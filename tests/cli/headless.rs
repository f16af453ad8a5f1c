//! Headless runs and `slate show`, black-box through the real binary.
//!
//! Every test gets a fresh `SLATE_HOME` and a work directory. Stage commands
//! append to a ledger file there (`$LEDGER`, inherited from slate's own
//! environment), so the assertions are about what really ran, and in which
//! order, not only about what the journal says.
//!
//! Nothing here may outlive its test: every process a test starts carries a
//! unique `SLATE_TEST_TAG` in its environment (stages inherit it), and the
//! sandbox SIGKILLs whatever still carries the tag when it is dropped, also
//! when the test panics. Every wait has a deadline.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::common;
use common::*;

/// Longest any single slate invocation may take before the test fails.
const RUN_TIMEOUT: Duration = Duration::from_secs(30);
/// Longest wait for something to show up in a running slate's journal or ledger.
const WAIT_TIMEOUT: Duration = Duration::from_secs(15);
/// How long processes killed by a timeout or abort may take to disappear.
const REAP_TIMEOUT: Duration = Duration::from_secs(5);
const POLL: Duration = Duration::from_millis(20);

const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/config.example.toml");

/// The common head of the inline plans.
const HEAD: &str = common::release_plan!();

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// The slate binary with its state confined to `home`.
fn slate(home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_slate"));
    cmd.env("SLATE_HOME", home)
        .env_remove("SLATE_LOG")
        .env_remove("SLATE_EXAMPLE_ROOT")
        .stdin(Stdio::null());
    cmd
}

/// Writes a plan file into `dir` and returns its path.
fn write_plan(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, text).expect("write plan");
    path
}

/// Index of the step labelled `label` in environment `env`, from run_started.
fn step_index(recs: &[Value], env: usize, label: &str) -> u64 {
    let started = only(recs, "run_started");
    let steps = started["environments"][env]["steps"]
        .as_array()
        .expect("run_started lists the steps");
    steps
        .iter()
        .position(|s| s["label"] == label)
        .unwrap_or_else(|| panic!("no step `{label}` in env {env}: {steps:?}")) as u64
}

/// The step_finished event of (env, step, attempt).
fn finished(recs: &[Value], env: u64, step: u64, attempt: u64) -> &Value {
    events(recs, "step_finished")
        .into_iter()
        .find(|e| e["env"] == env && e["step"] == step && e["attempt"] == attempt)
        .unwrap_or_else(|| panic!("no step_finished for env {env} step {step} attempt {attempt}"))
}

/// Sequence numbers are exactly 1..=N.
fn assert_contiguous(recs: &[Value]) {
    let seqs: Vec<u64> = recs.iter().map(|r| r["seq"].as_u64().unwrap()).collect();
    let expected: Vec<u64> = (1..=recs.len() as u64).collect();
    assert_eq!(seqs, expected, "seq numbers must run 1..N without gaps");
}

/// (type, step) of every rollback_step_* record, in journal order.
fn rollback_steps(recs: &[Value]) -> Vec<(String, u64)> {
    recs.iter()
        .filter(|r| ty(r).starts_with("rollback_step_"))
        .map(|r| {
            (
                ty(r).trim_start_matches("rollback_step_").to_string(),
                r["event"]["step"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// Output lines journaled for (env, step), forward or rollback.
fn output_lines(recs: &[Value], env: u64, step: u64, rollback: bool) -> Vec<String> {
    events(recs, "output")
        .into_iter()
        .filter(|e| {
            e["env"] == env
                && e["step"] == step
                && e["rollback"].as_bool().unwrap_or(false) == rollback
        })
        .map(|e| e["line"].as_str().unwrap().to_string())
        .collect()
}

/// Polls `cond` until it holds; fails if the deadline passes or slate exits first.
fn wait_until(proc: &mut Proc, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT_TIMEOUT;
    loop {
        if cond() {
            return;
        }
        if let Some(status) = proc.try_status() {
            // One last look: it may have happened just before the exit.
            if cond() {
                return;
            }
            panic!("slate exited ({status}) before {what}");
        }
        if Instant::now() > deadline {
            panic!("gave up after {WAIT_TIMEOUT:?} waiting for {what}");
        }
        thread::sleep(POLL);
    }
}

fn processes_with_marker(marker: &str) -> Vec<(i32, String)> {
    live_processes()
        .into_iter()
        .filter(|(_, cmd)| cmd.contains(marker))
        .collect()
}

/// Waits up to REAP_TIMEOUT for every live process whose command line holds
/// `marker` to be gone; kills and reports any that are not.
fn assert_no_process_with(marker: &str, context: &str) {
    let deadline = Instant::now() + REAP_TIMEOUT;
    loop {
        let left = processes_with_marker(marker);
        if left.is_empty() {
            return;
        }
        if Instant::now() > deadline {
            for (pid, _) in &left {
                let _ = kill(Pid::from_raw(*pid), Signal::SIGKILL);
            }
            panic!("{context}: processes outlived slate (killed them now): {left:?}");
        }
        thread::sleep(POLL);
    }
}

/// A test's private world: SLATE_HOME, a work directory with the plan and
/// ledger, and a tag that marks every process started from here.
struct Sandbox {
    home: TempDir,
    dir: TempDir,
    tag: String,
}

impl Sandbox {
    fn new() -> Self {
        Self {
            home: TempDir::new().expect("tempdir"),
            dir: TempDir::new().expect("tempdir"),
            tag: unique(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes `plan.toml`, with `@DIR@` replaced by the work directory.
    fn plan(&self, text: &str) -> PathBuf {
        let dir = self.dir.path().to_str().expect("utf-8 temp path");
        write_plan(self.dir.path(), "plan.toml", &text.replace("@DIR@", dir))
    }

    /// slate, with LEDGER and the tag in its (and so its stages') environment.
    fn cmd(&self) -> Command {
        let mut cmd = slate(self.home.path());
        cmd.env("LEDGER", self.path("ledger"))
            .env("SLATE_TEST_TAG", &self.tag)
            .current_dir(self.dir.path());
        cmd
    }

    fn spawn(&self, args: &[&str]) -> Proc {
        let mut cmd = self.cmd();
        cmd.args(args);
        Proc::spawn(cmd)
    }

    fn run(&self, args: &[&str]) -> Out {
        self.spawn(args).wait(RUN_TIMEOUT)
    }

    /// `slate run PLAN --headless EXTRA...`
    fn run_plan(&self, plan: &Path, extra: &[&str]) -> Out {
        let plan = plan.to_str().unwrap();
        let mut args = vec!["run", plan, "--headless"];
        args.extend_from_slice(extra);
        self.run(&args)
    }

    fn spawn_plan(&self, plan: &Path, extra: &[&str]) -> Proc {
        let plan = plan.to_str().unwrap();
        let mut args = vec!["run", plan, "--headless"];
        args.extend_from_slice(extra);
        self.spawn(&args)
    }

    fn ledger(&self) -> Vec<String> {
        fs::read_to_string(self.path("ledger"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn run_dirs(&self) -> Vec<PathBuf> {
        run_dirs(self.home.path())
    }

    /// The newest run's journal file, if a run has started.
    fn journal_path(&self) -> Option<PathBuf> {
        self.run_dirs()
            .last()
            .map(|d| d.join("journal.ndjson"))
            .filter(|p| p.exists())
    }

    /// The newest run's records (empty before the journal exists).
    fn journal(&self) -> Vec<Value> {
        self.journal_path()
            .map(|p| read_journal(&p))
            .unwrap_or_default()
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let killed = kill_tagged(&self.tag);
        if !killed.is_empty() && !thread::panicking() {
            eprintln!("sandbox cleanup killed leftover processes {killed:?}");
        }
    }
}

/// A running slate; killed (SIGKILL) if dropped before it exits.
struct Proc {
    child: Child,
    output: mpsc::Receiver<(bool, Vec<u8>)>,
    status: Option<ExitStatus>,
}

/// What a finished slate left behind.
struct Out {
    code: Option<i32>,
    status: ExitStatus,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

impl Out {
    fn code(&self) -> i32 {
        self.code
            .unwrap_or_else(|| panic!("slate ended without an exit code: {}", self.status))
    }
}

impl std::fmt::Debug for Out {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} after {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.status, self.elapsed, self.stdout, self.stderr
        )
    }
}

impl Proc {
    fn spawn(mut cmd: Command) -> Self {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("start slate");
        let (tx, output) = mpsc::channel();
        let pipes: [(bool, Box<dyn Read + Send>); 2] = [
            (true, Box::new(child.stdout.take().unwrap())),
            (false, Box::new(child.stderr.take().unwrap())),
        ];
        for (is_stdout, mut pipe) in pipes {
            let tx = tx.clone();
            thread::spawn(move || {
                let mut buf = Vec::new();
                let _ = pipe.read_to_end(&mut buf);
                let _ = tx.send((is_stdout, buf));
            });
        }
        Self {
            child,
            output,
            status: None,
        }
    }

    fn pid(&self) -> Pid {
        Pid::from_raw(self.child.id() as i32)
    }

    fn signal(&self, sig: Signal) {
        assert!(self.status.is_none(), "slate already exited");
        kill(self.pid(), sig).expect("send signal to slate");
    }

    fn try_status(&mut self) -> Option<ExitStatus> {
        if self.status.is_none() {
            self.status = self.child.try_wait().expect("try_wait");
        }
        self.status
    }

    /// Waits for slate to exit (killing it and failing after `timeout`).
    fn wait(&mut self, timeout: Duration) -> Out {
        let start = Instant::now();
        let deadline = start + timeout;
        let status = loop {
            if let Some(s) = self.try_status() {
                break s;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("slate did not finish within {timeout:?} (killed it)");
            }
            thread::sleep(Duration::from_millis(10));
        };
        let elapsed = start.elapsed();
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        for _ in 0..2 {
            let (is_stdout, buf) = self
                .output
                .recv_timeout(Duration::from_secs(5))
                .expect("slate's stdout/stderr stayed open after it exited");
            if is_stdout {
                stdout = buf;
            } else {
                stderr = buf;
            }
        }
        Out {
            code: status.code(),
            status,
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
            elapsed,
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.try_status().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The leak checks below are only worth something if they can see a process:
/// a tagged, marked `sleep` is found by both detectors, and the sandbox's
/// cleanup kills it.
#[test]
fn leak_detectors_see_live_processes() {
    let sb = Sandbox::new();
    let marker = unique();
    let mut cmd = Command::new("/bin/sh");
    cmd.args(["-c", &format!("sleep 1000.{marker} & wait")])
        .env("SLATE_TEST_TAG", &sb.tag)
        .stdin(Stdio::null());
    let mut proc = Proc::spawn(cmd);
    wait_until(&mut proc, "the marked sleep to start", || {
        let sleep = format!("sleep 1000.{marker}");
        processes_with_marker(&marker)
            .iter()
            .any(|(_, cmd)| *cmd == sleep)
    });
    assert_eq!(
        tagged_processes(&sb.tag).len(),
        2,
        "sh and sleep carry the tag"
    );
    assert_eq!(kill_tagged(&sb.tag).len(), 2);
    assert_no_process_with(&format!("1000.{marker}"), "kill_tagged");
    assert!(proc.wait(WAIT_TIMEOUT).code.is_none(), "sh was killed");
}

// ---------------------------------------------------------------------------
// 1. The example plan
// ---------------------------------------------------------------------------

/// config.example.toml runs end to end on /bin/sh alone and releases to every
/// environment; the manual prod gate is approved by --auto-approve.
#[test]
fn example_plan_releases_with_auto_approve() {
    let sb = Sandbox::new();
    let root = TempDir::new().unwrap();
    let mut cmd = sb.cmd();
    cmd.env("SLATE_EXAMPLE_ROOT", root.path()).args([
        "run",
        EXAMPLE,
        "--headless",
        "--auto-approve",
    ]);
    let out = Proc::spawn(cmd).wait(RUN_TIMEOUT);
    assert_eq!(out.code(), 0, "{out:?}");

    let recs = sb.journal();
    assert_contiguous(&recs);
    assert_eq!(outcome(&recs), "released");
    let started = only(&recs, "run_started");
    assert_eq!(started["release"], "checkout");
    assert_eq!(started["version"], "2.4.0");
    let envs: Vec<&str> = started["environments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(envs, ["dev", "staging", "prod"]);
    let finished_envs: Vec<(u64, &str)> = events(&recs, "env_finished")
        .iter()
        .map(|e| (e["env"].as_u64().unwrap(), e["outcome"].as_str().unwrap()))
        .collect();
    assert_eq!(
        finished_envs,
        [(0, "deployed"), (1, "deployed"), (2, "deployed")]
    );

    let approved = only(&recs, "approved");
    assert_eq!(approved["gate"], "prod-approval");
    assert_eq!(approved["env"], 2);
    assert_eq!(approved["source"], "auto_approved");
    assert!(!has(&recs, "rollback_started"), "{:?}", types(&recs));
    for f in events(&recs, "step_finished") {
        assert_eq!(f["status"], "succeeded", "{f}");
    }

    // It really deployed: prod's live version is the new one, the canary is gone.
    let live = fs::read_to_string(root.path().join("prod/live/VERSION")).unwrap();
    assert_eq!(live.trim(), "2.4.0");
    assert!(!root.path().join("prod/canary").exists());
    let last = out.stdout.lines().last().unwrap_or("");
    assert!(last.contains("released"), "{out:?}");
}

// ---------------------------------------------------------------------------
// 2–3. Failure, rollback and retries
// ---------------------------------------------------------------------------

const FAILING: &str = r#"
[[environments]]
name = "dev"

[[environments]]
name = "prod"

[[stages]]
name = "a"
command = 'echo "do a" >> "$LEDGER"'
rollback = 'echo "undo a" >> "$LEDGER"'

[[stages]]
name = "b"
command = 'echo "do $WHO" >> "$LEDGER"'
rollback = 'echo "undo $WHO" >> "$LEDGER"'
env = { WHO = "b" }

[[stages]]
name = "note"
command = 'echo "do note" >> "$LEDGER"'

[[stages]]
name = "c"
command = 'echo "do c" >> "$LEDGER"; echo "c broke" >&2; exit 3'
rollback = 'echo "undo c" >> "$LEDGER"'

[[stages]]
name = "d"
command = 'echo "do d" >> "$LEDGER"'
rollback = 'echo "undo d" >> "$LEDGER"'
"#;

/// A failing stage rolls its environment back: the failing step first, then
/// the completed ones newest first; a step without a rollback command is
/// journaled as skipped; nothing after the failure runs.
#[test]
fn failing_stage_rolls_back_in_reverse_order() {
    let sb = Sandbox::new();
    let plan = sb.plan(&[HEAD, FAILING].concat());
    let out = sb.run_plan(&plan, &[]);
    assert_eq!(out.code(), 1, "{out:?}");

    assert_eq!(
        sb.ledger(),
        [
            "do a", "do b", "do note", "do c", "undo c", "undo b", "undo a"
        ]
    );
    let recs = sb.journal();
    assert_contiguous(&recs);
    assert_eq!(outcome(&recs), "rolled_back");

    let c = step_index(&recs, 0, "c");
    let note = step_index(&recs, 0, "note");
    let (a, b) = (step_index(&recs, 0, "a"), step_index(&recs, 0, "b"));
    let failed = finished(&recs, 0, c, 1);
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["exit_code"], 3);
    assert_eq!(output_lines(&recs, 0, c, false), ["c broke"]);

    let rb = only(&recs, "rollback_started");
    assert_eq!(rb["env"], 0);
    assert_eq!(rb["trigger"], json!({"kind": "step_failed", "step": c}));
    let rs = |k: &str, s| (k.to_string(), s);
    assert_eq!(
        rollback_steps(&recs),
        [
            rs("started", c),
            rs("finished", c),
            rs("skipped", note),
            rs("started", b),
            rs("finished", b),
            rs("started", a),
            rs("finished", a),
        ]
    );
    assert_eq!(
        only(&recs, "rollback_step_skipped")["reason"],
        "no rollback command"
    );
    for f in events(&recs, "rollback_step_finished") {
        assert_eq!(f["status"], "succeeded", "{f}");
    }
    assert_eq!(only(&recs, "rollback_verified")["ok"], true);
    assert_eq!(
        only(&recs, "env_finished"),
        &json!({"type": "env_finished", "env": 0, "outcome": "rolled_back"})
    );
    // prod never started.
    assert!(events(&recs, "env_started").iter().all(|e| e["env"] == 0));
}

/// A rollback command that fails, in a headless run that must never wait
/// (`--no-wait`): nobody can decide, so the environment is held where it is
/// and the run ends "held", exit 1.
#[test]
fn failing_rollback_is_held_headless() {
    let sb = Sandbox::new();
    let plan = sb.plan(
        &[
            HEAD,
            r#"
[[environments]]
name = "dev"

[[stages]]
name = "a"
command = 'echo "do a" >> "$LEDGER"'
rollback = 'echo "undo a fails" >> "$LEDGER"; exit 4'

[[stages]]
name = "b"
command = 'echo "do b" >> "$LEDGER"; exit 1'
"#,
        ]
        .concat(),
    );
    // With --no-wait nobody can decide, so the engine holds; without it the
    // run would wait for `slate decide` (tests/cli/recover.rs answers one).
    let out = sb.run_plan(&plan, &["--no-wait"]);
    assert_eq!(out.code(), 1, "{out:?}");
    assert_eq!(sb.ledger(), ["do a", "do b", "undo a fails"]);
    let recs = sb.journal();
    assert_eq!(outcome(&recs), "held");
    let blocked = only(&recs, "rollback_blocked");
    assert_eq!(blocked["step"], 0);
    assert_eq!(blocked["choices"], json!(["retry", "hold", "force"]));
    let decision = only(&recs, "rollback_decision");
    assert_eq!(decision["choice"], "hold");
    assert_eq!(decision["actor"]["via"], "engine");
    assert_eq!(only(&recs, "env_finished")["outcome"], "held");
}

/// A stage that fails once and then succeeds: retry_scheduled, a second
/// attempt with SLATE_ATTEMPT=2, release, exit 0 — and no rollback.
#[test]
fn retry_after_failure_then_success() {
    let sb = Sandbox::new();
    let plan = sb.plan(
        &[
            HEAD,
            r#"
[[environments]]
name = "dev"

[[stages]]
name = "flaky"
command = '''
n=$(cat "$COUNTER" 2>/dev/null || echo 0)
n=$((n + 1))
echo "$n" > "$COUNTER"
echo "flaky attempt $SLATE_ATTEMPT" >> "$LEDGER"
[ "$n" -ge 2 ]
'''
env = { COUNTER = "@DIR@/counter" }
rollback = 'echo "undo flaky" >> "$LEDGER"'
retries = 2
backoff = "200ms"
"#,
        ]
        .concat(),
    );
    let out = sb.run_plan(&plan, &[]);
    assert_eq!(out.code(), 0, "{out:?}");
    assert_eq!(sb.ledger(), ["flaky attempt 1", "flaky attempt 2"]);

    let recs = sb.journal();
    assert_contiguous(&recs);
    assert_eq!(outcome(&recs), "released");
    let first = finished(&recs, 0, 0, 1);
    assert_eq!(first["status"], "failed");
    assert_eq!(first["exit_code"], 1);
    let retry = only(&recs, "retry_scheduled");
    assert_eq!(retry["next_attempt"], 2);
    assert_eq!(retry["delay_ms"], 200);
    assert_eq!(finished(&recs, 0, 0, 2)["status"], "succeeded");
    let order: Vec<&str> = types(&recs)
        .into_iter()
        .filter(|t| matches!(*t, "step_started" | "step_finished" | "retry_scheduled"))
        .collect();
    assert_eq!(
        order,
        [
            "step_started",
            "step_finished",
            "retry_scheduled",
            "step_started",
            "step_finished"
        ]
    );
    assert!(!has(&recs, "rollback_started"));
    assert!(out.stdout.contains("retrying (attempt 2)"), "{out:?}");
}

/// Retries run out: retries + 1 attempts with doubling backoff, then rollback.
#[test]
fn retries_exhausted_roll_back() {
    let sb = Sandbox::new();
    let plan = sb.plan(
        &[
            HEAD,
            r#"
[[environments]]
name = "dev"

[[stages]]
name = "broken"
command = 'echo "attempt $SLATE_ATTEMPT" >> "$LEDGER"; exit 7'
rollback = 'echo "undo broken" >> "$LEDGER"'
retries = 2
backoff = "100ms"
"#,
        ]
        .concat(),
    );
    let out = sb.run_plan(&plan, &[]);
    assert_eq!(out.code(), 1, "{out:?}");
    assert_eq!(
        sb.ledger(),
        ["attempt 1", "attempt 2", "attempt 3", "undo broken"]
    );
    let recs = sb.journal();
    assert_eq!(outcome(&recs), "rolled_back");
    let delays: Vec<&Value> = events(&recs, "retry_scheduled")
        .iter()
        .map(|e| &e["delay_ms"])
        .collect();
    assert_eq!(delays, [&json!(100), &json!(200)]);
    let msg = recs.last().unwrap()["event"]["message"].as_str().unwrap();
    assert!(msg.contains("after 3 attempts"), "{msg}");
}

// ---------------------------------------------------------------------------
// 4. Timeouts kill the whole process group
// ---------------------------------------------------------------------------

/// Runs a 1s-timeout stage whose command is `body` (with `@M@` replaced by a
/// unique marker) and checks that it timed out, rolled back, and that no
/// process holding the marker survives slate.
fn timeout_leaves_no_process(body: &str, min_duration_ms: u64) {
    let sb = Sandbox::new();
    let marker = unique();
    let body = body.replace("@M@", &marker);
    let plan = sb.plan(
        &[
            HEAD,
            r#"
[[environments]]
name = "dev"

[[stages]]
name = "hang"
command = '''
echo "do hang" >> "$LEDGER"
@BODY@
'''
rollback = 'echo "undo hang" >> "$LEDGER"'
timeout = "1s"
"#,
        ]
        .concat()
        .replace("@BODY@", &body),
    );
    let out = sb.run_plan(&plan, &[]);
    // Check for leftovers before anything else can fail (and kill them if any).
    assert_no_process_with(&format!("1000.{marker}"), "stage timeout");
    assert_eq!(out.code(), 1, "{out:?}");
    assert!(out.elapsed < Duration::from_secs(15), "{out:?}");

    let recs = sb.journal();
    let f = finished(&recs, 0, 0, 1);
    assert_eq!(f["status"], "timed_out", "{f}");
    assert_eq!(f["message"], "timed out after 1s");
    let ms = f["duration_ms"].as_u64().unwrap();
    assert!(
        ms >= min_duration_ms,
        "step lasted {ms} ms, expected >= {min_duration_ms}"
    );
    assert_eq!(
        only(&recs, "rollback_started")["trigger"],
        json!({"kind": "step_failed", "step": 0})
    );
    assert_eq!(outcome(&recs), "rolled_back");
    assert_eq!(sb.ledger(), ["do hang", "undo hang"]);
}

/// A background sleep (grandchild) and a foreground one: both die on timeout.
#[test]
fn timeout_kills_background_grandchild() {
    timeout_leaves_no_process("sleep 1000.@M@1 &\nsleep 1000.@M@2", 1_000);
}

/// A grandchild that ignores SIGTERM is SIGKILLed with its process group.
#[test]
fn timeout_kills_grandchild_ignoring_sigterm() {
    timeout_leaves_no_process(
        "sh -c 'trap \"\" TERM; sleep 1000.@M@1' &\nsleep 1000.@M@2",
        1_000,
    );
}

/// The stage's own shell ignores SIGTERM too: SIGKILL follows after the 2 s grace.
#[test]
fn timeout_sigkills_group_after_grace_when_sigterm_is_ignored() {
    timeout_leaves_no_process("trap '' TERM\nsleep 1000.@M@1 &\nsleep 1000.@M@2", 2_900);
}

// ---------------------------------------------------------------------------
// 5. Manual gates in headless mode
// ---------------------------------------------------------------------------

const GATED: &str = r#"
[[environments]]
name = "dev"
gates = ["settle"]

[[stages]]
name = "a"
command = 'echo "do a" >> "$LEDGER"'
rollback = 'echo "undo a" >> "$LEDGER"'
gates_after = ["signoff"]

[[stages]]
name = "b"
command = 'echo "do b" >> "$LEDGER"'
rollback = 'echo "undo b" >> "$LEDGER"'

[[gates]]
name = "settle"
kind = "soak"
wait = "50ms"

[[gates]]
name = "signoff"
kind = "manual"
"#;

/// Without --approve/--auto-approve a manual gate fails closed, says how to
/// approve it, and the environment rolls back.
#[test]
fn manual_gate_fails_closed_without_approval() {
    let sb = Sandbox::new();
    let plan = sb.plan(&[HEAD, GATED].concat());
    let out = sb.run_plan(&plan, &["--no-wait"]);
    assert_eq!(out.code(), 1, "{out:?}");
    assert_eq!(sb.ledger(), ["do a", "undo a"]);

    let recs = sb.journal();
    let gate = step_index(&recs, 0, "gate signoff");
    let failed = only(&recs, "gate_failed");
    assert_eq!(failed["gate"], "signoff");
    let reason = failed["reason"].as_str().unwrap();
    assert!(reason.contains("signoff"), "{reason}");
    assert!(reason.contains("--approve signoff"), "{reason}");
    assert!(reason.contains("--auto-approve"), "{reason}");
    assert!(!has(&recs, "approved"));
    assert_eq!(
        only(&recs, "rollback_started")["trigger"],
        json!({"kind": "gate_failed", "step": gate, "gate": "signoff"})
    );
    assert_eq!(outcome(&recs), "rolled_back");
    assert!(out.stdout.contains("--approve signoff"), "{out:?}");
}

/// `--approve signoff` pre-approves the gate: journaled as pre_approved, released.
#[test]
fn manual_gate_passes_with_approve_flag() {
    let sb = Sandbox::new();
    let plan = sb.plan(&[HEAD, GATED].concat());
    let out = sb.run_plan(&plan, &["--approve", "signoff"]);
    assert_eq!(out.code(), 0, "{out:?}");
    assert_eq!(sb.ledger(), ["do a", "do b"]);
    let recs = sb.journal();
    let approved = only(&recs, "approved");
    assert_eq!(approved["gate"], "signoff");
    assert_eq!(approved["source"], "pre_approved");
    assert!(!has(&recs, "gate_failed"));
    assert_eq!(outcome(&recs), "released");
}

/// `--approve` naming something that is not a manual gate of the plan is a
/// usage error (exit 2) before anything runs.
#[test]
fn approve_of_unknown_or_non_manual_gate_is_usage_error() {
    let sb = Sandbox::new();
    let plan = sb.plan(&[HEAD, GATED].concat());
    for name in ["nosuchgate", "settle"] {
        let out = sb.run_plan(&plan, &["--approve", name]);
        assert_eq!(out.code(), 2, "--approve {name}: {out:?}");
        assert!(out.stderr.contains(name), "{out:?}");
        assert!(
            out.stderr.contains("signoff"),
            "the message should list the manual gates: {out:?}"
        );
    }
    assert!(sb.ledger().is_empty());
    assert!(sb.run_dirs().is_empty(), "no run may start");
}

// ---------------------------------------------------------------------------
// 6. --json
// ---------------------------------------------------------------------------

/// `--json` prints exactly the journal's records, one per line, in seq order.
#[test]
fn json_output_equals_the_journal() {
    let sb = Sandbox::new();
    let plan = sb.plan(
        &[
            HEAD,
            r#"
[[environments]]
name = "dev"

[[environments]]
name = "prod"

[[stages]]
name = "talk"
command = 'echo "hello from $SLATE_ENV"; echo "to stderr" >&2; echo "do talk" >> "$LEDGER"'
rollback = 'echo "undo talk" >> "$LEDGER"'
"#,
        ]
        .concat(),
    );
    let out = sb.run_plan(&plan, &["--json"]);
    assert_eq!(out.code(), 0, "{out:?}");

    let printed: Vec<Value> = out
        .stdout
        .lines()
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {l}"))
        })
        .collect();
    assert_contiguous(&printed);
    let journal = sb.journal();
    assert_eq!(printed.len(), journal.len());
    for (p, j) in printed.iter().zip(&journal) {
        assert_eq!(p, j);
    }
    assert_eq!(outcome(&printed), "released");
    assert_eq!(output_lines(&printed, 1, 0, false).len(), 2);
    assert!(
        events(&printed, "output")
            .iter()
            .any(|e| e["line"] == "hello from prod")
    );
    assert_eq!(sb.ledger(), ["do talk", "do talk"]);
}

// ---------------------------------------------------------------------------
// 7, 11. Signals
// ---------------------------------------------------------------------------

/// Three stages; `b` runs `@WAIT@` after writing "do b".
const SIGNALS: &str = r#"
[[environments]]
name = "dev"

[[stages]]
name = "a"
command = 'echo "do a" >> "$LEDGER"'
rollback = 'echo "undo a" >> "$LEDGER"'

[[stages]]
name = "b"
command = '''
echo "do b" >> "$LEDGER"
@WAIT@
'''
rollback = 'echo "undo b" >> "$LEDGER"'

[[stages]]
name = "c"
command = 'echo "do c" >> "$LEDGER"'
rollback = 'echo "undo c" >> "$LEDGER"'
"#;

/// `b` waits until the test creates the file `go`.
const WAIT_FOR_GO: &str = r#"while [ ! -e "@DIR@/go" ]; do sleep 0.02; done"#;

fn signal_plan(sb: &Sandbox, wait: &str) -> PathBuf {
    sb.plan(&[HEAD, SIGNALS].concat().replace("@WAIT@", wait))
}

/// The signal plan was aborted in stage b: a rollback triggered by the abort
/// undid b then a, and nothing else ran.
fn assert_aborted_and_undone(sb: &Sandbox, recs: &[Value]) {
    assert_eq!(
        only(recs, "rollback_started")["trigger"],
        json!({"kind": "abort"})
    );
    assert_eq!(outcome(recs), "aborted");
    assert_eq!(sb.ledger(), ["do a", "do b", "undo b", "undo a"]);
}

/// Waits until stage b's process is running (and slate's signal handlers long installed).
fn wait_for_stage_b(sb: &Sandbox, proc: &mut Proc) {
    wait_until(proc, "stage b to run", || {
        sb.ledger().iter().any(|l| l == "do b")
            && events(&sb.journal(), "process_started")
                .iter()
                .any(|e| e["step"] == 1)
    });
}

fn wait_for_record(sb: &Sandbox, proc: &mut Proc, t: &str) {
    wait_until(proc, t, || has(&sb.journal(), t));
}

/// Ctrl-C twice during a long stage: pause requested, then abort — the stage
/// is killed, the environment rolls back, the run ends "aborted", exit 1.
#[test]
fn sigint_twice_aborts_running_stage_and_rolls_back() {
    let sb = Sandbox::new();
    let marker = unique();
    let plan = signal_plan(&sb, &format!("sleep 30.{marker}"));
    let mut proc = sb.spawn_plan(&plan, &[]);
    wait_for_stage_b(&sb, &mut proc);

    proc.signal(Signal::SIGINT);
    wait_for_record(&sb, &mut proc, "pause_requested");
    assert!(
        proc.try_status().is_none(),
        "one Ctrl-C must not end the run"
    );
    assert!(!has(&sb.journal(), "abort_requested"));

    proc.signal(Signal::SIGINT);
    let out = proc.wait(WAIT_TIMEOUT);
    assert_no_process_with(&format!("30.{marker}"), "abort");
    assert_eq!(out.code(), 1, "{out:?}");

    let recs = sb.journal();
    assert_contiguous(&recs);
    assert_in_order(
        &recs,
        &[
            "pause_requested",
            "abort_requested",
            "step_finished",
            "rollback_started",
            "run_finished",
        ],
    );
    let abort = only(&recs, "abort_requested");
    assert_eq!(abort["reason"], "interrupted twice (Ctrl-C)");
    assert_eq!(abort["actor"]["via"], "headless");
    let killed = finished(&recs, 0, 1, 1);
    assert_eq!(killed["status"], "killed", "{killed}");
    assert_aborted_and_undone(&sb, &recs);
    assert!(
        out.stderr.contains("pausing at the next safe point"),
        "{out:?}"
    );
}

/// One Ctrl-C lets the running stage finish and pauses before the next one;
/// a second Ctrl-C while paused aborts and rolls back (nothing to kill).
#[test]
fn sigint_pauses_at_next_safe_point_then_aborts() {
    let sb = Sandbox::new();
    let plan = signal_plan(&sb, WAIT_FOR_GO);
    let mut proc = sb.spawn_plan(&plan, &[]);
    wait_for_stage_b(&sb, &mut proc);

    proc.signal(Signal::SIGINT);
    wait_for_record(&sb, &mut proc, "pause_requested");
    fs::write(sb.path("go"), "").unwrap();
    wait_for_record(&sb, &mut proc, "paused");

    let recs = sb.journal();
    let c = step_index(&recs, 0, "c");
    let paused = only(&recs, "paused");
    assert_eq!((&paused["env"], &paused["step"]), (&json!(0), &json!(c)));
    assert_eq!(finished(&recs, 0, 1, 1)["status"], "succeeded");
    assert!(
        !sb.ledger().contains(&"do c".to_string()),
        "c ran while paused"
    );
    assert!(proc.try_status().is_none(), "a paused run stays up");

    proc.signal(Signal::SIGINT);
    let out = proc.wait(WAIT_TIMEOUT);
    assert_eq!(out.code(), 1, "{out:?}");
    let recs = sb.journal();
    assert_in_order(
        &recs,
        &[
            "pause_requested",
            "paused",
            "abort_requested",
            "rollback_started",
        ],
    );
    assert!(
        events(&recs, "step_finished")
            .iter()
            .all(|e| e["status"] == "succeeded")
    );
    assert_aborted_and_undone(&sb, &recs);
}

/// SIGTERM aborts at once (no pause first), the same way as a double Ctrl-C.
#[test]
fn sigterm_aborts_running_stage_and_rolls_back() {
    let sb = Sandbox::new();
    let marker = unique();
    let plan = signal_plan(&sb, &format!("sleep 30.{marker}"));
    let mut proc = sb.spawn_plan(&plan, &[]);
    wait_for_stage_b(&sb, &mut proc);

    proc.signal(Signal::SIGTERM);
    let out = proc.wait(WAIT_TIMEOUT);
    assert_no_process_with(&format!("30.{marker}"), "SIGTERM abort");
    assert_eq!(out.code(), 1, "{out:?}");

    let recs = sb.journal();
    assert!(!has(&recs, "pause_requested"));
    assert_eq!(only(&recs, "abort_requested")["reason"], "SIGTERM");
    assert_eq!(finished(&recs, 0, 1, 1)["status"], "killed");
    assert_aborted_and_undone(&sb, &recs);
}

/// SIGHUP (the terminal went away) is ignored: the release carries on.
#[test]
fn sighup_is_ignored_and_the_run_releases() {
    let sb = Sandbox::new();
    let plan = signal_plan(&sb, WAIT_FOR_GO);
    let mut proc = sb.spawn_plan(&plan, &[]);
    wait_for_stage_b(&sb, &mut proc);

    proc.signal(Signal::SIGHUP);
    fs::write(sb.path("go"), "").unwrap();
    let out = proc.wait(WAIT_TIMEOUT);
    assert_eq!(out.code(), 0, "{out:?}");
    let recs = sb.journal();
    assert_eq!(outcome(&recs), "released");
    for t in ["pause_requested", "abort_requested", "rollback_started"] {
        assert!(!has(&recs, t), "unexpected {t}: {:?}", types(&recs));
    }
    assert_eq!(sb.ledger(), ["do a", "do b", "do c"]);
}

/// SIGTERM while the run waits for a decision nobody will make (its rollback
/// is blocked after an undo failed): the engine takes the safe choice
/// itself, holding the environment, journals why, and exits at once instead
/// of waiting for a person (issue 15, item 2).
#[test]
fn sigterm_at_a_blocked_rollback_holds_and_exits() {
    let sb = Sandbox::new();
    let plan = sb.plan(&format!(
        r#"{HEAD}
[[environments]]
name = "dev"

[[stages]]
name = "a"
command = 'echo "do a" >> "$LEDGER"'
rollback = 'echo "undo a fails" >> "$LEDGER"; exit 1'

[[stages]]
name = "b"
command = 'echo "do b" >> "$LEDGER"; exit 1'
"#
    ));
    let mut proc = sb.spawn_plan(&plan, &[]);
    wait_for_record(&sb, &mut proc, "rollback_blocked");

    proc.signal(Signal::SIGTERM);
    let out = proc.wait(WAIT_TIMEOUT);
    assert_eq!(out.code(), 1, "{out:?}");
    assert!(
        out.stderr.contains("SIGTERM"),
        "says why it stops: {}",
        out.stderr
    );
    let recs = sb.journal();
    assert_eq!(outcome(&recs), "held", "{:?}", types(&recs));
    let decided = only(&recs, "rollback_decision");
    assert_eq!(decided["choice"], "hold");
    assert!(
        decided["note"].as_str().unwrap().contains("SIGTERM"),
        "{decided}"
    );
    assert_eq!(sb.ledger(), ["do a", "do b", "undo a fails"]);
}

// ---------------------------------------------------------------------------
// 8. Values never become shell syntax
// ---------------------------------------------------------------------------

/// Hostile release/environment/config/env values reach commands only as
/// variables: nothing they spell is executed, and they print back literally,
/// in forward and rollback commands alike.
#[test]
fn plan_values_never_become_shell_syntax() {
    let sb = Sandbox::new();
    let plan = sb.plan(
        r#"
[release]
name = 'svc;touch @DIR@/inject-name'
version = '$(touch @DIR@/inject-version)'
previous_version = '`touch @DIR@/inject-previous`'
owner = "tests"

[[environments]]
name = ';touch @DIR@/inject-env'
config = { motd = '"; touch @DIR@/inject-config; echo "' }

[[stages]]
name = "show"
command = '''
printf 'version=%s\n' "$SLATE_VERSION"
printf 'previous=%s\n' "$SLATE_PREVIOUS_VERSION"
printf 'env=%s\n' "$SLATE_ENV"
printf 'release=%s\n' "$SLATE_RELEASE"
printf 'motd=%s\n' "$SLATE_CONFIG_MOTD"
printf 'extra=%s\n' "$EXTRA"
'''
env = { EXTRA = "$(touch @DIR@/inject-stage-env)" }
rollback = 'echo "target=$SLATE_TARGET_VERSION rollback=$SLATE_ROLLBACK"'

[[stages]]
name = "fail"
command = 'exit 1'
"#,
    );
    let out = sb.run_plan(&plan, &[]);
    assert_eq!(out.code(), 1, "{out:?}");

    let dir = sb.dir.path().to_str().unwrap();
    let injected: Vec<String> = fs::read_dir(sb.dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("inject"))
        .collect();
    assert!(
        injected.is_empty(),
        "values ran as shell code: {injected:?}"
    );

    let recs = sb.journal();
    assert_eq!(
        only(&recs, "run_started")["version"],
        format!("$(touch {dir}/inject-version)")
    );
    assert_eq!(
        output_lines(&recs, 0, 0, false),
        [
            format!("version=$(touch {dir}/inject-version)"),
            format!("previous=`touch {dir}/inject-previous`"),
            format!("env=;touch {dir}/inject-env"),
            format!("release=svc;touch {dir}/inject-name"),
            format!("motd=\"; touch {dir}/inject-config; echo \""),
            format!("extra=$(touch {dir}/inject-stage-env)"),
        ]
    );
    assert_eq!(
        output_lines(&recs, 0, 0, true),
        [format!("target=`touch {dir}/inject-previous` rollback=1")]
    );
    assert_eq!(outcome(&recs), "rolled_back");
    assert!(
        out.stdout
            .contains(&format!("version=$(touch {dir}/inject-version)")),
        "{out:?}"
    );
}

// ---------------------------------------------------------------------------
// 9. Invalid plans and usage
// ---------------------------------------------------------------------------

/// An invalid plan exits 2 with every problem as `path:line:col: message`,
/// and nothing runs.
#[test]
fn invalid_plan_exits_2_with_located_errors() {
    let sb = Sandbox::new();
    let text = [
        HEAD,
        r#"
[[stages]]
name = "a"
command = 'echo "do a" >> "$LEDGER"'
timeout = "soon"

[[stages]]
name = "b"
command = 'echo "do b" >> "$LEDGER"'
retries = -1
"#,
    ]
    .concat();
    let plan = sb.plan(&text);
    let out = sb.run_plan(&plan, &[]);
    assert_eq!(out.code(), 2, "{out:?}");

    let locate = |needle: &str| {
        let (i, line) = text
            .lines()
            .enumerate()
            .find(|(_, l)| l.contains(needle))
            .unwrap();
        let col = line.find('=').unwrap() + 3; // 1-based column of the value
        format!("{}:{}:{}: ", plan.display(), i + 1, col)
    };
    for needle in ["\"soon\"", "-1"] {
        let want = locate(needle);
        assert!(
            out.stderr.lines().any(|l| l.starts_with(&want)),
            "expected a line starting with {want:?}: {out:?}"
        );
    }
    assert!(sb.ledger().is_empty());
    assert!(sb.run_dirs().is_empty());

    let missing = sb.run(&["run", "no-such-plan.toml", "--headless"]);
    assert_eq!(missing.code(), 2, "{missing:?}");
    assert!(missing.stderr.contains("no-such-plan.toml"), "{missing:?}");
}

/// Without --headless there is no cockpit yet: a message and exit 2, nothing runs.
#[test]
fn run_without_headless_exits_2() {
    let sb = Sandbox::new();
    let plan = sb.plan(&[HEAD, FAILING].concat());
    let out = sb.run(&["run", plan.to_str().unwrap()]);
    assert_eq!(out.code(), 2, "{out:?}");
    assert!(out.stderr.contains("--headless"), "{out:?}");
    assert!(sb.ledger().is_empty());
    assert!(sb.run_dirs().is_empty());

    // --json only makes sense with --headless.
    let out = sb.run(&["run", plan.to_str().unwrap(), "--json"]);
    assert_eq!(out.code(), 2, "{out:?}");
    assert!(sb.run_dirs().is_empty());
}

// ---------------------------------------------------------------------------
// 10. slate show
// ---------------------------------------------------------------------------

fn show(sb: &Sandbox, args: &[&str]) -> Out {
    let mut all = vec!["show"];
    all.extend_from_slice(args);
    sb.run(&all)
}

/// `slate show` rebuilds a run from its journal: latest, by id prefix, as
/// JSON; a torn last line only warns; a corrupt middle line is an error
/// naming the line.
#[test]
fn show_rebuilds_runs_and_judges_damaged_journals() {
    let sb = Sandbox::new();
    let none = show(&sb, &["latest"]);
    assert_eq!(none.code(), 2, "{none:?}");
    assert!(none.stderr.contains("no runs"), "{none:?}");

    let ok_plan = sb.plan(
        &[
            HEAD,
            r#"
[[environments]]
name = "dev"

[[stages]]
name = "a"
command = 'echo "do a" >> "$LEDGER"'
"#,
        ]
        .concat(),
    );
    assert_eq!(sb.run_plan(&ok_plan, &[]).code(), 0);
    let first_run = sb.run_dirs().pop().unwrap();
    let first_id = first_run.file_name().unwrap().to_str().unwrap().to_string();
    let journal = first_run.join("journal.ndjson");
    let records = read_journal(&journal).len();

    let parse = |out: &Out| -> Value {
        serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("show --json is not JSON ({e}): {out:?}"))
    };
    let out = show(&sb, &["latest", "--json"]);
    assert_eq!(out.code(), 0, "{out:?}");
    let state = parse(&out);
    assert_eq!(state["run_id"], first_id.as_str());
    assert_eq!(state["outcome"], "released");
    assert_eq!(state["last_seq"], records);
    assert_eq!(state["envs"][0]["name"], "dev");
    assert!(out.stderr.is_empty(), "{out:?}");

    // A second, failing run becomes "latest"; the first stays reachable by id.
    let bad_plan = sb.plan(&[HEAD, FAILING].concat());
    assert_eq!(sb.run_plan(&bad_plan, &[]).code(), 1);
    assert_eq!(sb.run_dirs().len(), 2);
    let latest = show(&sb, &["--json"]);
    assert_eq!(parse(&latest)["outcome"], "rolled_back", "{latest:?}");
    let by_id = show(&sb, &[&first_id]);
    assert_eq!(by_id.code(), 0, "{by_id:?}");
    assert!(by_id.stdout.contains(&first_id), "{by_id:?}");
    assert!(by_id.stdout.contains("released"), "{by_id:?}");

    // A torn last line (crash mid-write): tolerated, with a warning.
    let intact = fs::read_to_string(&journal).unwrap();
    fs::write(
        &journal,
        format!("{intact}{{\"seq\":{},\"ts\":\"20", records + 1),
    )
    .unwrap();
    let torn = show(&sb, &[&first_id, "--json"]);
    assert_eq!(torn.code(), 0, "{torn:?}");
    assert!(torn.stderr.contains("warning"), "{torn:?}");
    assert!(torn.stderr.contains("torn"), "{torn:?}");
    let state = parse(&torn);
    assert_eq!(state["outcome"], "released");
    assert_eq!(state["last_seq"], records);

    // A corrupt line in the middle: an error that names the line.
    let mut lines: Vec<&str> = intact.lines().collect();
    lines[2] = "this is not a journal record";
    fs::write(&journal, lines.join("\n") + "\n").unwrap();
    let corrupt = show(&sb, &[&first_id, "--json"]);
    assert_ne!(corrupt.code(), 0, "{corrupt:?}");
    assert!(corrupt.stderr.contains("line 3"), "{corrupt:?}");
    assert!(corrupt.stdout.is_empty(), "{corrupt:?}");
}

/// The signal handlers must be in place before anything is journaled: a
/// Ctrl-C in the first milliseconds of a run must be handled like any other
/// (pause requested), not kill slate and leave a journal with no
/// run_finished. Tried a few times because the window is a few milliseconds.
#[test]
fn sigint_right_after_start_is_handled() {
    for attempt in 1..=10 {
        let sb = Sandbox::new();
        let plan = sb.plan(
            &[
                HEAD,
                r#"
[[environments]]
name = "dev"

[[stages]]
name = "a"
command = 'sleep 0.3; echo "do a" >> "$LEDGER"'
"#,
            ]
            .concat(),
        );
        let mut proc = sb.spawn_plan(&plan, &[]);
        let deadline = Instant::now() + WAIT_TIMEOUT;
        while !has(&sb.journal(), "run_started") {
            assert!(Instant::now() < deadline, "run_started never appeared");
            assert!(
                proc.try_status().is_none(),
                "slate exited before run_started"
            );
        }
        proc.signal(Signal::SIGINT);
        let out = proc.wait(WAIT_TIMEOUT);
        let recs = sb.journal();
        assert!(
            out.code.is_some(),
            "attempt {attempt}: SIGINT killed slate ({}); journal ends with {:?}",
            out.status,
            types(&recs).last()
        );
        assert_eq!(
            ty(recs.last().unwrap()),
            "run_finished",
            "attempt {attempt}"
        );
        assert!(has(&recs, "pause_requested"), "attempt {attempt}");
    }
}

// ---------------------------------------------------------------------------
// Rollback verification
// ---------------------------------------------------------------------------

/// prod deploys, fails at `boom`, and never reaches `after`, its last step.
fn verified_plan(verify: &str) -> String {
    format!(
        r#"{HEAD}
[[environments]]
name = "prod"
{verify}

[[stages]]
name = "deploy"
command = 'echo "do deploy" >> "$LEDGER"'
rollback = 'echo "undo deploy" >> "$LEDGER"'

[[stages]]
name = "boom"
command = 'exit 3'

[[stages]]
name = "after"
command = 'echo "do after" >> "$LEDGER"'
"#
    )
}

/// The text of a multi-line `verify_rollback` command, which must never
/// be pasted into a message.
const VERIFY_TEXT: &str = "test -s \"$LEDGER\"  # VERIFY-TEXT-MARKER";

/// Every string in a record but the plan's own text.
fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(o) => o
            .iter()
            .filter(|(k, _)| k.as_str() != "plan_source")
            .for_each(|(_, x)| strings(x, out)),
        _ => {}
    }
}

/// `verify_rollback` belongs to the rollback: it has its own records, and
/// none of them (nor its command's output) is filed under a step — the last
/// step, which never ran, stays untouched. Messages name the check, never
/// its command's text, so a multi-line command breaks no line anywhere;
/// its output is kept as plain text.
#[test]
fn verify_rollback_is_the_rollbacks_own_and_is_named_not_quoted() {
    for (exits, outcome) in [(0, "rolled_back"), (1, "held")] {
        let sb = Sandbox::new();
        let plan = sb.plan(&verified_plan(&format!(
            "verify_rollback = {{ command = '''\nprintf 'checking \\033[2Jthe old \\033]0;pwned\\007version\\n'\n{VERIFY_TEXT}\nexit {exits}\n''' }}"
        )));
        let out = sb.run_plan(&plan, &[]);
        assert_eq!(out.code(), 1, "{out:?}");
        let recs = sb.journal();
        assert_eq!(common::outcome(&recs), outcome);
        let after = step_index(&recs, 0, "after");
        // Its own records, the command's output inside the last one…
        let started = only(&recs, "rollback_verify_started");
        assert_eq!(started["check"], "verify_rollback");
        let verified = only(&recs, "rollback_verified").clone();
        assert_eq!(verified["check"], "verify_rollback");
        assert_eq!(verified["ok"], exits == 0);
        assert_eq!(verified["output"], json!(["checking the old version"]));
        // …and nothing filed under a step while it ran.
        let seq_of = |t: &str| {
            recs.iter().find(|r| ty(r) == t).unwrap()["seq"]
                .as_u64()
                .unwrap()
        };
        let (from, to) = (
            seq_of("rollback_verify_started"),
            seq_of("rollback_verified"),
        );
        assert_eq!(to, from + 1, "{recs:?}");
        assert!(
            recs.iter().all(|r| r["event"]["step"] != after),
            "the last step never ran: {recs:?}"
        );
        // Named, never quoted: no message holds the command or a newline.
        let mut texts = Vec::new();
        recs.iter().for_each(|r| strings(r, &mut texts));
        for t in &texts {
            assert!(
                !t.contains("VERIFY-TEXT-MARKER") && !t.contains('\n'),
                "{t:?}"
            );
        }
        let message = &only(&recs, "run_finished")["message"];
        if exits == 0 {
            assert_eq!(verified["message"], "check command passed");
            assert_eq!(
                message,
                "prod rolled back: boom failed: exited with status 3"
            );
            assert!(
                out.stdout
                    .contains("prod ✔ rollback verified by verify_rollback: check command passed"),
                "{}",
                out.stdout
            );
        } else {
            assert_eq!(verified["message"], "check command exited with status 1");
            assert_eq!(
                message,
                "prod held: verify_rollback failed: check command exited with status 1"
            );
            assert!(
                out.stdout
                    .contains("prod ✘ rollback not verified: verify_rollback failed"),
                "{}",
                out.stdout
            );
        }
        assert!(!out.stdout.contains("VERIFY-TEXT-MARKER"), "{}", out.stdout);
        // Its output is kept as plain text: no escape reaches a terminal.
        assert!(
            !out.stdout.contains('\x1b') && !out.stdout.contains('\x07'),
            "{:?}",
            out.stdout
        );
        // The state files it under the rollback too; the dossier says so.
        let show = sb.run(&["show", "latest", "--json"]);
        let state: Value = serde_json::from_str(&show.stdout).unwrap();
        let prod = &state["envs"][0];
        assert_eq!(
            prod["verification"]["state"],
            if exits == 0 { "passed" } else { "failed" }
        );
        assert_eq!(prod["steps"][after as usize]["state"], "pending");
        assert_eq!(prod["steps"][after as usize]["output_lines"], 0);
        let dossier = sb.run(&["dossier", "latest"]).stdout;
        assert!(!dossier.contains("VERIFY-TEXT-MARKER"), "{dossier}");
        assert!(
            dossier.contains(if exits == 0 {
                "Recovery ✔ verified by `verify_rollback`: check command passed."
            } else {
                "Recovery ✘ not verified: `verify_rollback` failed: check command exited with status 1."
            }),
            "{dossier}"
        );
    }
}

/// Undo commands that exit 0 are not a verification. Without a
/// `verify_rollback`, every output says "rolled back (not verified: no
/// verify_rollback)", never "verified", and the dossier asks for one.
#[test]
fn a_rollback_nothing_checked_is_never_called_verified() {
    let sb = Sandbox::new();
    let plan = sb.plan(&verified_plan(""));
    let out = sb.run_plan(&plan, &[]);
    assert_eq!(out.code(), 1, "{out:?}");
    assert_eq!(sb.ledger(), ["do deploy", "undo deploy"]);
    let recs = sb.journal();
    let verified = only(&recs, "rollback_verified");
    assert_eq!(verified["ok"], true);
    assert!(verified.get("check").is_none(), "{verified}");
    assert_eq!(
        verified["message"],
        "not verified: no verify_rollback; 1 rollback command(s) succeeded, 1 skipped"
    );
    assert_eq!(
        only(&recs, "run_finished")["message"],
        "prod rolled back (not verified: no verify_rollback): boom failed: exited with status 3"
    );
    assert!(
        !out.stdout.contains("rollback verified") && !out.stdout.contains(", verified"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("prod ↶ rolled back (not verified: no verify_rollback; 1 rollback command(s) succeeded, 1 skipped)"),
        "{}",
        out.stdout
    );
    let dossier = sb.run(&["dossier", "latest"]).stdout;
    for said in [
        "✘ rolled back (not verified: no verify\\_rollback)",
        "Recovery: rolled back (not verified: no verify\\_rollback; 1 rollback command(s) succeeded, 1 skipped).",
        "prod: nothing: it has no `verify_rollback`, so a rollback there is not verified. Add one",
        "prod rolled back to 1.0.0 (not verified: no verify\\_rollback).",
    ] {
        assert!(dossier.contains(said), "{said}\n{dossier}");
    }
    assert!(
        !dossier.contains(", verified") && !dossier.contains("✔ verified"),
        "{dossier}"
    );
    let memory = sb.run(&["memory", "--json"]).stdout;
    assert!(
        memory.contains("prod rolled back to 1.0.0 (not verified: no verify_rollback)."),
        "{memory}"
    );
}
