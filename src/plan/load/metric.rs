//! Reading `[[metrics]]` (what to measure and how to judge it) and
//! `[[analyses]]` (how often, how long, and how much failure to tolerate).

use super::*;
use crate::metrics::prometheus::Reduce;
use crate::metrics::promql::ScrapeQuery;
use crate::plan::{Condition, Slo, with_window};

pub(super) const METRIC_KEYS: &[&str] = &[
    "name",
    "unit",
    "scrape",
    "prometheus",
    "command",
    "query",
    "range",
    "reduce",
    "interval",
    "timeout",
    "success",
    "failure",
    "objective",
    "good",
    "total",
    "burn",
    "wait_for_data",
    "min_data",
    "http",
    "json_path",
    "headers",
];
const SOURCES: &[&str] = &["scrape", "prometheus", "command", "http"];
pub(super) const ANALYSIS_KEYS: &[&str] = &[
    "name",
    "metrics",
    "count",
    "duration",
    "initial_delay",
    "failure_limit",
    "inconclusive_limit",
    "consecutive_error_limit",
];
pub(super) const REDUCE: &[&str] = &["last", "max", "min", "mean"];

impl Loader<'_> {
    pub(super) fn metric(&mut self, t: &DeTable<'_>, span: Span) -> Option<Metric> {
        let label = match t.get("name").map(|v| v.get_ref()) {
            Some(DeValue::String(s)) => format!("metric `{s}`"),
            _ => "a metric".to_string(),
        };
        let t = Table::new(t, span, label.clone());
        t.check_keys(self.cx, METRIC_KEYS);
        let name = t.req_name(self.cx, "name");
        let unit = t
            .string(self.cx, "unit")
            .map(|u| u.into_inner())
            .unwrap_or_default();
        let interval = self
            .positive(&t, "interval")
            .unwrap_or(Duration::from_secs(10));
        let timeout = self
            .positive(&t, "timeout")
            .unwrap_or(Duration::from_secs(5));
        let success = self.condition(&t, "success");
        let failure = self.condition(&t, "failure");
        let want_slo = t.get("objective").is_some();
        let slo = if want_slo {
            for key in ["success", "failure"] {
                if let Some(ks) = t.key_span(key) {
                    self.cx.error(
                        ks,
                        format!("`{key}` does not apply to {label}: its `objective` and `burn` pairs judge it"),
                    );
                }
            }
            self.slo(&t, interval)
        } else {
            for key in ["good", "total", "burn"] {
                if let Some(ks) = t.key_span(key) {
                    self.cx.error(
                        ks,
                        format!("`{key}` applies only to an SLO metric (one with `objective`), in {label}"),
                    );
                }
            }
            None
        };
        if !want_slo && t.get("success").is_none() && t.get("failure").is_none() {
            self.cx.error(
                t.span.clone(),
                format!(
                    "{label} needs `success` or `failure` (or both), e.g. success = \"< 0.05\""
                ),
            );
        }
        let given: Vec<&str> = SOURCES
            .iter()
            .copied()
            .filter(|k| t.get(k).is_some())
            .collect();
        let source = match given.as_slice() {
            [] => {
                self.cx.error(
                    t.span.clone(),
                    format!("{label} needs a source: `scrape` (a /metrics URL), `prometheus` (a server URL), `http` (a JSON API with `json_path`) or `command`"),
                );
                None
            }
            [one] => self.metric_source(&t, one, want_slo.then_some(slo.as_ref())),
            _ => {
                self.cx.error(
                    t.span.clone(),
                    format!(
                        "{label} has more than one source ({}); give exactly one",
                        given.join(", ")
                    ),
                );
                None
            }
        };
        let (wait_for_data, min_data) = self.readiness(&t, interval);
        let (success, failure) = (success?, failure?);
        if want_slo != slo.is_some() || (!want_slo && success.is_none() && failure.is_none()) {
            return None;
        }
        Some(Metric {
            name: name?.into_inner(),
            unit,
            source: source?,
            interval,
            timeout,
            success,
            failure,
            slo,
            wait_for_data,
            min_data,
        })
    }

    /// `wait_for_data` and `min_data` ("2 samples", or a number). One
    /// without the other: wait for one reading, or for as long as
    /// `min_data` intervals and as many again.
    fn readiness(&mut self, t: &Table<'_, '_>, interval: Duration) -> (Option<Duration>, u32) {
        let wait = self.positive(t, "wait_for_data");
        let min = match t.get("min_data") {
            None => None,
            Some(v) => {
                let n = match v.get_ref() {
                    DeValue::Integer(_) => {
                        t.int(self.cx, "min_data", 1, 10_000).map(|n| *n.get_ref())
                    }
                    DeValue::String(s) => {
                        let words: Vec<&str> = s.split_whitespace().collect();
                        match words.as_slice() {
                            [n, "sample" | "samples"] => n.parse::<i64>().ok(),
                            _ => None,
                        }
                        .filter(|n| (1..=10_000).contains(n))
                        .or_else(|| {
                            self.cx.error(
                                v.span(),
                                format!(
                                    "`min_data` in {} is a number of samples with data, like \"2 samples\" (1 to 10000); found \"{s}\"",
                                    t.what
                                ),
                            );
                            None
                        })
                    }
                    other => {
                        self.cx.error(
                            v.span(),
                            format!(
                                "`min_data` in {} must be like \"2 samples\", found {}",
                                t.what,
                                crate::plan::reader::type_name(other)
                            ),
                        );
                        None
                    }
                };
                n.map(|n| n as u32)
            }
        };
        match (wait, min) {
            (None, None) => (None, 1),
            (Some(w), m) => (Some(w), m.unwrap_or(1)),
            (None, Some(m)) => (Some(interval * (2 * m)), m),
        }
    }

    fn metric_source(
        &mut self,
        t: &Table<'_, '_>,
        kind: &str,
        // `Some` for an SLO metric, with its objective if that was right.
        slo: Option<Option<&Slo>>,
    ) -> Option<MetricSource> {
        for key in ["json_path", "headers"] {
            if kind != "http"
                && let Some(ks) = t.key_span(key)
            {
                self.cx.error(
                    ks,
                    format!("`{key}` applies only to an `http` source (in {})", t.what),
                );
            }
        }
        if kind == "http" && slo.is_none() {
            return self.http_source(t);
        }
        if let Some(slo) = slo {
            for key in ["range", "reduce"] {
                if let Some(ks) = t.key_span(key) {
                    self.cx.error(ks, format!("`{key}` does not apply to {}: its burn windows say how far back it looks", t.what));
                }
            }
            if kind == "command" || kind == "http" {
                self.cx.error(
                    t.key_span(kind).unwrap_or(t.span.clone()),
                    format!("{} with an `objective` needs a `prometheus` or `scrape` source: its burn windows are PromQL ranges", t.what),
                );
                return None;
            }
            let url = self.url(t, kind);
            let (query, span) = self.slo_query(t)?;
            if kind == "scrape" {
                for w in slo.map(Slo::windows).unwrap_or_default() {
                    let probe = crate::plan::template::fill_all(&with_window(&query, w), "0");
                    if let Err(e) = ScrapeQuery::compile(&probe) {
                        self.cx
                            .error(span.clone(), format!("the error ratio of {}: {e}", t.what));
                        return None;
                    }
                }
                return Some(MetricSource::Scrape { url: url?, query });
            }
            return Some(MetricSource::Prometheus {
                url: url?,
                query,
                range: None,
                reduce: Reduce::Last,
            });
        }
        for key in ["range", "reduce"] {
            if kind != "prometheus"
                && let Some(ks) = t.key_span(key)
            {
                self.cx.error(
                    ks,
                    format!(
                        "`{key}` applies only to a prometheus source (in {})",
                        t.what
                    ),
                );
            }
        }
        if kind == "command" {
            if let Some(ks) = t.key_span("query") {
                self.cx.error(ks, format!("`query` does not apply to a command source; the command prints the number (in {})", t.what));
            }
            let c = t.string(self.cx, "command")?;
            if c.get_ref().trim().is_empty() {
                self.cx
                    .error(c.span(), format!("`command` in {} is empty", t.what));
                return None;
            }
            return Some(MetricSource::Command {
                command: c.into_inner(),
            });
        }
        let url = self.url(t, kind);
        if t.get("query").is_none() {
            self.cx.error(
                t.span.clone(),
                format!("{} is missing `query` (PromQL)", t.what),
            );
            return None;
        }
        let query = self.templated(t, "query")?;
        if kind == "scrape" {
            // Placeholders stand for label values or numbers; "0" parses as either.
            let probe = crate::plan::template::fill_all(&query, "0");
            if let Err(e) = ScrapeQuery::compile(&probe) {
                self.cx.error(
                    t.get("query").map(|v| v.span()).unwrap_or(t.span.clone()),
                    format!("`query` in {}: {e}", t.what),
                );
                return None;
            }
            return Some(MetricSource::Scrape { url: url?, query });
        }
        let range = t.duration(self.cx, "range").map(|r| r.into_inner());
        let reduce = match t.choice(self.cx, "reduce", REDUCE).map(|r| r.into_inner()) {
            Some(r) if range.is_none() => {
                self.cx.error(
                    t.key_span("reduce").unwrap_or(t.span.clone()),
                    format!("`reduce = \"{r}\"` in {} needs a `range` to reduce", t.what),
                );
                Reduce::Last
            }
            Some(r) => match r.as_str() {
                "max" => Reduce::Max,
                "min" => Reduce::Min,
                "mean" => Reduce::Mean,
                _ => Reduce::Last,
            },
            None => Reduce::Last,
        };
        Some(MetricSource::Prometheus {
            url: url?,
            query,
            range,
            reduce,
        })
    }

    /// `http = URL` with `json_path` and optional `headers`.
    fn http_source(&mut self, t: &Table<'_, '_>) -> Option<MetricSource> {
        for key in ["query", "range", "reduce"] {
            if let Some(ks) = t.key_span(key) {
                self.cx.error(
                    ks,
                    format!(
                        "`{key}` does not apply to an `http` source; `json_path` says where the number is (in {})",
                        t.what
                    ),
                );
            }
        }
        let url = self.url(t, "http");
        let headers = self.headers(t);
        if t.get("json_path").is_none() {
            self.cx.error(
                t.span.clone(),
                format!(
                    "{} is missing `json_path`, the number in the answer, e.g. \"$.series[0].pointlist[-1][1]\"",
                    t.what
                ),
            );
            return None;
        }
        let path = self.templated(t, "json_path")?;
        let probe = crate::plan::template::fill_all(&path, "0");
        if let Err(e) = crate::metrics::http_json::parse_path(&probe) {
            self.cx.error(
                t.get("json_path")
                    .map(|v| v.span())
                    .unwrap_or(t.span.clone()),
                format!("`json_path` in {}: {e}", t.what),
            );
            return None;
        }
        Some(MetricSource::Http {
            url: url?,
            json_path: path,
            headers,
        })
    }

    /// `Some(None)` when absent, `None` when present but wrong.
    fn condition(&mut self, t: &Table<'_, '_>, key: &str) -> Option<Option<Condition>> {
        if t.get(key).is_none() {
            return Some(None);
        }
        let s = t.string(self.cx, key)?;
        match Condition::parse(s.get_ref()) {
            Ok(c) => Some(Some(c)),
            Err(e) => {
                self.cx
                    .error(s.span(), format!("`{key}` in {}: {e}", t.what));
                None
            }
        }
    }

    pub(super) fn analysis(
        &mut self,
        t: &DeTable<'_>,
        span: Span,
        refs: &mut Vec<Ref>,
    ) -> Option<Analysis> {
        let label = match t.get("name").map(|v| v.get_ref()) {
            Some(DeValue::String(s)) => format!("analysis `{s}`"),
            _ => "an analysis".to_string(),
        };
        let t = Table::new(t, span, label.clone());
        t.check_keys(self.cx, ANALYSIS_KEYS);
        let name = t.req_name(self.cx, "name");
        if t.get("metrics").is_none() {
            self.cx.error(
                t.span.clone(),
                format!("{label} is missing `metrics` (names of [[metrics]] entries)"),
            );
        }
        let metrics = t.string_list(self.cx, "metrics").unwrap_or_default();
        if metrics.is_empty() && t.get("metrics").is_some() {
            self.cx.error(
                t.key_span("metrics").unwrap_or(t.span.clone()),
                format!("`metrics` in {label} is empty"),
            );
        }
        for m in &metrics {
            refs.push(Ref {
                kind: "metric",
                name: m.clone(),
                from: format!("`metrics` of {label}"),
            });
        }
        let count = t
            .int(self.cx, "count", 1, 100_000)
            .map(|c| *c.get_ref() as u32);
        let duration = self.positive(&t, "duration");
        if let (Some(_), Some(_)) = (count, duration) {
            self.cx.error(
                t.key_span("duration").unwrap_or(t.span.clone()),
                format!("{label} has both `count` and `duration`; give one"),
            );
        }
        let initial_delay = t
            .duration(self.cx, "initial_delay")
            .map(|d| d.into_inner())
            .unwrap_or_default();
        let limit = |cx: &mut Ctx, key: &str, default: u32| {
            t.int(cx, key, 0, 100_000)
                .map(|v| *v.get_ref() as u32)
                .unwrap_or(default)
        };
        let failure_limit = limit(self.cx, "failure_limit", 0);
        let inconclusive_limit = limit(self.cx, "inconclusive_limit", 0);
        let consecutive_error_limit = limit(self.cx, "consecutive_error_limit", 4);
        if metrics.is_empty() {
            return None;
        }
        Some(Analysis {
            name: name?.into_inner(),
            metrics: metrics.into_iter().map(|m| m.into_inner()).collect(),
            count,
            duration,
            initial_delay,
            failure_limit,
            inconclusive_limit,
            consecutive_error_limit,
        })
    }
}
