//! Checks that need the whole plan: every `${config.KEY}` a check, metric or
//! evidence path uses is set in each environment that uses it, and every
//! analysis knows how long to measure wherever it runs.

use super::*;
use crate::plan::steps::{StepKind, env_steps};
use crate::plan::template;

impl Loader<'_> {
    pub(super) fn usage(&mut self, plan: &Plan) {
        for (ei, env) in plan.environments.iter().enumerate() {
            let mut texts: Vec<(String, String)> = Vec::new();
            let check_texts = |what: String, c: &Check, texts: &mut Vec<(String, String)>| {
                for t in check_strings(c) {
                    texts.push((what.clone(), t));
                }
            };
            if let Some(v) = &env.verify_rollback {
                check_texts("`verify_rollback`".into(), v, &mut texts);
            }
            for step in env_steps(plan, ei) {
                match &step.kind {
                    StepKind::Checks { checks, .. } => {
                        for &c in checks {
                            let nc = &plan.checks[c];
                            check_texts(format!("check `{}`", nc.name), &nc.check, &mut texts);
                        }
                    }
                    StepKind::Gate { gate } => match &plan.gates[*gate].kind {
                        GateKind::Check { check, .. } => check_texts(
                            format!("gate `{}`", plan.gates[*gate].name),
                            check,
                            &mut texts,
                        ),
                        GateKind::Evidence(spec) => {
                            for f in spec.files() {
                                texts.push((
                                    format!(
                                        "`{}` of gate `{}`",
                                        f.kind().word(),
                                        plan.gates[*gate].name
                                    ),
                                    f.path().to_string(),
                                ));
                            }
                        }
                        GateKind::Analysis { analysis } => {
                            if let Some(a) = plan.analysis(analysis) {
                                self.analysis_texts(plan, a, &mut texts);
                                self.needs_length(a, None, &env.name);
                            }
                        }
                        _ => {}
                    },
                    StepKind::Analysis { analysis, window } => {
                        let a = &plan.analyses[*analysis];
                        self.analysis_texts(plan, a, &mut texts);
                        self.needs_length(a, *window, &env.name);
                    }
                    _ => {}
                }
            }
            for (what, text) in texts {
                for key in template::config_keys(&text) {
                    if env.config.iter().any(|(k, _)| k == key) {
                        continue;
                    }
                    let span = self
                        .templated
                        .iter()
                        .find(|(_, t)| *t == text)
                        .map(|(s, _)| s.clone())
                        .unwrap_or(0..0);
                    self.cx.error(
                        span,
                        format!(
                            "{what} uses `${{config.{key}}}`, which environment `{}` does not set in its `config`",
                            env.name
                        ),
                    );
                }
            }
        }
    }

    fn analysis_texts(&self, plan: &Plan, a: &Analysis, texts: &mut Vec<(String, String)>) {
        for m in a.metrics.iter().filter_map(|m| plan.metric(m)) {
            let what = format!("metric `{}`", m.name);
            match &m.source {
                MetricSource::Scrape { url, query }
                | MetricSource::Prometheus { url, query, .. } => {
                    texts.push((what.clone(), url.clone()));
                    texts.push((what, query.clone()));
                }
                MetricSource::Http {
                    url,
                    json_path,
                    headers,
                } => {
                    texts.push((what.clone(), url.clone()));
                    texts.push((what.clone(), json_path.clone()));
                    for (_, v) in headers {
                        texts.push((what.clone(), v.clone()));
                    }
                }
                MetricSource::Command { .. } => {}
            }
        }
    }

    /// An analysis with neither `count` nor `duration` measures for the pause it replaces.
    fn needs_length(&mut self, a: &Analysis, window: Option<Duration>, env: &str) {
        if a.count.is_none() && a.duration.is_none() && window.is_none() {
            let span = self
                .source
                .find(&format!("name = \"{}\"", a.name))
                .map(|i| i..i + a.name.len() + 9)
                .unwrap_or(0..0);
            self.cx.error(
                span,
                format!(
                    "analysis `{}` has neither `count` nor `duration`, so it can only run in place of a \
                     rollout pause, but environment `{env}` runs it without one",
                    a.name
                ),
            );
        }
    }
}

/// The strings of a check that may hold placeholders.
fn check_strings(c: &Check) -> Vec<String> {
    match c {
        Check::Command { .. } => Vec::new(),
        Check::Http(h) => std::iter::once(h.url.clone())
            .chain(h.headers.iter().map(|(_, v)| v.clone()))
            .chain(
                h.json
                    .iter()
                    .filter_map(|(_, v)| v.as_str().map(String::from)),
            )
            .collect(),
        Check::Tcp { addr, .. } => vec![addr.clone()],
        Check::Alerts {
            prometheus, labels, ..
        } => std::iter::once(prometheus.clone())
            .chain(labels.iter().map(|(_, v)| v.clone()))
            .collect(),
    }
}
