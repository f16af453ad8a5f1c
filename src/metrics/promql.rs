//! PromQL over direct scrapes (placeholder; being written).

use std::time::Duration;

use super::Sample;
use super::exposition::Exposition;

pub struct ScrapeHistory;

impl ScrapeHistory {
    pub fn new(_keep: Duration) -> Self {
        Self
    }
    pub fn push(&mut self, _at_secs: f64, _scrape: Exposition) {}
}

pub struct ScrapeQuery;

impl ScrapeQuery {
    pub fn compile(_query: &str) -> Result<Self, String> {
        Ok(Self)
    }
    pub fn longest_range(&self) -> Duration {
        Duration::ZERO
    }
    pub fn eval(&self, _history: &ScrapeHistory) -> Sample {
        Sample::NoData("not yet".into())
    }
}
