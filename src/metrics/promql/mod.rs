//! PromQL evaluated over direct scrapes of one `/metrics` endpoint.
//!
//! Slate's "direct scrape" source has no Prometheus server: it scrapes the endpoint
//! every sampling interval and keeps a short history. The query is real PromQL (the
//! same text works against Prometheus), parsed with `promql-parser` and evaluated
//! here over that history, at the time of the newest scrape. Only a subset of the
//! language is supported; anything else is rejected when the query is compiled,
//! by name, so a plan fails at validation rather than mid-rollout.
//!
//! # Semantics
//!
//! - **Values** are scalars and instant vectors (label sets including `__name__`).
//!   Labels with an empty value count as absent, as in Prometheus.
//! - **Instant selector** `metric{l="v"}`: the matching series of the newest scrape.
//!   Matchers `=`, `!=`, `=~`, `!~` (regexes fully anchored, as in Prometheus); a
//!   missing label matches as the empty string.
//! - **Range selector** `metric[R]`: only as the argument of `rate`, `increase`,
//!   `irate`, `delta` or `avg_over_time`, `min_over_time`, `max_over_time`,
//!   `sum_over_time`, `count_over_time`. It takes the scrapes taken less than `R`
//!   before the newest one (the newest included), but always at least the newest
//!   two, so a window shorter than the sampling interval still works. A series
//!   missing from some of those scrapes uses the ones it is in.
//! - `increase` sums the rises between consecutive scrapes; a drop means the counter
//!   restarted from zero, so the new value counts in full. `rate` is that increase
//!   divided by the seconds between the series' first and last scrape in the
//!   window; `irate` uses only the last two; `delta` is last minus first (for
//!   gauges). Unlike Prometheus there is no extrapolation to the window's edges, so
//!   `increase` is the increase actually seen. These need a series in at least two
//!   scrapes; with a single scrape so far the result is "no data".
//! - `histogram_quantile(φ, v)`: buckets grouped by all labels except `le` (and the
//!   metric name); linear interpolation within the bucket holding the rank, as in
//!   Prometheus: NaN without a `+Inf` bucket or with a zero count, the upper bound
//!   of the highest finite bucket if the rank falls in the `+Inf` bucket, `-Inf` for
//!   φ < 0 and `+Inf` for φ > 1.
//! - Other functions: `abs`, `clamp_min`, `clamp_max`, `scalar` (NaN unless exactly
//!   one element), `vector`.
//! - Aggregations `sum`, `avg`, `min`, `max`, `count`, with `by (...)` or
//!   `without (...)`; an aggregation over nothing is empty. `min`/`max` skip NaN
//!   unless every value is NaN.
//! - Binary operators `+ - * / % ^` between scalars, a vector and a scalar, or two
//!   vectors matched one-to-one on all labels except `__name__` (or `on (...)` /
//!   `ignoring (...)`); series without a partner are dropped. Comparisons
//!   `== != > < >= <=` filter (keeping the vector's value) or, with `bool`, give 0
//!   or 1. Arithmetic, `bool` comparisons, unary minus and functions drop the
//!   metric name; comparison filters keep it.
//! - IEEE arithmetic: `0/0` is NaN and `x/0` is ±Inf; these come out as values.
//! - **Result**: a scalar, or a vector of exactly one element, is the value. An
//!   empty vector is "no data" (saying which selector matched nothing where known);
//!   several elements are "no data" naming the first few label sets, since a check
//!   needs one number: aggregate them, e.g. with `sum(...)`. No scrape yet is "no
//!   data" too.
//! - **Not supported** (rejected by name): `offset`, `@`, subqueries, `and`/`or`/
//!   `unless`, `atan2`, `group_left`/`group_right`, `fill`, other aggregations
//!   (`topk`, `quantile`, ...) and other functions. Several series sharing a match
//!   group in vector matching is an error, as it is in Prometheus.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use promql_parser::label::{METRIC_NAME, Matchers};
use promql_parser::parser::token::{
    T_ADD, T_ATAN2, T_AVG, T_COUNT, T_DIV, T_EQLC, T_GTE, T_GTR, T_LSS, T_LTE, T_MAX, T_MIN, T_MOD,
    T_MUL, T_NEQ, T_POW, T_SUB, T_SUM, TokenId,
};
use promql_parser::parser::{
    self, AggregateExpr, BinaryExpr, Call, Expr, LabelModifier, MatrixSelector,
    VectorMatchCardinality, VectorSelector,
};

use crate::metrics::Sample;
use crate::metrics::exposition::Exposition;

mod check;
mod eval;
mod ops;
#[cfg(test)]
mod tests;

use check::*;
use eval::*;
use ops::*;
pub(crate) use ops::{several_series_message, shorten};

/// Whatever `keep` says, no more scrapes than this are kept (memory bound).
pub const MAX_SCRAPES: usize = 500;
/// Deeper queries are refused rather than risk the stack.
const MAX_DEPTH: usize = 200;
/// How many label sets a "several series" message names.
const SHOWN_SERIES: usize = 3;

type Labels = BTreeMap<String, String>;

/// One scrape: its time and every series by its full label set (name included).
#[derive(Debug)]
struct Scrape {
    at: f64,
    series: BTreeMap<Labels, f64>,
}

/// The recent scrapes of one endpoint, oldest first.
#[derive(Debug)]
pub struct ScrapeHistory {
    keep: f64,
    scrapes: VecDeque<Scrape>,
}

impl ScrapeHistory {
    /// Keeps scrapes up to `keep` older than the newest one (size it as the query's
    /// [`ScrapeQuery::longest_range`] plus a sampling interval); always at least two,
    /// never more than a few hundred.
    pub fn new(keep: Duration) -> Self {
        Self {
            keep: keep.as_secs_f64(),
            scrapes: VecDeque::new(),
        }
    }

    /// Adds a scrape taken at `at_secs` (any monotonic clock, in seconds). Scrapes
    /// not older than it are dropped first, so the history stays in time order
    /// even if the clock is reset; a non-finite time is ignored.
    pub fn push(&mut self, at_secs: f64, scrape: Exposition) {
        if !at_secs.is_finite() {
            return;
        }
        while self.scrapes.back().is_some_and(|s| s.at >= at_secs) {
            self.scrapes.pop_back();
        }
        let series = scrape
            .series
            .into_iter()
            .map(|s| {
                let mut labels: Labels = s
                    .labels
                    .into_iter()
                    .filter(|(_, v)| !v.is_empty())
                    .collect();
                labels.insert(METRIC_NAME.to_string(), s.name);
                (labels, s.value)
            })
            .collect();
        self.scrapes.push_back(Scrape {
            at: at_secs,
            series,
        });
        let oldest_wanted = at_secs - self.keep;
        while self.scrapes.len() > 2
            && (self.scrapes.len() > MAX_SCRAPES
                || self.scrapes.front().is_some_and(|s| s.at < oldest_wanted))
        {
            self.scrapes.pop_front();
        }
    }

    pub fn len(&self) -> usize {
        self.scrapes.len()
    }

    /// Seconds between the oldest scrape kept and the newest (0 with fewer than two).
    pub fn span(&self) -> f64 {
        match (self.scrapes.front(), self.scrapes.back()) {
            (Some(a), Some(b)) => b.at - a.at,
            _ => 0.0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.scrapes.is_empty()
    }
}

/// A PromQL query checked against what a direct scrape can evaluate.
#[derive(Debug, Clone)]
pub struct ScrapeQuery {
    expr: Expr,
    text: String,
    longest_range: Duration,
}

impl ScrapeQuery {
    /// Parses `query` and rejects what a direct scrape cannot evaluate, naming it.
    pub fn compile(query: &str) -> Result<Self, String> {
        let text = query.trim();
        if text.is_empty() {
            return Err("the query is empty".to_string());
        }
        // The parser is third-party code fed user input; a bug there must not take
        // the cockpit down with it.
        let parsed = std::panic::catch_unwind(|| parser::parse(text))
            .map_err(|_| "the PromQL parser failed on this query".to_string())?;
        let expr = parsed.map_err(|e| {
            // The parser's catch-all message says nothing the prefix does not.
            if e == "invalid promql query" {
                format!("invalid PromQL: `{}` does not parse", shorten(text))
            } else {
                format!("invalid PromQL: {}", one_line(&e))
            }
        })?;
        let mut longest_range = Duration::ZERO;
        check(&expr, &mut longest_range, 0)?;
        Ok(Self {
            expr,
            text: text.to_string(),
            longest_range,
        })
    }

    /// The largest `[range]` in the query (zero if none), to size the history.
    pub fn longest_range(&self) -> Duration {
        self.longest_range
    }

    /// Evaluates the query at the time of the newest scrape.
    pub fn eval(&self, history: &ScrapeHistory) -> Sample {
        if history.is_empty() {
            return Sample::NoData("no scrape yet".to_string());
        }
        let mut ctx = Ctx {
            history,
            hint: None,
        };
        match ctx.eval(&self.expr) {
            Err(stop) => stop,
            Ok(Value::Scalar(v)) => Sample::Value(v),
            Ok(Value::Vector(elements)) => match elements.as_slice() {
                [] => {
                    let hint = ctx.hint.map(|h| format!(": {h}")).unwrap_or_default();
                    Sample::NoData(format!("no series matched `{}`{hint}", shorten(&self.text)))
                }
                [only] => Sample::Value(only.value),
                several => Sample::NoData(several_series(several)),
            },
        }
    }
}

/// What an expression evaluates to.
enum Value {
    Scalar(f64),
    Vector(Vec<Element>),
}

/// One element of an instant vector.
struct Element {
    labels: Labels,
    value: f64,
}

/// Functions a direct scrape can evaluate.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Func {
    Rate,
    Increase,
    Irate,
    Delta,
    AvgOverTime,
    MinOverTime,
    MaxOverTime,
    SumOverTime,
    CountOverTime,
    HistogramQuantile,
    Abs,
    ClampMin,
    ClampMax,
    Scalar,
    Vector,
}

const SUPPORTED_FUNCTIONS: &str = "rate, increase, irate, delta, avg_over_time, min_over_time, \
     max_over_time, sum_over_time, count_over_time, histogram_quantile, abs, clamp_min, \
     clamp_max, scalar, vector";

impl Func {
    fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "rate" => Self::Rate,
            "increase" => Self::Increase,
            "irate" => Self::Irate,
            "delta" => Self::Delta,
            "avg_over_time" => Self::AvgOverTime,
            "min_over_time" => Self::MinOverTime,
            "max_over_time" => Self::MaxOverTime,
            "sum_over_time" => Self::SumOverTime,
            "count_over_time" => Self::CountOverTime,
            "histogram_quantile" => Self::HistogramQuantile,
            "abs" => Self::Abs,
            "clamp_min" => Self::ClampMin,
            "clamp_max" => Self::ClampMax,
            "scalar" => Self::Scalar,
            "vector" => Self::Vector,
            _ => return None,
        })
    }

    /// Takes a range selector as its argument.
    fn takes_range(self) -> bool {
        matches!(
            self,
            Self::Rate
                | Self::Increase
                | Self::Irate
                | Self::Delta
                | Self::AvgOverTime
                | Self::MinOverTime
                | Self::MaxOverTime
                | Self::SumOverTime
                | Self::CountOverTime
        )
    }

    /// Compares consecutive points, so a series needs two of them.
    fn needs_two_points(self) -> bool {
        matches!(
            self,
            Self::Rate | Self::Increase | Self::Irate | Self::Delta
        )
    }
}
