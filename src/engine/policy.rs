//! Who may approve an environment's manual gates: its approver list (users,
//! and `@groups` looked up in the OS group database when someone approves,
//! or, for a person the team store authenticated, their database roles)
//! and four-eyes (the person who started the run may not approve).
//!
//! The engine asks this for every approval, whichever client it came
//! through, so no client can get around it.

use crate::plan::steps::{StepKind, env_steps};
use crate::plan::{ApprovalPolicy, GateKind, Plan};

/// Who asks, as a policy sees them: a name, and where their groups come
/// from.
#[derive(Debug, Clone, Copy)]
pub struct Who<'a> {
    pub name: &'a str,
    /// The database roles of a person the team store authenticated; `None`
    /// for an OS user, whose groups are the host's.
    pub roles: Option<&'a [String]>,
}

impl<'a> Who<'a> {
    /// An OS user of this host.
    pub fn os(name: &'a str) -> Who<'a> {
        Who { name, roles: None }
    }

    /// Whoever sent a command.
    pub fn of(actor: &'a crate::engine::Actor) -> Who<'a> {
        Who {
            name: &actor.user,
            roles: actor.roles.as_deref(),
        }
    }

    /// Whether they are in `group`: a database role they are a member of
    /// (team store), else an OS group of this host. A team member's OS
    /// groups on this host say nothing about them, and an OS user has no
    /// database roles, so the two are never mixed.
    fn member(&self, group: &str) -> Result<bool, String> {
        match self.roles {
            Some(roles) => Ok(roles.iter().any(|r| r == group)),
            None => crate::identity::member(self.name, group),
        }
    }
}

/// Why `who` may not approve environment `env`, or `None` when they may.
/// `starter` is who started the run (`RunStarted.actor.user`).
pub fn refusal(policy: &ApprovalPolicy, env: &str, who: Who<'_>, starter: &str) -> Option<String> {
    let user = who.name;
    if policy.four_eyes && user == starter {
        return Some(four_eyes(env, user));
    }
    if policy.approvers.is_empty() || policy.users().any(|u| u == user) {
        return None;
    }
    let mut problems = Vec::new();
    for group in policy.groups() {
        match who.member(group) {
            Ok(true) => return None,
            Ok(false) => {}
            Err(e) => problems.push(e),
        }
    }
    let mut why = format!(
        "{user} may not approve {env} (approvers: {})",
        policy.approvers.join(", ")
    );
    for p in problems {
        why.push_str("; ");
        why.push_str(&p);
    }
    Some(why)
}

/// Why `user` may not break glass into `env`, or `None` when they may:
/// the team's list (config.toml) or else the plan's (`break_glass`); with
/// neither, whoever may approve the environment, which with no approvers
/// named is the person running the release.
pub fn break_glass_refusal(
    list: &[String],
    approval: &ApprovalPolicy,
    env: &str,
    who: Who<'_>,
) -> Option<String> {
    glass_refusal(list, approval, env, who, "break glass into")
}

/// [`break_glass_refusal`], saying `user` may not `what` `env`
/// ("reject a break-glass into").
pub fn glass_refusal(
    list: &[String],
    approval: &ApprovalPolicy,
    env: &str,
    who: Who<'_>,
    what: &str,
) -> Option<String> {
    let user = who.name;
    if list.is_empty() {
        let no_four_eyes = ApprovalPolicy {
            four_eyes: false,
            ..approval.clone()
        };
        return refusal(&no_four_eyes, env, who, "")
            .map(|why| format!("break-glass: {why}, and only they may break glass there"));
    }
    let policy = ApprovalPolicy {
        required: 1,
        approvers: list.to_vec(),
        require_comment: false,
        four_eyes: false,
    };
    refusal(&policy, env, who, "").map(|_| {
        format!(
            "break-glass: {user} may not {what} {env} (allowed: {})",
            list.join(", ")
        )
    })
}

/// The refusal of a break-glass approval by whoever asked for it.
pub fn glass_four_eyes(env: &str, requester: &str) -> String {
    format!(
        "four-eyes: {requester} asked for this break-glass into {env}, so someone else must approve it"
    )
}

/// The refusal of an approval by the run's starter.
pub fn four_eyes(env: &str, starter: &str) -> String {
    format!("four-eyes: {starter} started this run, so someone else must approve {env}")
}

/// The refusal of a pre-approval (`--approve`, `--auto-approve`) at a gate of a four-eyes environment.
pub fn pre_approval_refused(env: &str, starter: &str) -> String {
    format!(
        "four-eyes: {env} needs an approval at the gate by someone other than {starter}, \
         who started the run; pre-approvals do not count there"
    )
}

/// Why `slate run` refuses `--approve GATE` or `--auto-approve` with this
/// plan: they would pre-approve a manual gate of a four-eyes environment,
/// which only someone other than the starter may approve, at the gate.
/// One line per problem; empty when there is none.
pub fn pre_approval_conflicts(plan: &Plan, approve: &[String], auto_approve: bool) -> Vec<String> {
    let mut out = Vec::new();
    for (i, env) in plan.environments.iter().enumerate() {
        if !env.approval.four_eyes {
            continue;
        }
        let mut manual: Vec<&str> = Vec::new();
        for s in env_steps(plan, i) {
            if let StepKind::Gate { gate } = s.kind
                && matches!(plan.gates[gate].kind, GateKind::Manual { .. })
                && !manual.contains(&plan.gates[gate].name.as_str())
            {
                manual.push(&plan.gates[gate].name);
            }
        }
        for g in &manual {
            if approve.iter().any(|a| a == g) {
                out.push(format!(
                    "--approve {g}: gate {g} is in {}, which has four_eyes = true: \
                     someone other than you must approve it when it waits (slate approve RUN {g})",
                    env.name
                ));
            }
        }
        if auto_approve && !manual.is_empty() {
            out.push(format!(
                "--auto-approve: {} has four_eyes = true, so its manual gates ({}) must be \
                 approved at the gate by someone other than you; pre-approve other gates with --approve",
                env.name,
                manual.join(", ")
            ));
        }
    }
    out
}
