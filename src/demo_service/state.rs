//! What the HTTP routes and the traffic generator share inside one instance.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Instant;

use super::metrics::Stats;
use super::traffic::Sample;

pub struct Shared {
    pub name: String,
    pub version: String,
    /// The bad build's ramp and `uptime_seconds` count from here.
    pub started: Instant,
    weight: AtomicU32,
    stats: Mutex<Stats>,
    /// Webhook notifications received on `POST /hooks`.
    hooks: AtomicU64,
    /// Traffic generator ticks finished (`traffic_ticks` in `/version`): a
    /// client that sees it move knows every tick before has been recorded.
    ticks: AtomicU64,
}

impl Shared {
    pub fn new(name: String, version: String, weight: u32) -> Self {
        Self {
            name,
            version,
            started: Instant::now(),
            weight: AtomicU32::new(weight),
            stats: Mutex::new(Stats::default()),
            hooks: AtomicU64::new(0),
            ticks: AtomicU64::new(0),
        }
    }

    pub fn weight(&self) -> u32 {
        self.weight.load(Ordering::Relaxed)
    }

    pub fn set_weight(&self, w: u32) {
        self.weight.store(w, Ordering::Relaxed);
    }

    /// Counts one webhook notification; returns how many there have been.
    pub fn record_hook(&self) -> u64 {
        self.hooks.fetch_add(1, Ordering::Relaxed) + 1
    }

    pub fn hooks(&self) -> u64 {
        self.hooks.load(Ordering::Relaxed)
    }

    /// One traffic tick is done, its requests (if any) recorded.
    pub fn tick(&self) {
        self.ticks.fetch_add(1, Ordering::Release);
    }

    pub fn ticks(&self) -> u64 {
        self.ticks.load(Ordering::Acquire)
    }

    pub fn record(&self, samples: &[Sample]) {
        // A poisoned lock only means another task panicked mid-update; the
        // counters are still usable, and a demo must keep serving.
        let mut stats = self.stats.lock().unwrap_or_else(|p| p.into_inner());
        for s in samples {
            stats.observe(s);
        }
    }

    pub fn stats(&self) -> Stats {
        self.stats.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}
