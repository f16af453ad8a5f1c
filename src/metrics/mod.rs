//! Metrics: where numbers come from (a direct scrape of a `/metrics` endpoint,
//! Prometheus's HTTP API, a command) and what one reading of them came to.

pub mod exposition;
pub mod http_json;
pub mod prometheus;
pub mod promql;
pub mod sampler;

use std::time::Duration;

/// One reading of a metric, before analysis judges it.
///
/// Sources keep "no data" and "could not ask" apart: analysis treats the first
/// as inconclusive and counts the second towards the consecutive-error limit.
#[derive(Debug, Clone, PartialEq)]
pub enum Sample {
    /// A number; may be NaN or ±Inf, which analysis treats as inconclusive.
    Value(f64),
    /// The source answered but had nothing to judge (empty result, too few scrapes,
    /// several series where one was expected), with the reason in words.
    NoData(String),
    /// The source could not be asked (unreachable, HTTP or API error, unparsable answer).
    Error(String),
    /// An SLO's error ratio over each of its windows, for its burn pairs to judge.
    Ratios(Vec<(Duration, f64)>),
}
