//! Aggregations, binary operators with vector matching, histogram quantiles,
//! and how results are described.

use super::*;

pub(super) fn aggregate(agg: &AggregateExpr, elements: Vec<Element>) -> Vec<Element> {
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
pub(super) fn group_labels(labels: &Labels, modifier: Option<&LabelModifier>) -> Labels {
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
pub(super) struct Op {
    pub(super) id: TokenId,
    pub(super) comparison: bool,
    pub(super) bool_result: bool,
}

impl Op {
    pub(super) fn arithmetic(&self, l: f64, r: f64) -> f64 {
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

    pub(super) fn compare(&self, l: f64, r: f64) -> bool {
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

    pub(super) fn scalars(&self, l: f64, r: f64) -> f64 {
        if self.comparison {
            bool_value(self.compare(l, r))
        } else {
            self.arithmetic(l, r)
        }
    }

    /// `swapped`: the scalar is on the left.
    pub(super) fn vector_scalar(
        &self,
        elements: Vec<Element>,
        s: f64,
        swapped: bool,
    ) -> Vec<Element> {
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
    pub(super) fn combine(&self, e: &mut Element, l: f64, r: f64) -> bool {
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
    pub(super) fn vectors(
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

pub(super) fn duplicate_match(side: &str, signature: &Labels, op: &str) -> Sample {
    Sample::Error(format!(
        "several series on the {side} of `{op}` share the labels {}; match them one-to-one \
         with on(...)/ignoring(...) or aggregate them",
        series_name(signature)
    ))
}

pub(super) fn bool_value(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

/// Applies `f` to every value, dropping the metric name (the result is no longer
/// that metric).
pub(super) fn map_values(elements: Vec<Element>, f: impl Fn(f64) -> f64) -> Vec<Element> {
    elements
        .into_iter()
        .map(|mut e| {
            e.labels.remove(METRIC_NAME);
            e.value = f(e.value);
            e
        })
        .collect()
}

pub(super) fn histogram_quantile(phi: f64, elements: Vec<Element>) -> Vec<Element> {
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
pub(super) fn bucket_quantile(phi: f64, mut buckets: Vec<(f64, f64)>) -> f64 {
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

pub(super) fn without_name(labels: &Labels) -> Labels {
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

pub(super) fn several_series(elements: &[Element]) -> String {
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

pub(super) fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
