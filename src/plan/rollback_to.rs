//! The plan of a rollback to a known-good version (`slate rollback --to`):
//! the plan of the run that put the version live, cut down to the one
//! environment and to its emergency path. A pure function of that plan and
//! the journaled [`RollbackTo`], so the journal alone rebuilds it (replay,
//! the dossier, recovery) exactly as the run walked it.
//!
//! What is kept: the environment's stages and strategy steps, smoke and
//! health checks, and its `verify_rollback`, which joins the health checks
//! (as `verify-rollback`): it proves the environment is back on a good version. What is skipped, because a
//! rollback under pressure must not wait on what judged the new version:
//! the environment's gates and those after stages, pauses, soaks and gates
//! between rollout steps, and analyses. With `rollback_approval = true` the
//! environment's approval policy (four-eyes included) is asked first, at a
//! manual gate of its own.

use super::{Between, Gate, GateKind, Plan, Strategy};
use crate::engine::event::RollbackTo;

/// The name of the gate `rollback_approval` adds (another is picked if the plan has one so named).
pub const APPROVAL_GATE: &str = "rollback-approval";

/// The name of the health check `verify_rollback` becomes (another if taken).
pub const VERIFY_CHECK: &str = "verify-rollback";

/// `plan` cut down for `to`; an error when the plan has no such environment.
pub fn cut(mut plan: Plan, to: &RollbackTo) -> Result<Plan, String> {
    let Some(mut env) = plan.environments.iter().find(|e| e.name == to.env).cloned() else {
        return Err(format!(
            "the plan of run {} has no environment {}",
            to.from_run, to.env
        ));
    };
    let quiet = |b: &mut Between| *b = Between::default();
    match &mut env.strategy {
        Strategy::AllAtOnce => {}
        Strategy::Rolling { between, .. } | Strategy::Canary { between, .. } => quiet(between),
        Strategy::BlueGreen { confirm, .. } => *confirm = None,
    }
    env.analysis = None;
    env.gates.clear();
    if to.approval {
        let mut name = APPROVAL_GATE.to_string();
        let mut n = 1;
        while plan.gates.iter().any(|g| g.name == name) {
            n += 1;
            name = format!("{APPROVAL_GATE}-{n}");
        }
        plan.gates.push(Gate {
            name: name.clone(),
            kind: GateKind::Manual {
                require_comment: env.approval.require_comment,
                approvals: None,
            },
            timeout: None,
        });
        env.gates.push(name);
    }
    // The environment's own proof that it is back on a good version runs
    // after the deploy, with the health checks.
    if let Some(check) = env.verify_rollback.clone() {
        let mut name = VERIFY_CHECK.to_string();
        let mut n = 1;
        while plan.checks.iter().any(|c| c.name == name) {
            n += 1;
            name = format!("{VERIFY_CHECK}-{n}");
        }
        plan.checks.push(super::NamedCheck {
            name: name.clone(),
            check,
            retries: 0,
            interval: std::time::Duration::from_secs(1),
        });
        env.health.push(name);
    }
    for stage in &mut plan.stages {
        stage.gates_after.clear();
    }
    plan.environments = vec![env];
    if !to.replacing.is_empty() {
        plan.release.previous_version = to.replacing.clone();
    }
    // The bits must be the ones the ledger saw live.
    for a in &mut plan.artifacts {
        if let Some((_, digest)) = to.artifacts.iter().find(|(n, _)| *n == a.name) {
            a.sha256 = Some(digest.clone());
        }
    }
    Ok(plan)
}
