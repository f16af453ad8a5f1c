//! An SLO metric's `objective`, `burn` pairs and error-ratio query
//! (`query`, or `good` and `total`, each ranged by `${window}`).

use super::*;
use crate::plan::{BurnPair, Slo, WINDOW, promql_duration};

const BURN_KEYS: &[&str] = &["short", "long", "rate"];

impl Loader<'_> {
    /// `objective` and `burn` of an SLO metric.
    pub(super) fn slo(&mut self, t: &Table<'_, '_>, interval: Duration) -> Option<Slo> {
        let objective = t.number(self.cx, "objective", 0.0, 100.0)?;
        let o = *objective.get_ref();
        if o <= 0.0 || o >= 100.0 {
            self.cx.error(
                objective.span(),
                format!(
                    "`objective` in {} is the percent of good requests, above 0 and below 100 (e.g. 99.9); found {o}",
                    t.what
                ),
            );
            return None;
        }
        let pairs = if t.get("burn").is_some() {
            let mut pairs = Vec::new();
            let mut ok = true;
            let entries = t.array_of_tables(self.cx, "burn");
            if entries.is_empty() {
                self.cx.error(
                    t.key_span("burn").unwrap_or(t.span.clone()),
                    format!("`burn` in {} is empty; leave it out for the SRE workbook's 5m/1h at 14.4 and 30m/6h at 6", t.what),
                );
                return None;
            }
            for (bt, span) in entries {
                let b = Table::new(bt, span.clone(), format!("a `burn` pair of {}", t.what));
                b.check_keys(self.cx, BURN_KEYS);
                for key in BURN_KEYS {
                    if b.get(key).is_none() {
                        self.cx
                            .error(span.clone(), format!("{} is missing `{key}`", b.what));
                        ok = false;
                    }
                }
                let short = self.positive(&b, "short");
                let long = self.positive(&b, "long");
                let rate = b.number(self.cx, "rate", 0.0, 1e9);
                match (short, long, rate) {
                    (Some(short), Some(long), Some(rate)) => {
                        if short >= long {
                            self.cx.error(
                                b.key_span("short").unwrap_or(span.clone()),
                                format!("in {} the short window ({}) must be shorter than the long one ({})", b.what, promql_duration(short), promql_duration(long)),
                            );
                            ok = false;
                        }
                        if *rate.get_ref() <= 0.0 {
                            self.cx.error(
                                rate.span(),
                                format!("`rate` in {} must be above 0", b.what),
                            );
                            ok = false;
                        }
                        for w in [short, long] {
                            if w.subsec_millis() != 0 {
                                self.cx.error(
                                    span.clone(),
                                    format!("the windows in {} must be whole seconds", b.what),
                                );
                                ok = false;
                            }
                        }
                        pairs.push(BurnPair {
                            short,
                            long,
                            rate: *rate.get_ref(),
                        });
                    }
                    _ => ok = false,
                }
            }
            if !ok {
                return None;
            }
            pairs
        } else {
            Slo::default_pairs()
        };
        let slo = Slo {
            objective: o,
            pairs,
        };
        if t.get("scrape").is_some() {
            // The direct-scrape evaluator holds its own history: a window must fit it.
            let longest = slo.windows().last().copied().unwrap_or_default();
            let needed = (longest.as_secs_f64() / interval.as_secs_f64()).ceil() as usize + 2;
            if needed > crate::metrics::promql::MAX_SCRAPES {
                self.cx.error(
                    t.key_span("burn").or(t.key_span("objective")).unwrap_or(t.span.clone()),
                    format!(
                        "{}: a {} window needs {needed} scrapes at a {} interval, and a direct scrape keeps at most {}; use a `prometheus` source for long windows, or a longer `interval`",
                        t.what,
                        promql_duration(longest),
                        humantime::format_duration(interval),
                        crate::metrics::promql::MAX_SCRAPES
                    ),
                );
                return None;
            }
        }
        Some(slo)
    }

    /// The error ratio an SLO metric measures: its `query`, or `1 - good / total`.
    pub(super) fn slo_query(&mut self, t: &Table<'_, '_>) -> Option<(String, Span)> {
        let given = |k: &str| t.get(k).is_some();
        let one = |this: &mut Self, key: &str| -> Option<(String, Span)> {
            let s = t.string(this.cx, key)?;
            if !s.get_ref().contains(WINDOW) {
                this.cx.error(
                    s.span(),
                    format!(
                        "`{key}` in {} must use `${{window}}` for its range, e.g. rate(http_requests_total[${{window}}]): each burn window fills it in",
                        t.what
                    ),
                );
                return None;
            }
            // Checked as the first window would fill it.
            let probe = s.get_ref().replace(WINDOW, "5m");
            this.placeholders_ok(s.span(), &probe, None)
                .then(|| (s.get_ref().clone(), s.span()))
        };
        match (given("query"), given("good"), given("total")) {
            (true, false, false) => one(self, "query"),
            (false, true, true) => {
                let good = one(self, "good");
                let total = one(self, "total");
                let (good, span) = good?;
                let (total, _) = total?;
                Some((format!("1 - ({good}) / ({total})"), span))
            }
            (false, false, false) => {
                self.cx.error(
                    t.span.clone(),
                    format!("{} needs its error ratio as `query`, or `good` and `total` (each with `${{window}}`)", t.what),
                );
                None
            }
            (true, _, _) => {
                self.cx.error(
                    t.key_span("query").unwrap_or(t.span.clone()),
                    format!("{} has `query` (the error ratio) and `good`/`total`; give one or the other", t.what),
                );
                None
            }
            (false, _, _) => {
                self.cx.error(
                    t.span.clone(),
                    format!("{} needs both `good` and `total`", t.what),
                );
                None
            }
        }
    }
}
