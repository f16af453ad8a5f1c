//! The board's delivery panel (`s`): per environment, the four delivery
//! metrics of `slate stats` over the last twelve weeks and the versions that
//! went live each week, as a sparkline. Read from the store off the UI loop
//! when the panel opens (and again with `r` in it), never by the watcher:
//! the board's refresh stays as cheap as it was.

use jiff::{SignedDuration, Timestamp};

use crate::stats::{self, Metrics};
use crate::store::{Delivery, DeliveryQuery, Reach, Store};

/// Weeks the panel covers.
pub const WEEKS: usize = 12;

/// One environment's line of the panel.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvStats {
    /// As shown (neutralised).
    pub env: String,
    pub metrics: Metrics,
    /// Versions that went live there each week, oldest first, [`WEEKS`] of them.
    pub weeks: Vec<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StatsPanel {
    pub envs: Vec<EnvStats>,
}

fn week() -> SignedDuration {
    SignedDuration::from_hours(24 * 7)
}

/// Versions that went live in each of the [`WEEKS`] weeks ending at `until`, oldest first.
pub fn per_week(rows: &[&Delivery], until: Timestamp) -> Vec<u64> {
    let mut weeks = vec![0u64; WEEKS];
    for r in rows {
        let d = &r.deployment;
        let Some(at) = d.live_at.filter(|_| d.reach == Reach::Deployed) else {
            continue;
        };
        let ago = until.duration_since(at);
        if ago.is_negative() {
            continue;
        }
        let i = (ago.as_secs() / week().as_secs()) as usize;
        if i < WEEKS {
            weeks[WEEKS - 1 - i] += 1;
        }
    }
    weeks
}

/// The panel over `rows` (as `Store::deliveries` returns them) for the
/// weeks ending at `until`; lead time from the runs' starts (the panel runs
/// no git; `slate stats` counts from commits where it can).
pub fn panel(rows: &[Delivery], until: Timestamp) -> StatsPanel {
    let since = until - week() * WEEKS as i32;
    let report = stats::compute(
        rows,
        stats::Window { since, until },
        "12w",
        None,
        None,
        &mut |_| None,
    );
    let envs = report
        .environments
        .into_iter()
        .map(|e| {
            let mine: Vec<&Delivery> = rows.iter().filter(|r| r.deployment.env == e.env).collect();
            EnvStats {
                env: crate::text::neutral::line(&e.env).into_owned(),
                weeks: per_week(&mine, until),
                metrics: e.overall,
            }
        })
        .collect();
    StatsPanel { envs }
}

/// Reads the panel from the store, now.
pub fn read(store: &dyn Store) -> Result<StatsPanel, String> {
    let until = Timestamp::now();
    let rows = store
        .deliveries(&DeliveryQuery {
            release: None,
            env: None,
            since: until - week() * WEEKS as i32,
        })
        .map_err(|e| e.to_string())?;
    Ok(panel(&rows, until))
}

/// `counts` as block glyphs, the largest a full block; an empty week is the lowest.
pub fn sparkline(counts: &[u64]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = counts.iter().copied().max().unwrap_or(0);
    counts
        .iter()
        .map(|&c| {
            if max == 0 || c == 0 {
                BARS[0]
            } else {
                BARS[((c * 7).div_ceil(max)) as usize]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Deployment;

    fn row(env: &str, days_ago: i64, reach: Reach, until: Timestamp) -> Delivery {
        let at = until - SignedDuration::from_hours(24 * days_ago);
        Delivery {
            deployment: Deployment {
                release: "svc".into(),
                env: env.into(),
                env_index: u32::from(env == "prod"),
                version: format!("1.{days_ago}"),
                run_id: format!("r{days_ago}{env}"),
                reach,
                started: Some(at - SignedDuration::from_mins(30)),
                live_at: Some(at),
                ended: Some(at),
                artifacts: vec![],
                config_digest: None,
                approvals: vec![],
                verdicts: vec![],
                message: String::new(),
            },
            run_started: Some(at - SignedDuration::from_mins(30)),
        }
    }

    #[test]
    fn weeks_count_what_went_live_oldest_first() {
        let until: Timestamp = "2026-12-04T12:00:00Z".parse().unwrap();
        let rows = vec![
            row("prod", 1, Reach::Deployed, until),
            row("prod", 2, Reach::Deployed, until),
            row("prod", 9, Reach::Deployed, until),
            row("prod", 10, Reach::RolledBack, until),
            row("prod", 200, Reach::Deployed, until),
            row("dev", 3, Reach::Deployed, until),
        ];
        let p = panel(&rows, until);
        let prod = p.envs.iter().find(|e| e.env == "prod").unwrap();
        assert_eq!(prod.weeks.len(), WEEKS);
        assert_eq!(prod.weeks[WEEKS - 1], 2, "{:?}", prod.weeks);
        assert_eq!(prod.weeks[WEEKS - 2], 1, "{:?}", prod.weeks);
        assert_eq!(prod.weeks.iter().sum::<u64>(), 3, "{:?}", prod.weeks);
        assert_eq!(prod.metrics.deployments, 3);
        assert_eq!(p.envs[0].env, "dev", "plan order");
        assert_eq!(sparkline(&prod.weeks).chars().last(), Some('█'));
        assert_eq!(sparkline(&[0, 0]), "▁▁");
    }
}
