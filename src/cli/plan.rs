//! `slate plan PLAN`: what a run would do, without running anything —
//! as text, as JSON (`--json`), or as a pre-release dossier (`--dossier`).

use std::path::Path;

use crate::plan::preview::{self, EnvPreview, Preview};

pub fn run(args: &super::args::PlanArgs) -> i32 {
    let plan = match crate::plan::load_file_with(&args.plan, &args.set) {
        Ok(p) => p,
        Err(e) => {
            for line in e.lines() {
                crate::warn_user!("{line}");
            }
            return 2;
        }
    };
    for name in &args.envs {
        if plan.env_index(name).is_none() {
            let known: Vec<&str> = plan.environments.iter().map(|e| e.name.as_str()).collect();
            crate::warn_user!(
                "slate: the plan has no environment `{name}`{} (environments: {})",
                crate::plan::diagnostic::suggestion(name, known.iter().copied()),
                known.join(", ")
            );
            return 2;
        }
    }
    let p = preview::preview(&plan, &args.envs);
    let text = if args.dossier {
        crate::dossier::planned(&plan, &args.plan.display().to_string())
    } else if args.json {
        let mut s = crate::text::json::to_string_pretty(&p).unwrap_or_default();
        s.push('\n');
        // Every control, C1 and bidi character becomes a `\uXXXX` escape (`text::json`).
        s
    } else {
        render(&p)
    };
    match &args.out {
        None => {
            if args.json {
                crate::output::out_text(text.trim_end());
            } else {
                for line in text.lines() {
                    crate::output::out(line);
                }
            }
            0
        }
        Some(path) => write(path, &text),
    }
}

fn write(path: &Path, text: &str) -> i32 {
    // The same neutral text the terminal would show: plan text cannot put
    // escape sequences into a file someone will `cat`.
    match crate::dossier::write_private(path, &crate::text::neutral::text(text)) {
        Ok(()) => {
            crate::warn_user!("slate: written to {}", path.display());
            0
        }
        Err(e) => {
            crate::warn_user!("slate: cannot write {}: {e}", path.display());
            1
        }
    }
}

fn duration(ms: u64) -> String {
    humantime::format_duration(std::time::Duration::from_millis(ms)).to_string()
}

/// The preview as lines of text; every piece a plan supplies stays on its
/// own line (commands are indented line by line), and the caller prints
/// each line through `output::out`, which neutralises control characters.
pub fn render(p: &Preview) -> String {
    let mut out = Vec::new();
    out.push(format!(
        "{} {} (replacing {}), owner {} — a preview: nothing has run",
        p.release, p.version, p.previous_version, p.owner
    ));
    out.push(format!(
        "Every command also gets {} (known once the run starts).",
        p.run_vars.join(", ")
    ));
    if !p.secrets.is_empty() {
        out.push(format!(
            "Secrets (by name; values are read when the run starts): {}",
            p.secrets
                .iter()
                .map(|s| format!("{} ({})", s.name, s.source))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    for e in &p.environments {
        out.push(String::new());
        env(&mut out, e);
    }
    out.push(String::new());
    out.push(format!(
        "At least {} in all, waiting alone (soaks, pauses, analysis windows), before any command's own time.",
        duration(p.min_duration_ms)
    ));
    out.join("\n")
}

fn env(out: &mut Vec<String>, e: &EnvPreview) {
    let production = if e.production { ", production" } else { "" };
    out.push(format!(
        "== {} — {}: {}{production}",
        e.name, e.strategy, e.rollout
    ));
    if e.steps.iter().any(|s| s.detail.starts_with("manual:")) {
        out.push(format!("   manual gates need {}", e.approval));
    }
    out.push(format!(
        "   an inconclusive analysis here: {}",
        e.on_inconclusive
    ));
    // The variables shared by every command of the environment, said once.
    let shared: Vec<(&String, &String)> = match e.steps.iter().find(|s| s.kind == "run") {
        Some(first) => first
            .vars
            .iter()
            .filter(|(k, v)| {
                e.steps
                    .iter()
                    .filter(|s| s.kind == "run")
                    .all(|s| s.vars.get(*k) == Some(*v))
            })
            .collect(),
        None => Vec::new(),
    };
    if !shared.is_empty() {
        out.push("   every step's command here gets:".to_string());
        for (k, v) in &shared {
            out.push(format!("     {k}={v}"));
        }
    }
    for s in &e.steps {
        let mut head = format!("   {:>2}. {}", s.number, s.label);
        match s.kind {
            "run" => {
                let mut bits = Vec::new();
                if let Some(o) = &s.owner {
                    bits.push(format!("owner {o}"));
                }
                if let Some(t) = s.timeout_ms {
                    bits.push(format!("timeout {}", duration(t)));
                }
                match s.retries {
                    0 => {}
                    1 => bits.push("1 retry".to_string()),
                    n => bits.push(format!("{n} retries")),
                }
                if s.irreversible {
                    bits.push("IRREVERSIBLE".to_string());
                }
                head.push_str(&format!(" ({})", bits.join(", ")));
                out.push(head);
                for line in s.command.as_deref().unwrap_or("").trim().lines() {
                    out.push(format!("         $ {line}"));
                }
                let own: Vec<String> = s
                    .vars
                    .iter()
                    .filter(|(k, _)| !shared.iter().any(|(sk, _)| sk == k))
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect();
                if !own.is_empty() {
                    out.push(format!("         with {}", own.join(" ")));
                }
                if !s.secrets.is_empty() {
                    out.push(format!("         secrets {}", s.secrets.join(", ")));
                }
            }
            _ => {
                head.push_str(&format!(" — {}", s.detail));
                if let Some(t) = s.timeout_ms
                    && s.kind == "gate"
                {
                    head.push_str(&format!(" (fails closed after {})", duration(t)));
                }
                out.push(head);
            }
        }
    }
    if e.undo.is_empty() {
        out.push("   rollback: nothing to undo".to_string());
    } else {
        out.push("   rollback, in undo order:".to_string());
        for u in &e.undo {
            match (&u.command, u.irreversible) {
                (_, true) => out.push(format!(
                    "     step {} {}: IRREVERSIBLE — a rollback stops here and asks (hold, roll forward, force)",
                    u.step, u.label
                )),
                (None, false) => out.push(format!(
                    "     step {} {}: no rollback command, left as it is",
                    u.step, u.label
                )),
                (Some(c), false) => {
                    out.push(format!("     step {} {}:", u.step, u.label));
                    for line in c.trim().lines() {
                        out.push(format!("         $ {line}"));
                    }
                    // What the undo gets beyond the environment's shared
                    // values: SLATE_ROLLBACK=1, the previous version, weight 0…
                    let own: Vec<String> = u
                        .vars
                        .iter()
                        .filter(|(k, v)| !shared.iter().any(|(sk, sv)| sk == k && sv == v))
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect();
                    if !own.is_empty() {
                        out.push(format!("         with {}", own.join(" ")));
                    }
                }
            }
        }
    }
    out.push(match &e.verify_rollback {
        Some(v) => format!("   a rollback is verified by {v}"),
        None => "   a rollback is not verified (no verify_rollback)".to_string(),
    });
    out.push(format!(
        "   waits at least {} here",
        duration(e.min_duration_ms)
    ));
}
