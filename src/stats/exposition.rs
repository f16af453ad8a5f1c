//! The Prometheus text exposition (format 0.0.4) of the delivery metrics
//! and the live state: pure, a [`Report`] and a [`Live`] in, text out.
//! Every metric is a gauge: the window slides, so counts go down as well
//! as up. Per environment, the series without a `release` label are all
//! releases together. A metric with nothing to measure (no changes, no
//! lead time) is left out rather than written as NaN.

use std::fmt::Write;

use super::{Metrics, Report};

/// What is going on now, on this machine and in the ledger.
#[derive(Debug, Clone, Default)]
pub struct Live {
    pub runs_active: u64,
    pub gates_waiting: u64,
    /// The longest a gate has been waiting, in milliseconds.
    pub longest_wait_ms: Option<u64>,
    /// (release, environment, outcome key) of each place's newest visit.
    pub last: Vec<(String, String, &'static str)>,
}

/// The outcomes `slate_last_outcome` may name (the ledger's reach keys).
pub const OUTCOMES: [&str; 6] = [
    "deployed",
    "rolled_back",
    "held",
    "failed",
    "in_progress",
    "interrupted",
];

/// A label value as the format wants it: `\`, `"` and line feeds escaped.
pub fn escape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

struct Family {
    name: &'static str,
    help: &'static str,
}

/// One metric per place (and per environment overall).
fn per_place(out: &mut String, r: &Report, f: Family, value: impl Fn(&Metrics) -> Option<f64>) {
    let mut lines = String::new();
    for e in &r.environments {
        let env = escape(&e.env);
        if let Some(v) = value(&e.overall) {
            let _ = writeln!(lines, "{}{{env=\"{env}\"}} {}", f.name, number(v));
        }
        for rel in &e.releases {
            if let Some(v) = value(&rel.metrics) {
                let _ = writeln!(
                    lines,
                    "{}{{env=\"{env}\",release=\"{}\"}} {}",
                    f.name,
                    escape(&rel.release),
                    number(v)
                );
            }
        }
    }
    head(out, &f);
    out.push_str(&lines);
}

fn head(out: &mut String, f: &Family) {
    let _ = writeln!(out, "# HELP {} {}", f.name, f.help);
    let _ = writeln!(out, "# TYPE {} gauge", f.name);
}

/// Finite numbers only reach here; integers are written without a fraction.
fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

fn secs(ms: Option<u64>) -> Option<f64> {
    ms.map(|ms| ms as f64 / 1000.0)
}

/// The whole exposition.
pub fn render(r: &Report, live: &Live) -> String {
    let mut out = String::new();
    head(
        &mut out,
        &Family {
            name: "slate_stats_window_seconds",
            help: "The window the delivery metrics cover, ending now.",
        },
    );
    let _ = writeln!(
        out,
        "slate_stats_window_seconds {}",
        number(r.window.ms as f64 / 1000.0)
    );
    per_place(
        &mut out,
        r,
        Family {
            name: "slate_deployments",
            help: "Versions that went live in the environment within the window.",
        },
        |m| Some(m.deployments as f64),
    );
    per_place(
        &mut out,
        r,
        Family {
            name: "slate_deployments_per_day",
            help: "Deployment frequency: versions live per day of the window.",
        },
        |m| Some(m.per_day),
    );
    per_place(
        &mut out,
        r,
        Family {
            name: "slate_lead_time_median_seconds",
            help: "Median time from the version's commit (or else its run's start) to live.",
        },
        |m| secs(m.lead_time.median_ms),
    );
    per_place(
        &mut out,
        r,
        Family {
            name: "slate_lead_time_samples",
            help: "Versions the lead time's median is over.",
        },
        |m| Some(m.lead_time.samples as f64),
    );
    per_place(
        &mut out,
        r,
        Family {
            name: "slate_changes",
            help: "Visits to the environment that ended within the window (live, rolled back, failed or held).",
        },
        |m| Some(m.changes as f64),
    );
    per_place(
        &mut out,
        r,
        Family {
            name: "slate_change_failures",
            help: "Changes rolled back or failed inside the environment.",
        },
        |m| Some(m.failures as f64),
    );
    per_place(
        &mut out,
        r,
        Family {
            name: "slate_change_failure_ratio",
            help: "Change failure rate: change failures / changes (absent with no changes).",
        },
        |m| m.change_failure_rate,
    );
    per_place(
        &mut out,
        r,
        Family {
            name: "slate_time_to_restore_median_seconds",
            help: "Median time from a failed change's start to the next version live.",
        },
        |m| secs(m.restore.median_ms),
    );
    per_place(
        &mut out,
        r,
        Family {
            name: "slate_failures_unrestored",
            help: "Failed changes with no version live after them yet.",
        },
        |m| Some(m.restore.unrestored as f64),
    );
    head(
        &mut out,
        &Family {
            name: "slate_runs_active",
            help: "Runs whose engine is driving them on this machine.",
        },
    );
    let _ = writeln!(out, "slate_runs_active {}", live.runs_active);
    head(
        &mut out,
        &Family {
            name: "slate_gates_waiting",
            help: "Gates of active runs waiting for approval.",
        },
    );
    let _ = writeln!(out, "slate_gates_waiting {}", live.gates_waiting);
    head(
        &mut out,
        &Family {
            name: "slate_gate_wait_longest_seconds",
            help: "How long the longest-waiting gate has waited (0 when none waits).",
        },
    );
    let _ = writeln!(
        out,
        "slate_gate_wait_longest_seconds {}",
        number(secs(live.longest_wait_ms).unwrap_or(0.0))
    );
    head(
        &mut out,
        &Family {
            name: "slate_last_outcome",
            help: "1 for the outcome of the newest visit to each release and environment, 0 for the others.",
        },
    );
    for (release, env, outcome) in &live.last {
        for o in OUTCOMES {
            let _ = writeln!(
                out,
                "slate_last_outcome{{env=\"{}\",release=\"{}\",outcome=\"{o}\"}} {}",
                escape(env),
                escape(release),
                u8::from(o == *outcome)
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_label_values_are_escaped() {
        assert_eq!(escape(r#"a"b\c"#), r#"a\"b\\c"#);
        assert_eq!(escape("x\ny"), "x\\ny");
        assert_eq!(escape("\\n"), "\\\\n");
    }

    #[test]
    fn the_exposition_parses_back() {
        let live = Live {
            runs_active: 2,
            gates_waiting: 1,
            longest_wait_ms: Some(1500),
            last: vec![("pay\"me\nnt\\s".into(), "prod".into(), "rolled_back")],
        };
        let w = super::super::Window {
            since: jiff::Timestamp::from_second(0).unwrap(),
            until: jiff::Timestamp::from_second(86_400).unwrap(),
        };
        let r = super::super::compute(&[], w, "1d", None, None, &mut |_| None);
        let text = render(&r, &live);
        let parsed = crate::metrics::exposition::parse(&text)
            .expect("parses")
            .series;
        let last: Vec<_> = parsed
            .iter()
            .filter(|s| s.name == "slate_last_outcome" && s.value == 1.0)
            .collect();
        assert_eq!(last.len(), 1);
        assert!(
            last[0]
                .labels
                .iter()
                .any(|(k, v)| k == "release" && v == "pay\"me\nnt\\s"),
            "{last:?}"
        );
    }
}
