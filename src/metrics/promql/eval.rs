//! Evaluation over the scrape history: selectors, ranges and calls.

use super::*;

/// `Err` carries the final answer when evaluation cannot go on (too few scrapes,
/// an impossible match), already in the form the caller reports.
pub(super) type Eval = Result<Value, Sample>;

pub(super) struct Ctx<'h> {
    pub(super) history: &'h ScrapeHistory,
    /// Why a result may be empty: the first selector that matched nothing.
    pub(super) hint: Option<String>,
}

impl<'h> Ctx<'h> {
    pub(super) fn eval(&mut self, expr: &Expr) -> Eval {
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

    pub(super) fn eval_vector(&mut self, expr: &Expr) -> Result<Vec<Element>, Sample> {
        match self.eval(expr)? {
            Value::Vector(elements) => Ok(elements),
            Value::Scalar(_) => Err(Sample::Error(format!(
                "`{}` is a scalar where a vector is needed",
                shorten(&expr.to_string())
            ))),
        }
    }

    pub(super) fn eval_scalar(&mut self, expr: &Expr) -> Result<f64, Sample> {
        match self.eval(expr)? {
            Value::Scalar(v) => Ok(v),
            Value::Vector(_) => Err(Sample::Error(format!(
                "`{}` is a vector where a scalar is needed",
                shorten(&expr.to_string())
            ))),
        }
    }

    pub(super) fn newest(&self) -> Option<&'h Scrape> {
        self.history.scrapes.back()
    }

    pub(super) fn select(&mut self, vs: &VectorSelector) -> Vec<Element> {
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

    pub(super) fn call(&mut self, call: &Call) -> Eval {
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
    pub(super) fn range_function(&mut self, func: Func, name: &str, ms: &MatrixSelector) -> Eval {
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

    pub(super) fn binary(&mut self, b: &BinaryExpr) -> Eval {
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
pub(super) fn selects(vs: &VectorSelector, labels: &Labels) -> bool {
    if let Some(name) = &vs.name
        && label(labels, METRIC_NAME) != name
    {
        return false;
    }
    matches_all(&vs.matchers, labels)
}

/// A label's value; a missing label reads as empty, as matchers expect.
pub(super) fn label<'l>(labels: &'l Labels, name: &str) -> &'l str {
    labels.get(name).map_or("", String::as_str)
}

pub(super) fn matches_all(matchers: &Matchers, labels: &Labels) -> bool {
    let all = |group: &[promql_parser::label::Matcher]| {
        group.iter().all(|m| m.is_match(label(labels, &m.name)))
    };
    all(&matchers.matchers)
        && (matchers.or_matchers.is_empty() || matchers.or_matchers.iter().any(|group| all(group)))
}

/// The value of a range function over one series' points (time order), or `None`
/// if there are too few points.
pub(super) fn range_value(func: Func, points: &[(f64, f64)]) -> Option<f64> {
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
pub(super) fn nan_min(acc: f64, v: f64) -> f64 {
    if acc.is_nan() || v < acc { v } else { acc }
}

pub(super) fn nan_max(acc: f64, v: f64) -> f64 {
    if acc.is_nan() || v > acc { v } else { acc }
}
