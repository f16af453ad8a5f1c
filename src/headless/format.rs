//! One human-readable line per event for headless output.

use std::path::PathBuf;

use jiff::tz::TimeZone;

use crate::engine::event::{ApprovalSource, Event, Judgement, Record, StepStatus, Stream, Verdict};
use crate::engine::state::RunState;
use crate::text::neutral;

/// Rows of what a promotion changes printed at most; `slate approve RUN --show` has them all.
const CHANGE_ROWS: usize = 12;

/// Keeps its own copy of the run state (rebuilt from the records it sees),
/// like any client, to name environments and steps.
pub struct Printer {
    state: RunState,
    journal: PathBuf,
    tz: TimeZone,
    /// The last second printed, as its `HH:MM:SS`: a flood's lines share
    /// a handful of seconds, and the zone's rules are asked once for each.
    clock: Option<(i64, String)>,
    /// The step output lines last came from, as they name it: a flood's
    /// lines all come from one.
    place: Option<((usize, usize), String)>,
    /// Stage output keeps its colours (stdout is a terminal that wants them).
    pub colour: bool,
}

impl Printer {
    pub fn new(journal: PathBuf) -> Self {
        Self {
            state: RunState::default(),
            journal,
            tz: TimeZone::system(),
            clock: None,
            place: None,
            colour: false,
        }
    }

    pub fn observe(&mut self, rec: &Record) {
        self.state.apply(rec);
    }

    pub fn into_state(self) -> RunState {
        self.state
    }

    fn env(&self, env: usize) -> &str {
        self.state
            .envs
            .get(env)
            .map(|e| e.name.as_str())
            .unwrap_or("?")
    }

    fn step(&self, env: usize, step: usize) -> &str {
        self.state
            .envs
            .get(env)
            .and_then(|e| e.steps.get(step))
            .map(|s| s.label.as_str())
            .unwrap_or("?")
    }

    fn at(&self, env: usize, step: usize) -> String {
        format!("{} · {}", self.env(env), self.step(env, step))
    }

    /// `HH:MM:SS` of `ts` in the local zone (a zone's offset changes only
    /// on a whole second, so the second decides the text).
    fn time(&mut self, ts: jiff::Timestamp) -> &str {
        // Floored, so the half second before the epoch is not its first.
        let second = ts.as_second() - i64::from(ts.subsec_nanosecond() < 0);
        if self.clock.as_ref().is_none_or(|(s, _)| *s != second) {
            let text = ts
                .to_zoned(self.tz.clone())
                .strftime("%H:%M:%S")
                .to_string();
            self.clock = Some((second, text));
        }
        self.clock
            .as_ref()
            .map(|(_, t)| t.as_str())
            .unwrap_or_default()
    }

    /// The lines for a record (none for records that print nothing). Each
    /// is one line: what people and plans wrote is neutralised in it, and
    /// stage output keeps its colours only when `colour` is set.
    pub fn lines(&mut self, rec: &Record) -> Vec<String> {
        self.observe(rec);
        if rec.event.is_state_change() {
            // What names a step comes from the run's state; say it afresh.
            self.place = None;
        }
        let time = self.time(rec.ts).to_string();
        if let Event::Output {
            env,
            step,
            stream,
            line,
            rollback,
        } = &rec.event
        {
            let bar = match (stream, rollback) {
                (Stream::Stderr, _) => "┃!",
                (_, true) => "┃↶",
                _ => "┃ ",
            };
            let (env, step) = (*env, *step);
            if self.place.as_ref().is_none_or(|(at, _)| *at != (env, step)) {
                let text = neutral::line(&self.at(env, step)).into_owned();
                self.place = Some(((env, step), text));
            }
            let place = self
                .place
                .as_ref()
                .map(|(_, t)| t.as_str())
                .unwrap_or_default();
            return vec![format!(
                "{time}   {place} {bar} {}",
                neutral::output(line, self.colour)
            )];
        }
        let mut more = Vec::new();
        let Some(text) = self.text(rec, &mut more) else {
            return Vec::new();
        };
        std::iter::once(format!("{time} {}", neutral::line(&text)))
            .chain(
                more.iter()
                    .map(|m| format!("         {}", neutral::line(m))),
            )
            .collect()
    }

    /// A record's text; `more` gets the lines that follow it, indented.
    fn text(&mut self, rec: &Record, more: &mut Vec<String>) -> Option<String> {
        let secs = crate::duration::human;
        let text = match &rec.event {
            Event::RunStarted {
                run_id,
                release,
                version,
                previous_version,
                actor,
                rollback_to,
                ..
            } => {
                if let Some(to) = rollback_to {
                    more.push(format!("reason: {}", to.reason));
                    more.push(format!(
                        "the plan of run {} (that put {version} live in {}); pauses and analyses skipped",
                        to.from_run, to.env
                    ));
                }
                more.push(format!("journal: {}", self.journal.display()));
                match rollback_to {
                    Some(to) => format!(
                        "↺ ROLLBACK {release} to {version} in {} (replacing {previous_version}) · run {run_id} by {}",
                        to.env, actor.user,
                    ),
                    None => format!(
                        "▶ {release} {version} (replacing {previous_version}) · run {run_id} by {}",
                        actor.user,
                    ),
                }
            }
            Event::ArtifactVerified {
                env,
                name,
                found,
                ok,
                message,
                ..
            } => match (ok, found) {
                (true, Some(d)) => format!(
                    "  {} · artifact {name} ✔ sha256:{d} ({message})",
                    self.env(*env)
                ),
                _ => format!("  {} · artifact {name} ✘ {message}", self.env(*env)),
            },
            Event::EnvStarted { env } => format!("▶ {}", self.env(*env)),
            Event::EnvBlocked {
                env,
                barrier,
                until,
                in_flight,
            } => match (until, in_flight) {
                (_, true) => format!(
                    "⏸ {} · stopped at a safe point: {}",
                    self.env(*env),
                    barrier.message
                ),
                (Some(u), false) => format!(
                    "⏳ {} · waiting (until {}): {}",
                    self.env(*env),
                    u.to_zoned(TimeZone::system()).strftime("%H:%M:%S %Z"),
                    barrier.message
                ),
                (None, false) => format!("✘ {} · {}", self.env(*env), barrier.message),
            },
            Event::BreakGlass {
                env,
                actor,
                reason,
                crossed,
                approved_by,
            } => format!(
                "⚠ {} · BREAK-GLASS by {}: {reason} (crossing: {}){}",
                self.env(*env),
                actor.user,
                crossed.message,
                approved_by
                    .as_ref()
                    .map(|a| format!(", approved by {}", a.user))
                    .unwrap_or_default()
            ),
            Event::BreakGlassRequested {
                env,
                actor,
                reason,
                crossed,
            } => format!(
                "⏳ {} · BREAK-GLASS asked by {}: {reason} (to cross: {}); waits for a second person's approval",
                self.env(*env),
                actor.user,
                crossed.message
            ),
            Event::BreakGlassApproved {
                env,
                actor,
                comment,
            } => {
                let c = if comment.is_empty() {
                    String::new()
                } else {
                    format!(": {comment}")
                };
                format!(
                    "✔ {} · break-glass approved by {}{c}",
                    self.env(*env),
                    actor.user
                )
            }
            Event::BreakGlassRejected { env, actor, reason } => format!(
                "✘ {} · break-glass rejected by {}: {reason}",
                self.env(*env),
                actor.user
            ),
            Event::Unpinned {
                env,
                actor,
                reason,
                pin,
            } => format!(
                "⚠ {} · UNPINNED by {}: {reason} (was: {pin})",
                self.env(*env),
                actor.user,
            ),
            Event::BreakGlassRefused { env, why, .. } => {
                format!("✘ {} · break-glass refused: {why}", self.env(*env))
            }
            Event::EnvCleared { env } => format!("▶ {} · free again, going on", self.env(*env)),
            Event::EnvLocked { env } => format!("  {} · deploy lock taken", self.env(*env)),
            Event::EnvChange { env, change } => {
                // What changes against what is live there; what stayed the
                // same is in the summary line, not listed.
                more.push(crate::change::summary(change));
                let rows: Vec<_> = crate::change::rows(change)
                    .into_iter()
                    .filter(|r| r.mark != crate::change::Mark::Same)
                    .collect();
                for r in rows.iter().take(CHANGE_ROWS) {
                    more.push(format!("{} {}", r.mark.sign(), r.text));
                }
                if rows.len() > CHANGE_ROWS {
                    more.push(format!(
                        "… {} more (`slate approve {} --show` lists them)",
                        rows.len() - CHANGE_ROWS,
                        self.state.run_id
                    ));
                }
                format!(
                    "  {} · {}",
                    self.env(*env),
                    crate::change::headline(change, self.env(*env))
                )
            }
            Event::EnvUnlocked { env } => format!("  {} · deploy lock released", self.env(*env)),
            Event::StepStarted { env, step, attempt } => {
                let kind = self.state.envs[*env].steps[*step].kind.as_str();
                if kind != "run" {
                    return None;
                }
                if *attempt > 1 {
                    format!("  {} — attempt {attempt}", self.at(*env, *step))
                } else {
                    format!("  {} — started", self.at(*env, *step))
                }
            }
            Event::ProcessStarted { .. } => return None,
            Event::Output { .. } => return None,
            Event::StepFinished {
                env,
                step,
                status,
                duration_ms,
                message,
                ..
            } => {
                let glyph = match status {
                    StepStatus::Succeeded => "✔",
                    StepStatus::Killed => "■",
                    _ => "✘",
                };
                // An analysis has said its verdict and reason in its own
                // line: its step adds only what happened next, if anything.
                let reason = self.state.envs.get(*env).and_then(|e| {
                    e.analyses
                        .iter()
                        .rev()
                        .find(|a| a.step == *step && a.verdict.is_some())
                        .map(|a| a.reason.as_str())
                });
                if let Some(reason) = reason.filter(|r| !r.is_empty() && message.contains(r)) {
                    let rest = message.replace(reason, "");
                    let rest = rest.trim_end_matches([':', ' ']);
                    if rest.is_empty() || rest == "inconclusive" {
                        return None;
                    }
                    return Some(format!(
                        "  {} {glyph} {rest} ({})",
                        self.at(*env, *step),
                        secs(*duration_ms)
                    ));
                }
                format!(
                    "  {} {glyph} {message} ({})",
                    self.at(*env, *step),
                    secs(*duration_ms)
                )
            }
            Event::RetryScheduled {
                env,
                step,
                next_attempt,
                delay_ms,
            } => format!(
                "  {} ↻ retrying (attempt {next_attempt}) in {}",
                self.at(*env, *step),
                secs(*delay_ms)
            ),
            Event::GateWaiting {
                env,
                step,
                required,
                require_comment,
                ..
            } => {
                let s = if *required == 1 { "" } else { "s" };
                let c = if *require_comment {
                    ", comment required"
                } else {
                    ""
                };
                format!(
                    "  {} ⏸ waiting for {required} approval{s}{c}",
                    self.at(*env, *step)
                )
            }
            Event::TimerStarted {
                env,
                step,
                duration_ms,
                ..
            } => {
                format!(
                    "  {} ⏲ waiting {}",
                    self.at(*env, *step),
                    secs(*duration_ms)
                )
            }
            Event::CheckResult {
                env,
                step,
                check,
                role,
                ok,
                message,
                attempt,
                ..
            } => {
                let at = self.at(*env, *step);
                // A step that runs one check is already named after it.
                let label = self.step(*env, *step);
                let name = if label == format!("{} {check}", role.word())
                    || label == format!("gate {check}")
                {
                    String::new()
                } else {
                    format!("{} {check}: ", role.word())
                };
                let again = if *attempt > 1 {
                    format!(" (attempt {attempt})")
                } else {
                    String::new()
                };
                format!(
                    "  {at} {} {name}{message}{again}",
                    if *ok { "✔" } else { "✘" }
                )
            }
            Event::AnalysisStarted {
                env,
                step,
                analysis,
                metrics,
                ..
            } => format!(
                "  {} ◔ analysis {analysis} measures {}",
                self.at(*env, *step),
                metrics
                    .iter()
                    .map(|m| format!(
                        "{} ({}) {} time{}",
                        m.name,
                        m.condition,
                        m.count,
                        if m.count == 1 { "" } else { "s" }
                    ))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Event::MetricSampled {
                env,
                step,
                metric,
                shown,
                judgement,
                why,
                ..
            } => {
                let mark = match judgement {
                    Judgement::Pass => "✔",
                    Judgement::Fail => "✘",
                    Judgement::Inconclusive => "?",
                    Judgement::Error => "!",
                    Judgement::Waiting => "…",
                };
                let detail = if why.starts_with(shown.as_str()) {
                    why.clone()
                } else {
                    format!("{shown} ({why})")
                };
                format!("  {} {mark} {metric} {detail}", self.at(*env, *step))
            }
            Event::AnalysisFinished {
                env,
                step,
                analysis,
                verdict,
                reason,
            } => format!(
                "  {} {} analysis {analysis} {}: {reason}",
                self.at(*env, *step),
                match verdict {
                    Verdict::Passed => "✔",
                    Verdict::Failed => "✘",
                    Verdict::Inconclusive => "?",
                },
                verdict.word()
            ),
            Event::EvidenceChecked {
                env,
                step,
                kind,
                path,
                ok,
                summary,
                ..
            } => format!(
                "  {} {} {} {path}: {summary}",
                self.at(*env, *step),
                if *ok { "✔" } else { "✘" },
                kind.word()
            ),
            Event::Approved {
                env,
                step,
                actor,
                comment,
                source,
                ..
            } => {
                let how = match source {
                    ApprovalSource::Operator => format!("by {} via {}", actor.user, actor.via),
                    ApprovalSource::PreApproved | ApprovalSource::AutoApproved => {
                        format!("by {}", actor.user)
                    }
                };
                let c = if comment.is_empty() {
                    String::new()
                } else {
                    format!(": {comment}")
                };
                format!("  {} ✔ approved {how}{c}", self.at(*env, *step))
            }
            Event::Promoted {
                env,
                step,
                full,
                actor,
                reason,
                skipped,
            } => {
                let how = if *full {
                    format!(" to the last rollout step, skipping {}", skipped.len())
                } else {
                    String::new()
                };
                format!(
                    "  {} ⏩ promoted{how} by {}: {reason}",
                    self.at(*env, *step),
                    actor.user
                )
            }
            Event::WeightHeld {
                env,
                step,
                weight,
                actor,
                reason,
                ..
            } => format!(
                "  {} ⏸ canary held at {weight}% by {}: {reason}",
                self.at(*env, *step),
                actor.user
            ),
            Event::Rejected {
                env,
                step,
                actor,
                reason,
                ..
            } => format!(
                "  {} ✘ rejected by {}: {reason}",
                self.at(*env, *step),
                actor.user
            ),
            Event::GatePassed { env, step, .. } => format!("  {} ✔ passed", self.at(*env, *step)),
            Event::GateFailed {
                env, step, reason, ..
            } => {
                // An evidence gate's items were printed as they were judged.
                let evidence = &self.state.envs[*env].steps[*step].evidence;
                let failed = evidence.iter().filter(|e| !e.ok).count();
                // An analysis gate's verdict and reason had their own line.
                let analysed = self.state.envs[*env]
                    .analyses
                    .iter()
                    .rev()
                    .find(|a| a.step == *step && a.verdict.is_some())
                    .is_some_and(|a| !a.reason.is_empty() && reason.ends_with(&a.reason));
                if analysed {
                    format!("  {} ✘ gate failed", self.at(*env, *step))
                } else if evidence.is_empty() {
                    format!("  {} ✘ {reason}", self.at(*env, *step))
                } else {
                    format!(
                        "  {} ✘ {failed} of {} evidence items failed",
                        self.at(*env, *step),
                        evidence.len()
                    )
                }
            }
            Event::CommandRefused {
                actor,
                command,
                reason,
            } => {
                format!("  ! refused {command} from {}: {reason}", actor.user)
            }
            Event::PauseRequested {
                reason: Some(why), ..
            } => format!("⏸ paused: {why}"),
            Event::PauseRequested { actor, .. } => {
                format!("⏸ pausing… (requested by {})", actor.user)
            }
            Event::Paused { env, step } => match (env, step) {
                (Some(e), Some(s)) => format!("⏸ paused before {}", self.at(*e, *s)),
                _ => "⏸ paused".to_string(),
            },
            Event::Resumed { actor } => format!("▶ resumed by {}", actor.user),
            Event::AbortRequested { actor, reason } => {
                format!("■ abort requested by {}: {reason}", actor.user)
            }
            Event::RollbackRequested { env, actor, reason } => {
                format!(
                    "↶ rollback of {} requested by {}: {reason}",
                    self.env(*env),
                    actor.user
                )
            }
            Event::RetryRequested { env, step, actor } => {
                format!(
                    "↻ retry of {} requested by {}",
                    self.at(*env, *step),
                    actor.user
                )
            }
            Event::RollbackStarted { env, reason, .. } => {
                format!("↶ rolling back {}: {reason}", self.env(*env))
            }
            Event::RollbackStepStarted { env, step, .. } => {
                format!("  {} ↶ undoing", self.at(*env, *step))
            }
            Event::RollbackStepFinished {
                env,
                step,
                status,
                message,
                duration_ms,
                ..
            } => {
                let glyph = if *status == StepStatus::Succeeded {
                    "✔"
                } else {
                    "✘"
                };
                format!(
                    "  {} {glyph} undo: {message} ({})",
                    self.at(*env, *step),
                    secs(*duration_ms)
                )
            }
            Event::RollbackStepSkipped { env, step, reason } => {
                format!("  {} – undo skipped: {reason}", self.at(*env, *step))
            }
            Event::RollbackBlocked {
                env,
                step,
                reason,
                choices,
            }
            | Event::StepInterrupted {
                env,
                step,
                reason,
                choices,
                ..
            } => format!(
                "  {} ⚠ {reason}; choices: {}",
                self.at(*env, *step),
                choices
                    .iter()
                    .map(|c| c.word())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Event::RunRecovered {
                actor,
                previous_pid,
                warning,
                leftovers,
                ..
            } => {
                if let Some(w) = warning {
                    more.push(format!("warning: {w}"));
                }
                for l in leftovers {
                    let at = if l.verify {
                        format!("{} · verify_rollback", self.env(l.env))
                    } else {
                        self.at(l.env, l.step)
                    };
                    more.push(format!(
                        "leftover process group {} at {at}: {}",
                        l.pgid, l.message
                    ));
                }
                format!(
                    "↻ recovered by {} (the engine, pid {previous_pid}, had died)",
                    actor.user
                )
            }
            Event::RollbackDecision {
                choice,
                actor,
                note,
                ..
            } => {
                format!("  decision: {} by {} — {note}", choice.word(), actor.user)
            }
            Event::RollbackVerifyStarted { env, check } => {
                format!("  {} ↶ verifying the rollback: {check}", self.env(*env))
            }
            Event::RollbackVerified {
                env,
                ok,
                message,
                check,
                output,
            } => {
                let env_name = self.env(*env);
                let mut text = match (check, ok) {
                    (Some(c), true) => {
                        format!("  {env_name} ✔ rollback verified by {c}: {message}")
                    }
                    (c, false) => format!(
                        "  {env_name} ✘ rollback not verified: {} failed: {message}",
                        c.as_deref().unwrap_or("verify_rollback")
                    ),
                    // Undo commands that exited 0 are no verification: never a ✔.
                    (None, true) if self.state.envs[*env].unverified_undo() => {
                        format!("  {env_name} ↶ rolled back ({message})")
                    }
                    (None, true) => format!("  {env_name} ↶ {message}"),
                };
                for line in output {
                    text.push_str(&format!(
                        "\n         {env_name} · {} ┃↶ {line}",
                        check.as_deref().unwrap_or("verify_rollback")
                    ));
                }
                text
            }
            Event::EnvFinished { env, outcome } => {
                use crate::engine::event::EnvOutcome;
                format!(
                    "{} {} {}",
                    if matches!(outcome, EnvOutcome::Deployed) {
                        "✔"
                    } else {
                        "↶"
                    },
                    self.env(*env),
                    match (outcome, self.state.envs.get(*env)) {
                        (EnvOutcome::RolledBack, Some(e)) => e.rolled_back(),
                        _ => outcome.word().to_string(),
                    }
                )
            }
            Event::NoteAdded { actor, text } => format!("✎ note from {}: {text}", actor.user),
            Event::NotificationSent {
                channel,
                kind,
                ok,
                attempts,
                message,
                ..
            } => {
                if *ok {
                    format!("✉ {} → {channel} delivered", kind.name())
                } else {
                    format!(
                        "✉ {} → {channel} not delivered after {attempts} attempt(s): {message}",
                        kind.name()
                    )
                }
            }
            Event::ReviewSaved { actor, .. } => format!("✎ review saved by {}", actor.user),
            Event::RunFinished { outcome, message } => {
                let total = match (self.state.started, self.state.finished) {
                    (Some(a), Some(b)) => format!(" in {:.1}s", b.duration_since(a).as_secs_f64()),
                    _ => String::new(),
                };
                let glyph = if outcome.released() { "✔" } else { "✘" };
                format!("{glyph} {}{total}: {message}", outcome.word())
            }
        };
        Some(text)
    }
}
