//! Why an analysis passed, failed or proved nothing, from a run's journal:
//! every analysis with its limits, each metric's source (kind and host,
//! never credentials), query and condition, every sample with its time,
//! value, judgement and why, the tally, and the verdict with its reason.
//! Pure: `slate analysis` prints it, the dossier's Verification section
//! carries it in compact form.

use jiff::Timestamp;
use serde::Serialize;

use crate::analysis::{Judgement, Verdict};
use crate::engine::event::{Event, Record};
use crate::engine::state::RunState;
use crate::plan::{Metric, MetricSource, Plan, template};

/// One analysis as it ran.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Explained {
    pub env: String,
    pub step: usize,
    /// The step's label ("analysis canary 5m", "gate canary").
    pub step_label: String,
    pub analysis: String,
    pub started: Timestamp,
    /// The limits that decided it; `None` when the journal's plan no longer parses.
    pub limits: Option<Limits>,
    pub metrics: Vec<MetricExplained>,
    /// `None` while it is still measuring (or the engine stopped mid-way).
    pub verdict: Option<Verdict>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Limits {
    pub count: Option<u32>,
    pub duration_ms: Option<u64>,
    /// The pause the analysis measured for, when it took a pause's place.
    pub window_ms: Option<u64>,
    pub initial_delay_ms: u64,
    pub failure_limit: u32,
    pub inconclusive_limit: u32,
    pub consecutive_error_limit: u32,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MetricExplained {
    pub name: String,
    pub unit: String,
    /// "scrape", "prometheus" or "command".
    pub source: String,
    /// Host (and port) asked, for a URL source; never user info or a query string.
    pub host: Option<String>,
    /// The query as asked in this environment (secrets named, never filled in).
    pub query: Option<String>,
    pub condition: String,
    pub samples: Vec<SampleExplained>,
    pub tally: Tally,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SampleExplained {
    pub at: Timestamp,
    pub value: Option<f64>,
    pub shown: String,
    pub judgement: Judgement,
    pub why: String,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Tally {
    /// Judged samples (waiting ones are not).
    pub taken: u32,
    pub passed: u32,
    pub failed: u32,
    pub inconclusive: u32,
    pub errors: u32,
    /// Samples taken while the metric waited for its data.
    pub waiting: u32,
}

impl Tally {
    fn add(&mut self, j: Judgement) {
        match j {
            Judgement::Pass => self.passed += 1,
            Judgement::Fail => self.failed += 1,
            Judgement::Inconclusive => self.inconclusive += 1,
            Judgement::Error => self.errors += 1,
            Judgement::Waiting => {
                self.waiting += 1;
                return;
            }
        }
        self.taken += 1;
    }
}

/// Every analysis of the run, in the order they started.
pub fn explain(records: &[Record]) -> Vec<Explained> {
    let state = RunState::replay(records);
    let plan = crate::runs::recorded_plan(records).and_then(Result::ok);
    let env_name = |e: usize| state.envs.get(e).map_or("?", |v| v.name.as_str());
    let mut out: Vec<Explained> = Vec::new();
    for r in records {
        match &r.event {
            Event::AnalysisStarted {
                env,
                step,
                analysis,
                metrics,
                window_ms,
            } => {
                let planned = plan.as_ref().and_then(|p| p.analysis(analysis));
                let environment = plan.as_ref().and_then(|p| p.environments.get(*env));
                out.push(Explained {
                    env: env_name(*env).to_string(),
                    step: *step,
                    step_label: state
                        .envs
                        .get(*env)
                        .and_then(|e| e.steps.get(*step))
                        .map_or(String::new(), |s| s.label.clone()),
                    analysis: analysis.clone(),
                    started: r.ts,
                    limits: planned.map(|a| Limits {
                        count: a.count,
                        duration_ms: a.duration.map(|d| d.as_millis() as u64),
                        window_ms: *window_ms,
                        initial_delay_ms: a.initial_delay.as_millis() as u64,
                        failure_limit: a.failure_limit,
                        inconclusive_limit: a.inconclusive_limit,
                        consecutive_error_limit: a.consecutive_error_limit,
                    }),
                    metrics: metrics
                        .iter()
                        .map(|info| {
                            let m = plan.as_ref().and_then(|p| p.metric(&info.name));
                            let (source, host, query) = match (m, environment, &plan) {
                                (Some(m), Some(e), Some(p)) => described(m, e, p),
                                (Some(m), _, _) => (m.source.kind().to_string(), None, None),
                                _ => ("unknown".to_string(), None, None),
                            };
                            MetricExplained {
                                name: info.name.clone(),
                                unit: info.unit.clone(),
                                source,
                                host,
                                query,
                                condition: info.condition.clone(),
                                samples: Vec::new(),
                                tally: Tally::default(),
                            }
                        })
                        .collect(),
                    verdict: None,
                    reason: None,
                });
            }
            Event::MetricSampled {
                env,
                step,
                analysis,
                metric,
                value,
                shown,
                judgement,
                why,
            } => {
                let m = out
                    .iter_mut()
                    .rev()
                    .find(|a| a.env == env_name(*env) && a.step == *step && &a.analysis == analysis)
                    .and_then(|a| a.metrics.iter_mut().find(|m| &m.name == metric));
                if let Some(m) = m {
                    m.tally.add(*judgement);
                    m.samples.push(SampleExplained {
                        at: r.ts,
                        value: *value,
                        shown: shown.clone(),
                        judgement: *judgement,
                        why: why.clone(),
                    });
                }
            }
            Event::AnalysisFinished {
                env,
                step,
                analysis,
                verdict,
                reason,
            } => {
                if let Some(a) = out
                    .iter_mut()
                    .rev()
                    .find(|a| a.env == env_name(*env) && a.step == *step && &a.analysis == analysis)
                {
                    a.verdict = Some(verdict.clone());
                    a.reason = Some(reason.clone());
                }
            }
            _ => {}
        }
    }
    out
}

/// A metric's source kind, the host it asks and its query, as filled in for
/// one environment. The journaled plan has credentials masked already; only
/// the host is kept all the same.
fn described(
    m: &Metric,
    e: &crate::plan::Environment,
    p: &Plan,
) -> (String, Option<String>, Option<String>) {
    let x = |s: &str| template::expand(s, e, &p.release).unwrap_or_else(|_| s.to_string());
    let (url, query) = match &m.source {
        MetricSource::Scrape { url, query } | MetricSource::Prometheus { url, query, .. } => {
            (url, query)
        }
        MetricSource::Http { url, json_path, .. } => (url, json_path),
        MetricSource::Command { .. } => return ("command".into(), None, None),
    };
    (
        m.source.kind().to_string(),
        Some(host_of(&x(url))),
        Some(x(query)),
    )
}

/// "host:port" of a URL, or "?" when it does not parse.
pub fn host_of(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => match (u.host_str(), u.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            _ => "?".into(),
        },
        Err(_) => "?".into(),
    }
}

/// The marks tables use for judgements and verdicts.
pub fn mark(j: Judgement) -> &'static str {
    match j {
        Judgement::Pass => "✔",
        Judgement::Fail => "✘",
        Judgement::Inconclusive => "?",
        Judgement::Error => "!",
        Judgement::Waiting => "…",
    }
}

pub fn verdict_mark(v: &Verdict) -> &'static str {
    match v {
        Verdict::Passed => "✔",
        Verdict::Failed => "✘",
        Verdict::Inconclusive => "?",
    }
}

/// The limits in words: "count 3 · failure_limit 1 · inconclusive_limit 0 · consecutive_error_limit 4".
pub fn limits_line(l: &Limits) -> String {
    let ms = |v: u64| humantime::format_duration(std::time::Duration::from_millis(v)).to_string();
    let mut parts = Vec::new();
    if let Some(c) = l.count {
        parts.push(format!("count {c}"));
    }
    if let Some(d) = l.duration_ms {
        parts.push(format!("duration {}", ms(d)));
    }
    if let Some(w) = l.window_ms {
        parts.push(format!("window {}", ms(w)));
    }
    if l.initial_delay_ms > 0 {
        parts.push(format!("initial_delay {}", ms(l.initial_delay_ms)));
    }
    parts.push(format!("failure_limit {}", l.failure_limit));
    parts.push(format!("inconclusive_limit {}", l.inconclusive_limit));
    parts.push(format!(
        "consecutive_error_limit {}",
        l.consecutive_error_limit
    ));
    parts.join(" · ")
}

/// The tally in words: "3 taken: 2 passed, 1 failed, 0 inconclusive, 0 errors (2 waiting for data)".
pub fn tally_line(t: &Tally) -> String {
    let waiting = if t.waiting > 0 {
        format!(" ({} waiting for data)", t.waiting)
    } else {
        String::new()
    };
    format!(
        "{} taken: {} passed, {} failed, {} inconclusive, {} errors{waiting}",
        t.taken, t.passed, t.failed, t.inconclusive, t.errors
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_host_never_carries_credentials_or_a_query_string() {
        assert_eq!(
            host_of("https://user:pw@prom.internal:9090/api?token=x"),
            "prom.internal:9090"
        );
        assert_eq!(host_of("http://127.0.0.1/metrics"), "127.0.0.1");
        assert_eq!(host_of("not a url"), "?");
    }

    #[test]
    fn waiting_samples_are_counted_apart() {
        let mut t = Tally::default();
        for j in [
            Judgement::Waiting,
            Judgement::Pass,
            Judgement::Fail,
            Judgement::Error,
        ] {
            t.add(j);
        }
        assert_eq!(
            tally_line(&t),
            "3 taken: 1 passed, 1 failed, 0 inconclusive, 1 errors (1 waiting for data)"
        );
    }
}
