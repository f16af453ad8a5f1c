//! Reading `[[gates]]`: manual approvals, soaks, checks, analyses and
//! evidence (its own tables are read in `evidence.rs`).

use super::*;

pub(super) const GATE_KEYS: &[&str] = &[
    "name",
    "kind",
    "timeout",
    "require_comment",
    "approvals",
    "wait",
    "check",
    "retries",
    "interval",
    "analysis",
    "junit",
    "coverage",
    "sarif",
    "command",
];
pub(super) const GATE_KINDS: &[&str] = &["manual", "soak", "check", "analysis", "evidence"];

impl Loader<'_> {
    pub(super) fn gate(
        &mut self,
        t: &DeTable<'_>,
        span: Span,
        refs: &mut Vec<Ref>,
    ) -> Option<Gate> {
        let label = match t.get("name").map(|v| v.get_ref()) {
            Some(DeValue::String(s)) => format!("gate `{s}`"),
            _ => "a gate".to_string(),
        };
        let t = Table::new(t, span, label.clone());
        t.check_keys(self.cx, GATE_KEYS);
        let name = t.req_name(self.cx, "name");
        let timeout = self.positive(&t, "timeout");
        let kind = match t.get("kind") {
            None => {
                self.cx.error(
                    t.span.clone(),
                    format!(
                        "{label} is missing `kind` (one of: {})",
                        GATE_KINDS.join(", ")
                    ),
                );
                None
            }
            Some(_) => t.choice(self.cx, "kind", GATE_KINDS),
        };
        let kind = kind?;
        let allowed: &[&str] = match kind.get_ref().as_str() {
            "manual" => &["require_comment", "approvals"],
            "soak" => &["wait"],
            "analysis" => &["analysis"],
            "evidence" => super::evidence::KEYS,
            _ => &["check", "retries", "interval"],
        };
        for key in [
            "require_comment",
            "approvals",
            "wait",
            "check",
            "retries",
            "interval",
            "analysis",
            "junit",
            "coverage",
            "sarif",
            "command",
        ] {
            if !allowed.contains(&key)
                && let Some(ks) = t.key_span(key)
            {
                self.cx.error(
                    ks,
                    format!(
                        "`{key}` does not apply to {} {} gate ({label})",
                        if kind.get_ref().starts_with(['a', 'e']) {
                            "an"
                        } else {
                            "a"
                        },
                        kind.get_ref()
                    ),
                );
            }
        }
        let gate_kind = match kind.get_ref().as_str() {
            "manual" => GateKind::Manual {
                require_comment: t.boolean(self.cx, "require_comment").unwrap_or(false),
                approvals: t
                    .int(self.cx, "approvals", 1, 100)
                    .map(|a| *a.get_ref() as u32),
            },
            "soak" => {
                if t.get("wait").is_none() {
                    self.cx.error(
                        t.span.clone(),
                        format!("{label} is a soak gate but has no `wait` (e.g. wait = \"10m\")"),
                    );
                }
                GateKind::Soak {
                    wait: self.positive(&t, "wait")?,
                }
            }
            "analysis" => {
                if t.get("analysis").is_none() {
                    self.cx.error(
                        t.span.clone(),
                        format!("{label} is an analysis gate but has no `analysis` (the name of an [[analyses]] entry)"),
                    );
                }
                let a = t.string(self.cx, "analysis")?;
                refs.push(Ref {
                    kind: "analysis",
                    name: a.clone(),
                    from: label.clone(),
                });
                GateKind::Analysis {
                    analysis: a.into_inner(),
                }
            }
            "evidence" => GateKind::Evidence(self.evidence_gate(&t, &label)?),
            _ => {
                if t.get("check").is_none() {
                    self.cx.error(
                        t.span.clone(),
                        format!("{label} is a check gate but has no `check` (e.g. check = {{ command = \"...\" }} or the name of a [[checks]] entry)"),
                    );
                }
                // Either a check table or the name of a [[checks]] entry.
                let check = match t.get("check").map(|v| v.get_ref()) {
                    Some(DeValue::String(_)) => {
                        let n = t.string(self.cx, "check")?;
                        refs.push(Ref {
                            kind: "check",
                            name: n.clone(),
                            from: label.clone(),
                        });
                        self.named_checks
                            .iter()
                            .find(|c| &c.name == n.get_ref())
                            .map(|c| c.check.clone())
                    }
                    _ => t
                        .table(self.cx, "check", format!("the check of {label}"))
                        .and_then(|c| self.check(&c)),
                };
                // Read before giving up on a bad check, so their problems are reported too.
                let retries = t
                    .int(self.cx, "retries", 0, 1000)
                    .map(|r| *r.get_ref() as u32)
                    .unwrap_or(0);
                let interval = t
                    .duration(self.cx, "interval")
                    .map(|d| d.into_inner())
                    .unwrap_or(Duration::from_secs(2));
                GateKind::Check {
                    check: check?,
                    retries,
                    interval,
                }
            }
        };
        Some(Gate {
            name: name?.into_inner(),
            kind: gate_kind,
            timeout,
        })
    }
}
