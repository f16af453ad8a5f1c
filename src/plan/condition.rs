//! A metric's success or failure condition: a comparison against a number,
//! written as it reads (`"< 0.05"`, `">= 99.5"`).

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
    Ne,
}

impl CmpOp {
    fn symbol(self) -> &'static str {
        match self {
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
        }
    }

    /// The comparison that holds exactly when this one does not (for finite values).
    pub fn negated(self) -> Self {
        match self {
            CmpOp::Lt => CmpOp::Ge,
            CmpOp::Le => CmpOp::Gt,
            CmpOp::Gt => CmpOp::Le,
            CmpOp::Ge => CmpOp::Lt,
            CmpOp::Eq => CmpOp::Ne,
            CmpOp::Ne => CmpOp::Eq,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Condition {
    pub op: CmpOp,
    pub value: f64,
}

impl Condition {
    /// Parses `"OP NUMBER"`; the error says what is wrong in words.
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        let (op, rest) = [
            ("<=", CmpOp::Le),
            (">=", CmpOp::Ge),
            ("==", CmpOp::Eq),
            ("!=", CmpOp::Ne),
            ("<", CmpOp::Lt),
            (">", CmpOp::Gt),
        ]
        .into_iter()
        .find_map(|(sym, op)| t.strip_prefix(sym).map(|rest| (op, rest)))
        .ok_or_else(|| {
            format!(
                "\"{text}\" is not a condition; write a comparison and a number, e.g. \"< 0.05\""
            )
        })?;
        let num = rest.trim();
        let value: f64 = num
            .parse()
            .map_err(|_| format!("\"{num}\" in condition \"{text}\" is not a number"))?;
        if !value.is_finite() {
            return Err(format!(
                "condition \"{text}\" must compare with a finite number"
            ));
        }
        Ok(Self { op, value })
    }

    /// Whether `x` meets the condition; NaN meets none (callers treat it as inconclusive first).
    pub fn holds(&self, x: f64) -> bool {
        match self.op {
            CmpOp::Lt => x < self.value,
            CmpOp::Le => x <= self.value,
            CmpOp::Gt => x > self.value,
            CmpOp::Ge => x >= self.value,
            CmpOp::Eq => x == self.value,
            CmpOp::Ne => x != self.value,
        }
    }

    pub fn negated(&self) -> Self {
        Self {
            op: self.op.negated(),
            value: self.value,
        }
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.op.symbol(), fmt_num(self.value))
    }
}

/// A number as people write it: no trailing zeros, at most four significant decimals.
pub fn fmt_num(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let a = x.abs();
    // Four significant digits below 1 (ratios), two decimals above (ms, req/s).
    let s = if a != 0.0 && !(1e-4..1e9).contains(&a) {
        format!("{x:.3e}")
    } else if a >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.4}")
    };
    if s.contains('.') && !s.contains('e') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_operator_and_reads_back() {
        for (text, shown) in [
            ("< 0.05", "< 0.05"),
            ("<=1", "<= 1"),
            (" > 200 ", "> 200"),
            (">= 99.5", ">= 99.5"),
            ("== 0", "== 0"),
            ("!= 3", "!= 3"),
        ] {
            assert_eq!(Condition::parse(text).unwrap().to_string(), shown);
        }
    }

    #[test]
    fn rejects_what_is_not_a_condition() {
        assert!(
            Condition::parse("0.05")
                .unwrap_err()
                .contains("e.g. \"< 0.05\"")
        );
        assert!(
            Condition::parse("< lots")
                .unwrap_err()
                .contains("not a number")
        );
        assert!(Condition::parse("< inf").unwrap_err().contains("finite"));
    }

    #[test]
    fn nan_meets_no_condition_and_negation_is_exact() {
        let c = Condition::parse("<= 0.05").unwrap();
        assert!(!c.holds(f64::NAN) && !c.negated().holds(f64::NAN));
        assert!(c.holds(0.05) && !c.negated().holds(0.05));
        assert_eq!(c.negated().to_string(), "> 0.05");
    }

    #[test]
    fn numbers_read_like_people_write_them() {
        assert_eq!(fmt_num(0.0712345), "0.0712");
        assert_eq!(fmt_num(0.05), "0.05");
        assert_eq!(fmt_num(120.0), "120");
        assert_eq!(fmt_num(98.63012), "98.63");
        assert_eq!(fmt_num(f64::INFINITY), "+Inf");
        assert_eq!(fmt_num(0.0), "0");
    }
}
