//! Running one command under the engine's supervision: output to the journal,
//! timeout, and commands answered while it runs.

use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::commands::{Ctx, Wake};
use super::event::{Event, StepStatus};
use super::process::{self, ProcSpec};
use super::{Engine, Fatal, Stop};
use crate::journal::Durable;

/// How long output may keep arriving after the command exits (a grandchild
/// that inherited the pipe must not hold the step open).
const DRAIN: Duration = Duration::from_millis(300);
/// Longest the step waits for the pipe to close after the command exits,
/// when something goes on writing into it.
const DRAIN_MAX: Duration = Duration::from_secs(10);

pub(super) struct Exec<'a> {
    pub env: usize,
    pub step: usize,
    pub command: &'a str,
    pub stage: Option<usize>,
    pub vars: &'a [(String, String)],
    pub timeout: Duration,
    pub rollback: bool,
    pub attempt: u32,
    /// The rollback's verification (`verify_rollback`). It belongs to no
    /// step, so none of its records name one: no process group is journaled
    /// (recovery finds it by its mark, [`super::leftovers::verify_id`]), and
    /// its output is kept, its last lines going into the verification's
    /// record as plain text, instead of being journaled as a step's. `step`
    /// is unused.
    pub verify: bool,
}

/// Lines of a verification's output kept for its record.
pub(super) const VERIFY_OUTPUT_KEPT: usize = 20;

/// The last meaningful lines of stderr kept while a step runs: the last
/// goes into a failed step's message, so every reader (pipeline, header,
/// headless, webhook, dossier) says what failed, not only how it exited;
/// each is cut to [`STDERR_LINE_MAX`] characters.
pub const STDERR_KEPT: usize = 3;
pub const STDERR_LINE_MAX: usize = 200;

/// A kept line as plain text: it is shown inside messages and the dossier,
/// not in a log pane, so escape sequences and control characters go.
fn plain(line: &str) -> String {
    strip_ansi_escapes::strip_str(line.replace('\t', "    "))
        .chars()
        .filter(|c| !c.is_control())
        .collect()
}

pub(super) struct ExecResult {
    pub status: StepStatus,
    pub exit_code: Option<i32>,
    pub duration_ms: u64,
    pub message: String,
    /// Set when an abort or rollback command stopped the command.
    pub interrupted: Option<Stop>,
    /// A verification's last lines of output (stdout and stderr, in order).
    pub kept: Vec<String>,
}

impl Engine {
    /// Variables every command gets; values travel only as variables.
    pub(super) fn command_env(&self, x: &Exec<'_>) -> Vec<(String, String)> {
        let run_dir = self
            .journal
            .path()
            .parent()
            .map(|d| d.display().to_string())
            .unwrap_or_default();
        // What only a run knows; the rest is the plan's (`plan::vars`, which
        // `slate plan` shows too), then the stage's secrets.
        let mut vars = vec![
            ("SLATE_RUN_ID".to_string(), self.run_id.clone()),
            // The run's own directory, for files a release keeps beside its
            // journal (the demo's fleet lives there).
            ("SLATE_RUN_DIR".to_string(), run_dir),
            ("SLATE_ATTEMPT".to_string(), x.attempt.to_string()),
            (
                super::leftovers::STEP_VAR.to_string(),
                if x.verify {
                    super::leftovers::verify_id(&self.run_id, x.env)
                } else {
                    super::leftovers::step_id(&self.run_id, x.env, x.step, x.attempt, x.rollback)
                },
            ),
        ];
        // The slate binary running the release, for commands that call it
        // (`$SLATE_BIN note …`, the demo's fleet).
        if let Ok(exe) = std::env::current_exe() {
            vars.push(("SLATE_BIN".to_string(), exe.display().to_string()));
        }
        let plan_vars =
            crate::plan::vars::command_vars(&self.plan, x.env, x.stage, &[], x.rollback);
        vars.extend(plan_vars);
        if let Some(s) = x.stage {
            for name in &self.plan.stages[s].secrets {
                if let Some(value) = self.secrets.get(name) {
                    vars.push((name.clone(), value.clone()));
                }
            }
        }
        vars.extend(x.vars.iter().cloned());
        vars
    }

    fn cwd(&self, stage: Option<usize>) -> std::path::PathBuf {
        let base = &self.plan.base_dir;
        match stage.and_then(|s| self.plan.stages[s].cwd.as_ref()) {
            Some(c) if c.is_absolute() => c.clone(),
            Some(c) => base.join(c),
            None => base.clone(),
        }
    }

    /// One read's worth of a step's output, one record per line; a
    /// verification's is kept in `kept` instead (its newest lines).
    fn emit_output(
        &mut self,
        x: &Exec<'_>,
        (stream, lines): process::Lines,
        kept: &mut std::collections::VecDeque<String>,
        stderr: &mut std::collections::VecDeque<String>,
    ) -> Result<(), Fatal> {
        if x.verify {
            for line in lines {
                if kept.len() == VERIFY_OUTPUT_KEPT {
                    kept.pop_front();
                }
                kept.push_back(plain(&line));
            }
            return Ok(());
        }
        if stream == super::event::Stream::Stderr {
            for line in &lines {
                let text = plain(line);
                let text = text.trim();
                if text.is_empty() {
                    continue;
                }
                if stderr.len() == STDERR_KEPT {
                    stderr.pop_front();
                }
                stderr.push_back(text.chars().take(STDERR_LINE_MAX).collect());
            }
        }
        let read_at = jiff::Timestamp::now();
        // Output is never fsynced: `Durable` only says when a state record
        // reaches the disk, and the journal does not look at it here.
        for line in lines {
            self.emit_at(
                Event::Output {
                    env: x.env,
                    step: x.step,
                    stream,
                    line,
                    rollback: x.rollback,
                },
                Durable::Now,
                read_at,
            )?;
        }
        Ok(())
    }

    pub(super) async fn exec(&mut self, x: Exec<'_>) -> Result<ExecResult, Fatal> {
        let spec = ProcSpec {
            command: x.command.to_string(),
            cwd: self.cwd(x.stage),
            env: self.command_env(&x),
            unset: crate::secrets::source_variables(&self.plan),
        };
        let started = Instant::now();
        // Batches of up to 64 KiB: a few in flight bound the memory a flood takes.
        let (tx, mut lines) = mpsc::channel(16);
        // Starting a process is acting: what the run let ride (the last
        // step's end) is on disk first.
        self.commit()?;
        let mut proc = match process::spawn(&spec, tx) {
            Ok(p) => p,
            Err(e) => {
                return Ok(ExecResult {
                    status: StepStatus::Failed,
                    exit_code: None,
                    duration_ms: 0,
                    message: format!("cannot start the command in {}: {e}", spec.cwd.display()),
                    interrupted: None,
                    kept: Vec::new(),
                });
            }
        };
        if !x.verify {
            // The engine's next act is to wait for the process, so the
            // record need not be on disk first (recovery finds an
            // unjournaled process by its mark, `leftovers.rs`): it shares
            // the step's end's fsync, or has its own within `LAZY` of a
            // process that runs longer.
            self.emit_as(
                Event::ProcessStarted {
                    env: x.env,
                    step: x.step,
                    pid: proc.pid,
                    pgid: proc.pgid,
                    rollback: x.rollback,
                    start_ticks: super::leftovers::start_ticks(proc.pid),
                },
                Durable::Lazy,
            )?;
        }
        let mut kept = std::collections::VecDeque::new();
        let mut stderr = std::collections::VecDeque::new();
        let deadline = tokio::time::sleep(x.timeout);
        tokio::pin!(deadline);
        let mut flush = tokio::time::interval(crate::journal::OUTPUT_FLUSH);
        let mut lines_open = true;

        enum Ev {
            Cmd(Option<super::Command>),
            Lines(Option<process::Lines>),
            Flush,
            Deadline,
            Exit(std::io::Result<std::process::ExitStatus>),
        }
        let mut interrupted = None;
        let mut timed_out = false;
        let exit = loop {
            let ev = tokio::select! {
                c = self.cmds.recv(), if self.cmds_open => Ev::Cmd(c),
                l = lines.recv(), if lines_open => Ev::Lines(l),
                _ = flush.tick() => Ev::Flush,
                _ = &mut deadline => Ev::Deadline,
                s = proc.wait() => Ev::Exit(s),
            };
            match ev {
                Ev::Cmd(None) => self.cmds_open = false,
                Ev::Cmd(Some(cmd)) => {
                    let ctx = if x.rollback {
                        Ctx::RollingBack
                    } else {
                        Ctx::InEnv {
                            env: x.env,
                            gate: None,
                        }
                    };
                    if let Some(Wake::Stop(stop)) = self.on_command(cmd, &ctx)? {
                        interrupted = Some(stop);
                        break proc.stop().await;
                    }
                }
                Ev::Lines(None) => lines_open = false,
                Ev::Lines(Some(batch)) => self.emit_output(&x, batch, &mut kept, &mut stderr)?,
                Ev::Flush => {
                    let _ = self.journal.flush();
                }
                Ev::Deadline => {
                    timed_out = true;
                    break proc.stop().await;
                }
                Ev::Exit(s) => break s.ok(),
            }
        };
        // Output still in the pipe belongs to this step, however much of it
        // there is: a flood's last megabyte is still arriving when the
        // command exits. A grandchild holding the pipe open is let go once
        // the pipe has been quiet for DRAIN, or DRAIN_MAX after the exit if
        // it keeps writing.
        let give_up = tokio::time::Instant::now() + DRAIN_MAX;
        while lines_open {
            let quiet = (tokio::time::Instant::now() + DRAIN).min(give_up);
            tokio::select! {
                l = lines.recv() => match l {
                    Some(batch) => self.emit_output(&x, batch, &mut kept, &mut stderr)?,
                    None => lines_open = false,
                },
                _ = tokio::time::sleep_until(quiet) => break,
            }
        }
        drop(proc);
        let duration_ms = started.elapsed().as_millis() as u64;
        let exit_code = exit.as_ref().and_then(process::exit_code);
        let (status, message) = if interrupted.is_some() {
            (StepStatus::Killed, "stopped by operator".to_string())
        } else if timed_out {
            (
                StepStatus::TimedOut,
                format!("timed out after {}", humantime::format_duration(x.timeout)),
            )
        } else if exit.as_ref().is_some_and(|s| s.success()) {
            (StepStatus::Succeeded, "ok".to_string())
        } else {
            let msg = match exit_code {
                Some(c) if c > 128 => format!("killed by signal {}", c - 128),
                Some(c) => format!("exited with status {c}"),
                None => "ended without a status".to_string(),
            };
            (StepStatus::Failed, msg)
        };
        // What it said last on stderr says what failed ("exited with status
        // 1: ERROR: relation users does not exist").
        let message = match stderr.back() {
            Some(last) if matches!(status, StepStatus::Failed | StepStatus::TimedOut) => {
                format!("{message}: {last}")
            }
            _ => message,
        };
        Ok(ExecResult {
            status,
            exit_code,
            duration_ms,
            message,
            interrupted,
            kept: kept.into(),
        })
    }

    /// Sleeps while answering commands; an abort or rollback ends it early.
    pub(super) async fn wait_for(
        &mut self,
        dur: Duration,
        env: usize,
        rollback: bool,
    ) -> Result<Option<Stop>, Fatal> {
        let until = tokio::time::Instant::now() + dur;
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(until) => return Ok(None),
                c = self.cmds.recv(), if self.cmds_open => match c {
                    None => self.cmds_open = false,
                    Some(cmd) => {
                        let ctx = if rollback { Ctx::RollingBack } else { Ctx::InEnv { env, gate: None } };
                        match self.on_command(cmd, &ctx)? {
                            Some(Wake::Stop(stop)) => return Ok(Some(stop)),
                            Some(Wake::Promoted | Wake::GlassDecided) => return Ok(None),
                            Some(Wake::Weight { canary, weight }) => {
                                return self.hold_weight(env, canary, weight).await;
                            }
                            _ => {}
                        }
                    }
                },
            }
        }
    }
}
