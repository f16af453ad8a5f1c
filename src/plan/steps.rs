//! One environment of a plan, expanded into the flat list of steps the engine walks.
//!
//! Rollout strategies become repeated runs of the rollout stage with step
//! variables (`SLATE_WEIGHT`, `SLATE_BATCH`, `SLATE_COLOR`…), separated by the
//! pauses and gates the strategy names. A flat list keeps the engine simple and
//! gives every step a stable index for the journal, the cockpit and recovery.

use std::time::Duration;

use super::{Between, Plan, Strategy};

#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// Short label shown in the pipeline, the journal and the dossier.
    pub label: String,
    pub kind: StepKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StepKind {
    /// Run a command of a stage (the stage's own, or a strategy phase such as a switch).
    Run(RunSpec),
    Gate {
        gate: usize,
    },
    /// A timed pause between rollout steps, journaled like a soak.
    Pause {
        wait: Duration,
    },
    /// Measure an analysis's metrics; `window` is the pause it replaces, if any.
    Analysis {
        analysis: usize,
        window: Option<Duration>,
    },
    /// Run named checks once (each with its own retries).
    Checks {
        checks: Vec<usize>,
        role: CheckRole,
    },
}

/// Why a check ran: the journal and the cockpit say so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckRole {
    /// The check of a check gate.
    #[default]
    Gate,
    /// After a stage succeeded.
    Smoke,
    /// After each step of a rollout.
    Health,
    /// After a rollback, to confirm the old version is back.
    Verify,
}

impl CheckRole {
    pub fn word(self) -> &'static str {
        match self {
            CheckRole::Gate => "gate",
            CheckRole::Smoke => "smoke",
            CheckRole::Health => "health",
            CheckRole::Verify => "verify",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct RunSpec {
    pub stage: usize,
    pub command: String,
    /// Extra `SLATE_*` variables for this step.
    pub vars: Vec<(String, String)>,
    pub rollback: Option<String>,
    pub rollback_vars: Vec<(String, String)>,
    /// Steps sharing a group are undone once, by their last completed member
    /// (a canary is undone by one "weight 0" call, not one call per weight).
    pub rollback_group: Option<usize>,
    pub irreversible: bool,
}

impl Step {
    pub fn run(&self) -> Option<&RunSpec> {
        match &self.kind {
            StepKind::Run(r) => Some(r),
            _ => None,
        }
    }
}

/// The steps of environment `env`, in execution order.
pub fn env_steps(plan: &Plan, env: usize) -> Vec<Step> {
    let environment = &plan.environments[env];
    let mut steps = Vec::new();
    let gate_step = |name: &str| -> Option<Step> {
        let idx = plan.gates.iter().position(|g| g.name == name)?;
        Some(Step {
            label: format!("gate {name}"),
            kind: StepKind::Gate { gate: idx },
        })
    };
    for g in &environment.gates {
        steps.extend(gate_step(g));
    }
    let checks_step = |names: &[String], role: CheckRole| -> Option<Step> {
        let checks: Vec<usize> = names
            .iter()
            .filter_map(|n| plan.checks.iter().position(|c| &c.name == n))
            .collect();
        (!checks.is_empty()).then(|| Step {
            label: format!("{} {}", role.word(), names.join(", ")),
            kind: StepKind::Checks { checks, role },
        })
    };
    let health = || checks_step(&environment.health, CheckRole::Health);
    let analysis_step = |name: &str, window: Option<Duration>| -> Option<Step> {
        let idx = plan.analyses.iter().position(|a| a.name == name)?;
        Some(Step {
            label: match window {
                Some(w) => format!("analysis {name} {}", humantime::format_duration(w)),
                None => format!("analysis {name}"),
            },
            kind: StepKind::Analysis {
                analysis: idx,
                window,
            },
        })
    };
    let has_rollout_stage = plan
        .stages
        .iter()
        .any(|s| s.rollout && s.applies_to(&environment.name));
    for (si, stage) in plan.stages.iter().enumerate() {
        if !stage.applies_to(&environment.name) {
            continue;
        }
        let plain = |command: &str,
                     vars: Vec<(String, String)>,
                     rollback: Option<&String>,
                     rb_vars: Vec<(String, String)>,
                     group| RunSpec {
            stage: si,
            command: command.to_string(),
            vars,
            rollback: rollback.cloned(),
            rollback_vars: rb_vars,
            rollback_group: group,
            irreversible: stage.irreversible,
        };
        let between = |steps: &mut Vec<Step>, b: &Between| {
            // An analysis takes the pause's place and measures for its whole length.
            if let Some(a) = &b.analysis {
                steps.extend(analysis_step(a, b.pause));
            } else if let Some(wait) = b.pause {
                steps.push(Step {
                    label: format!("pause {}", humantime::format_duration(wait)),
                    kind: StepKind::Pause { wait },
                });
            }
            if let Some(g) = &b.gate {
                steps.extend(gate_step(g));
            }
        };
        match (&environment.strategy, stage.rollout) {
            (
                Strategy::Rolling {
                    batches,
                    between: b,
                },
                true,
            ) => {
                for i in 1..=*batches {
                    let vars = vec![
                        ("SLATE_BATCH".to_string(), i.to_string()),
                        ("SLATE_BATCHES".to_string(), batches.to_string()),
                    ];
                    steps.push(Step {
                        label: format!("{} batch {i}/{batches}", stage.name),
                        kind: StepKind::Run(plain(
                            &stage.command,
                            vars.clone(),
                            stage.rollback.as_ref(),
                            vars,
                            None,
                        )),
                    });
                    steps.extend(health());
                    if i < *batches {
                        between(&mut steps, b);
                    }
                }
            }
            (
                Strategy::Canary {
                    weights,
                    between: b,
                },
                true,
            ) => {
                let group = Some(si);
                let n = weights.len();
                for (i, w) in weights.iter().enumerate() {
                    let vars = vec![
                        ("SLATE_WEIGHT".to_string(), w.to_string()),
                        ("SLATE_STEP".to_string(), (i + 1).to_string()),
                        ("SLATE_STEPS".to_string(), n.to_string()),
                    ];
                    let rb_vars = vec![("SLATE_WEIGHT".to_string(), "0".to_string())];
                    steps.push(Step {
                        label: format!("{} canary {w}%", stage.name),
                        kind: StepKind::Run(plain(
                            &stage.command,
                            vars,
                            stage.rollback.as_ref(),
                            rb_vars,
                            group,
                        )),
                    });
                    steps.extend(health());
                    if i + 1 < n {
                        between(&mut steps, b);
                    } else if b.at_full
                        && let Some(a) = &b.analysis
                    {
                        // At full weight: judged like every weight before it,
                        // over the same pause, without a separate gate.
                        steps.extend(analysis_step(a, b.pause));
                    }
                }
            }
            (
                Strategy::BlueGreen {
                    color,
                    old_color,
                    switch,
                    retire,
                    confirm,
                },
                true,
            ) => {
                let colors = |phase: &str, c: &str| {
                    vec![
                        ("SLATE_COLOR".to_string(), c.to_string()),
                        (
                            "SLATE_OLD_COLOR".to_string(),
                            if c == color {
                                old_color.clone()
                            } else {
                                color.clone()
                            },
                        ),
                        ("SLATE_PHASE".to_string(), phase.to_string()),
                    ]
                };
                steps.push(Step {
                    label: format!("{} deploy {color}", stage.name),
                    kind: StepKind::Run(plain(
                        &stage.command,
                        colors("deploy", color),
                        stage.rollback.as_ref(),
                        colors("deploy", color),
                        None,
                    )),
                });
                // Undoing a switch is switching back to the old colour.
                steps.push(Step {
                    label: format!("switch traffic to {color}"),
                    kind: StepKind::Run(RunSpec {
                        irreversible: false,
                        ..plain(
                            switch,
                            colors("switch", color),
                            Some(switch),
                            colors("switch", old_color),
                            None,
                        )
                    }),
                });
                steps.extend(health());
                if let Some(g) = confirm {
                    steps.extend(gate_step(g));
                }
                if let Some(retire) = retire {
                    steps.push(Step {
                        label: format!("retire {old_color}"),
                        kind: StepKind::Run(RunSpec {
                            irreversible: false,
                            ..plain(retire, colors("retire", color), None, Vec::new(), None)
                        }),
                    });
                }
            }
            _ => {
                steps.push(Step {
                    label: stage.name.clone(),
                    kind: StepKind::Run(plain(
                        &stage.command,
                        Vec::new(),
                        stage.rollback.as_ref(),
                        Vec::new(),
                        None,
                    )),
                });
                if stage.rollout {
                    steps.extend(health());
                }
            }
        }
        steps.extend(checks_step(&stage.smoke, CheckRole::Smoke));
        for g in &stage.gates_after {
            steps.extend(gate_step(g));
        }
    }
    // Without a rollout stage the whole environment is one rollout step.
    if !has_rollout_stage {
        steps.extend(health());
    }
    if let Some(a) = &environment.analysis {
        steps.extend(analysis_step(a, None));
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::parse;

    fn plan(src: &str) -> Plan {
        parse(src, "t.toml", ".".into()).unwrap_or_else(|e| panic!("{e}"))
    }

    const HEAD: &str = r#"
[release]
name = "svc"
version = "2"
previous_version = "1"
owner = "me"
"#;

    #[test]
    fn canary_repeats_rollout_stage_with_weights_and_gates_between() {
        let p = plan(&format!(
            r#"{HEAD}
[[environments]]
name = "prod"
gates = ["go"]
strategy = {{ kind = "canary", steps = [10, 50, 100], pause = "1s", gate = "more" }}
[[stages]]
name = "build"
command = "true"
[[stages]]
name = "deploy"
command = "true"
rollback = "undo"
rollout = true
[[gates]]
name = "go"
kind = "manual"
[[gates]]
name = "more"
kind = "manual"
"#
        ));
        let labels: Vec<String> = env_steps(&p, 0).into_iter().map(|s| s.label).collect();
        assert_eq!(
            labels,
            [
                "gate go",
                "build",
                "deploy canary 10%",
                "pause 1s",
                "gate more",
                "deploy canary 50%",
                "pause 1s",
                "gate more",
                "deploy canary 100%"
            ]
        );
        let steps = env_steps(&p, 0);
        let run = steps[5].run().unwrap();
        assert!(run.vars.contains(&("SLATE_WEIGHT".into(), "50".into())));
        assert_eq!(run.rollback_group, Some(1));
    }

    #[test]
    fn analysis_at_full_judges_the_last_weight_too_without_its_gate() {
        let p = plan(&format!(
            r#"{HEAD}
[[environments]]
name = "prod"
strategy = {{ kind = "canary", steps = [50, 100], pause = "1s", gate = "more", analysis = "c", analysis_at_full = true }}
[[stages]]
name = "deploy"
command = "true"
rollout = true
[[gates]]
name = "more"
kind = "manual"
[[metrics]]
name = "m"
command = "echo 0"
success = "< 1"
[[analyses]]
name = "c"
metrics = ["m"]
"#
        ));
        let labels: Vec<String> = env_steps(&p, 0).into_iter().map(|s| s.label).collect();
        assert_eq!(
            labels,
            [
                "deploy canary 50%",
                "analysis c 1s",
                "gate more",
                "deploy canary 100%",
                "analysis c 1s"
            ]
        );
    }

    #[test]
    fn blue_green_deploys_switches_confirms_and_retires() {
        let p = plan(&format!(
            r#"{HEAD}
[[environments]]
name = "prod"
strategy = {{ kind = "blue-green", color = "blue", switch = "sw", retire = "rt", confirm = "ok" }}
[[stages]]
name = "deploy"
command = "true"
rollout = true
[[gates]]
name = "ok"
kind = "soak"
wait = "1s"
"#
        ));
        let steps = env_steps(&p, 0);
        let labels: Vec<&str> = steps.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "deploy deploy blue",
                "switch traffic to blue",
                "gate ok",
                "retire green"
            ]
        );
        let switch = steps[1].run().unwrap();
        assert!(
            switch
                .rollback_vars
                .contains(&("SLATE_COLOR".into(), "green".into()))
        );
    }
}
