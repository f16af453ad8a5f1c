//! Running an analysis: sampling its metrics on their intervals while still
//! answering commands, journaling every sample, and acting on the verdict —
//! a failure rolls the environment back, an inconclusive result does what the
//! environment says (ask the operator, fail, or continue).

use std::time::Duration;

use tokio::time::Instant;

use super::commands::{Ctx, Wake};
use super::event::{Actor, Event, MetricInfo, StepStatus};
use super::exec::Exec;
use super::{Engine, Stop, Unattended};
use crate::analysis::{AnalysisRun, Verdict, judge};
use crate::metrics::Sample;
use crate::metrics::sampler::{Sampler, Source};
use crate::plan::condition::fmt_num;
use crate::plan::template::{self, Fill};
use crate::plan::{Analysis, Metric, MetricSource, OnInconclusive, promql_duration};

impl Engine {
    /// An analysis step (in place of a rollout pause, or after the rollout).
    pub(super) async fn analysis_step(
        &mut self,
        env: usize,
        step: usize,
        analysis: usize,
        window: Option<Duration>,
    ) -> Result<(), Stop> {
        self.emit(Event::StepStarted {
            env,
            step,
            attempt: 1,
        })?;
        let started = std::time::Instant::now();
        let r = self.analyze(env, step, analysis, window).await;
        let (status, message) = match &r {
            Ok(msg) => (StepStatus::Succeeded, msg.clone()),
            Err(Stop::AnalysisFailed { reason, .. }) => (StepStatus::Failed, reason.clone()),
            Err(Stop::AnalysisInconclusive { reason, .. }) => {
                (StepStatus::Failed, format!("inconclusive: {reason}"))
            }
            // Interrupted by a command: the stop itself says why.
            Err(_) => (StepStatus::Killed, "analysis stopped".to_string()),
        };
        self.emit(Event::StepFinished {
            env,
            step,
            attempt: 1,
            status,
            exit_code: None,
            duration_ms: started.elapsed().as_millis() as u64,
            message,
        })?;
        r.map(|_| ())
    }

    /// Measures, judges and decides; `Ok` carries the one-line outcome.
    pub(super) async fn analyze(
        &mut self,
        env: usize,
        step: usize,
        idx: usize,
        window: Option<Duration>,
    ) -> Result<String, Stop> {
        let a = self.plan.analyses[idx].clone();
        let metrics: Vec<Metric> = a
            .metrics
            .iter()
            .filter_map(|m| self.plan.metric(m).cloned())
            .collect();
        let planned: Vec<u32> = metrics.iter().map(|m| planned(&a, m, window)).collect();
        self.emit(Event::AnalysisStarted {
            env,
            step,
            analysis: a.name.clone(),
            metrics: metrics
                .iter()
                .zip(&planned)
                .map(|(m, &count)| MetricInfo {
                    name: m.name.clone(),
                    unit: m.unit.clone(),
                    condition: describe(m),
                    threshold: m.threshold(),
                    interval_ms: m.interval.as_millis() as u64,
                    count,
                })
                .collect(),
            window_ms: window.map(|w| w.as_millis() as u64),
        })?;
        let mut samplers = Vec::new();
        let mut broken: Vec<Option<String>> = Vec::new();
        for m in &metrics {
            match self.source(env, m).and_then(|s| {
                let windows = m.slo.as_ref().map(|o| o.windows()).unwrap_or_default();
                Sampler::new(s, m.interval, m.timeout, &windows)
            }) {
                Ok(s) => {
                    samplers.push(Some(s));
                    broken.push(None);
                }
                Err(e) => {
                    samplers.push(None);
                    broken.push(Some(e));
                }
            }
        }
        if !a.initial_delay.is_zero()
            && let Some(stop) = self.wait_for(a.initial_delay, env, false).await?
        {
            return Err(stop);
        }
        for s in samplers.iter_mut().flatten() {
            let prime = s.prime();
            self.while_answering(env, prime).await?;
        }
        let mut run = AnalysisRun::new(&a);
        let start = Instant::now();
        let mut next: Vec<Instant> = metrics.iter().map(|m| start + m.interval).collect();
        let mut left = planned.clone();
        let mut ready: Vec<Option<Ready>> = metrics
            .iter()
            .map(|m| {
                m.wait_for_data.map(|w| Ready {
                    need: m.min_data.max(1),
                    streak: 0,
                    until: start + w,
                    bound: w,
                })
            })
            .collect();
        let mut early = None;
        while let Some(i) = (0..metrics.len())
            .filter(|&i| left[i] > 0)
            .min_by_key(|&i| next[i])
        {
            let now = Instant::now();
            if next[i] > now
                && let Some(stop) = self.wait_for(next[i] - now, env, false).await?
            {
                return Err(stop);
            }
            let sample = match (&mut samplers[i], &broken[i]) {
                (Some(s), _) => self.while_answering(env, s.sample()).await?,
                (None, why) => Sample::Error(why.clone().unwrap_or_default()),
            };
            if let Some(r) = &mut ready[i] {
                match r.offer(&sample, Instant::now()) {
                    Readiness::Ready => ready[i] = None,
                    Readiness::Waiting(why) => {
                        let j = waiting(&metrics[i], &sample, why);
                        self.emit(Event::MetricSampled {
                            env,
                            step,
                            analysis: a.name.clone(),
                            metric: metrics[i].name.clone(),
                            value: j.value,
                            shown: j.shown,
                            judgement: j.judgement,
                            why: j.why,
                        })?;
                        next[i] += metrics[i].interval;
                        continue;
                    }
                    Readiness::TimedOut(why) => {
                        early = Some((Verdict::Inconclusive, format!("{} {why}", metrics[i].name)));
                        break;
                    }
                }
            }
            let j = judge(&metrics[i], &sample);
            self.emit(Event::MetricSampled {
                env,
                step,
                analysis: a.name.clone(),
                metric: metrics[i].name.clone(),
                value: j.value,
                shown: j.shown.clone(),
                judgement: j.judgement,
                why: j.why.clone(),
            })?;
            left[i] -= 1;
            next[i] += metrics[i].interval;
            if let Some(v) = run.record(i, &j) {
                early = Some(v);
                break;
            }
        }
        let (verdict, reason) = early.unwrap_or_else(|| run.finish());
        self.emit(Event::AnalysisFinished {
            env,
            step,
            analysis: a.name.clone(),
            verdict: verdict.clone(),
            reason: reason.clone(),
        })?;
        match verdict {
            Verdict::Passed => Ok(reason),
            Verdict::Failed => Err(Stop::AnalysisFailed {
                step,
                analysis: a.name,
                reason,
            }),
            Verdict::Inconclusive => self.inconclusive(env, step, &a, reason).await,
        }
    }

    async fn inconclusive(
        &mut self,
        env: usize,
        step: usize,
        a: &Analysis,
        reason: String,
    ) -> Result<String, Stop> {
        let fail = |reason: String| Stop::AnalysisInconclusive {
            step,
            analysis: a.name.clone(),
            reason,
        };
        match self.plan.environments[env].on_inconclusive {
            OnInconclusive::Continue => {
                Ok(format!("inconclusive, continued as configured: {reason}"))
            }
            OnInconclusive::Fail => Err(fail(reason)),
            OnInconclusive::Ask if self.opts.unattended == Unattended::FailClosed => {
                Err(fail(format!("{reason} (nobody can decide in this mode)")))
            }
            OnInconclusive::Ask => {
                self.emit(Event::PauseRequested {
                    actor: Actor::engine(),
                    reason: Some(format!(
                        "analysis {} inconclusive: {reason} (resume to continue, or roll back)",
                        a.name
                    )),
                })?;
                self.emit(Event::Paused {
                    env: Some(env),
                    step: Some(step),
                })?;
                self.wait_while_paused(env, None).await?;
                Ok(format!("inconclusive, continued by the operator: {reason}"))
            }
        }
    }

    /// Awaits `fut` while still taking commands, so an abort is never stuck behind a slow source.
    async fn while_answering<T>(
        &mut self,
        env: usize,
        fut: impl std::future::Future<Output = T>,
    ) -> Result<T, Stop> {
        tokio::pin!(fut);
        loop {
            tokio::select! {
                v = &mut fut => return Ok(v),
                c = self.cmds.recv(), if self.cmds_open => match c {
                    None => self.cmds_open = false,
                    Some(cmd) => {
                        if let Some(Wake::Stop(stop)) = self.on_command(cmd, &Ctx::InEnv { env, gate: None })? {
                            return Err(stop);
                        }
                    }
                },
            }
        }
    }

    /// The metric's source for this environment, placeholders filled in: a
    /// URL's secrets only in the copy that is asked, never in the shown one.
    fn source(&self, env: usize, m: &Metric) -> Result<Source, String> {
        let e = &self.plan.environments[env];
        let x = |s: &str| template::expand(s, e, &self.plan.release);
        let url = |u: &str| -> Result<(String, String), String> {
            let asked = template::expand_for_request(
                u,
                e,
                &self.plan.release,
                &self.secrets,
                Fill::UrlComponent,
            )?;
            Ok((asked, crate::secrets::url::shown(&x(u)?)))
        };
        Ok(match &m.source {
            MetricSource::Scrape { url: u, query } => {
                let (url, shown) = url(u)?;
                Source::Scrape {
                    url,
                    shown,
                    query: x(query)?,
                }
            }
            MetricSource::Prometheus {
                url: u,
                query,
                range,
                reduce,
            } => {
                let (url, shown) = url(u)?;
                Source::Prometheus {
                    url,
                    shown,
                    query: x(query)?,
                    range: *range,
                    reduce: *reduce,
                }
            }
            MetricSource::Http {
                url: u,
                json_path,
                headers,
            } => {
                let (url, shown) = url(u)?;
                let mut filled = Vec::new();
                for (k, v) in headers {
                    filled.push((
                        k.clone(),
                        template::expand_for_request(
                            v,
                            e,
                            &self.plan.release,
                            &self.secrets,
                            Fill::Raw,
                        )?,
                    ));
                }
                Source::Http {
                    url,
                    shown,
                    headers: filled,
                    json_path: x(json_path)?,
                }
            }
            MetricSource::Command { command } => Source::Command {
                command: command.clone(),
                cwd: self.plan.base_dir.clone(),
                env: self.command_env(&Exec {
                    env,
                    step: 0,
                    command,
                    stage: None,
                    vars: &[],
                    timeout: m.timeout,
                    rollback: false,
                    attempt: 1,
                    verify: false,
                }),
                unset: crate::secrets::source_variables(&self.plan),
            },
        })
    }
}

/// A metric waiting for its data: how many readings in a row it still needs, and until when.
struct Ready {
    need: u32,
    streak: u32,
    until: Instant,
    bound: Duration,
}

enum Readiness {
    /// This sample is the first judged one.
    Ready,
    /// Journaled as waiting, with why.
    Waiting(String),
    /// The bound passed without data: the analysis is inconclusive.
    TimedOut(String),
}

impl Ready {
    fn offer(&mut self, sample: &Sample, now: Instant) -> Readiness {
        let has_data = match sample {
            Sample::Value(x) => x.is_finite(),
            Sample::Ratios(r) => r.iter().all(|(_, x)| x.is_finite()),
            // An unreachable source is judged (and counted) as ever.
            Sample::Error(_) => return Readiness::Ready,
            Sample::NoData(_) => false,
        };
        self.streak = if has_data { self.streak + 1 } else { 0 };
        if self.streak >= self.need {
            return Readiness::Ready;
        }
        let what = match sample {
            Sample::NoData(why) => why.clone(),
            Sample::Value(x) if !x.is_finite() => fmt_num(*x),
            Sample::Ratios(_) if !has_data => "an error ratio that is no number".to_string(),
            _ => format!("{} of {} samples with data", self.streak, self.need),
        };
        if now >= self.until {
            return Readiness::TimedOut(format!(
                "had no data within {} ({what})",
                humantime::format_duration(self.bound)
            ));
        }
        Readiness::Waiting(what)
    }
}

/// A sample taken while the metric waits for data: shown, never judged.
fn waiting(m: &Metric, sample: &Sample, why: String) -> crate::analysis::Judged {
    let j = judge(m, sample);
    crate::analysis::Judged {
        judgement: crate::analysis::Judgement::Waiting,
        value: j.value,
        shown: j.shown,
        why: format!("waiting for data: {why}"),
    }
}

/// Samples of `m` the analysis takes: its count, or as many intervals as fit its time.
fn planned(a: &Analysis, m: &Metric, window: Option<Duration>) -> u32 {
    if let Some(c) = a.count {
        return c;
    }
    match a.duration.or(window) {
        Some(d) => {
            let d = d.saturating_sub(a.initial_delay);
            ((d.as_secs_f64() / m.interval.as_secs_f64()).floor() as u32).max(1)
        }
        None => 1,
    }
}

fn describe(m: &Metric) -> String {
    if let Some(slo) = &m.slo {
        let pairs: Vec<String> = slo
            .pairs
            .iter()
            .map(|p| {
                format!(
                    "burn > {}× over {} and {}",
                    fmt_num(p.rate),
                    promql_duration(p.short),
                    promql_duration(p.long)
                )
            })
            .collect();
        return format!(
            "objective {}%, fails at {}",
            fmt_num(slo.objective),
            pairs.join(" or ")
        );
    }
    match (m.success, m.failure) {
        (Some(s), Some(f)) => format!("{s} (fails {f})"),
        (Some(s), None) => s.to_string(),
        (None, Some(f)) => format!("fails {f}"),
        (None, None) => String::new(),
    }
}
