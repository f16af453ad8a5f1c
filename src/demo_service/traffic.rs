//! Synthetic traffic: the demo service "serves" requests that never touch a
//! socket, so its metrics look like a real service's (rate, errors, latency)
//! without the demo needing a load generator.

use std::sync::Arc;
use std::time::Duration;

use super::state::Shared;

/// How often a batch of synthetic requests is generated.
pub const TICK: Duration = Duration::from_millis(100);

/// A good build's error probability.
const BASE_ERROR: f64 = 0.005;
/// A bad build's error probability once fully degraded.
const WORST_ERROR: f64 = 0.30;
/// A good build's latency range, in seconds.
const LATENCY: (f64, f64) = (0.030, 0.060);
/// A fully degraded bad build is this many times slower.
const WORST_SLOWDOWN: f64 = 3.0;

/// A build is bad when its version says so; this is how the demo plan ships
/// a release that the canary analysis must catch.
pub fn is_bad_build(version: &str) -> bool {
    version.to_ascii_lowercase().contains("bad")
}

/// How a build behaves as time passes since the process started.
#[derive(Debug, Clone, Copy)]
pub struct Behaviour {
    pub bad: bool,
    pub ramp_after: Duration,
    pub ramp_for: Duration,
}

/// One synthetic request's outcome.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample {
    pub ok: bool,
    pub latency_seconds: f64,
}

impl Behaviour {
    /// 0 while healthy, rising linearly to 1 once fully degraded.
    pub fn degradation(&self, elapsed: Duration) -> f64 {
        if !self.bad || elapsed < self.ramp_after {
            return 0.0;
        }
        let into = (elapsed - self.ramp_after).as_secs_f64();
        let span = self.ramp_for.as_secs_f64();
        if span <= 0.0 {
            1.0
        } else {
            (into / span).min(1.0)
        }
    }

    pub fn error_probability(&self, elapsed: Duration) -> f64 {
        BASE_ERROR + (WORST_ERROR - BASE_ERROR) * self.degradation(elapsed)
    }

    pub fn sample(&self, elapsed: Duration, rng: &mut fastrand::Rng) -> Sample {
        let d = self.degradation(elapsed);
        let ok = rng.f64() >= self.error_probability(elapsed);
        let base = LATENCY.0 + (LATENCY.1 - LATENCY.0) * rng.f64();
        let slowdown = 1.0 + (WORST_SLOWDOWN - 1.0) * d;
        Sample {
            ok,
            latency_seconds: base * slowdown,
        }
    }
}

/// Turns a rate into whole requests per tick, carrying the fraction so that
/// e.g. 5 req/s at weight 10 still yields one request every two seconds.
#[derive(Debug, Default)]
pub struct Pacer {
    carry: f64,
}

impl Pacer {
    pub fn due(&mut self, rate: u32, weight: u32) -> u64 {
        let exact = f64::from(rate) * f64::from(weight) / 100.0 * TICK.as_secs_f64() + self.carry;
        let whole = exact.floor();
        self.carry = exact - whole;
        whole as u64
    }
}

/// Generates traffic forever; the server drops this task when it stops.
pub async fn generate(shared: Arc<Shared>, behaviour: Behaviour, rate: u32) {
    let mut rng = fastrand::Rng::new();
    let mut pacer = Pacer::default();
    let mut interval = tokio::time::interval(TICK);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        let n = pacer.due(rate, shared.weight());
        if n > 0 {
            let elapsed = shared.started.elapsed();
            let samples: Vec<Sample> = (0..n)
                .map(|_| behaviour.sample(elapsed, &mut rng))
                .collect();
            shared.record(&samples);
        }
        shared.tick();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pacer_carries_fractions() {
        let mut p = Pacer::default();
        // 5 req/s at weight 10 is 0.05 per tick: one request per 20 ticks.
        let total: u64 = (0..200).map(|_| p.due(5, 10)).sum();
        assert_eq!(total, 10);
        assert_eq!(p.due(200, 0), 0);
    }

    #[test]
    fn bad_builds_ramp_linearly_and_good_ones_never() {
        let bad = Behaviour {
            bad: true,
            ramp_after: Duration::from_secs(8),
            ramp_for: Duration::from_secs(12),
        };
        let good = Behaviour { bad: false, ..bad };
        assert_eq!(bad.degradation(Duration::from_secs(8)), 0.0);
        assert!((bad.degradation(Duration::from_secs(14)) - 0.5).abs() < 1e-9);
        assert_eq!(bad.degradation(Duration::from_secs(60)), 1.0);
        assert!((bad.error_probability(Duration::from_secs(60)) - WORST_ERROR).abs() < 1e-9);
        assert_eq!(good.error_probability(Duration::from_secs(60)), BASE_ERROR);
        let instant = Behaviour {
            ramp_for: Duration::ZERO,
            ..bad
        };
        assert_eq!(instant.degradation(Duration::from_secs(8)), 1.0);
    }
}
