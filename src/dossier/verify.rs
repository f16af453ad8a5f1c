//! Section 4, Verification & Monitoring: every check with its result, every metric
//! with its threshold and what was observed, each analysis's verdict, and the
//! reports and commands evidence gates judged (`evidence.rs`).

use super::input::Input;
use super::md::{self, Table};
use crate::engine::event::{Event, Judgement, MetricInfo, Verdict};
use crate::plan::condition::fmt_num;

struct CheckRow {
    env: usize,
    step: usize,
    check: String,
    role: &'static str,
    attempts: u32,
    ok: bool,
    latency_ms: u64,
    message: String,
}

struct MetricRow {
    env: usize,
    step: usize,
    analysis: String,
    info: MetricInfo,
    samples: u32,
    failed: u32,
    min: Option<f64>,
    max: Option<f64>,
    last: String,
}

pub fn write(out: &mut String, input: &Input) {
    md::heading(out, 2, "Verification & Monitoring");
    let mut checks: Vec<CheckRow> = Vec::new();
    let mut metrics: Vec<MetricRow> = Vec::new();
    let mut verdicts: Vec<String> = Vec::new();
    for (_, ev) in input.events() {
        match ev {
            Event::CheckResult {
                env,
                step,
                check,
                role,
                attempt,
                ok,
                latency_ms,
                message,
            } => {
                let row = checks.iter_mut().rev().find(|c| {
                    c.env == *env && c.step == *step && &c.check == check && c.role == role.word()
                });
                // A new first attempt is a new run of the check (health checks repeat per step).
                match row {
                    Some(r) if *attempt > 1 => {
                        r.attempts = *attempt;
                        r.ok = *ok;
                        r.latency_ms = *latency_ms;
                        r.message = message.clone();
                    }
                    _ => checks.push(CheckRow {
                        env: *env,
                        step: *step,
                        check: check.clone(),
                        role: role.word(),
                        attempts: *attempt,
                        ok: *ok,
                        latency_ms: *latency_ms,
                        message: message.clone(),
                    }),
                }
            }
            Event::AnalysisStarted {
                env,
                step,
                analysis,
                metrics: infos,
                ..
            } => {
                for info in infos {
                    metrics.push(MetricRow {
                        env: *env,
                        step: *step,
                        analysis: analysis.clone(),
                        info: info.clone(),
                        samples: 0,
                        failed: 0,
                        min: None,
                        max: None,
                        last: String::new(),
                    });
                }
            }
            Event::MetricSampled {
                env,
                step,
                analysis,
                metric,
                value,
                shown,
                judgement,
                ..
            } => {
                // Samples taken while waiting for data were not judged.
                if let Some(m) = metrics.iter_mut().rev().find(|m| {
                    m.env == *env
                        && m.step == *step
                        && &m.analysis == analysis
                        && &m.info.name == metric
                }) && *judgement != Judgement::Waiting
                {
                    m.samples += 1;
                    if *judgement == Judgement::Fail {
                        m.failed += 1;
                    }
                    if let Some(v) = value {
                        m.min = Some(m.min.map_or(*v, |x| x.min(*v)));
                        m.max = Some(m.max.map_or(*v, |x| x.max(*v)));
                    }
                    m.last = shown.clone();
                }
            }
            Event::AnalysisFinished {
                env,
                analysis,
                verdict,
                reason,
                ..
            } => {
                let mark = match verdict {
                    Verdict::Passed => "✔",
                    Verdict::Failed => "✘",
                    Verdict::Inconclusive => "?",
                };
                verdicts.push(format!(
                    "{mark} **{}** in {}: {} — {}",
                    md::text(analysis),
                    md::text(input.env_name(*env)),
                    verdict.word(),
                    md::text(reason)
                ));
            }
            _ => {}
        }
    }

    md::heading(out, 3, "Checks");
    if checks.is_empty() {
        md::para(out, "No smoke tests, health checks or check gates ran.");
    } else {
        let mut t = Table::new(&[
            "Environment",
            "Step",
            "Check",
            "Role",
            "Attempts",
            "Result",
            "Latency",
            "Detail",
        ]);
        for c in &checks {
            let step = input.step_label(c.env, c.step);
            t.row(vec![
                md::text(input.env_name(c.env)),
                md::text(step),
                md::text(&c.check),
                c.role.into(),
                c.attempts.to_string(),
                if c.ok {
                    "✔ passed".into()
                } else {
                    "✘ failed".into()
                },
                format!("{} ms", c.latency_ms),
                md::text(&c.message),
            ]);
        }
        t.write(out);
    }

    md::heading(out, 3, "Metrics");
    if metrics.is_empty() {
        md::para(out, "No metrics were measured.");
    } else {
        let mut t = Table::new(&[
            "Environment",
            "Analysis",
            "Metric",
            "Threshold",
            "Samples",
            "Failed",
            "Min",
            "Max",
            "Last",
        ]);
        for m in &metrics {
            let unit = if m.info.unit.is_empty() {
                String::new()
            } else {
                format!(" {}", m.info.unit)
            };
            let num = |v: Option<f64>| {
                v.map(|v| format!("{}{unit}", fmt_num(v)))
                    .unwrap_or_else(|| "—".into())
            };
            t.row(vec![
                md::text(input.env_name(m.env)),
                md::text(&m.analysis),
                md::text(&m.info.name),
                md::code(&m.info.condition),
                format!("{} of {}", m.samples, m.info.count),
                m.failed.to_string(),
                num(m.min),
                num(m.max),
                match m.last.parse::<f64>() {
                    Ok(_) => format!("{}{unit}", md::text(&m.last)),
                    Err(_) if m.last.is_empty() => "—".into(),
                    Err(_) => md::text(&m.last),
                },
            ]);
        }
        t.write(out);
    }

    md::heading(out, 3, "Analysis verdicts");
    if verdicts.is_empty() {
        md::para(out, "No analysis reached a verdict.");
    } else {
        md::bullets(out, &verdicts);
    }
    samples(out, input);

    super::evidence::write(out, input);
}

/// Samples shown per metric in the dossier; `slate analysis` shows them all.
const SAMPLES_SHOWN: usize = 24;

/// Why each analysis decided as it did, compactly: per metric its source
/// (kind and host), query, every sample's mark and value, the tally and the
/// limits (`crate::explain`, the table `slate analysis` prints in full).
fn samples(out: &mut String, input: &Input) {
    let all = crate::explain::explain(input.records);
    if all.is_empty() {
        return;
    }
    md::heading(out, 3, "Why each analysis decided");
    let mut t = Table::new(&[
        "Environment",
        "Analysis",
        "Metric",
        "Source",
        "Query",
        "Samples",
        "Tally",
        "Limits",
    ]);
    for a in &all {
        for m in &a.metrics {
            let skipped = m.samples.len().saturating_sub(SAMPLES_SHOWN);
            let mut shown: Vec<String> = m.samples[skipped..]
                .iter()
                .map(|s| format!("{}{}", crate::explain::mark(s.judgement), s.shown))
                .collect();
            if skipped > 0 {
                shown.insert(0, format!("… {skipped} earlier"));
            }
            t.row(vec![
                md::text(&a.env),
                md::text(&a.analysis),
                md::text(&m.name),
                match &m.host {
                    Some(h) => format!("{} {}", m.source, md::text(h)),
                    None => m.source.clone(),
                },
                m.query
                    .as_deref()
                    .map(md::code)
                    .unwrap_or_else(|| "—".into()),
                md::text(&shown.join(" ")),
                md::text(&crate::explain::tally_line(&m.tally)),
                a.limits
                    .as_ref()
                    .map(|l| md::text(&crate::explain::limits_line(l)))
                    .unwrap_or_else(|| "—".into()),
            ]);
        }
    }
    t.write(out);
}
