//! The compile-time check: what a direct scrape can evaluate, refused by name otherwise.

use super::*;

pub(super) const USE_PROMETHEUS: &str =
    "is not supported on a direct scrape; use a Prometheus source";
pub(super) const SUBQUERIES: &str =
    "subqueries (`x[5m:1m]`) are not supported on a direct scrape; use a Prometheus source";

pub(super) fn check(expr: &Expr, longest: &mut Duration, depth: usize) -> Result<(), String> {
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

pub(super) fn check_selector(vs: &VectorSelector) -> Result<(), String> {
    if vs.offset.is_some() {
        return Err(format!("`offset` {USE_PROMETHEUS}"));
    }
    if vs.at.is_some() {
        return Err(format!("`@` {USE_PROMETHEUS}"));
    }
    Ok(())
}

pub(super) fn check_aggregate(agg: &AggregateExpr) -> Result<(), String> {
    let supported = matches!(agg.op.id(), T_SUM | T_AVG | T_MIN | T_MAX | T_COUNT);
    if !supported || agg.param.is_some() {
        return Err(format!(
            "the `{}` aggregation {USE_PROMETHEUS} (supported: sum, avg, min, max, count)",
            agg.op
        ));
    }
    Ok(())
}

pub(super) fn check_binary(b: &BinaryExpr) -> Result<(), String> {
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

pub(super) fn check_call(call: &Call, longest: &mut Duration, depth: usize) -> Result<(), String> {
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

pub(super) fn unparen(mut expr: &Expr) -> &Expr {
    while let Expr::Paren(p) = expr {
        expr = &p.expr;
    }
    expr
}
