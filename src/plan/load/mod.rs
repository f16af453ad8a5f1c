//! TOML text → [`Plan`], reporting every problem with its position.

mod access;
mod artifact;
mod check;
mod communication;
mod environment;
mod evidence;
mod freeze;
mod gate;
mod metric;
pub mod schema;
mod secret;
mod slo;
mod stage;
mod usage;
mod vars;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::diagnostic::{Diagnostic, PlanErrors, suggestion};
use super::reader::{Ctx, Span, Table};
use super::*;

pub use artifact::parse_sha256;

pub(super) const TOP_KEYS: &[&str] = &[
    "release",
    "environments",
    "stages",
    "gates",
    "checks",
    "metrics",
    "analyses",
    "stakeholders",
    "channels",
    "communication",
    "secrets",
    "artifacts",
    "access",
    "vars",
    "freezes",
    "allow",
];
pub(super) const RELEASE_KEYS: &[&str] = &[
    "name",
    "version",
    "previous_version",
    "owner",
    "notes",
    "scope",
    "repository",
    "lock_wait",
    "break_glass",
    "break_glass_second",
];

/// Reads and parses a plan file; errors carry the path as given. Only a
/// regular file of at most [`crate::userfile::PLAN_CAP`] bytes is read.
pub fn load_file(path: &Path) -> Result<Plan, PlanErrors> {
    load_file_with(path, &[])
}

/// [`load_file`] with `--set NAME=VALUE` values for its `[vars]`.
pub fn load_file_with(path: &Path, set: &[(String, String)]) -> Result<Plan, PlanErrors> {
    let file = path.display().to_string();
    let source = match crate::userfile::read_text(path, crate::userfile::PLAN_CAP) {
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
    parse_with(&source, &file, base, set)
}

/// Parses plan text; `file` names it in messages, `base_dir` anchors relative `cwd`s.
pub fn parse(source: &str, file: &str, base_dir: PathBuf) -> Result<Plan, PlanErrors> {
    parse_with(source, file, base_dir, &[])
}

/// [`parse`] with `--set NAME=VALUE` values for its `[vars]`.
pub fn parse_with(
    source: &str,
    file: &str,
    base_dir: PathBuf,
    set: &[(String, String)],
) -> Result<Plan, PlanErrors> {
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
        templated: Vec::new(),
        named_checks: Vec::new(),
        sealed: Vec::new(),
        secret_refs: Vec::new(),
        sets: set.to_vec(),
    }
    .plan(doc.get_ref(), doc.span());
    if cx.diags.is_empty() {
        let mut plan = plan.expect("a plan without diagnostics is complete");
        plan.source = source.to_string();
        plan.set = set.to_vec();
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
    /// Every string with `${...}` placeholders and where it is, for the
    /// per-environment check of config keys once the plan is read.
    templated: Vec<(Span, String)>,
    /// `[[checks]]`, read before gates so a check gate can name one.
    named_checks: Vec<NamedCheck>,
    /// Values that may carry credentials, as they are read.
    sealed: Vec<super::sealed::Sealed>,
    /// Every `${secret.NAME}` and where it is used, checked against
    /// `[secrets]` once the plan is read.
    secret_refs: Vec<(Spanned<String>, String)>,
    /// `--set NAME=VALUE`, in the order given (the last of a name wins).
    sets: Vec<(String, String)>,
}

impl Loader<'_> {
    fn plan(&mut self, doc: &DeTable<'_>, span: Span) -> Option<Plan> {
        let top = Table::new(doc, span.clone(), "the plan");
        top.check_keys(self.cx, TOP_KEYS);
        let mut refs = Vec::new();

        let (vars, var_values) = self.vars(&top);
        let release = match top.table(self.cx, "release", "[release]") {
            Some(t) => self.release(&t).map(|mut r| {
                r.vars = var_values.clone();
                r
            }),
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
        let check_tables = top.array_of_tables(self.cx, "checks");
        let metric_tables = top.array_of_tables(self.cx, "metrics");
        let analysis_tables = top.array_of_tables(self.cx, "analyses");
        let stakeholder_tables = top.array_of_tables(self.cx, "stakeholders");
        let channel_tables = top.array_of_tables(self.cx, "channels");
        let artifact_tables = top.array_of_tables(self.cx, "artifacts");

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
                    rollback_approval: false,
                    production: name == "prod",
                    on_inconclusive: if name == "prod" {
                        OnInconclusive::Fail
                    } else {
                        OnInconclusive::Ask
                    },
                    health: Vec::new(),
                    analysis: None,
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

        for (t, sp) in &check_tables {
            if let Some(c) = self.named_check(t, sp.clone()) {
                self.named_checks.push(c);
            }
        }
        let mut gates = Vec::new();
        for (t, sp) in &gate_tables {
            if let Some(gate) = self.gate(t, sp.clone(), &mut refs) {
                gates.push(gate);
            }
        }
        let mut metrics = Vec::new();
        for (t, sp) in &metric_tables {
            if let Some(m) = self.metric(t, sp.clone()) {
                metrics.push(m);
            }
        }
        let mut analyses = Vec::new();
        for (t, sp) in &analysis_tables {
            if let Some(a) = self.analysis(t, sp.clone(), &mut refs) {
                analyses.push(a);
            }
        }

        let stakeholders: Vec<Stakeholder> = stakeholder_tables
            .iter()
            .filter_map(|(t, sp)| self.stakeholder(t, sp.clone()))
            .collect();
        let channels: Vec<Channel> = channel_tables
            .iter()
            .filter_map(|(t, sp)| self.channel(t, sp.clone()))
            .collect();
        let communication = self.communication(&top);
        let secrets = self.secrets(&top);
        let access = self.access(&top);
        let artifacts: Vec<Artifact> = artifact_tables
            .iter()
            .filter_map(|(t, sp)| self.artifact(t, sp.clone()))
            .collect();

        // Names come from the raw tables rather than the loaded entries: an entry
        // with a problem of its own is still declared, so it must not escape the
        // duplicate check nor make every reference to it read "does not exist".
        let declared_envs = declared_names(&env_tables);
        let declared_gates = declared_names(&gate_tables);
        self.duplicates("environment", &declared_envs);
        self.duplicates("stage", &declared_names(&stage_tables));
        self.duplicates("gate", &declared_gates);
        let declared_checks = declared_names(&check_tables);
        let declared_metrics = declared_names(&metric_tables);
        let declared_analyses = declared_names(&analysis_tables);
        self.duplicates("check", &declared_checks);
        self.duplicates("metric", &declared_metrics);
        self.duplicates("analysis", &declared_analyses);
        self.duplicates("channel", &declared_names(&channel_tables));
        self.duplicates("artifact", &declared_names(&artifact_tables));
        let names = |d: &[Spanned<String>]| -> Vec<String> {
            d.iter().map(|n| n.get_ref().clone()).collect()
        };
        let (check_list, metric_list, analysis_list) = (
            names(&declared_checks),
            names(&declared_metrics),
            names(&declared_analyses),
        );

        let env_names: Vec<&str> = if default_envs {
            environments.iter().map(|e| e.name.as_str()).collect()
        } else {
            declared_envs.iter().map(|n| n.get_ref().as_str()).collect()
        };
        let gate_list: Vec<&str> = declared_gates
            .iter()
            .map(|n| n.get_ref().as_str())
            .collect();
        refs.extend(
            std::mem::take(&mut self.secret_refs)
                .into_iter()
                .map(|(name, from)| Ref {
                    kind: "secret",
                    name,
                    from,
                }),
        );
        for r in &refs {
            fn listed(l: &[String]) -> Vec<&str> {
                l.iter().map(String::as_str).collect()
            }
            let (known, plural) = match r.kind {
                "environment" => (env_names.clone(), "environments"),
                "check" => (listed(&check_list), "checks"),
                "metric" => (listed(&metric_list), "metrics"),
                "analysis" => (listed(&analysis_list), "analyses"),
                "secret" => (secrets.iter().map(|s| s.name.as_str()).collect(), "secrets"),
                _ => (gate_list.clone(), "gates"),
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

        self.var_uses(&vars, &var_values);
        let windows = self.windows(&top);
        let plan = Plan {
            vars,
            set: Vec::new(),
            windows,
            source: String::new(),
            base_dir: self.base_dir.clone(),
            release: release?,
            environments,
            stages,
            gates,
            checks: std::mem::take(&mut self.named_checks),
            metrics,
            analyses,
            stakeholders,
            channels,
            communication,
            secrets,
            artifacts,
            access,
            sealed: std::mem::take(&mut self.sealed),
        };
        // Judged only on a plan that is otherwise whole: usage follows references.
        if self.cx.diags.is_empty() {
            self.usage(&plan);
        }
        Some(plan)
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
        let scope = t.string(self.cx, "scope");
        let repository = t.string(self.cx, "repository");
        let lock_wait = t.duration(self.cx, "lock_wait").map(|d| d.into_inner());
        let break_glass = t
            .string_list(self.cx, "break_glass")
            .unwrap_or_default()
            .into_iter()
            .map(|s| s.into_inner())
            .collect();
        let break_glass_second = t.boolean(self.cx, "break_glass_second").unwrap_or(false);
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
            scope: scope.map(|n| n.into_inner()).unwrap_or_default(),
            repository: repository.map(|r| PathBuf::from(r.into_inner())),
            vars: Vec::new(),
            lock_wait,
            break_glass,
            break_glass_second,
        })
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
}
