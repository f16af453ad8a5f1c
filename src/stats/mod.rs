//! Delivery metrics (the four DORA measures) over the release ledger:
//! `slate stats` prints them, `slate stats --serve` exposes them to
//! Prometheus with the live state of the machine's runs.
//!
//! [`compute`] is pure: ledger rows (`Store::deliveries`), a window and a
//! way to learn a version's commit time in, a [`Report`] out, so the same
//! numbers reach the text, the JSON and the exposition. The definitions
//! live here, once, as the text every output prints ([`DEFINITIONS`]).

pub mod commits;
pub mod exposition;
pub mod render;
pub mod serve;

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::Serialize;

use crate::store::{Delivery, Reach};

/// The definitions, as printed once by `slate stats` and put in its JSON.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Definitions {
    pub deployment_frequency: &'static str,
    pub lead_time: &'static str,
    pub change_failure_rate: &'static str,
    pub time_to_restore: &'static str,
}

pub const DEFINITIONS: Definitions = Definitions {
    deployment_frequency: "versions that went live in the environment within the window, per day and per week of the window",
    lead_time: "median time from the released version's commit to live in the environment, when the run's plan names a `repository` and git there knows the version; otherwise from the start of the run that took it there",
    change_failure_rate: "failed changes / changes: a change is a run's visit to the environment that ended within the window (went live, rolled back, failed or held); it failed when it was rolled back (by its run, or later with `slate rollback`) or its run failed inside the environment; visits still in progress or interrupted are not counted",
    time_to_restore: "median time from the start of a failed change to the next version live in the same release and environment; a failure with no version live after it yet is unrestored",
};

/// The window the metrics cover: `[since, until]`.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Window {
    pub since: Timestamp,
    pub until: Timestamp,
}

impl Window {
    pub fn ms(&self) -> u64 {
        self.until
            .duration_since(self.since)
            .as_millis()
            .clamp(0, u64::MAX as i128) as u64
    }
}

/// Lead time: how many samples, on which basis, and their median.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LeadTime {
    pub samples: u64,
    pub from_commit: u64,
    pub from_run_start: u64,
    pub median_ms: Option<u64>,
}

/// Time to restore: failures in the window, how many were followed by a
/// version live, and the median time that took.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Restore {
    pub failures: u64,
    pub restored: u64,
    pub unrestored: u64,
    pub median_ms: Option<u64>,
}

/// Visits in the window that no metric counts, and why.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NotCounted {
    pub in_progress: u64,
    pub interrupted: u64,
}

/// The four metrics over one set of places.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Metrics {
    /// Versions that went live in the window.
    pub deployments: u64,
    pub per_day: f64,
    pub per_week: f64,
    pub lead_time: LeadTime,
    pub changes: u64,
    pub failures: u64,
    /// failures / changes; None when there were no changes.
    pub change_failure_rate: Option<f64>,
    pub restore: Restore,
    pub not_counted: NotCounted,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReleaseMetrics {
    pub release: String,
    #[serde(flatten)]
    pub metrics: Metrics,
}

/// One environment: all releases together, then each release.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EnvMetrics {
    pub env: String,
    pub overall: Metrics,
    pub releases: Vec<ReleaseMetrics>,
}

/// What `slate stats` reports.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub window: WindowOut,
    pub release: Option<String>,
    pub env: Option<String>,
    pub definitions: Definitions,
    pub environments: Vec<EnvMetrics>,
}

#[derive(Debug, Clone, Serialize)]
pub struct WindowOut {
    pub since: Timestamp,
    pub until: Timestamp,
    pub ms: u64,
    /// The window as the person gave it ("90d").
    pub given: String,
}

/// Samples and counts gathered for one set of places, made into
/// [`Metrics`] once everything is in.
#[derive(Default)]
struct Tally {
    deployments: u64,
    lead: Vec<u64>,
    from_commit: u64,
    changes: u64,
    failures: u64,
    restores: Vec<u64>,
    unrestored: u64,
    in_progress: u64,
    interrupted: u64,
}

impl Tally {
    fn add(&mut self, o: &Tally) {
        self.deployments += o.deployments;
        self.lead.extend_from_slice(&o.lead);
        self.from_commit += o.from_commit;
        self.changes += o.changes;
        self.failures += o.failures;
        self.restores.extend_from_slice(&o.restores);
        self.unrestored += o.unrestored;
        self.in_progress += o.in_progress;
        self.interrupted += o.interrupted;
    }

    fn finish(mut self, window_ms: u64) -> Metrics {
        let days = window_ms as f64 / 86_400_000.0;
        let per_day = if days > 0.0 {
            self.deployments as f64 / days
        } else {
            0.0
        };
        Metrics {
            deployments: self.deployments,
            per_day,
            per_week: per_day * 7.0,
            lead_time: LeadTime {
                samples: self.lead.len() as u64,
                from_commit: self.from_commit,
                from_run_start: self.lead.len() as u64 - self.from_commit,
                median_ms: median(&mut self.lead),
            },
            changes: self.changes,
            failures: self.failures,
            change_failure_rate: (self.changes > 0)
                .then(|| self.failures as f64 / self.changes as f64),
            restore: Restore {
                failures: self.restores.len() as u64 + self.unrestored,
                restored: self.restores.len() as u64,
                unrestored: self.unrestored,
                median_ms: median(&mut self.restores),
            },
            not_counted: NotCounted {
                in_progress: self.in_progress,
                interrupted: self.interrupted,
            },
        }
    }
}

/// The median (the mean of the two middle values for an even count,
/// rounded down to the millisecond); None for no samples.
pub fn median(v: &mut [u64]) -> Option<u64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let n = v.len();
    Some(if !n.is_multiple_of(2) {
        v[n / 2]
    } else {
        // Halves first: two large durations never overflow.
        v[n / 2 - 1] / 2 + v[n / 2] / 2 + (v[n / 2 - 1] % 2 + v[n / 2] % 2) / 2
    })
}

fn ms_between(from: Timestamp, to: Timestamp) -> u64 {
    to.duration_since(from)
        .as_millis()
        .clamp(0, u64::MAX as i128) as u64
}

/// The metrics of one place (one release × environment), its rows in the
/// order they started. `commit` gives a row's version's commit time when it
/// is known.
fn place(
    rows: &[&Delivery],
    window: Window,
    commit: &mut dyn FnMut(&Delivery) -> Option<Timestamp>,
) -> Tally {
    let mut t = Tally::default();
    let inside = |ts: Option<Timestamp>| ts.is_some_and(|ts| ts >= window.since);
    for (i, row) in rows.iter().enumerate() {
        let d = &row.deployment;
        match d.reach {
            Reach::InProgress => {
                if inside(d.started) {
                    t.in_progress += 1;
                }
                continue;
            }
            Reach::Interrupted => {
                if inside(d.started) {
                    t.interrupted += 1;
                }
                continue;
            }
            _ => {}
        }
        let end = if d.reach == Reach::Deployed {
            d.live_at
        } else {
            d.ended.or(d.started)
        };
        if !inside(end) {
            continue;
        }
        t.changes += 1;
        match d.reach {
            Reach::Deployed => {
                let Some(live) = d.live_at else { continue };
                t.deployments += 1;
                let from = match commit(row) {
                    Some(c) => {
                        t.from_commit += 1;
                        Some(c)
                    }
                    None => row.run_started.or(d.started),
                };
                // A row with no start at all gives no lead time sample.
                if let Some(from) = from {
                    t.lead.push(ms_between(from, live));
                }
            }
            Reach::RolledBack | Reach::Failed => {
                t.failures += 1;
                let failed_at = d.started.or(d.ended);
                let over = d.ended.or(d.started);
                let next = rows[i + 1..].iter().find_map(|n| {
                    let n = &n.deployment;
                    (n.reach == Reach::Deployed)
                        .then_some(n.live_at)
                        .flatten()
                        .filter(|l| over.is_none_or(|o| *l >= o))
                });
                match (failed_at, next) {
                    (Some(f), Some(l)) => t.restores.push(ms_between(f, l)),
                    _ => t.unrestored += 1,
                }
            }
            _ => {}
        }
    }
    t
}

/// The report over `rows` (as `Store::deliveries` returns them).
pub fn compute(
    rows: &[Delivery],
    window: Window,
    given: &str,
    release: Option<&str>,
    env: Option<&str>,
    commit: &mut dyn FnMut(&Delivery) -> Option<Timestamp>,
) -> Report {
    // env → (plan order, release → rows), rows in start order.
    let mut envs: BTreeMap<&str, (u32, BTreeMap<&str, Vec<&Delivery>>)> = BTreeMap::new();
    for r in rows {
        let d = &r.deployment;
        let e = envs.entry(&d.env).or_insert((d.env_index, BTreeMap::new()));
        e.0 = e.0.min(d.env_index);
        e.1.entry(&d.release).or_default().push(r);
    }
    let ms = window.ms();
    let mut out: Vec<(u32, EnvMetrics)> = Vec::new();
    for (name, (order, releases)) in envs {
        let mut overall = Tally::default();
        let mut per = Vec::new();
        for (release, mut rows) in releases {
            rows.sort_by(|a, b| {
                (a.deployment.started, &a.deployment.run_id)
                    .cmp(&(b.deployment.started, &b.deployment.run_id))
            });
            let t = place(&rows, window, commit);
            overall.add(&t);
            per.push(ReleaseMetrics {
                release: release.to_string(),
                metrics: t.finish(ms),
            });
        }
        out.push((
            order,
            EnvMetrics {
                env: name.to_string(),
                overall: overall.finish(ms),
                releases: per,
            },
        ));
    }
    out.sort_by(|a, b| (a.0, &a.1.env).cmp(&(b.0, &b.1.env)));
    Report {
        window: WindowOut {
            since: window.since,
            until: window.until,
            ms,
            given: given.to_string(),
        },
        release: release.map(str::to_string),
        env: env.map(str::to_string),
        definitions: DEFINITIONS,
        environments: out.into_iter().map(|(_, e)| e).collect(),
    }
}

/// The report for `scope`, now, from the store.
pub fn read(
    store: &dyn crate::store::Store,
    commits: &mut commits::Commits,
    scope: &serve::Scope,
) -> Result<Report, String> {
    let until = Timestamp::now();
    let since = jiff::SignedDuration::try_from(scope.since)
        .ok()
        .and_then(|d| until.checked_sub(d).ok())
        .ok_or_else(|| {
            format!(
                "--since {} reaches before any time Slate knows",
                scope.given
            )
        })?;
    let rows = store
        .deliveries(&crate::store::DeliveryQuery {
            release: scope.release.clone(),
            env: scope.env.clone(),
            since,
        })
        .map_err(|e| e.to_string())?;
    Ok(compute(
        &rows,
        Window { since, until },
        &scope.given,
        scope.release.as_deref(),
        scope.env.as_deref(),
        &mut |row| commits.of(row),
    ))
}

/// "90 days", "1 day", "12h 00m": the window as the text says it.
pub fn window_words(ms: u64) -> String {
    if ms > 0 && ms.is_multiple_of(86_400_000) {
        let d = ms / 86_400_000;
        return format!("{d} day{}", if d == 1 { "" } else { "s" });
    }
    crate::duration::human(ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Deployment;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + s).unwrap()
    }

    fn row(release: &str, version: &str, reach: Reach, start: i64, end: i64) -> Delivery {
        Delivery {
            deployment: Deployment {
                release: release.into(),
                env: "prod".into(),
                env_index: 2,
                version: version.into(),
                run_id: format!("run-{version}"),
                reach,
                started: Some(t(start)),
                live_at: (reach == Reach::Deployed).then(|| t(end)),
                ended: (reach != Reach::Deployed).then(|| t(end)),
                artifacts: vec![],
                config_digest: None,
                approvals: vec![],
                verdicts: vec![],
                message: String::new(),
            },
            run_started: Some(t(start - 60)),
        }
    }

    #[test]
    fn medians_of_odd_and_even_counts() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [5]), Some(5));
        assert_eq!(median(&mut [9, 1, 5]), Some(5));
        assert_eq!(median(&mut [4, 1, 3, 2]), Some(2));
        assert_eq!(median(&mut [u64::MAX, u64::MAX]), Some(u64::MAX));
    }

    #[test]
    fn a_rollback_then_a_fix_gives_every_metric() {
        let w = Window {
            since: t(0),
            until: t(7 * 86_400),
        };
        let rows = vec![
            row("a", "1", Reach::Deployed, 100, 160),
            row("a", "2", Reach::RolledBack, 1000, 1100),
            row("a", "3", Reach::Deployed, 2000, 2100),
            row("a", "4", Reach::InProgress, 3000, 3000),
            // Before the window: not counted.
            row("a", "0", Reach::Deployed, -5000, -4000),
        ];
        let r = compute(&rows, w, "7d", None, None, &mut |_| None);
        let m = &r.environments[0].overall;
        assert_eq!(m.deployments, 2);
        assert!((m.per_week - 2.0).abs() < 1e-9);
        assert_eq!(m.lead_time.samples, 2);
        assert_eq!(m.lead_time.from_run_start, 2);
        // 160 - 40 = 120 s and 2100 - 1940 = 160 s: the median is 140 s.
        assert_eq!(m.lead_time.median_ms, Some(140_000));
        assert_eq!((m.changes, m.failures), (3, 1));
        assert_eq!(m.change_failure_rate, Some(1.0 / 3.0));
        assert_eq!(m.restore.restored, 1);
        // From the failed change's start (1000) to 3 live (2100).
        assert_eq!(m.restore.median_ms, Some(1_100_000));
        assert_eq!(m.not_counted.in_progress, 1);
    }

    #[test]
    fn an_empty_window_has_no_rates() {
        let w = Window {
            since: t(0),
            until: t(86_400),
        };
        let r = compute(&[], w, "1d", None, None, &mut |_| None);
        assert!(r.environments.is_empty());
        let m = Tally::default().finish(w.ms());
        assert_eq!(m.change_failure_rate, None);
        assert_eq!(m.lead_time.median_ms, None);
        assert_eq!(m.per_day, 0.0);
    }
}
