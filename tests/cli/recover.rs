//! Crash recovery, black-box: the real binary is SIGKILLed at many points of
//! a three-environment plan (during each stage, between stages, in a soak, at
//! a gate, while paused, in a retry's backoff, mid-rollback, at a blocked
//! rollback, twice in a row…), `slate recover` takes each run over, and the
//! ledger that every stage command appends to proves that each stage the
//! journal says completed ran exactly once and that every run ends released
//! or rolled back — never stuck, never half-done, and with nothing left running.
//!
//! Stage commands hold while a file named after them exists, so each kill
//! lands where the test says, not where the scheduler happens to be.

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::sandbox::Sandbox;
use slate::engine::event::StepStatus;
use slate::engine::state::{EnvStatus, RunState, StepState, UndoState};
use slate::engine::{Event, Record};

const LIMIT: Duration = Duration::from_secs(60);

/// One stage command: `start`, hold while `hold/KEY` exists, `fail` if
/// `fail/KEY` exists (or `failonce/KEY`, removed as it fails), else `done`.
const STEP_SH: &str = r#"key="$1@$SLATE_ENV"
echo "start $key" >> "$LEDGER"
while [ -e "@DIR@/hold/$key" ]; do sleep 0.02; done
if [ -e "@DIR@/failonce/$key" ]; then rm -f "@DIR@/failonce/$key"; echo "fail $key" >> "$LEDGER"; exit 1; fi
if [ -e "@DIR@/fail/$key" ]; then echo "fail $key" >> "$LEDGER"; exit 1; fi
echo "done $key" >> "$LEDGER"
"#;

fn plan(irreversible_migrate: bool, idempotent_deploy: bool, verify: bool) -> String {
    let verify = if verify {
        "verify_rollback = { command = 'sh @DIR@/step.sh verify' }"
    } else {
        ""
    };
    format!(
        common::release_plan!("crashy" "2.0.0" from "1.0.0" by "qa"; r#"
[[environments]]
name = "dev"

[[environments]]
name = "staging"
gates = ["bake"]

[[environments]]
name = "prod"
gates = ["go"]
{verify}

[[stages]]
name = "build"
command = 'sh @DIR@/step.sh build'
rollback = 'sh @DIR@/step.sh undo-build'
timeout = "120s"
retries = 1
backoff = "1500ms"

[[stages]]
name = "migrate"
command = 'sh @DIR@/step.sh migrate'
rollback = 'sh @DIR@/step.sh undo-migrate'
timeout = "120s"
irreversible = {irreversible_migrate}

[[stages]]
name = "deploy"
command = 'sh @DIR@/step.sh deploy'
rollback = 'sh @DIR@/step.sh undo-deploy'
timeout = "120s"
idempotent = {idempotent_deploy}

[[gates]]
name = "bake"
kind = "soak"
wait = "1500ms"

[[gates]]
name = "go"
kind = "manual"
"#),
        verify = verify,
        irreversible_migrate = irreversible_migrate,
        idempotent_deploy = idempotent_deploy
    )
}

/// What the test does, in order.
enum Act {
    /// Polls the journal until this holds.
    Until(&'static str, fn(&RunState) -> bool),
    /// SIGKILLs the engine driving the run.
    Kill,
    /// Starts `slate recover RUN --headless [--interrupted X]` and waits
    /// until it has journaled its takeover.
    Recover(Option<&'static str>),
    /// Lets the held stage command `KEY` go on.
    Unhold(&'static str),
    /// Polls the ledger until it holds this line.
    Ledger(&'static str),
    /// A CLI verb on the run (`RUN` stands for its id).
    Cli(&'static [&'static str]),
    /// Cuts the journal's last line in half, as a crash mid-write would.
    TearTail,
}

struct Case {
    holds: &'static [&'static str],
    fails: &'static [&'static str],
    fail_once: &'static [&'static str],
    irreversible_migrate: bool,
    idempotent_deploy: bool,
    /// prod's rollback is verified by `step.sh verify`.
    verify: bool,
    /// `slate run --approve go` (else the run waits at the prod gate).
    approve: bool,
    acts: &'static [Act],
    /// How the run must end.
    outcome: &'static str,
    /// What else this case proves, from the final journal.
    check: Option<fn(&[Record])>,
}

const BASE: Case = Case {
    holds: &[],
    fails: &[],
    fail_once: &[],
    irreversible_migrate: false,
    idempotent_deploy: false,
    verify: false,
    approve: true,
    acts: &[],
    outcome: "released",
    check: None,
};

struct World {
    sb: Sandbox,
    run_dir: PathBuf,
    engine: Option<Child>,
    recoveries: usize,
}

fn records(run_dir: &Path) -> Vec<Record> {
    slate::journal::read_journal(&run_dir.join("journal.ndjson"))
        .map(|j| j.records)
        .unwrap_or_default()
}

fn state(run_dir: &Path) -> RunState {
    RunState::replay(&records(run_dir))
}

/// Whether the step that runs stage `stage` in environment `env` is running
/// (its process started) or, for `undo`, being undone.
fn step_of<'a>(
    s: &'a RunState,
    env: &str,
    stage: &str,
) -> Option<&'a slate::engine::state::StepView> {
    s.envs
        .iter()
        .find(|e| e.name == env)?
        .steps
        .iter()
        .find(|st| st.stage.as_deref() == Some(stage))
}

fn running(s: &RunState, env: &str, stage: &str) -> bool {
    step_of(s, env, stage).is_some_and(|st| st.state == StepState::Running && st.pgid.is_some())
}

fn undoing(s: &RunState, env: &str, stage: &str) -> bool {
    step_of(s, env, stage).is_some_and(|st| {
        st.undo
            .as_ref()
            .is_some_and(|u| u.state == UndoState::Running)
            && st.pgid.is_some()
    })
}

fn succeeded(s: &RunState, env: &str, stage: &str) -> bool {
    step_of(s, env, stage).is_some_and(|st| st.state == StepState::Succeeded)
}

impl World {
    fn start(case: &Case) -> World {
        let sb = Sandbox::new();
        std::fs::write(
            sb.path("step.sh"),
            STEP_SH.replace("@DIR@", sb.dir.path().to_str().unwrap()),
        )
        .unwrap();
        for (dir, keys) in [
            ("hold", case.holds),
            ("fail", case.fails),
            ("failonce", case.fail_once),
        ] {
            std::fs::create_dir_all(sb.path(dir)).unwrap();
            for k in keys {
                std::fs::write(sb.path(dir).join(k), "").unwrap();
            }
        }
        let plan = sb.plan(
            "plan.toml",
            &plan(
                case.irreversible_migrate,
                case.idempotent_deploy,
                case.verify,
            ),
        );
        let mut args = vec!["run", plan.to_str().unwrap(), "--headless"];
        if case.approve {
            args.extend(["--approve", "go"]);
        }
        let engine = sb
            .slate()
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start slate");
        let mut run_dir = None;
        sb.wait_for("the run's journal", LIMIT, || {
            run_dir = common::newest_run(sb.home());
            run_dir.is_some()
        });
        World {
            sb,
            run_dir: run_dir.unwrap(),
            engine: Some(engine),
            recoveries: 0,
        }
    }

    fn run_id(&self) -> String {
        self.run_dir
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned()
    }

    fn act(&mut self, act: &Act) {
        match act {
            Act::Until(what, cond) => {
                let dir = self.run_dir.clone();
                self.sb.wait_for(what, LIMIT, || cond(&state(&dir)));
            }
            Act::Kill => {
                let mut child = self.engine.take().expect("an engine to kill");
                child.kill().expect("SIGKILL the engine");
                child.wait().expect("reap the engine");
            }
            Act::Recover(choice) => {
                let id = self.run_id();
                let mut args = vec!["recover", id.as_str(), "--headless"];
                if let Some(c) = choice {
                    args.extend(["--interrupted", c]);
                }
                let child = self
                    .sb
                    .slate()
                    .args(&args)
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("start slate recover");
                self.engine = Some(child);
                self.recoveries += 1;
                let (dir, n) = (self.run_dir.clone(), self.recoveries);
                self.sb.wait_for("the recovery's takeover", LIMIT, || {
                    state(&dir).recoveries.len() == n
                });
            }
            Act::Unhold(key) => {
                let _ = std::fs::remove_file(self.sb.path("hold").join(key));
            }
            Act::Ledger(line) => {
                let sb = &self.sb;
                sb.wait_for(line, LIMIT, || sb.ledger().iter().any(|l| l == line));
            }
            Act::Cli(args) => {
                let id = self.run_id();
                let args: Vec<&str> = args
                    .iter()
                    .map(|a| if *a == "RUN" { id.as_str() } else { a })
                    .collect();
                let out = self.sb.run(&args, LIMIT);
                assert!(out.status.success(), "slate {args:?}: {out:?}");
            }
            Act::TearTail => {
                use std::io::Write;
                let mut f = std::fs::OpenOptions::new()
                    .append(true)
                    .open(self.run_dir.join("journal.ndjson"))
                    .unwrap();
                f.write_all(
                    br#"{"seq":999999,"ts":"2026-11-22T10:00:00Z","event":{"type":"env_st"#,
                )
                .unwrap();
            }
        }
    }

    /// Drives the recovered run to its end: approves the gate, forces a
    /// blocked rollback, resumes a pause — whatever it waits for.
    fn finish(&mut self) -> RunState {
        let id = self.run_id();
        let deadline = Instant::now() + LIMIT;
        let mut asked = std::collections::HashSet::new();
        loop {
            let s = state(&self.run_dir);
            let exited = self
                .engine
                .as_mut()
                .is_none_or(|c| c.try_wait().ok().flatten().is_some());
            if s.is_finished() && exited {
                return s;
            }
            assert!(
                !exited || s.is_finished(),
                "the engine exited before the run ended: {:?}",
                s.status
            );
            let verb: Option<Vec<&str>> = if s.pause_requested {
                Some(vec!["resume", &id])
            } else if s.waiting.is_some() {
                Some(vec!["approve", &id, "go", "--comment", "after the crash"])
            } else if s
                .blocked
                .as_ref()
                .is_some_and(|b| b.choices.iter().any(|c| c.word() == "force"))
            {
                Some(vec![
                    "decide",
                    &id,
                    "force",
                    "--note",
                    "acknowledged: migrate stays",
                ])
            } else {
                None
            };
            if let Some(v) = verb
                && asked.insert((v[0].to_string(), s.last_seq))
            {
                let _ = self.sb.run(&v, LIMIT);
            }
            assert!(
                Instant::now() < deadline,
                "the run did not end: {:?}",
                s.status
            );
            std::thread::sleep(Duration::from_millis(30));
        }
    }
}

/// Counts ledger lines per (what, key).
fn ledger(sb: &Sandbox) -> BTreeMap<(String, String), usize> {
    let mut m = BTreeMap::new();
    for l in sb.ledger() {
        if let Some((what, key)) = l.split_once(' ') {
            *m.entry((what.to_string(), key.to_string())).or_insert(0) += 1;
        }
    }
    m
}

fn run_case(case: Case) {
    let mut w = World::start(&case);
    for act in case.acts {
        w.act(act);
    }
    let end = w.finish();
    let recs = records(&w.run_dir);
    let read = slate::journal::read_journal(&w.run_dir.join("journal.ndjson")).unwrap();
    assert!(
        read.warning.is_none(),
        "the journal ends clean: {:?}",
        read.warning
    );
    let seqs: Vec<u64> = recs.iter().map(|r| r.seq).collect();
    assert!(
        seqs.windows(2).all(|p| p[1] == p[0] + 1),
        "one unbroken sequence"
    );
    assert_eq!(
        end.outcome.map(|o| o.word()),
        Some(case.outcome.replace('_', " ").as_str()),
        "{}",
        end.message
    );
    assert!(w.recoveries >= 1, "the case recovered at least once");

    let counts = ledger(&w.sb);
    let n = |what: &str, key: &str| {
        counts
            .get(&(what.to_string(), key.to_string()))
            .copied()
            .unwrap_or(0)
    };
    // Exactly once: each step the journal says succeeded by running did its
    // work once; one counted as done after the crash did not do it again.
    for e in &end.envs {
        for st in &e.steps {
            let Some(stage) = &st.stage else { continue };
            let key = format!("{stage}@{}", e.name);
            let marked = recs.iter().any(|r| {
                matches!(&r.event, Event::StepFinished { status: StepStatus::Succeeded, message, env, step, .. }
                    if message.starts_with("counted as done") && end.envs[*env].name == e.name && end.envs[*env].steps[*step].stage.as_deref() == Some(stage))
            });
            let done = n("done", &key);
            if st.state == StepState::Succeeded && !marked {
                assert_eq!(
                    done, 1,
                    "{key} completed, so it ran to its end exactly once; ledger {counts:?}"
                );
            } else {
                assert_eq!(
                    done, 0,
                    "{key} ({:?}) never completed a run; ledger {counts:?}",
                    st.state
                );
            }
            // Undone exactly once when the rollback undid it.
            let undo_key = format!("undo-{stage}@{}", e.name);
            match st.undo.as_ref().map(|u| u.state) {
                Some(UndoState::Done)
                    if !st
                        .undo
                        .as_ref()
                        .unwrap()
                        .message
                        .starts_with("counted as undone") =>
                {
                    assert_eq!(
                        n("done", &undo_key),
                        1,
                        "{undo_key} undone once; ledger {counts:?}"
                    )
                }
                _ => assert_eq!(
                    n("done", &undo_key),
                    0,
                    "{undo_key} not undone; ledger {counts:?}"
                ),
            }
        }
        // Never half-done: every environment that started ended.
        if e.status != EnvStatus::Pending {
            assert!(
                matches!(e.status, EnvStatus::Done(_)),
                "{} ended: {:?}",
                e.name,
                e.status
            );
        }
    }
    // Leftovers of the dead engines were stopped, and nothing is left now.
    for r in &end.recoveries {
        for l in &r.leftovers {
            assert!(
                l.stopped,
                "leftover group {} stopped: {}",
                l.pgid, l.message
            );
        }
    }
    w.sb.wait_for(
        "every process of the test to end",
        Duration::from_secs(10),
        || common::tagged_processes(&w.sb.tag).is_empty(),
    );
    if let Some(check) = case.check {
        check(&recs);
    }
    // The dossier tells the story of the crash.
    let dossier = std::fs::read_to_string(w.run_dir.join("dossier.md")).expect("the dossier");
    assert!(dossier.contains("### Crash recoveries"), "{dossier}");
    assert!(
        dossier.contains("took the run over after its engine (pid"),
        "{dossier}"
    );
}

/// The events that `pred` picks, in order.
fn all(recs: &[Record], pred: impl Fn(&Event) -> bool) -> Vec<&Event> {
    recs.iter().map(|r| &r.event).filter(|e| pred(e)).collect()
}

macro_rules! crash_points {
    ($($name:ident: $case:expr;)*) => {
        $(#[test] fn $name() { run_case($case) })*
    };
}

use Act::*;

crash_points! {
    // During each stage of each environment, each choice in turn.
    during_build_dev_retry: Case {
        holds: &["build@dev"],
        acts: &[Until("build@dev runs", |s| running(s, "dev", "build")), Kill, Recover(Some("retry")), Unhold("build@dev")],
        ..BASE
    };
    during_migrate_dev_done: Case {
        holds: &["migrate@dev"],
        acts: &[Until("migrate@dev runs", |s| running(s, "dev", "migrate")), Kill, Recover(Some("done")), Unhold("migrate@dev")],
        ..BASE
    };
    during_deploy_dev_rollback: Case {
        holds: &["deploy@dev"],
        acts: &[Until("deploy@dev runs", |s| running(s, "dev", "deploy")), Kill, Recover(Some("rollback")), Unhold("deploy@dev")],
        outcome: "rolled_back",
        ..BASE
    };
    during_build_staging_done: Case {
        holds: &["build@staging"],
        acts: &[Until("build@staging runs", |s| running(s, "staging", "build")), Kill, Recover(Some("done")), Unhold("build@staging")],
        ..BASE
    };
    during_migrate_staging_rollback: Case {
        holds: &["migrate@staging"],
        acts: &[Until("migrate@staging runs", |s| running(s, "staging", "migrate")), Kill, Recover(Some("rollback")), Unhold("migrate@staging")],
        outcome: "rolled_back",
        ..BASE
    };
    during_deploy_staging_retry: Case {
        holds: &["deploy@staging"],
        acts: &[Until("deploy@staging runs", |s| running(s, "staging", "deploy")), Kill, Recover(Some("retry")), Unhold("deploy@staging")],
        ..BASE
    };
    during_build_prod_rollback: Case {
        holds: &["build@prod"],
        acts: &[Until("build@prod runs", |s| running(s, "prod", "build")), Kill, Recover(Some("rollback")), Unhold("build@prod")],
        outcome: "rolled_back",
        ..BASE
    };
    during_migrate_prod_retry: Case {
        holds: &["migrate@prod"],
        acts: &[Until("migrate@prod runs", |s| running(s, "prod", "migrate")), Kill, Recover(Some("retry")), Unhold("migrate@prod")],
        ..BASE
    };
    during_deploy_prod_done: Case {
        holds: &["deploy@prod"],
        acts: &[Until("deploy@prod runs", |s| running(s, "prod", "deploy")), Kill, Recover(Some("done")), Unhold("deploy@prod")],
        ..BASE
    };
    // Between stages: build finished, migrate held (the kill lands before it starts or while it waits).
    between_build_and_migrate: Case {
        holds: &["migrate@dev"],
        acts: &[Until("build@dev done", |s| succeeded(s, "dev", "build")), Kill, Recover(Some("retry")), Unhold("migrate@dev")],
        ..BASE
    };
    // Between environments: dev done, staging's soak starting.
    between_dev_and_staging: Case {
        check: Some(|recs| {
            let pre = all(recs, |e| matches!(e, Event::Approved { source: slate::engine::event::ApprovalSource::PreApproved, .. }));
            assert_eq!(pre.len(), 1, "--approve given to the first engine still held after the crash");
        }),
        acts: &[Until("dev deployed", |s| s.envs.first().is_some_and(|e| e.status == EnvStatus::Done(slate::engine::event::EnvOutcome::Deployed))), Kill, Recover(None)],
        ..BASE
    };
    // In staging's soak: it resumes for what is left, not from zero.
    during_soak: Case {
        check: Some(|recs| {
            let starts: Vec<_> = all(recs, |e| matches!(e, Event::TimerStarted { .. }))
                .into_iter()
                .map(|e| match e { Event::TimerStarted { started, .. } => started, _ => unreachable!() })
                .collect();
            assert_eq!(starts.len(), 2, "the soak was journaled again after the crash");
            assert_eq!(starts[0], starts[1], "with its first start: it went on, not from zero");
        }),
        acts: &[Until("the soak runs", |s| s.envs.get(1).is_some_and(|e| e.steps.iter().any(|st| st.timer.is_some() && st.state == StepState::Waiting))), Kill, Recover(None)],
        ..BASE
    };
    // At the manual gate nobody pre-approved: it waits again, and an approval ends it.
    at_the_gate: Case {
        check: Some(|recs| {
            let approved = all(recs, |e| matches!(e, Event::Approved { comment, actor, .. } if comment == "after the crash" && actor.via == "cli"));
            assert_eq!(approved.len(), 1, "approved after the crash, through the socket");
        }),
        approve: false,
        acts: &[Until("the gate waits", |s| s.waiting.is_some()), Kill, Recover(None)],
        ..BASE
    };
    // Paused at the gate: still paused after the crash until resumed.
    paused_at_the_gate: Case {
        approve: false,
        acts: &[
            Until("the gate waits", |s| s.waiting.is_some()),
            Cli(&["pause", "RUN"]),
            Until("paused", |s| s.status == slate::engine::state::RunStatus::Paused),
            Kill,
            Recover(None),
            Until("still paused", |s| s.pause_requested && !s.recoveries.is_empty()),
        ],
        ..BASE
    };
    // In a retry's backoff after a failed first attempt: the second attempt runs once.
    during_retry_backoff: Case {
        fail_once: &["build@staging"],
        acts: &[Until("a retry is scheduled", |s| step_of(s, "staging", "build").is_some_and(|st| st.state == StepState::Pending && st.attempts == 1)), Kill, Recover(None)],
        ..BASE
    };
    // An idempotent stage is retried without asking.
    idempotent_stage_is_retried: Case {
        check: Some(|recs| {
            let retry = all(recs, |e| matches!(e, Event::RetryRequested { actor, .. } if actor.via == "engine"));
            assert_eq!(retry.len(), 1, "retried by the engine itself, nobody asked");
        }),
        idempotent_deploy: true,
        holds: &["deploy@staging"],
        acts: &[Until("deploy@staging runs", |s| running(s, "staging", "deploy")), Kill, Recover(None), Unhold("deploy@staging")],
        ..BASE
    };
    // The recovering engine dies too; a second recovery finishes the job.
    crash_twice: Case {
        holds: &["migrate@staging"],
        acts: &[
            Until("migrate@staging runs", |s| running(s, "staging", "migrate")),
            Kill,
            Recover(Some("retry")),
            Until("migrate@staging runs again", |s| running(s, "staging", "migrate") && !s.recoveries.is_empty()),
            Kill,
            Recover(Some("retry")),
            Unhold("migrate@staging"),
        ],
        ..BASE
    };
    // A torn last line (the crash cut a write): recovered with a warning, the tail cut off.
    torn_tail: Case {
        check: Some(|recs| {
            let warned = all(recs, |e| matches!(e, Event::RunRecovered { warning: Some(w), .. } if w.contains("torn last line")));
            assert_eq!(warned.len(), 1, "the recovery says it cut a torn line");
        }),
        holds: &["deploy@dev"],
        acts: &[Until("deploy@dev runs", |s| running(s, "dev", "deploy")), Kill, TearTail, Recover(Some("retry")), Unhold("deploy@dev")],
        ..BASE
    };
    // Mid-rollback: prod's deploy fails, the undo of migrate is interrupted and retried.
    mid_rollback_retry: Case {
        fails: &["deploy@prod"],
        holds: &["undo-migrate@prod"],
        acts: &[Until("migrate@prod is being undone", |s| undoing(s, "prod", "migrate")), Kill, Recover(Some("retry")), Unhold("undo-migrate@prod")],
        outcome: "rolled_back",
        ..BASE
    };
    // Mid-rollback: the interrupted undo is counted as done.
    mid_rollback_done: Case {
        fails: &["deploy@prod"],
        holds: &["undo-deploy@prod"],
        acts: &[Until("deploy@prod is being undone", |s| undoing(s, "prod", "deploy")), Kill, Recover(Some("done")), Unhold("undo-deploy@prod")],
        outcome: "rolled_back",
        ..BASE
    };
    // During the rollback's verification, which belongs to no step: its
    // command is found by its own mark and stopped, and the new engine
    // verifies again.
    mid_verification: Case {
        fails: &["deploy@prod"],
        holds: &["verify@prod"],
        verify: true,
        acts: &[Ledger("start verify@prod"), Kill, Recover(None), Unhold("verify@prod")],
        outcome: "rolled_back",
        check: Some(|recs| {
            let left: Vec<_> = recs
                .iter()
                .filter_map(|r| match &r.event {
                    Event::RunRecovered { leftovers, .. } => Some(leftovers),
                    _ => None,
                })
                .flatten()
                .collect();
            assert!(
                left.iter().any(|l| l.verify && l.stopped && l.message.contains("the rollback's verification")),
                "{left:?}"
            );
            assert_eq!(all(recs, |e| matches!(e, Event::RollbackVerifyStarted { .. })).len(), 2);
            let verified = all(recs, |e| matches!(e, Event::RollbackVerified { .. }));
            assert!(
                matches!(verified.as_slice(), [Event::RollbackVerified { ok: true, check: Some(c), .. }] if c == "verify_rollback"),
                "{verified:?}"
            );
        }),
        ..BASE
    };
    // At a blocked rollback (irreversible migrate): asked again, forced, finished.
    at_a_blocked_rollback: Case {
        irreversible_migrate: true,
        fails: &["deploy@staging"],
        acts: &[Until("the rollback waits for a decision", |s| s.blocked.is_some()), Kill, Recover(None)],
        outcome: "rolled_back",
        ..BASE
    };
    // An abort's rollback interrupted: the abort still stands.
    mid_abort: Case {
        holds: &["deploy@staging", "undo-deploy@staging"],
        acts: &[
            Until("deploy@staging runs", |s| running(s, "staging", "deploy")),
            Cli(&["abort", "RUN", "--reason", "wrong build"]),
            Until("deploy@staging is being undone", |s| undoing(s, "staging", "deploy")),
            Kill,
            Recover(Some("retry")),
            Unhold("undo-deploy@staging"),
        ],
        outcome: "aborted",
        ..BASE
    };
}

/// A journal corrupted in the middle is refused with the line, and left as it is.
#[test]
fn a_journal_corrupt_in_the_middle_is_refused_with_its_line() {
    let case = Case {
        holds: &["build@dev"],
        ..BASE
    };
    let mut w = World::start(&case);
    w.act(&Until("build@dev runs", |s| running(s, "dev", "build")));
    w.act(&Kill);
    let path = w.run_dir.join("journal.ndjson");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines[1] = "{this is not a record";
    let broken = lines.join("\n") + "\n";
    std::fs::write(&path, &broken).unwrap();
    let out = w.sb.run(&["recover", &w.run_id(), "--headless"], LIMIT);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("journal is corrupt at line 2"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        broken,
        "left as it is"
    );
}

/// One engine per run: recovering a live run, or a finished one, is refused.
#[test]
fn a_live_or_finished_run_is_not_recovered() {
    let case = Case {
        holds: &["build@dev"],
        ..BASE
    };
    let mut w = World::start(&case);
    w.act(&Until("build@dev runs", |s| running(s, "dev", "build")));
    let out = w.sb.run(&["recover", &w.run_id(), "--headless"], LIMIT);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("already driven by a live engine"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("slate attach {}", w.run_id())),
        "{stderr}"
    );
    w.act(&Unhold("build@dev"));
    let end = w.finish();
    assert_eq!(end.outcome.map(|o| o.word()), Some("released"));
    let out = w.sb.run(&["recover", &w.run_id(), "--headless"], LIMIT);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("already ended (released); nothing to recover")
    );
}

/// From the keyboard: `slate recover RUN` opens the cockpit on the taken-over
/// run, the decision dialog asks about the interrupted stage, `r` retries it,
/// and the run is released; `q` then leaves and the host exits by itself.
#[test]
fn recovered_in_the_cockpit_the_operator_decides() {
    use common::pty::Term;
    let case = Case {
        holds: &["migrate@dev"],
        ..BASE
    };
    let mut w = World::start(&case);
    w.act(&Until("migrate@dev runs", |s| running(s, "dev", "migrate")));
    w.act(&Kill);
    let id = w.run_id();
    let mut term = Term::builder(&["recover", &id])
        .size(120, 40)
        .cwd(w.sb.dir.path())
        .env("SLATE_HOME", w.sb.home())
        .env("LEDGER", w.sb.path("ledger"))
        .env_remove("NO_COLOR")
        .tag(&w.sb.tag)
        .budget(LIMIT)
        .start();
    term.wait_for_all(
        &["A step needs a decision", "retry: run the step again"],
        LIMIT,
    );
    w.act(&Unhold("migrate@dev"));
    term.send(b"r");
    let dir = w.run_dir.clone();
    w.sb.wait_for("the run to end", LIMIT, || state(&dir).is_finished());
    term.wait_for("released", LIMIT);
    term.send(b"q");
    assert!(term.wait_exit(LIMIT).success());
    let end = state(&w.run_dir);
    assert_eq!(end.outcome.map(|o| o.word()), Some("released"));
    let recs = records(&w.run_dir);
    let retry = all(
        &recs,
        |e| matches!(e, Event::RetryRequested { actor, .. } if actor.via == "cockpit"),
    );
    assert_eq!(retry.len(), 1, "retried from the cockpit");
    let counts = ledger(&w.sb);
    assert_eq!(counts.get(&("done".into(), "migrate@dev".into())), Some(&1));
    w.sb.wait_for("the host to exit", Duration::from_secs(10), || {
        common::tagged_processes(&w.sb.tag).is_empty()
    });
}
