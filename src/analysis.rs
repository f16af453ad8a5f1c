//! Judging measurements: the analysis state machine, pure and clock-free.
//!
//! Each sample of a metric is judged pass, fail, inconclusive or error. The
//! tallies decide the analysis with the semantics of progressive-delivery
//! tools, plus the guard they lack: nothing counts as proven unless it was
//! measured. "No data", NaN and ±Inf are inconclusive, never success; an
//! analysis in which a metric never passed is inconclusive even if nothing
//! failed; and a source that cannot be reached for more than the consecutive
//! error limit makes the analysis inconclusive rather than quietly green.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::metrics::Sample;
use crate::plan::condition::fmt_num;
use crate::plan::{Analysis, Condition, Metric, Slo, promql_duration};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Judgement {
    Pass,
    Fail,
    /// Measured, but nothing to judge: no data, NaN, ±Inf, or between the conditions.
    Inconclusive,
    /// The source could not be asked.
    Error,
    /// Before a metric's data is ready (`wait_for_data`): journaled, not judged.
    Waiting,
}

impl Judgement {
    pub fn word(self) -> &'static str {
        match self {
            Judgement::Pass => "pass",
            Judgement::Fail => "fail",
            Judgement::Inconclusive => "inconclusive",
            Judgement::Error => "error",
            Judgement::Waiting => "waiting for data",
        }
    }
}

/// One judged sample: the value as shown, and why it was judged so.
#[derive(Debug, Clone, PartialEq)]
pub struct Judged {
    pub judgement: Judgement,
    /// The finite value, if there was one.
    pub value: Option<f64>,
    /// "0.071", "NaN", "no data", "error".
    pub shown: String,
    /// "0.071 > 0.05", "no series matched …", "unreachable: …".
    pub why: String,
}

/// Judges one sample against a metric's conditions.
///
/// Failure is checked first; with both conditions set, a value meeting neither
/// is inconclusive; with one set, its opposite decides.
pub fn judge(metric: &Metric, sample: &Sample) -> Judged {
    let x = match sample {
        Sample::NoData(why) => {
            return Judged {
                judgement: Judgement::Inconclusive,
                value: None,
                shown: "no data".into(),
                why: why.clone(),
            };
        }
        Sample::Error(why) => {
            return Judged {
                judgement: Judgement::Error,
                value: None,
                shown: "error".into(),
                why: why.clone(),
            };
        }
        Sample::Ratios(ratios) => {
            return match &metric.slo {
                Some(slo) => judge_burn(slo, ratios),
                None => Judged {
                    judgement: Judgement::Error,
                    value: None,
                    shown: "error".into(),
                    why: "error ratios came for a metric without an objective".into(),
                },
            };
        }
        Sample::Value(x) => *x,
    };
    let shown = fmt_num(x);
    if !x.is_finite() {
        return Judged {
            judgement: Judgement::Inconclusive,
            value: None,
            why: format!("{shown} proves nothing"),
            shown,
        };
    }
    let verdict = |j: Judgement, c: Condition| Judged {
        judgement: j,
        value: Some(x),
        shown: shown.clone(),
        why: format!("{shown} {c}"),
    };
    match (metric.success, metric.failure) {
        (_, Some(f)) if f.holds(x) => verdict(Judgement::Fail, f),
        (Some(s), _) if s.holds(x) => verdict(Judgement::Pass, s),
        (Some(_), Some(f)) => Judged {
            judgement: Judgement::Inconclusive,
            value: Some(x),
            why: format!(
                "{shown} meets neither {} nor {f}",
                metric.success.map(|s| s.to_string()).unwrap_or_default()
            ),
            shown,
        },
        (Some(s), None) => verdict(Judgement::Fail, s.negated()),
        (None, Some(f)) => verdict(Judgement::Pass, f.negated()),
        // The loader requires a condition; without one nothing can be judged.
        (None, None) => Judged {
            judgement: Judgement::Inconclusive,
            value: Some(x),
            why: "no condition to judge against".into(),
            shown,
        },
    }
}

/// Judges an SLO's error ratios by its burn pairs: a pair fails when both
/// of its windows burn the error budget faster than its rate. The value is
/// the worst pair's slower burn over that pair's rate (1 is the line).
pub fn judge_burn(slo: &Slo, ratios: &[(Duration, f64)]) -> Judged {
    let budget = slo.budget();
    let objective = format!("(objective {}%)", fmt_num(slo.objective));
    for (w, r) in ratios {
        if !r.is_finite() {
            let shown = fmt_num(*r);
            return Judged {
                judgement: Judgement::Inconclusive,
                value: None,
                why: format!(
                    "the error ratio over {} is {shown}, which proves nothing (no requests?)",
                    promql_duration(*w)
                ),
                shown,
            };
        }
    }
    // Rates of two counters can put a ratio a hair below zero: no errors.
    let burn = |w: Duration| {
        ratios
            .iter()
            .find(|(x, _)| *x == w)
            .map(|(_, r)| r.max(0.0) / budget)
    };
    // A hostile source's 1e300 stays one short word.
    let times = |x: f64| {
        if x < 1e6 {
            format!("{x:.1}×")
        } else {
            format!("{x:.2e}×")
        }
    };
    let mut worst: Option<(f64, String)> = None;
    let (mut firing, mut calm) = (Vec::new(), Vec::new());
    for p in &slo.pairs {
        let (Some(s), Some(l)) = (burn(p.short), burn(p.long)) else {
            return Judged {
                judgement: Judgement::Error,
                value: None,
                shown: "error".into(),
                why: format!(
                    "no error ratio over {} or {}",
                    promql_duration(p.short),
                    promql_duration(p.long)
                ),
            };
        };
        let both = format!(
            "{} over {} and {} over {}",
            times(s),
            promql_duration(p.short),
            times(l),
            promql_duration(p.long)
        );
        let level = s.min(l) / p.rate;
        if worst.as_ref().is_none_or(|(x, _)| level > *x) {
            worst = Some((level, both.clone()));
        }
        if s > p.rate && l > p.rate {
            firing.push(format!("burn {both} > {}", times(p.rate)));
        } else if s > p.rate || l > p.rate {
            calm.push(format!("{both}, not both > {}", times(p.rate)));
        } else {
            calm.push(format!("{both} <= {}", times(p.rate)));
        }
    }
    let (value, shown) = worst.unwrap_or((0.0, String::new()));
    let shown = format!("burn {shown}");
    if firing.is_empty() {
        Judged {
            judgement: Judgement::Pass,
            value: Some(value),
            shown,
            why: format!("burn {} {objective}", calm.join("; ")),
        }
    } else {
        Judged {
            judgement: Judgement::Fail,
            value: Some(value),
            shown,
            why: format!("{} {objective}", firing.join("; ")),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Passed,
    Failed,
    Inconclusive,
}

impl Verdict {
    pub fn word(&self) -> &'static str {
        match self {
            Verdict::Passed => "passed",
            Verdict::Failed => "failed",
            Verdict::Inconclusive => "inconclusive",
        }
    }
}

/// Counts for one metric over one analysis.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally {
    pub taken: u32,
    pub passed: u32,
    pub failed: u32,
    pub inconclusive: u32,
    pub errors: u32,
    pub consecutive_errors: u32,
    last_fail: Option<String>,
    last_inconclusive: Option<String>,
    last_error: Option<String>,
}

/// The running state of one analysis: feed it judged samples, ask it when to stop.
#[derive(Debug, Clone)]
pub struct AnalysisRun {
    names: Vec<String>,
    tallies: Vec<Tally>,
    failure_limit: u32,
    inconclusive_limit: u32,
    consecutive_error_limit: u32,
}

impl AnalysisRun {
    pub fn new(a: &Analysis) -> Self {
        Self {
            names: a.metrics.clone(),
            tallies: vec![Tally::default(); a.metrics.len()],
            failure_limit: a.failure_limit,
            inconclusive_limit: a.inconclusive_limit,
            consecutive_error_limit: a.consecutive_error_limit,
        }
    }

    pub fn tally(&self, metric: usize) -> &Tally {
        &self.tallies[metric]
    }

    /// Records a judged sample of metric `i`; returns a verdict if the analysis
    /// is decided early (a limit was exceeded).
    pub fn record(&mut self, i: usize, j: &Judged) -> Option<(Verdict, String)> {
        let t = &mut self.tallies[i];
        t.taken += 1;
        match j.judgement {
            Judgement::Pass => {
                t.passed += 1;
                t.consecutive_errors = 0;
            }
            Judgement::Fail => {
                t.failed += 1;
                t.consecutive_errors = 0;
                t.last_fail = Some(j.why.clone());
            }
            Judgement::Inconclusive => {
                t.inconclusive += 1;
                t.consecutive_errors = 0;
                t.last_inconclusive = Some(format!("{} ({})", j.shown, j.why));
            }
            Judgement::Error => {
                t.errors += 1;
                t.consecutive_errors += 1;
                t.last_error = Some(j.why.clone());
            }
            Judgement::Waiting => {
                // Not a judged sample: the engine never records one.
                t.taken -= 1;
                return None;
            }
        }
        let name = &self.names[i];
        let t = &self.tallies[i];
        if t.failed > self.failure_limit {
            return Some((Verdict::Failed, self.fail_reason(i)));
        }
        if t.inconclusive > self.inconclusive_limit {
            return Some((
                Verdict::Inconclusive,
                format!(
                    "{name} inconclusive for {} of {} samples: {}",
                    t.inconclusive,
                    t.taken,
                    t.last_inconclusive.as_deref().unwrap_or("")
                ),
            ));
        }
        if t.consecutive_errors > self.consecutive_error_limit {
            return Some((
                Verdict::Inconclusive,
                format!(
                    "{name} could not be measured {} times in a row: {}",
                    t.consecutive_errors,
                    t.last_error.as_deref().unwrap_or("")
                ),
            ));
        }
        None
    }

    fn fail_reason(&self, i: usize) -> String {
        let t = &self.tallies[i];
        format!(
            "{} {} for {} of {} samples",
            self.names[i],
            t.last_fail.as_deref().unwrap_or("failed"),
            t.failed,
            t.taken
        )
    }

    /// The verdict once every planned sample is in (or the window closed).
    pub fn finish(&self) -> (Verdict, String) {
        for (i, t) in self.tallies.iter().enumerate() {
            if t.failed > self.failure_limit {
                return (Verdict::Failed, self.fail_reason(i));
            }
        }
        // Nothing proven is not a pass: every metric must have passed at least
        // once, and the reason names each one that never did.
        let unproven: Vec<String> = self
            .names
            .iter()
            .zip(&self.tallies)
            .filter(|(_, t)| t.passed == 0)
            .map(|(name, t)| {
                let why = if t.taken == 0 {
                    "no sample was taken".to_string()
                } else if t.errors == t.taken {
                    format!(
                        "every one of {} samples errored ({})",
                        t.taken,
                        t.last_error.as_deref().unwrap_or("")
                    )
                } else {
                    format!("no sample of {} passed", t.taken)
                };
                format!("{name}: {why}")
            })
            .collect();
        if !unproven.is_empty() {
            return (Verdict::Inconclusive, unproven.join("; "));
        }
        let summary = self
            .names
            .iter()
            .zip(&self.tallies)
            .map(|(n, t)| format!("{n} passed {} of {}", t.passed, t.taken))
            .collect::<Vec<_>>()
            .join(", ");
        (Verdict::Passed, summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::MetricSource;

    fn metric(success: Option<&str>, failure: Option<&str>) -> Metric {
        Metric {
            name: "error_ratio".into(),
            unit: "ratio".into(),
            source: MetricSource::Command {
                command: "true".into(),
            },
            interval: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
            success: success.map(|s| Condition::parse(s).unwrap()),
            failure: failure.map(|s| Condition::parse(s).unwrap()),
            slo: None,
            wait_for_data: None,
            min_data: 1,
        }
    }

    fn analysis(failure_limit: u32, inconclusive_limit: u32, errors: u32) -> Analysis {
        Analysis {
            name: "canary".into(),
            metrics: vec!["error_ratio".into()],
            count: Some(3),
            duration: None,
            initial_delay: Duration::ZERO,
            failure_limit,
            inconclusive_limit,
            consecutive_error_limit: errors,
        }
    }

    #[test]
    fn judges_against_success_and_failure_conditions() {
        let m = metric(Some("<= 0.05"), None);
        let j = judge(&m, &Sample::Value(0.0712));
        assert_eq!(j.judgement, Judgement::Fail);
        assert_eq!(j.why, "0.0712 > 0.05");
        assert_eq!(judge(&m, &Sample::Value(0.01)).judgement, Judgement::Pass);
        let both = metric(Some("< 0.05"), Some(">= 0.1"));
        assert_eq!(judge(&both, &Sample::Value(0.2)).why, "0.2 >= 0.1");
        let mid = judge(&both, &Sample::Value(0.07));
        assert_eq!(mid.judgement, Judgement::Inconclusive);
        assert_eq!(mid.why, "0.07 meets neither < 0.05 nor >= 0.1");
        let fail_only = metric(None, Some("> 500"));
        assert_eq!(
            judge(&fail_only, &Sample::Value(20.0)).judgement,
            Judgement::Pass
        );
    }

    #[test]
    fn no_data_nan_and_infinity_are_inconclusive_never_success() {
        let m = metric(Some("< 0.05"), None);
        for s in [
            Sample::Value(f64::NAN),
            Sample::Value(f64::INFINITY),
            Sample::Value(f64::NEG_INFINITY),
            Sample::NoData("no series matched".into()),
        ] {
            let j = judge(&m, &s);
            assert_eq!(j.judgement, Judgement::Inconclusive, "{s:?}");
            assert_eq!(j.value, None);
        }
        assert_eq!(
            judge(&m, &Sample::Error("refused".into())).judgement,
            Judgement::Error
        );
    }

    #[test]
    fn passes_when_every_sample_passes() {
        let m = metric(Some("< 0.05"), None);
        let mut run = AnalysisRun::new(&analysis(0, 0, 4));
        for x in [0.01, 0.02, 0.03] {
            assert_eq!(run.record(0, &judge(&m, &Sample::Value(x))), None);
        }
        assert_eq!(
            run.finish(),
            (Verdict::Passed, "error_ratio passed 3 of 3".into())
        );
    }

    #[test]
    fn fails_as_soon_as_failures_exceed_the_limit_and_says_why_in_one_line() {
        let m = metric(Some("<= 0.05"), None);
        let mut run = AnalysisRun::new(&analysis(2, 0, 4));
        assert_eq!(run.record(0, &judge(&m, &Sample::Value(0.06))), None);
        assert_eq!(run.record(0, &judge(&m, &Sample::Value(0.068))), None);
        let (v, why) = run.record(0, &judge(&m, &Sample::Value(0.071))).unwrap();
        assert_eq!(v, Verdict::Failed);
        assert_eq!(why, "error_ratio 0.071 > 0.05 for 3 of 3 samples");
    }

    #[test]
    fn inconclusive_beyond_its_limit_stops_the_analysis() {
        let m = metric(Some("< 0.05"), None);
        let mut run = AnalysisRun::new(&analysis(0, 1, 4));
        assert_eq!(
            run.record(0, &judge(&m, &Sample::NoData("no series matched x".into()))),
            None
        );
        let (v, why) = run.record(0, &judge(&m, &Sample::Value(f64::NAN))).unwrap();
        assert_eq!(v, Verdict::Inconclusive);
        assert_eq!(
            why,
            "error_ratio inconclusive for 2 of 2 samples: NaN (NaN proves nothing)"
        );
    }

    #[test]
    fn consecutive_errors_beyond_the_limit_are_inconclusive_and_a_success_resets_them() {
        let m = metric(Some("< 0.05"), None);
        let mut run = AnalysisRun::new(&analysis(0, 0, 2));
        let err = Sample::Error("prometheus at http://127.0.0.1:9 is unreachable".into());
        assert_eq!(run.record(0, &judge(&m, &err)), None);
        assert_eq!(run.record(0, &judge(&m, &err)), None);
        assert_eq!(run.record(0, &judge(&m, &Sample::Value(0.01))), None);
        assert_eq!(run.tally(0).consecutive_errors, 0);
        assert_eq!(run.record(0, &judge(&m, &err)), None);
        assert_eq!(run.record(0, &judge(&m, &err)), None);
        let (v, why) = run.record(0, &judge(&m, &err)).unwrap();
        assert_eq!(v, Verdict::Inconclusive);
        assert!(
            why.starts_with("error_ratio could not be measured 3 times in a row: prometheus"),
            "{why}"
        );
    }

    #[test]
    fn an_analysis_in_which_every_measurement_errored_is_not_a_success() {
        let m = metric(Some("< 0.05"), None);
        let mut run = AnalysisRun::new(&analysis(0, 0, 10));
        for _ in 0..3 {
            assert_eq!(
                run.record(0, &judge(&m, &Sample::Error("refused".into()))),
                None
            );
        }
        let (v, why) = run.finish();
        assert_eq!(v, Verdict::Inconclusive);
        assert_eq!(why, "error_ratio: every one of 3 samples errored (refused)");
        let empty = AnalysisRun::new(&analysis(0, 0, 10));
        assert_eq!(empty.finish().0, Verdict::Inconclusive);
    }

    #[test]
    fn failures_within_the_limit_still_pass() {
        let m = metric(Some("< 0.05"), None);
        let mut run = AnalysisRun::new(&analysis(1, 0, 4));
        for x in [0.2, 0.01, 0.01] {
            assert_eq!(run.record(0, &judge(&m, &Sample::Value(x))), None);
        }
        assert_eq!(run.finish().0, Verdict::Passed);
    }

    fn slo() -> Slo {
        Slo {
            objective: 99.9,
            pairs: Slo::default_pairs(),
        }
    }

    fn ratios(r: [f64; 4]) -> Vec<(Duration, f64)> {
        let w = slo().windows();
        w.into_iter().zip(r).collect()
    }

    #[test]
    fn a_burn_pair_fails_only_when_both_its_windows_burn_too_fast() {
        // Windows in order: 5m, 30m, 1h, 6h.
        let bad = judge_burn(&slo(), &ratios([0.0312, 0.001, 0.018, 0.001]));
        assert_eq!(bad.judgement, Judgement::Fail);
        assert_eq!(
            bad.why,
            "burn 31.2× over 5m and 18.0× over 1h > 14.4× (objective 99.9%)"
        );
        assert_eq!(bad.shown, "burn 31.2× over 5m and 18.0× over 1h");
        assert!((bad.value.unwrap() - 18.0 / 14.4).abs() < 1e-9);
        // A spike the long window does not confirm is not a page.
        let spike = judge_burn(&slo(), &ratios([0.0312, 0.001, 0.002, 0.0005]));
        assert_eq!(spike.judgement, Judgement::Pass);
        assert_eq!(
            spike.why,
            "burn 31.2× over 5m and 2.0× over 1h, not both > 14.4×; \
             1.0× over 30m and 0.5× over 6h <= 6.0× (objective 99.9%)"
        );
        // A hair below zero from two counters' rates is no errors.
        let calm = judge_burn(&slo(), &ratios([-1e-12, 0.0, 0.0, 0.0]));
        assert_eq!(calm.judgement, Judgement::Pass);
        assert_eq!(calm.value, Some(0.0));
    }

    #[test]
    fn an_error_ratio_that_is_no_number_proves_nothing() {
        for x in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let j = judge_burn(&slo(), &ratios([0.0, x, 0.0, 0.0]));
            assert_eq!(j.judgement, Judgement::Inconclusive, "{x}");
            assert_eq!(j.value, None);
            assert!(
                j.why.starts_with("the error ratio over 30m is "),
                "{}",
                j.why
            );
        }
        // Huge but finite burns fail, and say so.
        let j = judge_burn(&slo(), &ratios([1e300, 1e300, 1e300, 1e300]));
        assert_eq!(j.judgement, Judgement::Fail);
        assert!(j.why.starts_with("burn 1.00e303× over 5m"), "{}", j.why);
        // A window the source did not answer for is an error, never a pass.
        let j = judge_burn(&slo(), &ratios([0.0, 0.0, 0.0, 0.0])[..2]);
        assert_eq!(j.judgement, Judgement::Error);
    }
}
