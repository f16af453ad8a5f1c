//! Evidence gates: judge each report file the plan names (off the engine's
//! task, since reading and parsing may take a moment), then run the check
//! command. Every item is journaled as `EvidenceChecked`; the gate passes
//! only if all of them do, and its failure names each file and its problem.

use std::time::Duration;

use super::event::{Event, StepStatus};
use super::exec::Exec;
use super::{Engine, Stop};
use crate::evidence::{self, EvidenceKind, FileRule, Judged, Spec};
use crate::plan::template;

/// How long the check command may run when the gate sets no `timeout`.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(300);

impl Engine {
    pub(super) async fn evidence_gate(
        &mut self,
        env: usize,
        step: usize,
        gate: &str,
        spec: &Spec,
        timeout: Option<Duration>,
    ) -> Result<(), Stop> {
        let mut failed: Vec<String> = Vec::new();
        for rule in spec.files() {
            let kind = rule.kind();
            let (path, judged) = self.judge_file(env, rule).await;
            if !judged.ok {
                failed.push(format!("{} {path}: {}", kind.word(), judged.summary));
            }
            self.emit_evidence(env, step, gate, kind, path, judged)?;
        }
        if let Some(command) = &spec.command {
            let r = self
                .exec(Exec {
                    env,
                    step,
                    command,
                    stage: None,
                    vars: &[],
                    timeout: timeout.unwrap_or(COMMAND_TIMEOUT),
                    rollback: false,
                    attempt: 1,
                    verify: false,
                })
                .await?;
            let ok = r.status == StepStatus::Succeeded;
            let shown = first_line(command);
            let summary = if ok {
                "passed".to_string()
            } else {
                r.message.clone()
            };
            if !ok {
                failed.push(format!("command `{shown}` {summary}"));
            }
            self.emit_evidence(
                env,
                step,
                gate,
                EvidenceKind::Command,
                shown,
                Judged {
                    ok,
                    summary,
                    findings: Vec::new(),
                    more: 0,
                },
            )?;
            if let Some(stop) = r.interrupted {
                return Err(stop);
            }
        }
        if failed.is_empty() {
            self.emit(Event::GatePassed {
                env,
                step,
                gate: gate.to_string(),
            })?;
            Ok(())
        } else {
            Err(self.fail_gate(env, step, gate, failed.join("; ")))
        }
    }

    /// The path as the plan names it for this environment, and its verdict.
    async fn judge_file(&self, env: usize, rule: FileRule) -> (String, Judged) {
        let e = &self.plan.environments[env];
        let path = match template::expand(rule.path(), e, &self.plan.release) {
            Ok(p) => p,
            Err(why) => return (rule.path().to_string(), Judged::fail(why)),
        };
        let full = self.plan.base_dir.join(&path);
        let judged = tokio::task::spawn_blocking(move || evidence::check_file(&full, &rule))
            .await
            .unwrap_or_else(|e| Judged::fail(format!("the check of the file failed: {e}")));
        (path, judged)
    }

    fn emit_evidence(
        &mut self,
        env: usize,
        step: usize,
        gate: &str,
        kind: EvidenceKind,
        path: String,
        j: Judged,
    ) -> Result<(), super::Fatal> {
        self.emit(Event::EvidenceChecked {
            env,
            step,
            gate: gate.to_string(),
            kind,
            path,
            ok: j.ok,
            summary: j.summary,
            findings: j.findings,
            more: j.more,
        })
    }
}

/// A command as one line: its first, and how many more there are.
fn first_line(command: &str) -> String {
    let mut lines = command.trim().lines();
    let first = lines.next().unwrap_or("").trim().to_string();
    match lines.count() {
        0 => first,
        n => format!("{first} (+{n} more line{})", if n == 1 { "" } else { "s" }),
    }
}
