//! The variables a command of the plan receives, as far as the plan decides
//! them. The engine adds what only a run knows (its id and directory, the
//! attempt, the step id, the slate binary) and the secrets' values;
//! `slate plan` shows these as they are and secrets by name only. One
//! function for both, so the preview cannot say other than the run does.

use super::Plan;

/// `SLATE_CONFIG_<KEY>`: the key upper-cased, anything but letters and digits as `_`.
pub fn config_var(key: &str) -> String {
    let key: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("SLATE_CONFIG_{key}")
}

/// The plan's variables for a command in environment `env`, of stage
/// `stage` if it belongs to one, with the step's own `step_vars`
/// (`SLATE_WEIGHT`…); `rollback` for an undo command.
pub fn command_vars(
    plan: &Plan,
    env: usize,
    stage: Option<usize>,
    step_vars: &[(String, String)],
    rollback: bool,
) -> Vec<(String, String)> {
    let r = &plan.release;
    let environment = &plan.environments[env];
    let mut vars = vec![
        ("SLATE_RELEASE".to_string(), r.name.clone()),
        ("SLATE_VERSION".to_string(), r.version.clone()),
        (
            "SLATE_PREVIOUS_VERSION".to_string(),
            r.previous_version.clone(),
        ),
        ("SLATE_ENV".to_string(), environment.name.clone()),
        (
            "SLATE_ROLLBACK".to_string(),
            if rollback { "1" } else { "0" }.to_string(),
        ),
        (
            "SLATE_TARGET_VERSION".to_string(),
            if rollback {
                r.previous_version.clone()
            } else {
                r.version.clone()
            },
        ),
    ];
    for (k, v) in &environment.config {
        vars.push((config_var(k), v.clone()));
    }
    // The plan's `[vars]` (after `--set`), for commands that want them whole.
    for (k, v) in &r.vars {
        vars.push((format!("SLATE_VAR_{}", k.to_ascii_uppercase()), v.clone()));
    }
    if let Some(s) = stage {
        let stage = &plan.stages[s];
        vars.push(("SLATE_STAGE".to_string(), stage.name.clone()));
        vars.extend(stage.env.iter().cloned());
    }
    vars.extend(step_vars.iter().cloned());
    vars
}
