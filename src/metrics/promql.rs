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

/// Whatever `keep` says, no more scrapes than this are kept (memory bound).
const MAX_SCRAPES: usize = 500;
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

// ---------------------------------------------------------------------------
// Compile-time check
// ---------------------------------------------------------------------------

const USE_PROMETHEUS: &str = "is not supported on a direct scrape; use a Prometheus source";
const SUBQUERIES: &str =
    "subqueries (`x[5m:1m]`) are not supported on a direct scrape; use a Prometheus source";

fn check(expr: &Expr, longest: &mut Duration, depth: usize) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err(format!("the query nests deeper than {MAX_DEPTH} levels"));
    }
    let depth = depth + 1;
    match expr {
        Expr::NumberLiteral(_) => Ok(()),
        Expr::Paren(p) => check(&p.expr, longest, depth),
        Expr::Unary(u) => check(&u.expr, longest, depth),
        Expr::VectorSelector(vs) => check_selector(vs),
        Expr::Aggregate(agg) => {
            check_aggregate(agg)?;
            check(&agg.expr, longest, depth)
        }
        Expr::Binary(b) => {
            check_binary(b)?;
            check(&b.lhs, longest, depth)?;
            check(&b.rhs, longest, depth)
        }
        Expr::Call(call) => check_call(call, longest, depth),
        Expr::MatrixSelector(_) => Err(
            "a range selector like `x[5m]` is only supported inside rate, increase, irate, \
             delta or <aggregation>_over_time"
                .to_string(),
        ),
        Expr::Subquery(_) => Err(SUBQUERIES.to_string()),
        Expr::StringLiteral(_) => Err("a string is not a number to judge".to_string()),
        Expr::Extension(_) => Err(format!("extension expressions {USE_PROMETHEUS}")),
    }
}

fn check_selector(vs: &VectorSelector) -> Result<(), String> {
    if vs.offset.is_some() {
        return Err(format!("`offset` {USE_PROMETHEUS}"));
    }
    if vs.at.is_some() {
        return Err(format!("`@` {USE_PROMETHEUS}"));
    }
    Ok(())
}

fn check_aggregate(agg: &AggregateExpr) -> Result<(), String> {
    let supported = matches!(agg.op.id(), T_SUM | T_AVG | T_MIN | T_MAX | T_COUNT);
    if !supported || agg.param.is_some() {
        return Err(format!(
            "the `{}` aggregation {USE_PROMETHEUS} (supported: sum, avg, min, max, count)",
            agg.op
        ));
    }
    Ok(())
}

fn check_binary(b: &BinaryExpr) -> Result<(), String> {
    if b.op.is_set_operator() || b.op.id() == T_ATAN2 {
        return Err(format!("`{}` {USE_PROMETHEUS}", b.op));
    }
    if let Some(modifier) = &b.modifier {
        match modifier.card {
            VectorMatchCardinality::ManyToOne(_) => {
                return Err(format!("`group_left` {USE_PROMETHEUS}"));
            }
            VectorMatchCardinality::OneToMany(_) => {
                return Err(format!("`group_right` {USE_PROMETHEUS}"));
            }
            VectorMatchCardinality::ManyToMany => {
                return Err(format!("many-to-many matching {USE_PROMETHEUS}"));
            }
            VectorMatchCardinality::OneToOne => {}
        }
        if modifier.fill_values.lhs.is_some() || modifier.fill_values.rhs.is_some() {
            return Err(format!("`fill` modifiers {USE_PROMETHEUS}"));
        }
    }
    Ok(())
}

fn check_call(call: &Call, longest: &mut Duration, depth: usize) -> Result<(), String> {
    let name = call.func.name;
    let Some(func) = Func::from_name(name) else {
        return Err(format!(
            "function `{name}` {USE_PROMETHEUS} (supported: {SUPPORTED_FUNCTIONS})"
        ));
    };
    if func.takes_range() {
        return match call.args.args.first().map(|arg| unparen(arg)) {
            Some(Expr::MatrixSelector(ms)) => {
                check_selector(&ms.vs)?;
                *longest = (*longest).max(ms.range);
                Ok(())
            }
            Some(Expr::Subquery(_)) => Err(SUBQUERIES.to_string()),
            _ => Err(format!("`{name}` needs a range selector such as `x[5m]`")),
        };
    }
    call.args
        .args
        .iter()
        .try_for_each(|arg| check(arg, longest, depth))
}

fn unparen(mut expr: &Expr) -> &Expr {
    while let Expr::Paren(p) = expr {
        expr = &p.expr;
    }
    expr
}

// ---------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------

/// `Err` carries the final answer when evaluation cannot go on (too few scrapes,
/// an impossible match), already in the form the caller reports.
type Eval = Result<Value, Sample>;

struct Ctx<'h> {
    history: &'h ScrapeHistory,
    /// Why a result may be empty: the first selector that matched nothing.
    hint: Option<String>,
}

impl<'h> Ctx<'h> {
    fn eval(&mut self, expr: &Expr) -> Eval {
        match expr {
            Expr::NumberLiteral(n) => Ok(Value::Scalar(n.val)),
            Expr::Paren(p) => self.eval(&p.expr),
            Expr::Unary(u) => Ok(match self.eval(&u.expr)? {
                Value::Scalar(v) => Value::Scalar(-v),
                Value::Vector(elements) => Value::Vector(map_values(elements, |v| -v)),
            }),
            Expr::VectorSelector(vs) => Ok(Value::Vector(self.select(vs))),
            Expr::Aggregate(agg) => {
                let elements = self.eval_vector(&agg.expr)?;
                Ok(Value::Vector(aggregate(agg, elements)))
            }
            Expr::Binary(b) => self.binary(b),
            Expr::Call(call) => self.call(call),
            // All rejected by `check`; kept total so that nothing here can panic.
            Expr::MatrixSelector(_)
            | Expr::Subquery(_)
            | Expr::StringLiteral(_)
            | Expr::Extension(_) => Err(Sample::Error(format!(
                "cannot evaluate `{}` on a direct scrape",
                shorten(&expr.to_string())
            ))),
        }
    }

    fn eval_vector(&mut self, expr: &Expr) -> Result<Vec<Element>, Sample> {
        match self.eval(expr)? {
            Value::Vector(elements) => Ok(elements),
            Value::Scalar(_) => Err(Sample::Error(format!(
                "`{}` is a scalar where a vector is needed",
                shorten(&expr.to_string())
            ))),
        }
    }

    fn eval_scalar(&mut self, expr: &Expr) -> Result<f64, Sample> {
        match self.eval(expr)? {
            Value::Scalar(v) => Ok(v),
            Value::Vector(_) => Err(Sample::Error(format!(
                "`{}` is a vector where a scalar is needed",
                shorten(&expr.to_string())
            ))),
        }
    }

    fn newest(&self) -> Option<&'h Scrape> {
        self.history.scrapes.back()
    }

    fn select(&mut self, vs: &VectorSelector) -> Vec<Element> {
        let elements: Vec<Element> = self
            .newest()
            .into_iter()
            .flat_map(|scrape| scrape.series.iter())
            .filter(|(labels, _)| selects(vs, labels))
            .map(|(labels, value)| Element {
                labels: labels.clone(),
                value: *value,
            })
            .collect();
        if elements.is_empty() && self.hint.is_none() {
            self.hint = Some(format!("`{vs}` matched nothing in the newest scrape"));
        }
        elements
    }

    fn call(&mut self, call: &Call) -> Eval {
        let name = call.func.name;
        let Some(func) = Func::from_name(name) else {
            return Err(Sample::Error(format!("function `{name}` {USE_PROMETHEUS}")));
        };
        let args = &call.args.args;
        let arg = |i: usize| {
            args.get(i)
                .map(|a| a.as_ref())
                .ok_or_else(|| Sample::Error(format!("`{name}` is missing argument {}", i + 1)))
        };
        if func.takes_range() {
            return match unparen(arg(0)?) {
                Expr::MatrixSelector(ms) => self.range_function(func, name, ms),
                _ => Err(Sample::Error(format!(
                    "`{name}` needs a range selector such as `x[5m]`"
                ))),
            };
        }
        Ok(match func {
            Func::HistogramQuantile => {
                let phi = self.eval_scalar(arg(0)?)?;
                let elements = self.eval_vector(arg(1)?)?;
                Value::Vector(histogram_quantile(phi, elements))
            }
            Func::Abs => Value::Vector(map_values(self.eval_vector(arg(0)?)?, f64::abs)),
            Func::ClampMin => {
                let elements = self.eval_vector(arg(0)?)?;
                let min = self.eval_scalar(arg(1)?)?;
                Value::Vector(map_values(elements, |v| {
                    if v.is_nan() || min.is_nan() {
                        f64::NAN
                    } else {
                        v.max(min)
                    }
                }))
            }
            Func::ClampMax => {
                let elements = self.eval_vector(arg(0)?)?;
                let max = self.eval_scalar(arg(1)?)?;
                Value::Vector(map_values(elements, |v| {
                    if v.is_nan() || max.is_nan() {
                        f64::NAN
                    } else {
                        v.min(max)
                    }
                }))
            }
            Func::Scalar => match self.eval_vector(arg(0)?)?.as_slice() {
                [only] => Value::Scalar(only.value),
                _ => Value::Scalar(f64::NAN),
            },
            Func::Vector => Value::Vector(vec![Element {
                labels: Labels::new(),
                value: self.eval_scalar(arg(0)?)?,
            }]),
            _ => {
                return Err(Sample::Error(format!("`{name}` needs a range selector")));
            }
        })
    }

    /// rate, increase, irate, delta and the `_over_time` functions.
    fn range_function(&mut self, func: Func, name: &str, ms: &MatrixSelector) -> Eval {
        let history: &'h ScrapeHistory = self.history;
        let scrapes = &history.scrapes;
        let Some(newest) = scrapes.back() else {
            return Err(Sample::NoData("no scrape yet".to_string()));
        };
        if func.needs_two_points() && scrapes.len() < 2 {
            return Err(Sample::NoData(format!(
                "{name} needs two scrapes; only one so far"
            )));
        }
        let from = newest.at - ms.range.as_secs_f64();
        let start = scrapes
            .iter()
            .position(|s| s.at > from)
            .unwrap_or(scrapes.len())
            .min(scrapes.len().saturating_sub(2));

        let mut points: BTreeMap<&'h Labels, Vec<(f64, f64)>> = BTreeMap::new();
        for scrape in scrapes.range(start..) {
            for (labels, value) in &scrape.series {
                if selects(&ms.vs, labels) {
                    points.entry(labels).or_default().push((scrape.at, *value));
                }
            }
        }
        if points.is_empty() && self.hint.is_none() {
            self.hint = Some(format!("`{}` matched nothing in the window", ms.vs));
        }

        let mut out = Vec::new();
        for (labels, series) in points {
            match range_value(func, &series) {
                Some(value) => out.push(Element {
                    labels: without_name(labels),
                    value,
                }),
                None => {
                    if self.hint.is_none() {
                        self.hint = Some(format!(
                            "{} is in only one scrape of the window",
                            series_name(labels)
                        ));
                    }
                }
            }
        }
        Ok(Value::Vector(out))
    }

    fn binary(&mut self, b: &BinaryExpr) -> Eval {
        let lhs = self.eval(&b.lhs)?;
        let rhs = self.eval(&b.rhs)?;
        let op = Op {
            id: b.op.id(),
            comparison: b.op.is_comparison_operator(),
            bool_result: b.return_bool(),
        };
        Ok(match (lhs, rhs) {
            (Value::Scalar(l), Value::Scalar(r)) => Value::Scalar(op.scalars(l, r)),
            (Value::Vector(v), Value::Scalar(s)) => Value::Vector(op.vector_scalar(v, s, false)),
            (Value::Scalar(s), Value::Vector(v)) => Value::Vector(op.vector_scalar(v, s, true)),
            (Value::Vector(l), Value::Vector(r)) => {
                let matching = b.modifier.as_ref().and_then(|m| m.matching.as_ref());
                Value::Vector(op.vectors(l, r, matching, &b.op.to_string())?)
            }
        })
    }
}

/// Whether a series (full label set, name included) is picked by a selector.
fn selects(vs: &VectorSelector, labels: &Labels) -> bool {
    if let Some(name) = &vs.name
        && label(labels, METRIC_NAME) != name
    {
        return false;
    }
    matches_all(&vs.matchers, labels)
}

/// A label's value; a missing label reads as empty, as matchers expect.
fn label<'l>(labels: &'l Labels, name: &str) -> &'l str {
    labels.get(name).map_or("", String::as_str)
}

fn matches_all(matchers: &Matchers, labels: &Labels) -> bool {
    let all = |group: &[promql_parser::label::Matcher]| {
        group.iter().all(|m| m.is_match(label(labels, &m.name)))
    };
    all(&matchers.matchers)
        && (matchers.or_matchers.is_empty() || matchers.or_matchers.iter().any(|group| all(group)))
}

/// The value of a range function over one series' points (time order), or `None`
/// if there are too few points.
fn range_value(func: Func, points: &[(f64, f64)]) -> Option<f64> {
    let values = points.iter().map(|&(_, v)| v);
    let (&(t_first, first), &(t_last, last)) = (points.first()?, points.last()?);
    match func {
        Func::Increase | Func::Rate => {
            if points.len() < 2 || t_last <= t_first {
                return None;
            }
            let increase: f64 = points
                .windows(2)
                .map(|w| {
                    let (prev, cur) = (w[0].1, w[1].1);
                    if cur < prev { cur } else { cur - prev }
                })
                .sum();
            Some(if func == Func::Rate {
                increase / (t_last - t_first)
            } else {
                increase
            })
        }
        Func::Irate => {
            let [.., (t_prev, prev), (t_cur, cur)] = points else {
                return None;
            };
            if t_cur <= t_prev {
                return None;
            }
            let rise = if cur < prev { *cur } else { cur - prev };
            Some(rise / (t_cur - t_prev))
        }
        Func::Delta => (points.len() >= 2).then_some(last - first),
        Func::AvgOverTime => Some(values.sum::<f64>() / points.len() as f64),
        Func::SumOverTime => Some(values.sum()),
        Func::CountOverTime => Some(points.len() as f64),
        Func::MinOverTime => Some(values.fold(f64::NAN, nan_min)),
        Func::MaxOverTime => Some(values.fold(f64::NAN, nan_max)),
        _ => None,
    }
}

/// min that skips NaN unless everything is NaN (as Prometheus's min does).
fn nan_min(acc: f64, v: f64) -> f64 {
    if acc.is_nan() || v < acc { v } else { acc }
}

fn nan_max(acc: f64, v: f64) -> f64 {
    if acc.is_nan() || v > acc { v } else { acc }
}

fn aggregate(agg: &AggregateExpr, elements: Vec<Element>) -> Vec<Element> {
    #[derive(Default)]
    struct Acc {
        sum: f64,
        count: usize,
        min: Option<f64>,
        max: Option<f64>,
    }
    let mut groups: BTreeMap<Labels, Acc> = BTreeMap::new();
    for element in elements {
        let key = group_labels(&element.labels, agg.modifier.as_ref());
        let acc = groups.entry(key).or_default();
        let v = element.value;
        acc.sum += v;
        acc.count += 1;
        acc.min = Some(acc.min.map_or(v, |m| nan_min(m, v)));
        acc.max = Some(acc.max.map_or(v, |m| nan_max(m, v)));
    }
    let op = agg.op.id();
    groups
        .into_iter()
        .map(|(labels, acc)| {
            let value = match op {
                T_SUM => acc.sum,
                T_AVG => acc.sum / acc.count as f64,
                T_MIN => acc.min.unwrap_or(f64::NAN),
                T_MAX => acc.max.unwrap_or(f64::NAN),
                _ => acc.count as f64, // count; `check` let nothing else through
            };
            Element { labels, value }
        })
        .collect()
}

/// The labels an aggregation groups by: `by` keeps the listed ones, `without`
/// drops them and the name, no clause keeps none.
fn group_labels(labels: &Labels, modifier: Option<&LabelModifier>) -> Labels {
    let keep = |name: &str| match modifier {
        None => false,
        Some(LabelModifier::Include(by)) => by.labels.iter().any(|l| l == name),
        Some(LabelModifier::Exclude(without)) => {
            name != METRIC_NAME && !without.labels.iter().any(|l| l == name)
        }
    };
    labels
        .iter()
        .filter(|(name, _)| keep(name))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// A binary operator with its `bool` modifier.
struct Op {
    id: TokenId,
    comparison: bool,
    bool_result: bool,
}

impl Op {
    fn arithmetic(&self, l: f64, r: f64) -> f64 {
        match self.id {
            T_ADD => l + r,
            T_SUB => l - r,
            T_MUL => l * r,
            T_DIV => l / r,
            T_MOD => l % r,
            T_POW => l.powf(r),
            _ => f64::NAN,
        }
    }

    fn compare(&self, l: f64, r: f64) -> bool {
        match self.id {
            T_EQLC => l == r,
            T_NEQ => l != r,
            T_GTR => l > r,
            T_LSS => l < r,
            T_GTE => l >= r,
            T_LTE => l <= r,
            _ => false,
        }
    }

    fn scalars(&self, l: f64, r: f64) -> f64 {
        if self.comparison {
            bool_value(self.compare(l, r))
        } else {
            self.arithmetic(l, r)
        }
    }

    /// `swapped`: the scalar is on the left.
    fn vector_scalar(&self, elements: Vec<Element>, s: f64, swapped: bool) -> Vec<Element> {
        elements
            .into_iter()
            .filter_map(|mut e| {
                let (l, r) = if swapped { (s, e.value) } else { (e.value, s) };
                self.combine(&mut e, l, r).then_some(e)
            })
            .collect()
    }

    /// Sets the element's value (and drops its name where the result is no longer
    /// that metric); says whether the element stays in the result.
    fn combine(&self, e: &mut Element, l: f64, r: f64) -> bool {
        if !self.comparison {
            e.value = self.arithmetic(l, r);
            e.labels.remove(METRIC_NAME);
            return true;
        }
        let holds = self.compare(l, r);
        if self.bool_result {
            e.value = bool_value(holds);
            e.labels.remove(METRIC_NAME);
            true
        } else {
            // A filter keeps the vector's own value and name.
            holds
        }
    }

    /// One-to-one matching on all labels but the name, or on/ignoring a list.
    fn vectors(
        &self,
        lhs: Vec<Element>,
        rhs: Vec<Element>,
        matching: Option<&LabelModifier>,
        op_text: &str,
    ) -> Result<Vec<Element>, Sample> {
        let signature = |labels: &Labels| -> Labels {
            labels
                .iter()
                .filter(|(name, _)| match matching {
                    Some(LabelModifier::Include(on)) => on.labels.iter().any(|l| l == *name),
                    Some(LabelModifier::Exclude(ignoring)) => {
                        *name != METRIC_NAME && !ignoring.labels.iter().any(|l| l == *name)
                    }
                    None => *name != METRIC_NAME,
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        let mut right: BTreeMap<Labels, f64> = BTreeMap::new();
        for e in &rhs {
            if right.insert(signature(&e.labels), e.value).is_some() {
                return Err(duplicate_match("right", &signature(&e.labels), op_text));
            }
        }
        let mut matched = BTreeSet::new();
        let mut out = Vec::new();
        for mut e in lhs {
            let sig = signature(&e.labels);
            let Some(&r) = right.get(&sig) else {
                continue;
            };
            if !matched.insert(sig.clone()) {
                return Err(duplicate_match("left", &sig, op_text));
            }
            let l = e.value;
            if self.combine(&mut e, l, r) {
                // The result is identified by the match group, as in Prometheus.
                match matching {
                    Some(LabelModifier::Include(_)) => e.labels = sig,
                    Some(LabelModifier::Exclude(ignoring)) => {
                        e.labels.retain(|k, _| !ignoring.labels.contains(k));
                    }
                    None => {}
                }
                out.push(e);
            }
        }
        Ok(out)
    }
}

fn duplicate_match(side: &str, signature: &Labels, op: &str) -> Sample {
    Sample::Error(format!(
        "several series on the {side} of `{op}` share the labels {}; match them one-to-one \
         with on(...)/ignoring(...) or aggregate them",
        series_name(signature)
    ))
}

fn bool_value(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

/// Applies `f` to every value, dropping the metric name (the result is no longer
/// that metric).
fn map_values(elements: Vec<Element>, f: impl Fn(f64) -> f64) -> Vec<Element> {
    elements
        .into_iter()
        .map(|mut e| {
            e.labels.remove(METRIC_NAME);
            e.value = f(e.value);
            e
        })
        .collect()
}

fn histogram_quantile(phi: f64, elements: Vec<Element>) -> Vec<Element> {
    let mut groups: BTreeMap<Labels, Vec<(f64, f64)>> = BTreeMap::new();
    for mut e in elements {
        // Series without a readable `le` are not buckets; Prometheus skips them too.
        let Some(upper) = e.labels.remove("le").and_then(|le| le.parse::<f64>().ok()) else {
            continue;
        };
        e.labels.remove(METRIC_NAME);
        groups.entry(e.labels).or_default().push((upper, e.value));
    }
    groups
        .into_iter()
        .map(|(labels, buckets)| Element {
            labels,
            value: bucket_quantile(phi, buckets),
        })
        .collect()
}

/// The φ-quantile of cumulative buckets `(upper bound, count)`, interpolating
/// linearly within the bucket that holds the rank (Prometheus's method).
fn bucket_quantile(phi: f64, mut buckets: Vec<(f64, f64)>) -> f64 {
    if phi.is_nan() {
        return f64::NAN;
    }
    if phi < 0.0 {
        return f64::NEG_INFINITY;
    }
    if phi > 1.0 {
        return f64::INFINITY;
    }
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    // The same bound written twice ("1" and "1.0") is one bucket.
    buckets.dedup_by(|later, kept| {
        let same = later.0 == kept.0;
        if same {
            kept.1 += later.1;
        }
        same
    });
    let n = buckets.len();
    if n < 2 || buckets[n - 1].0 != f64::INFINITY {
        return f64::NAN;
    }
    // Scrapes can catch buckets mid-update; counts must never fall.
    let mut highest = f64::NEG_INFINITY;
    for bucket in &mut buckets {
        highest = highest.max(bucket.1);
        bucket.1 = highest;
    }
    let observations = buckets[n - 1].1;
    if observations.is_nan() || observations == 0.0 {
        return f64::NAN;
    }
    let rank = phi * observations;
    let b = buckets[..n - 1]
        .iter()
        .position(|&(_, count)| count >= rank)
        .unwrap_or(n - 1);
    if b == n - 1 {
        return buckets[n - 2].0;
    }
    if b == 0 && buckets[0].0 <= 0.0 {
        return buckets[0].0;
    }
    let (start, below) = if b == 0 { (0.0, 0.0) } else { buckets[b - 1] };
    let (end, cumulative) = buckets[b];
    start + (end - start) * ((rank - below) / (cumulative - below))
}

fn without_name(labels: &Labels) -> Labels {
    let mut labels = labels.clone();
    labels.remove(METRIC_NAME);
    labels
}

/// `name{a="1", b="2"}`, for messages.
pub(crate) fn series_name(labels: &BTreeMap<String, String>) -> String {
    let name = labels.get(METRIC_NAME).map_or("", String::as_str);
    let pairs: Vec<String> = labels
        .iter()
        .filter(|(k, _)| *k != METRIC_NAME)
        .map(|(k, v)| format!("{k}=\"{}\"", v.escape_default()))
        .collect();
    format!("{name}{{{}}}", pairs.join(", "))
}

fn several_series(elements: &[Element]) -> String {
    several_series_message(elements.len(), elements.iter().map(|e| &e.labels))
}

/// "query returned N series (first label sets); aggregate them": a check judges
/// one number, and which series to combine is the query author's call.
pub(crate) fn several_series_message<'a>(
    total: usize,
    label_sets: impl Iterator<Item = &'a BTreeMap<String, String>>,
) -> String {
    let mut shown: Vec<String> = label_sets.take(SHOWN_SERIES).map(series_name).collect();
    if total > SHOWN_SERIES {
        shown.push("...".to_string());
    }
    format!(
        "query returned {total} series ({}); aggregate them, e.g. sum(...)",
        shown.join(", ")
    )
}

/// A query cut to a length that fits a message line.
pub(crate) fn shorten(text: &str) -> String {
    const MAX: usize = 80;
    let text = one_line(text);
    if text.chars().count() <= MAX {
        return text;
    }
    let cut: String = text.chars().take(MAX - 1).collect();
    format!("{cut}…")
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::exposition;

    fn history(keep_secs: u64, scrapes: &[(f64, &str)]) -> ScrapeHistory {
        let mut h = ScrapeHistory::new(Duration::from_secs(keep_secs));
        for (at, text) in scrapes {
            h.push(*at, exposition::parse(text).expect("test exposition"));
        }
        h
    }

    fn eval(query: &str, h: &ScrapeHistory) -> Sample {
        ScrapeQuery::compile(query)
            .unwrap_or_else(|e| panic!("{query}: {e}"))
            .eval(h)
    }

    fn value(query: &str, h: &ScrapeHistory) -> f64 {
        match eval(query, h) {
            Sample::Value(v) => v,
            other => panic!("{query}: expected a value, got {other:?}"),
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    fn rejected(query: &str) -> String {
        match ScrapeQuery::compile(query) {
            Ok(_) => panic!("{query}: expected a rejection"),
            Err(e) => e,
        }
    }

    #[test]
    fn rate_handles_counter_resets() {
        // 10 -> 30 (+20), reset to 5 (+5), 5 -> 25 (+20): 45 over 30 s.
        let h = history(
            600,
            &[(0.0, "c 10"), (10.0, "c 30"), (20.0, "c 5"), (30.0, "c 25")],
        );
        assert!(close(value("increase(c[1m])", &h), 45.0));
        assert!(close(value("rate(c[1m])", &h), 1.5));
        // irate: last two points only, 5 -> 25 over 10 s.
        assert!(close(value("irate(c[1m])", &h), 2.0));
        // A drop in the last step counts the new value in full.
        let h = history(600, &[(0.0, "c 100"), (15.0, "c 3")]);
        assert!(close(value("irate(c[1m])", &h), 0.2));
        assert!(close(value("increase(c[1m])", &h), 3.0));
    }

    #[test]
    fn increase_uses_only_the_window() {
        let h = history(
            600,
            &[
                (0.0, "c 0"),
                (15.0, "c 10"),
                (30.0, "c 30"),
                (45.0, "c 60"),
                (60.0, "c 100"),
            ],
        );
        // (30, 60]: scrapes at 45 and 60 (the window is open on the left).
        assert!(close(value("increase(c[30s])", &h), 40.0));
        // (0, 60]: 15..60.
        assert!(close(value("increase(c[1m])", &h), 90.0));
        assert!(close(value("rate(c[1m])", &h), 2.0));
        // Everything kept.
        assert!(close(value("increase(c[10m])", &h), 100.0));
        assert!(close(value("delta(c[10m])", &h), 100.0));
        // A window shorter than the interval still gets the newest two scrapes.
        assert!(close(value("increase(c[1s])", &h), 40.0));
        assert!(close(value("rate(c[1s])", &h), 40.0 / 15.0));
    }

    #[test]
    fn over_time_functions() {
        let h = history(600, &[(0.0, "g 4"), (10.0, "g 1"), (20.0, "g 7")]);
        assert!(close(value("avg_over_time(g[1m])", &h), 4.0));
        assert!(close(value("min_over_time(g[1m])", &h), 1.0));
        assert!(close(value("max_over_time(g[1m])", &h), 7.0));
        assert!(close(value("sum_over_time(g[1m])", &h), 12.0));
        assert!(close(value("count_over_time(g[1m])", &h), 3.0));
        // One scrape is enough for these.
        let one = history(600, &[(0.0, "g 4")]);
        assert!(close(value("max_over_time(g[1m])", &one), 4.0));
    }

    #[test]
    fn series_absent_from_some_scrapes_uses_the_ones_it_is_in() {
        let h = history(
            600,
            &[
                (0.0, "c{k=\"a\"} 1"),
                (10.0, "c{k=\"a\"} 2\nc{k=\"b\"} 100"),
                (20.0, "c{k=\"a\"} 3"),
                (30.0, "c{k=\"a\"} 4\nc{k=\"b\"} 130"),
            ],
        );
        assert!(close(value("rate(c{k=\"b\"}[1m])", &h), 1.5));
        // A series in a single scrape of the window gives nothing, and says so.
        let h = history(
            600,
            &[(0.0, "c{k=\"a\"} 1"), (10.0, "c{k=\"a\"} 2\nc{k=\"b\"} 5")],
        );
        assert_eq!(
            eval("rate(c{k=\"b\"}[1m])", &h),
            Sample::NoData(
                "no series matched `rate(c{k=\"b\"}[1m])`: c{k=\"b\"} is in only one scrape of \
                 the window"
                    .to_string()
            )
        );
    }

    #[test]
    fn rate_needs_two_scrapes() {
        let h = history(600, &[(0.0, "c 1")]);
        assert_eq!(
            eval("rate(c[1m])", &h),
            Sample::NoData("rate needs two scrapes; only one so far".to_string())
        );
        assert_eq!(
            eval("sum(increase(c[1m])) / 2", &h),
            Sample::NoData("increase needs two scrapes; only one so far".to_string())
        );
    }

    const REQUESTS_0: &str = r#"
# TYPE demo_requests_total counter
demo_requests_total{route="/",status="200"} 100
demo_requests_total{route="/",status="500"} 10
demo_requests_total{route="/api",status="200"} 50
demo_requests_total{route="/api",status="503"} 0
"#;
    const REQUESTS_1: &str = r#"
# TYPE demo_requests_total counter
demo_requests_total{route="/",status="200"} 160
demo_requests_total{route="/",status="500"} 16
demo_requests_total{route="/api",status="200"} 80
demo_requests_total{route="/api",status="503"} 4
"#;

    #[test]
    fn error_ratio_of_rates() {
        let h = history(600, &[(100.0, REQUESTS_0), (110.0, REQUESTS_1)]);
        // 5xx: +6 +4 = 10; all: +60 +6 +30 +4 = 100.
        let ratio = value(
            r#"sum(rate(demo_requests_total{status=~"5.."}[30s])) / sum(rate(demo_requests_total[30s]))"#,
            &h,
        );
        assert!(close(ratio, 0.1), "{ratio}");
        // No 5xx series at all: nothing to judge, and the message says which part.
        let h = history(
            600,
            &[
                (0.0, "demo_requests_total{status=\"200\"} 1"),
                (10.0, "demo_requests_total{status=\"200\"} 2"),
            ],
        );
        match eval(
            r#"sum(rate(demo_requests_total{status=~"5.."}[30s])) / sum(rate(demo_requests_total[30s]))"#,
            &h,
        ) {
            Sample::NoData(why) => assert!(
                why.ends_with(
                    r#": `demo_requests_total{status=~"5.."}` matched nothing in the window"#
                ),
                "{why}"
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn histogram_quantile_interpolates() {
        let buckets = |c: [u32; 4]| {
            format!(
                "# TYPE d histogram\n\
                 d_bucket{{le=\"0.1\"}} {}\nd_bucket{{le=\"0.5\"}} {}\n\
                 d_bucket{{le=\"1\"}} {}\nd_bucket{{le=\"+Inf\"}} {}\n",
                c[0], c[1], c[2], c[3]
            )
        };
        let h = history(
            600,
            &[
                (0.0, &buckets([0, 0, 0, 0])),
                (60.0, &buckets([50, 90, 98, 100])),
            ],
        );
        // p50: rank 50 is the top of the first bucket -> 0.1.
        let q = "histogram_quantile(0.5, sum by (le) (rate(d_bucket[1m])))";
        assert!(close(value(q, &h), 0.1));
        // p90: rank 90 is the top of (0.1, 0.5] -> 0.5.
        assert!(close(value(&q.replace("0.5,", "0.9,"), &h), 0.5));
        // p70: rank 70 in (0.1, 0.5], 20 of its 40 -> 0.1 + 0.4 * 0.5 = 0.3.
        assert!(close(value(&q.replace("0.5,", "0.7,"), &h), 0.3));
        // p95: rank 95 in (0.5, 1], 5 of its 8 -> 0.5 + 0.5 * 5/8.
        assert!(close(value(&q.replace("0.5,", "0.95,"), &h), 0.8125));
        // p99: rank 99 is in the +Inf bucket -> highest finite bound.
        assert!(close(value(&q.replace("0.5,", "0.99,"), &h), 1.0));
        // p25 inside the first bucket, interpolated from 0: 0.1 * 25/50.
        assert!(close(value(&q.replace("0.5,", "0.25,"), &h), 0.05));
        assert_eq!(value(&q.replace("0.5,", "1.5,"), &h), f64::INFINITY);
        assert_eq!(value(&q.replace("0.5,", "-1,"), &h), f64::NEG_INFINITY);
    }

    #[test]
    fn histogram_quantile_edge_cases() {
        // No traffic in the window: zero count -> NaN, like Prometheus.
        let h = history(
            600,
            &[
                (0.0, "b{le=\"1\"} 5\nb{le=\"+Inf\"} 5"),
                (10.0, "b{le=\"1\"} 5\nb{le=\"+Inf\"} 5"),
            ],
        );
        assert!(value("histogram_quantile(0.9, rate(b[1m]))", &h).is_nan());
        // No +Inf bucket -> NaN.
        let h = history(600, &[(0.0, "b{le=\"1\"} 5\nb{le=\"2\"} 9")]);
        assert!(value("histogram_quantile(0.9, b)", &h).is_nan());
        // Groups by every label but `le`: two groups -> two series.
        let h = history(
            600,
            &[(
                0.0,
                "b{le=\"1\",r=\"x\"} 1\nb{le=\"+Inf\",r=\"x\"} 2\nb{le=\"1\",r=\"y\"} 1\nb{le=\"+Inf\",r=\"y\"} 1",
            )],
        );
        assert!(
            matches!(eval("histogram_quantile(0.5, b)", &h), Sample::NoData(why) if why.starts_with("query returned 2 series"))
        );
        assert!(close(value("histogram_quantile(0.5, b{r=\"y\"})", &h), 0.5));
    }

    #[test]
    fn grouping_by_and_without() {
        let h = history(600, &[(0.0, REQUESTS_1)]);
        assert_eq!(value("sum(demo_requests_total)", &h), 260.0);
        assert_eq!(
            value("sum by (route) (demo_requests_total{route=\"/api\"})", &h),
            84.0
        );
        assert_eq!(
            value(
                "sum without (status) (demo_requests_total{route=\"/\"})",
                &h
            ),
            176.0
        );
        assert_eq!(value("count(demo_requests_total)", &h), 4.0);
        assert_eq!(value("avg(demo_requests_total)", &h), 65.0);
        assert_eq!(value("min(demo_requests_total)", &h), 4.0);
        assert_eq!(value("max(demo_requests_total)", &h), 160.0);
        assert_eq!(
            eval("sum by (route) (demo_requests_total)", &h),
            Sample::NoData(
                "query returned 2 series ({route=\"/\"}, {route=\"/api\"}); aggregate them, e.g. \
                 sum(...)"
                    .to_string()
            )
        );
        assert_eq!(
            value("max(sum without (route) (demo_requests_total))", &h),
            240.0
        );
    }

    #[test]
    fn vector_matching_one_to_one() {
        let h = history(
            600,
            &[(
                0.0,
                "errors{route=\"/\",job=\"a\"} 5\nerrors{route=\"/api\",job=\"a\"} 1\n\
                 total{route=\"/\",job=\"a\"} 50\ntotal{route=\"/api\",job=\"b\"} 10",
            )],
        );
        // Default matching on all labels but the name: only route="/" pairs up.
        assert!(close(value("errors / total", &h), 0.1));
        // ignoring(job) pairs both; on(route) too.
        assert!(close(value("sum(errors / ignoring(job) total)", &h), 0.2));
        assert!(close(value("sum(errors / on(route) total)", &h), 0.2));
        // The result of on(...) carries only the matching labels.
        assert_eq!(
            eval("errors / on(route) total", &h),
            Sample::NoData(
                "query returned 2 series ({route=\"/\"}, {route=\"/api\"}); aggregate them, e.g. \
                 sum(...)"
                    .to_string()
            )
        );
        // Two series on one side of a match group is an error.
        match eval("errors / on(job) total", &h) {
            Sample::Error(why) => assert!(
                why.starts_with("several series on the left of `/`"),
                "{why}"
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn comparisons_filter_or_give_bool() {
        let h = history(600, &[(0.0, "g{k=\"a\"} 1\ng{k=\"b\"} 5\nh{k=\"b\"} 5")]);
        // Filter keeps the vector's value (even with the scalar on the left).
        assert_eq!(value("g > 2", &h), 5.0);
        assert_eq!(value("2 < g", &h), 5.0);
        assert_eq!(value("sum(g > bool 2)", &h), 1.0);
        assert_eq!(value("g == h", &h), 5.0);
        assert_eq!(value("g{k=\"b\"} != bool h", &h), 0.0);
        assert_eq!(value("1 < bool 2", &h), 1.0);
        // A comparison filter keeps the metric name, so the series is reported as g.
        match eval("g >= 1", &h) {
            Sample::NoData(why) => assert!(why.contains("g{k=\"a\"}, g{k=\"b\"}"), "{why}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(eval("g > 100", &h), Sample::NoData(_)));
    }

    #[test]
    fn arithmetic_and_division_by_zero() {
        let h = history(600, &[(0.0, "zero 0\none 1\nneg -2")]);
        assert!(value("zero / zero", &h).is_nan());
        assert_eq!(value("one / zero", &h), f64::INFINITY);
        assert_eq!(value("neg / zero", &h), f64::NEG_INFINITY);
        assert!(value("0 / 0", &h).is_nan());
        assert_eq!(value("(1 + 2) * 3 - 4 / 2", &h), 7.0);
        assert_eq!(value("7 % 4", &h), 3.0);
        assert_eq!(value("2 ^ 10", &h), 1024.0);
        assert_eq!(value("-neg", &h), 2.0);
        assert_eq!(value("one - neg", &h), 3.0);
        assert_eq!(value("abs(neg)", &h), 2.0);
        assert_eq!(value("clamp_min(neg, 0)", &h), 0.0);
        assert_eq!(value("clamp_max(one, 0.5)", &h), 0.5);
        assert_eq!(value("scalar(one) * 3", &h), 3.0);
        assert!(value("scalar(nothing)", &h).is_nan());
        assert_eq!(value("vector(4) + one", &h), 5.0);
    }

    #[test]
    fn matchers_use_promql_semantics() {
        let h = history(
            600,
            &[(
                0.0,
                "m{s=\"500\"} 1\nm{s=\"503\"} 2\nm{s=\"200\"} 4\nm 8\nm{s=\"\"} 16",
            )],
        );
        // m and m{s=""} are the same series (an empty label is no label); the later wins.
        assert_eq!(value("sum(m{s=~\"5..\"})", &h), 3.0);
        assert_eq!(value("sum(m{s!~\"5..\"})", &h), 20.0);
        assert_eq!(value("sum(m{s!=\"200\"})", &h), 19.0);
        assert_eq!(value("m{s=\"\"}", &h), 16.0);
        assert_eq!(value("sum({__name__=\"m\", s=~\"50.\"})", &h), 3.0);
        // Regexes are anchored.
        assert!(matches!(eval("m{s=~\"5\"}", &h), Sample::NoData(_)));
    }

    #[test]
    fn unsupported_constructs_are_rejected_by_name() {
        let cases = [
            (
                "rate(c[5m] offset 1m)",
                "`offset` is not supported on a direct scrape; use a Prometheus source",
            ),
            (
                "c offset 5m",
                "`offset` is not supported on a direct scrape; use a Prometheus source",
            ),
            (
                "c @ 100",
                "`@` is not supported on a direct scrape; use a Prometheus source",
            ),
            (
                "max_over_time(rate(c[1m])[5m:1m])",
                "subqueries (`x[5m:1m]`) are not supported on a direct scrape; use a Prometheus source",
            ),
            (
                "a and b",
                "`and` is not supported on a direct scrape; use a Prometheus source",
            ),
            (
                "a or vector(0)",
                "`or` is not supported on a direct scrape; use a Prometheus source",
            ),
            (
                "a unless b",
                "`unless` is not supported on a direct scrape; use a Prometheus source",
            ),
            (
                "a / on(x) group_left b",
                "`group_left` is not supported on a direct scrape; use a Prometheus source",
            ),
            (
                "a / on(x) group_right b",
                "`group_right` is not supported on a direct scrape; use a Prometheus source",
            ),
            (
                "topk(3, a)",
                "the `topk` aggregation is not supported on a direct scrape; use a Prometheus source (supported: sum, avg, min, max, count)",
            ),
            (
                "c[5m]",
                "a range selector like `x[5m]` is only supported inside rate, increase, irate, delta or <aggregation>_over_time",
            ),
        ];
        for (query, message) in cases {
            assert_eq!(rejected(query), message, "{query}");
        }
        let e = rejected("time() - c");
        assert!(e.starts_with("function `time` is not supported on a direct scrape; use a Prometheus source (supported: rate, increase"), "{e}");
        assert_eq!(
            rejected("sum(rate(c[5m]"),
            "invalid PromQL: unclosed left parenthesis"
        );
        assert_eq!(
            rejected("foo bar"),
            "invalid PromQL: `foo bar` does not parse"
        );
        assert_eq!(rejected("   "), "the query is empty");
        assert_eq!(rejected("\"text\""), "a string is not a number to judge");
    }

    #[test]
    fn longest_range_is_the_largest_window() {
        let q =
            ScrapeQuery::compile("rate(a[30s]) / rate(b[2m]) + increase(c[1m])").expect("valid");
        assert_eq!(q.longest_range(), Duration::from_secs(120));
        assert_eq!(
            ScrapeQuery::compile("a + 1")
                .expect("valid")
                .longest_range(),
            Duration::ZERO
        );
    }

    #[test]
    fn no_data_cases() {
        let empty = ScrapeHistory::new(Duration::from_secs(60));
        assert_eq!(
            eval("up", &empty),
            Sample::NoData("no scrape yet".to_string())
        );
        let h = history(600, &[(0.0, "up 1")]);
        assert_eq!(
            eval("down", &h),
            Sample::NoData(
                "no series matched `down`: `down` matched nothing in the newest scrape".to_string()
            )
        );
        assert_eq!(value("up", &h), 1.0);
        assert_eq!(value("sum(up) * 2", &h), 2.0);
    }

    #[test]
    fn more_than_one_series_names_the_first_few() {
        let h = history(
            600,
            &[(
                0.0,
                "x{a=\"1\"} 1\nx{a=\"2\"} 1\nx{a=\"3\"} 1\nx{a=\"4\"} 1",
            )],
        );
        assert_eq!(
            eval("x", &h),
            Sample::NoData(
                "query returned 4 series (x{a=\"1\"}, x{a=\"2\"}, x{a=\"3\"}, ...); aggregate \
                 them, e.g. sum(...)"
                    .to_string()
            )
        );
    }

    #[test]
    fn history_keeps_its_window() {
        let mut h = ScrapeHistory::new(Duration::from_secs(30));
        assert!(h.is_empty());
        for i in 0..10 {
            h.push(f64::from(i) * 10.0, Exposition::default());
        }
        // Newest at 90: keeps 60, 70, 80, 90.
        assert_eq!(h.len(), 4);
        let mut tiny = ScrapeHistory::new(Duration::ZERO);
        for i in 0..5 {
            tiny.push(f64::from(i), Exposition::default());
        }
        assert_eq!(tiny.len(), 2);
        let mut long = ScrapeHistory::new(Duration::from_secs(1_000_000));
        for i in 0..(MAX_SCRAPES + 50) {
            long.push(i as f64, Exposition::default());
        }
        assert_eq!(long.len(), MAX_SCRAPES);
        // A clock that goes back replaces what is not older.
        // Holds the times 50..=549; 525..=549 are not older than 524.5.
        long.push(524.5, Exposition::default());
        assert_eq!(long.len(), MAX_SCRAPES - 25 + 1);
        long.push(f64::NAN, Exposition::default());
        assert_eq!(long.len(), MAX_SCRAPES - 25 + 1);
    }

    #[test]
    fn odd_queries_do_not_panic() {
        let h = history(600, &[(0.0, REQUESTS_0), (10.0, REQUESTS_1)]);
        let seeds = [
            r#"sum(rate(demo_requests_total{status=~"5.."}[30s])) / sum(rate(demo_requests_total[30s]))"#,
            "histogram_quantile(0.99, sum by (le) (rate(demo_request_duration_seconds_bucket[1m])))",
            "-(1 / 0) % 0 ^ -1 > bool 2",
            "scalar(vector(1)) + clamp_max(abs(x), -1)",
        ];
        let mut rng = fastrand::Rng::with_seed(7);
        let alphabet: Vec<char> = "()[]{}\"=~!<>+-*/%^,.0123456789 abcmsxyz_:@"
            .chars()
            .collect();
        for _ in 0..1500 {
            let mut chars: Vec<char> = seeds[rng.usize(..seeds.len())].chars().collect();
            for _ in 0..rng.usize(1..4) {
                if chars.is_empty() {
                    break;
                }
                let at = rng.usize(..chars.len());
                match rng.u8(..3) {
                    0 => chars[at] = alphabet[rng.usize(..alphabet.len())],
                    1 => {
                        chars.remove(at);
                    }
                    _ => chars.insert(at, alphabet[rng.usize(..alphabet.len())]),
                }
            }
            let query: String = chars.into_iter().collect();
            if let Ok(q) = ScrapeQuery::compile(&query) {
                let _ = q.eval(&h);
            }
        }
    }
}
