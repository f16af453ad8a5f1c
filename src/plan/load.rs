//! TOML text → [`Plan`], reporting every problem with its position.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::diagnostic::{Diagnostic, PlanErrors, suggestion};
use super::reader::{Ctx, Span, Table};
use super::*;

const TOP_KEYS: &[&str] = &["release", "environments", "stages", "gates"];
const RELEASE_KEYS: &[&str] = &["name", "version", "previous_version", "owner", "notes"];
const ENV_KEYS: &[&str] = &[
    "name",
    "config",
    "approval",
    "strategy",
    "gates",
    "verify_rollback",
];
const APPROVAL_KEYS: &[&str] = &["required", "approvers", "require_comment"];
const STRATEGY_KEYS: &[&str] = &[
    "kind", "batches", "steps", "pause", "gate", "color", "switch", "retire", "confirm",
];
const STRATEGY_KINDS: &[&str] = &["all-at-once", "rolling", "canary", "blue-green"];
const STAGE_KEYS: &[&str] = &[
    "name",
    "kind",
    "owner",
    "command",
    "cwd",
    "env",
    "timeout",
    "retries",
    "backoff",
    "rollback",
    "irreversible",
    "idempotent",
    "rollout",
    "environments",
    "gates_after",
];
const GATE_KEYS: &[&str] = &[
    "name",
    "kind",
    "timeout",
    "require_comment",
    "approvals",
    "wait",
    "check",
    "retries",
    "interval",
];
const GATE_KINDS: &[&str] = &["manual", "soak", "check"];
const CHECK_KEYS: &[&str] = &["command", "http", "method", "status", "contains", "timeout"];

const DEFAULT_STAGE_TIMEOUT: Duration = Duration::from_secs(600);
const DEFAULT_CHECK_TIMEOUT: Duration = Duration::from_secs(10);

/// Reads and parses a plan file; errors carry the path as given.
pub fn load_file(path: &Path) -> Result<Plan, PlanErrors> {
    let file = path.display().to_string();
    let source = match std::fs::read_to_string(path) {
        Ok(s) => s,
        Err(e) => {
            return Err(PlanErrors {
                file,
                source: String::new(),
                diagnostics: vec![Diagnostic::new(0..0, format!("cannot read plan: {e}"))],
            });
        }
    };
    let base = path
        .parent()
        .map(|p| {
            if p.as_os_str().is_empty() {
                Path::new(".")
            } else {
                p
            }
        })
        .unwrap_or(Path::new("."));
    // Absolute, so stage directories stay right for a run resumed from elsewhere.
    let base = std::fs::canonicalize(base).unwrap_or_else(|_| base.to_path_buf());
    parse(&source, &file, base)
}

/// Parses plan text; `file` names it in messages, `base_dir` anchors relative `cwd`s.
pub fn parse(source: &str, file: &str, base_dir: PathBuf) -> Result<Plan, PlanErrors> {
    let fail = |diagnostics: Vec<Diagnostic>| PlanErrors {
        file: file.to_string(),
        source: source.to_string(),
        diagnostics,
    };
    let doc = match DeTable::parse(source) {
        Ok(doc) => doc,
        Err(e) => {
            let span = e.span().unwrap_or(0..0);
            let msg = e.message().trim().trim_end_matches('.').to_string();
            let mut msg = msg.lines().next().unwrap_or("invalid TOML").to_string();
            // "invalid basic string" is what toml says of a string never closed;
            // name it the way it names an unclosed array or table.
            for (toml_says, plain) in [
                (
                    "invalid basic string, expected `\"`",
                    "unclosed string, expected `\"`",
                ),
                (
                    "invalid literal string, expected `'`",
                    "unclosed string, expected `'`",
                ),
                (
                    "invalid multi-line basic string, expected `\"`",
                    "unclosed multi-line string, expected `\"\"\"`",
                ),
                (
                    "invalid multi-line literal string, expected `'`",
                    "unclosed multi-line string, expected `'''`",
                ),
            ] {
                if msg == toml_says {
                    msg = plain.to_string();
                }
            }
            // toml does not say which key is repeated, but its span covers it.
            if msg == "duplicate key"
                && let Some(key) = source
                    .get(span.clone())
                    .filter(|k| !k.is_empty() && !k.contains('\n'))
            {
                let line_start = source[..span.start].rfind('\n').map_or(0, |i| i + 1);
                let line = source[line_start..].lines().next().unwrap_or("").trim();
                let header = line
                    .trim_start_matches('[')
                    .split(']')
                    .next()
                    .map_or(key, str::trim);
                msg = if line.starts_with("[[") {
                    format!(
                        "`{key}` is already defined above as a key or table, \
                         so [[{header}]] cannot add entries to it"
                    )
                } else if line.starts_with('[') {
                    format!(
                        "`{key}` is already defined above, so [{header}] cannot define it again"
                    )
                } else {
                    format!("duplicate key `{key}`: a key may appear only once in a table")
                };
            }
            return Err(fail(vec![Diagnostic::new(
                span,
                format!("TOML syntax error: {msg}"),
            )]));
        }
    };
    let mut cx = Ctx::default();
    let plan = Loader {
        cx: &mut cx,
        base_dir,
        source,
    }
    .plan(doc.get_ref(), doc.span());
    if cx.diags.is_empty() {
        let mut plan = plan.expect("a plan without diagnostics is complete");
        plan.source = source.to_string();
        Ok(plan)
    } else {
        Err(fail(cx.diags))
    }
}

/// The `name` of every entry that has a string one, whatever else is wrong with it.
fn declared_names(tables: &[(&DeTable<'_>, Span)]) -> Vec<Spanned<String>> {
    tables
        .iter()
        .filter_map(|(t, _)| {
            let v = t.get("name")?;
            match v.get_ref() {
                DeValue::String(s) => Some(Spanned::new(v.span(), s.to_string())),
                _ => None,
            }
        })
        .collect()
}

/// A name that must exist somewhere else in the plan, checked once all is read.
struct Ref {
    kind: &'static str,
    name: Spanned<String>,
    from: String,
}

struct Loader<'c> {
    cx: &'c mut Ctx,
    base_dir: PathBuf,
    source: &'c str,
}

impl Loader<'_> {
    fn plan(&mut self, doc: &DeTable<'_>, span: Span) -> Option<Plan> {
        let top = Table::new(doc, span.clone(), "the plan");
        top.check_keys(self.cx, TOP_KEYS);
        let mut refs = Vec::new();

        let release = match top.table(self.cx, "release", "[release]") {
            Some(t) => self.release(&t),
            None => {
                if top.get("release").is_none() && !doc.is_empty() {
                    self.cx.error(
                        0..0,
                        "the plan has no [release] table (name, version, previous_version, owner)",
                    );
                }
                None
            }
        };

        let env_tables = top.array_of_tables(self.cx, "environments");
        let stage_tables = top.array_of_tables(self.cx, "stages");
        let gate_tables = top.array_of_tables(self.cx, "gates");

        if stage_tables.is_empty() && top.get("stages").is_none() {
            let what = if doc.is_empty() {
                "the plan is empty"
            } else {
                "the plan has no stages"
            };
            self.cx.error(
                0..0,
                format!("{what}: declare at least one [[stages]] entry with a name and a command"),
            );
            // No early return: environments and gates may have problems of their own.
        }

        let mut environments = Vec::new();
        let mut env_spans: Vec<(Spanned<String>, Option<Span>)> = Vec::new();
        for (t, sp) in &env_tables {
            if let Some((env, name, strategy_span)) = self.environment(t, sp.clone(), &mut refs) {
                environments.push(env);
                env_spans.push((name, strategy_span));
            }
        }
        let default_envs = top.get("environments").is_none();
        if default_envs {
            for name in ["dev", "staging", "prod"] {
                environments.push(Environment {
                    name: name.to_string(),
                    config: Vec::new(),
                    approval: ApprovalPolicy::default(),
                    strategy: Strategy::AllAtOnce,
                    gates: Vec::new(),
                    verify_rollback: None,
                });
            }
        } else if env_tables.is_empty() {
            self.cx.error(
                top.key_span("environments").unwrap_or(0..0),
                "`environments` is empty: declare at least one [[environments]] entry, \
                 or remove the key to get the defaults (dev, staging, prod)",
            );
        }

        let owner_default = release
            .as_ref()
            .map(|r: &Release| r.owner.clone())
            .unwrap_or_default();
        let mut stages = Vec::new();
        let mut stage_names = Vec::new();
        for (t, sp) in &stage_tables {
            if let Some((stage, name)) = self.stage(t, sp.clone(), &owner_default, &mut refs) {
                stages.push(stage);
                stage_names.push(name);
            }
        }

        let mut gates = Vec::new();
        for (t, sp) in &gate_tables {
            if let Some(gate) = self.gate(t, sp.clone()) {
                gates.push(gate);
            }
        }

        // Names come from the raw tables rather than the loaded entries: an entry
        // with a problem of its own is still declared, so it must not escape the
        // duplicate check nor make every reference to it read "does not exist".
        let declared_envs = declared_names(&env_tables);
        let declared_gates = declared_names(&gate_tables);
        self.duplicates("environment", &declared_envs);
        self.duplicates("stage", &declared_names(&stage_tables));
        self.duplicates("gate", &declared_gates);

        let env_names: Vec<&str> = if default_envs {
            environments.iter().map(|e| e.name.as_str()).collect()
        } else {
            declared_envs.iter().map(|n| n.get_ref().as_str()).collect()
        };
        let gate_list: Vec<&str> = declared_gates
            .iter()
            .map(|n| n.get_ref().as_str())
            .collect();
        for r in &refs {
            let (known, plural) = match r.kind {
                "environment" => (&env_names, "environments"),
                _ => (&gate_list, "gates"),
            };
            if !known.contains(&r.name.get_ref().as_str()) {
                let known_txt = if known.is_empty() {
                    format!("no {plural} are declared")
                } else if r.kind == "environment" && default_envs {
                    format!(
                        "no [[environments]] are declared, so there are only the defaults: {}",
                        known.join(", ")
                    )
                } else {
                    format!("known {plural}: {}", known.join(", "))
                };
                self.cx.error(
                    r.name.span(),
                    format!(
                        "{} names {} `{}`, which does not exist{} ({known_txt})",
                        r.from,
                        r.kind,
                        r.name.get_ref(),
                        suggestion(r.name.get_ref(), known.iter().copied()),
                    ),
                );
            }
        }

        // A repeated rollout needs exactly one stage to repeat in that environment.
        // Judged only when every stage loaded: a rollout stage with a problem of
        // its own would otherwise be reported as missing too.
        let all_stages_loaded = !stage_tables.is_empty() && stages.len() == stage_tables.len();
        for (env, (_, strategy_span)) in environments.iter().zip(&env_spans) {
            if !all_stages_loaded || matches!(env.strategy, Strategy::AllAtOnce) {
                continue;
            }
            let rollout: Vec<&str> = stages
                .iter()
                .filter(|s| s.rollout && s.applies_to(&env.name))
                .map(|s| s.name.as_str())
                .collect();
            let span = strategy_span.clone().unwrap_or(0..0);
            if rollout.is_empty() {
                self.cx.error(
                    span,
                    format!(
                        "environment `{}` uses the {} strategy but no stage with `rollout = true` runs in it",
                        env.name,
                        env.strategy.name()
                    ),
                );
            } else if rollout.len() > 1 {
                self.cx.error(
                    span,
                    format!(
                        "environment `{}` has more than one rollout stage ({}); mark only one with `rollout = true`",
                        env.name,
                        rollout.join(", ")
                    ),
                );
            }
        }
        for (stage, name) in stages.iter().zip(&stage_names) {
            if !environments.iter().any(|e| stage.applies_to(&e.name))
                && stage.environments.as_ref().is_some_and(|e| e.is_empty())
            {
                self.cx.error(
                    name.span(),
                    format!(
                        "stage `{}` runs in no environment (`environments` is empty)",
                        stage.name
                    ),
                );
            }
        }

        Some(Plan {
            source: String::new(),
            base_dir: self.base_dir.clone(),
            release: release?,
            environments,
            stages,
            gates,
        })
    }

    fn duplicates(&mut self, kind: &str, names: &[Spanned<String>]) {
        let mut seen: HashMap<&str, &Spanned<String>> = HashMap::new();
        for n in names {
            if let Some(first) = seen.get(n.get_ref().as_str()) {
                let (line, _) = super::diagnostic::line_col(self.source, first.span().start);
                self.cx.error(
                    n.span(),
                    format!(
                        "duplicate {kind} name `{}` (first defined on line {line})",
                        n.get_ref()
                    ),
                );
            } else {
                seen.insert(n.get_ref(), n);
            }
        }
    }

    fn release(&mut self, t: &Table<'_, '_>) -> Option<Release> {
        t.check_keys(self.cx, RELEASE_KEYS);
        let name = t.req_name(self.cx, "name");
        let version = t.req_name(self.cx, "version");
        let previous = t.req_name(self.cx, "previous_version");
        let owner = t.req_name(self.cx, "owner");
        let notes = t.string(self.cx, "notes");
        if let (Some(v), Some(p)) = (&version, &previous)
            && v.get_ref() == p.get_ref()
        {
            self.cx.error(
                p.span(),
                format!("`previous_version` is the same as `version` (\"{}\"): nothing would be released", v.get_ref()),
            );
        }
        Some(Release {
            name: name?.into_inner(),
            version: version?.into_inner(),
            previous_version: previous?.into_inner(),
            owner: owner?.into_inner(),
            notes: notes.map(|n| n.into_inner()).unwrap_or_default(),
        })
    }

    fn environment(
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
                if let Some(req) = &required
                    && !approvers.is_empty()
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

        let name = name?;
        Some((
            Environment {
                name: name.get_ref().clone(),
                config,
                approval,
                strategy: strategy?,
                gates: gates.into_iter().map(|g| g.into_inner()).collect(),
                verify_rollback,
            },
            name,
            strategy_span,
        ))
    }

    fn strategy(
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
            "rolling" => &["kind", "batches", "pause", "gate"],
            "canary" => &["kind", "steps", "pause", "gate"],
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
        let between = |cx: &mut Ctx, refs: &mut Vec<Ref>| Between {
            pause: t.duration(cx, "pause").map(|d| d.into_inner()),
            gate: gate_ref(cx, "gate", refs),
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

    fn stage(
        &mut self,
        t: &DeTable<'_>,
        span: Span,
        owner_default: &str,
        refs: &mut Vec<Ref>,
    ) -> Option<(Stage, Spanned<String>)> {
        let label = match t.get("name").map(|v| v.get_ref()) {
            Some(DeValue::String(s)) => format!("stage `{s}`"),
            _ => "a stage".to_string(),
        };
        let t = Table::new(t, span, label.clone());
        t.check_keys(self.cx, STAGE_KEYS);
        let name = t.req_name(self.cx, "name");
        let kind = t.choice(self.cx, "kind", &StageKind::NAMES);
        let kind_ok = t.get("kind").is_none() || kind.is_some();
        let owner = t.string(self.cx, "owner");
        let command = t.req_string(self.cx, "command");
        if let Some(c) = &command
            && c.get_ref().trim().is_empty()
        {
            self.cx
                .error(c.span(), format!("`command` of {label} is empty"));
        }
        let cwd = t.string(self.cx, "cwd");
        let env = t.scalar_map(self.cx, "env");
        let mut env_ok = true;
        for (k, _) in &env {
            let key = k.get_ref();
            let valid = !key.is_empty()
                && !key.starts_with(|c: char| c.is_ascii_digit())
                && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                self.cx.error(
                    k.span(),
                    format!(
                        "`{key}` in {label} is not a valid environment variable name \
                         (use ASCII letters, digits and `_`, not starting with a digit)"
                    ),
                );
                env_ok = false;
            } else if key.starts_with("SLATE_") {
                self.cx.error(
                    k.span(),
                    format!(
                        "`{key}` in {label}: names starting with SLATE_ are set by Slate itself"
                    ),
                );
                env_ok = false;
            }
        }
        let timeout = self.positive(&t, "timeout");
        let retries = t.int(self.cx, "retries", 0, 100);
        let backoff = t.duration(self.cx, "backoff");
        let rollback = t.string(self.cx, "rollback");
        let irreversible = t.boolean(self.cx, "irreversible").unwrap_or(false);
        let idempotent = t.boolean(self.cx, "idempotent").unwrap_or(false);
        let rollout = t.boolean(self.cx, "rollout").unwrap_or(false);
        let environments = t.string_list(self.cx, "environments");
        if let Some(envs) = &environments {
            for e in envs {
                refs.push(Ref {
                    kind: "environment",
                    name: e.clone(),
                    from: format!("`environments` of {label}"),
                });
            }
        }
        let gates_after = t.string_list(self.cx, "gates_after").unwrap_or_default();
        for g in &gates_after {
            refs.push(Ref {
                kind: "gate",
                name: g.clone(),
                from: format!("`gates_after` of {label}"),
            });
        }
        let name = name?;
        if !kind_ok || !env_ok || (t.get("timeout").is_some() && timeout.is_none()) {
            return None;
        }
        Some((
            Stage {
                name: name.get_ref().clone(),
                kind: kind
                    .and_then(|k| StageKind::from_name(k.get_ref()))
                    .unwrap_or(StageKind::Custom),
                owner: owner
                    .map(|o| o.into_inner())
                    .unwrap_or_else(|| owner_default.to_string()),
                command: command?.into_inner(),
                cwd: cwd.map(|c| PathBuf::from(c.into_inner())),
                env: env.into_iter().map(|(k, v)| (k.into_inner(), v)).collect(),
                timeout: timeout.unwrap_or(DEFAULT_STAGE_TIMEOUT),
                retries: retries.map(|r| *r.get_ref() as u32).unwrap_or(0),
                backoff: backoff
                    .map(|b| b.into_inner())
                    .unwrap_or(Duration::from_secs(1)),
                rollback: rollback
                    .map(|r| r.into_inner())
                    .filter(|r| !r.trim().is_empty()),
                irreversible,
                idempotent,
                rollout,
                environments: environments.map(|e| e.into_iter().map(|e| e.into_inner()).collect()),
                gates_after: gates_after.into_iter().map(|g| g.into_inner()).collect(),
            },
            name,
        ))
    }

    /// A duration that must be greater than zero.
    fn positive(&mut self, t: &Table<'_, '_>, key: &str) -> Option<Duration> {
        let d = t.duration(self.cx, key)?;
        if d.get_ref().is_zero() {
            self.cx.error(
                d.span(),
                format!("`{key}` in {} must be greater than zero", t.what),
            );
            return None;
        }
        Some(d.into_inner())
    }

    fn gate(&mut self, t: &DeTable<'_>, span: Span) -> Option<Gate> {
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
            _ => &["check", "retries", "interval"],
        };
        for key in [
            "require_comment",
            "approvals",
            "wait",
            "check",
            "retries",
            "interval",
        ] {
            if !allowed.contains(&key)
                && let Some(ks) = t.key_span(key)
            {
                self.cx.error(
                    ks,
                    format!(
                        "`{key}` does not apply to a {} gate ({label})",
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
            _ => {
                if t.get("check").is_none() {
                    self.cx.error(
                        t.span.clone(),
                        format!("{label} is a check gate but has no `check` (e.g. check = {{ command = \"...\" }})"),
                    );
                }
                let check = t
                    .table(self.cx, "check", format!("the check of {label}"))
                    .and_then(|c| self.check(&c));
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

    fn check(&mut self, t: &Table<'_, '_>) -> Option<Check> {
        t.check_keys(self.cx, CHECK_KEYS);
        let timeout = self.positive(t, "timeout").unwrap_or(DEFAULT_CHECK_TIMEOUT);
        let command = t.string(self.cx, "command");
        let http = t.string(self.cx, "http");
        match (command, http) {
            (Some(c), None) => {
                for key in ["method", "status", "contains"] {
                    if let Some(ks) = t.key_span(key) {
                        self.cx.error(
                            ks,
                            format!("`{key}` applies only to HTTP checks (in {})", t.what),
                        );
                    }
                }
                Some(Check::Command {
                    command: c.into_inner(),
                    timeout,
                })
            }
            (None, Some(url)) => {
                let u = url.get_ref();
                let is_url = u.starts_with("http://") || u.starts_with("https://");
                if !is_url {
                    self.cx.error(
                        url.span(),
                        format!(
                            "`http` in {} must be an http:// or https:// URL, found \"{u}\"",
                            t.what
                        ),
                    );
                }
                let method = t
                    .choice(self.cx, "method", &["GET", "HEAD", "POST", "PUT"])
                    .map(|m| m.into_inner())
                    .unwrap_or_else(|| "GET".into());
                let status = t
                    .int(self.cx, "status", 100, 599)
                    .map(|s| *s.get_ref() as u16)
                    .unwrap_or(200);
                // Method and status are read first so their problems show up too.
                if !is_url {
                    return None;
                }
                Some(Check::Http {
                    url: url.into_inner(),
                    method,
                    expect_status: status,
                    contains: t.string(self.cx, "contains").map(|c| c.into_inner()),
                    timeout,
                })
            }
            (Some(_), Some(_)) => {
                self.cx.error(
                    t.span.clone(),
                    format!("{} has both `command` and `http`; give exactly one", t.what),
                );
                None
            }
            (None, None) => {
                if !self.cx.diags.iter().any(|d| t.span.contains(&d.span.start)) {
                    self.cx.error(
                        t.span.clone(),
                        format!("{} needs `command` or `http`", t.what),
                    );
                }
                None
            }
        }
    }
}
