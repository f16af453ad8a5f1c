//! Reading `[[environments]]`: config values, approval policy, rollout strategy, gates.

use super::*;

pub(super) const ENV_KEYS: &[&str] = &[
    "name",
    "config",
    "approval",
    "strategy",
    "gates",
    "verify_rollback",
    "production",
    "on_inconclusive",
    "health",
    "analysis",
    "rollback_approval",
];
/// Names that make an environment production unless it says `production = false`.
const PRODUCTION_NAMES: &[&str] = &["prod", "production", "prd", "live"];
pub(super) const APPROVAL_KEYS: &[&str] =
    &["required", "approvers", "require_comment", "four_eyes"];
pub(super) const STRATEGY_KEYS: &[&str] = &[
    "kind",
    "batches",
    "steps",
    "pause",
    "gate",
    "analysis",
    "analysis_at_full",
    "color",
    "switch",
    "retire",
    "confirm",
];
pub(super) const STRATEGY_KINDS: &[&str] = &["all-at-once", "rolling", "canary", "blue-green"];

impl Loader<'_> {
    pub(super) fn environment(
        &mut self,
        t: &DeTable<'_>,
        span: Span,
        refs: &mut Vec<Ref>,
    ) -> Option<(Environment, Spanned<String>, Option<Span>)> {
        let label = match t.get("name").map(|v| v.get_ref()) {
            Some(DeValue::String(s)) => format!("environment `{s}`"),
            _ => "an environment".to_string(),
        };
        let t = Table::new(t, span, label.clone());
        t.check_keys(self.cx, ENV_KEYS);
        let name = t.req_name(self.cx, "name");
        let config = t.scalar_map(self.cx, "config");
        let config: Vec<(String, String)> = config
            .into_iter()
            .map(|(k, v)| (k.into_inner(), v))
            .collect();

        let approval = match t.table(
            self.cx,
            "approval",
            format!("the approval policy of {label}"),
        ) {
            Some(a) => {
                a.check_keys(self.cx, APPROVAL_KEYS);
                let required = a.int(self.cx, "required", 1, 100);
                let approvers = a.string_list(self.cx, "approvers").unwrap_or_default();
                let require_comment = a.boolean(self.cx, "require_comment").unwrap_or(false);
                let four_eyes = a.boolean(self.cx, "four_eyes").unwrap_or(false);
                let approvers = self.approvers(approvers, &label);
                // A group may hold any number of people, so only a list of users can be too short.
                if let Some(req) = &required
                    && !approvers.is_empty()
                    && !approvers.iter().any(|a| a.get_ref().starts_with('@'))
                    && *req.get_ref() as usize > approvers.len()
                {
                    self.cx.error(
                        req.span(),
                        format!(
                            "{label} requires {} approvals but lists only {} approvers",
                            req.get_ref(),
                            approvers.len()
                        ),
                    );
                }
                ApprovalPolicy {
                    required: required.map(|r| *r.get_ref() as u32).unwrap_or(1),
                    approvers: approvers.into_iter().map(|a| a.into_inner()).collect(),
                    require_comment,
                    four_eyes,
                }
            }
            None => ApprovalPolicy::default(),
        };

        let strategy_span = t.get("strategy").map(|v| v.span());
        let strategy = self.strategy(&t, &label, refs);

        let gates = t.string_list(self.cx, "gates").unwrap_or_default();
        for g in &gates {
            refs.push(Ref {
                kind: "gate",
                name: g.clone(),
                from: format!("`gates` of {label}"),
            });
        }
        let verify_rollback = t
            .table(
                self.cx,
                "verify_rollback",
                format!("`verify_rollback` of {label}"),
            )
            .and_then(|c| self.check(&c));

        let health = t.string_list(self.cx, "health").unwrap_or_default();
        for h in &health {
            refs.push(Ref {
                kind: "check",
                name: h.clone(),
                from: format!("`health` of {label}"),
            });
        }
        let analysis = t.string(self.cx, "analysis");
        if let Some(a) = &analysis {
            refs.push(Ref {
                kind: "analysis",
                name: a.clone(),
                from: format!("`analysis` of {label}"),
            });
        }
        let rollback_approval = t.boolean(self.cx, "rollback_approval").unwrap_or(false);
        let production = t.boolean(self.cx, "production").unwrap_or_else(|| {
            name.as_ref()
                .is_some_and(|n| PRODUCTION_NAMES.contains(&n.get_ref().to_lowercase().as_str()))
        });
        // Production fails closed: nothing proven is not good enough there.
        let on_inconclusive = match t
            .choice(self.cx, "on_inconclusive", &OnInconclusive::NAMES)
            .map(|c| c.into_inner())
            .as_deref()
        {
            Some("fail") => OnInconclusive::Fail,
            Some("continue") => OnInconclusive::Continue,
            Some(_) => OnInconclusive::Ask,
            None if production => OnInconclusive::Fail,
            None => OnInconclusive::Ask,
        };

        let name = name?;
        Some((
            Environment {
                name: name.get_ref().clone(),
                config,
                approval,
                strategy: strategy?,
                gates: gates.into_iter().map(|g| g.into_inner()).collect(),
                verify_rollback,
                production,
                on_inconclusive,
                health: health.into_iter().map(|h| h.into_inner()).collect(),
                analysis: analysis.map(|a| a.into_inner()),
                rollback_approval,
            },
            name,
            strategy_span,
        ))
    }

    /// Approver entries that name a user (`alice`) or a group (`@release-managers`),
    /// each once; the rest are reported.
    fn approvers(&mut self, list: Vec<Spanned<String>>, label: &str) -> Vec<Spanned<String>> {
        let mut out: Vec<Spanned<String>> = Vec::new();
        for a in list {
            let entry = a.get_ref();
            let (what, name) = match entry.strip_prefix('@') {
                Some(group) => ("group", group),
                None => ("user", entry.as_str()),
            };
            if !os_name(name) {
                let why = if name.is_empty() {
                    format!("`{entry}` names no {what}")
                } else {
                    format!("`{entry}` is not a valid {what} name")
                };
                self.cx.error(
                    a.span(),
                    format!(
                        "approver {why} in {label}: write a user name (alice) or a group as @name (@release-managers)"
                    ),
                );
            } else if let Some(first) = out.iter().find(|o| o.get_ref() == entry) {
                let (line, _) = super::diagnostic::line_col(self.source, first.span().start);
                self.cx.error(
                    a.span(),
                    format!("approver `{entry}` is listed twice in {label} (first on line {line})"),
                );
            } else {
                out.push(a);
            }
        }
        out
    }

    pub(super) fn strategy(
        &mut self,
        env: &Table<'_, '_>,
        label: &str,
        refs: &mut Vec<Ref>,
    ) -> Option<Strategy> {
        let Some(v) = env.get("strategy") else {
            return Some(Strategy::AllAtOnce);
        };
        let what = format!("the strategy of {label}");
        let t = match v.get_ref() {
            DeValue::String(_) => {
                let kind = env.choice(self.cx, "strategy", STRATEGY_KINDS)?;
                return match kind.get_ref().as_str() {
                    "all-at-once" => Some(Strategy::AllAtOnce),
                    other => {
                        let example = match other {
                            "rolling" => "batches = 4",
                            "canary" => "steps = [10, 50, 100]",
                            _ => "switch = \"./switch.sh\"",
                        };
                        self.cx.error(
                            kind.span(),
                            format!(
                                "the {other} strategy of {label} needs settings: \
                                 write `strategy = {{ kind = \"{other}\", {example} }}`"
                            ),
                        );
                        None
                    }
                };
            }
            DeValue::Table(t) => Table::new(t, v.span(), what.clone()),
            _ => {
                env.table(self.cx, "strategy", what)?;
                return None;
            }
        };
        t.check_keys(self.cx, STRATEGY_KEYS);
        let kind = match t.get("kind") {
            None => {
                self.cx.error(
                    t.span.clone(),
                    format!(
                        "{what} is missing `kind` (one of: {})",
                        STRATEGY_KINDS.join(", ")
                    ),
                );
                return None;
            }
            Some(_) => t.choice(self.cx, "kind", STRATEGY_KINDS)?,
        };
        let allowed: &[&str] = match kind.get_ref().as_str() {
            "all-at-once" => &["kind"],
            "rolling" => &["kind", "batches", "pause", "gate", "analysis"],
            "canary" => &[
                "kind",
                "steps",
                "pause",
                "gate",
                "analysis",
                "analysis_at_full",
            ],
            _ => &["kind", "color", "switch", "retire", "confirm"],
        };
        for key in STRATEGY_KEYS {
            if !allowed.contains(key)
                && let Some(ks) = t.key_span(key)
            {
                self.cx.error(
                    ks,
                    format!(
                        "`{key}` does not apply to the {} strategy (in {label})",
                        kind.get_ref()
                    ),
                );
            }
        }
        let gate_ref = |cx: &mut Ctx, key: &str, refs: &mut Vec<Ref>| {
            let g = t.string(cx, key)?;
            refs.push(Ref {
                kind: "gate",
                name: g.clone(),
                from: format!("the strategy of {label}"),
            });
            Some(g.into_inner())
        };
        let at_full = t.boolean(self.cx, "analysis_at_full").unwrap_or(false);
        if at_full && t.get("analysis").is_none() {
            self.cx.error(
                t.key_span("analysis_at_full").unwrap_or(t.span.clone()),
                format!("`analysis_at_full` in {what} needs the `analysis` it repeats at 100%"),
            );
        }
        let between = |cx: &mut Ctx, refs: &mut Vec<Ref>| Between {
            at_full,
            pause: t.duration(cx, "pause").map(|d| d.into_inner()),
            gate: gate_ref(cx, "gate", refs),
            analysis: t.string(cx, "analysis").map(|a| {
                refs.push(Ref {
                    kind: "analysis",
                    name: a.clone(),
                    from: format!("the strategy of {label}"),
                });
                a.into_inner()
            }),
        };
        match kind.get_ref().as_str() {
            "all-at-once" => Some(Strategy::AllAtOnce),
            "rolling" => {
                let batches = t.int(self.cx, "batches", 1, 1000);
                if t.get("batches").is_none() {
                    self.cx
                        .error(t.span.clone(), format!("{what} is missing `batches`"));
                }
                let between = between(self.cx, refs);
                Some(Strategy::Rolling {
                    batches: *batches?.get_ref() as u32,
                    between,
                })
            }
            "canary" => {
                let steps = t.int_list(self.cx, "steps");
                if t.get("steps").is_none() {
                    self.cx.error(
                        t.span.clone(),
                        format!(
                            "{what} is missing `steps` (traffic weights such as [5, 25, 50, 100])"
                        ),
                    );
                }
                let between = between(self.cx, refs);
                let steps = steps?;
                let mut ok = !steps.is_empty();
                if steps.is_empty() {
                    self.cx.error(
                        t.key_span("steps").unwrap_or(t.span.clone()),
                        format!("`steps` in {what} is empty"),
                    );
                }
                let mut prev = 0;
                for s in &steps {
                    let w = *s.get_ref();
                    if !(1..=100).contains(&w) {
                        self.cx.error(
                            s.span(),
                            format!("canary weight {w} in {label} must be between 1 and 100"),
                        );
                        ok = false;
                    } else if w <= prev {
                        self.cx.error(
                            s.span(),
                            format!("canary weights in {label} must increase ({w} follows {prev})"),
                        );
                        ok = false;
                    }
                    prev = w;
                }
                if ok && prev != 100 {
                    let last = steps.last().expect("non-empty");
                    self.cx.error(
                        last.span(),
                        format!("the last canary weight in {label} must be 100, found {prev}"),
                    );
                    ok = false;
                }
                ok.then(|| Strategy::Canary {
                    weights: steps.iter().map(|s| *s.get_ref() as u32).collect(),
                    between,
                })
            }
            _ => {
                let color = t
                    .string(self.cx, "color")
                    .map(|c| c.into_inner())
                    .unwrap_or_else(|| "green".into());
                let switch = t.req_string(self.cx, "switch");
                let retire = t.string(self.cx, "retire").map(|r| r.into_inner());
                let confirm = gate_ref(self.cx, "confirm", refs);
                let old_color = if color == "blue" { "green" } else { "blue" }.to_string();
                Some(Strategy::BlueGreen {
                    color,
                    old_color,
                    switch: switch?.into_inner(),
                    retire,
                    confirm,
                })
            }
        }
    }
}

/// A user or group name as the OS database holds it: letters, digits, `.`,
/// `_` and `-`, not starting with `-`, optionally ending in `$` (Samba machine accounts).
fn os_name(name: &str) -> bool {
    let body = name.strip_suffix('$').unwrap_or(name);
    !body.is_empty()
        && !body.starts_with('-')
        && body
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}
