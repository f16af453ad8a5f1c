//! Prometheus HTTP API client (placeholder; being written).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reduce {
    Last,
    Max,
    Min,
    Mean,
}

pub struct Alert {
    pub name: String,
}

pub struct Prometheus;

impl Prometheus {
    pub fn new(_base: &str, _timeout: std::time::Duration) -> Result<Self, String> {
        Ok(Self)
    }
    pub async fn firing_alerts(&self, _labels: &[(String, String)]) -> Result<Vec<Alert>, String> {
        Ok(vec![])
    }
    pub async fn instant(&self, _q: &str) -> super::Sample {
        super::Sample::NoData(String::new())
    }
    pub async fn range(
        &self,
        _q: &str,
        _r: std::time::Duration,
        _s: std::time::Duration,
        _reduce: Reduce,
    ) -> super::Sample {
        super::Sample::NoData(String::new())
    }
}
