//! Section 1, Release Summary: what was released, by whom, with whose approval, how
//! it ended, and the release notes.

use super::input::Input;
use super::md::{self, Table};

pub fn write(out: &mut String, input: &Input) {
    let s = &input.state;
    let sum = &input.summary;
    md::heading(out, 2, "Release Summary");
    let plan_release = input.plan.as_ref().map(|p| &p.release);
    let mut t = Table::new(&["Field", "Value"]);
    t.row(vec!["Release".into(), md::text(&s.release)]);
    t.row(vec!["Version".into(), md::code(&s.version)]);
    t.row(vec![
        "Previous version".into(),
        md::code(&s.previous_version),
    ]);
    let scope = plan_release.map(|r| r.scope.as_str()).unwrap_or("");
    let envs: Vec<String> = s.envs.iter().map(|e| md::text(&e.name)).collect();
    t.row(vec![
        "Scope".into(),
        if scope.is_empty() {
            format!("environments {}", envs.join(" → "))
        } else {
            format!("{} (environments {})", md::text(scope), envs.join(" → "))
        },
    ]);
    t.row(vec!["Owner".into(), md::text(&s.owner)]);
    if input.planned {
        super::planned::summary_rows(&mut t, input);
        vars_row(&mut t, input);
        t.write(out);
        notes(out, input);
        return;
    }
    t.row(vec!["Started by".into(), md::text(&s.started_by)]);
    if let Some(to) = &s.rollback_to {
        t.row(vec![
            "Kind".into(),
            format!(
                "Rollback to {} in {} (`slate rollback --to`), replacing {}, with the plan of run {}",
                md::code(&s.version),
                md::text(&to.env),
                md::code(&to.replacing),
                md::code(&to.from_run)
            ),
        ]);
        t.row(vec!["Rollback reason".into(), md::text(&to.reason)]);
    }
    for u in &s.unpinned {
        t.row(vec![
            "Unpinned".into(),
            format!(
                "{} by {}: {} (was: {})",
                md::text(s.envs.get(u.env).map_or("?", |e| e.name.as_str())),
                md::text(&u.user),
                md::text(&u.reason),
                md::text(&u.pin)
            ),
        ]);
    }
    let approvals: Vec<String> = s
        .envs
        .iter()
        .flat_map(|e| e.approvals.iter().map(move |a| (e, a)))
        .map(|(e, a)| {
            format!(
                "{} ({} in {})",
                md::text(&a.user),
                md::text(&a.gate),
                md::text(&e.name)
            )
        })
        .collect();
    t.row(vec![
        "Approved by".into(),
        if approvals.is_empty() {
            "nobody (no manual gate was passed)".into()
        } else {
            approvals.join(", ")
        },
    ]);
    let outcome = match sum.outcome {
        o if o.is_final() && o == crate::runs::Outcome::Released => "✔ released".to_string(),
        o if o.is_final() => format!("✘ {}", o.word()),
        o => format!("… {}", o.word()),
    };
    let message = if s.message.is_empty() {
        String::new()
    } else {
        format!(": {}", md::text(&s.message))
    };
    t.row(vec!["Outcome".into(), format!("**{outcome}**{message}")]);
    t.row(vec![
        "Started".into(),
        s.started.map(md::time).unwrap_or_default(),
    ]);
    t.row(vec![
        "Finished".into(),
        s.finished
            .map(md::time)
            .unwrap_or_else(|| match sum.outcome {
                crate::runs::Outcome::Interrupted => {
                    format!(
                        "never: the engine stopped after {}",
                        s.last_ts.map(md::time).unwrap_or_default()
                    )
                }
                _ => "still running".into(),
            }),
    ]);
    t.row(vec![
        "Duration".into(),
        sum.duration_ms.map(md::duration_ms).unwrap_or_default(),
    ]);
    t.row(vec!["Run".into(), md::code(&s.run_id)]);
    t.row(vec!["Plan".into(), md::code(&s.plan_path)]);
    vars_row(&mut t, input);
    t.write(out);
    notes(out, input);
}

/// The plan's [vars] as the run had them (or will), and where each value came from.
fn vars_row(t: &mut Table, input: &Input) {
    if let Some(p) = input.plan.as_ref().filter(|p| !p.vars.is_empty()) {
        let values: Vec<String> = p
            .vars
            .iter()
            .map(|v| {
                let value = p.release.vars.iter().find(|(k, _)| k == &v.name);
                let from = if p.set.iter().any(|(k, _)| k == &v.name) {
                    "--set"
                } else {
                    "default"
                };
                match value {
                    Some((_, x)) => format!("{} = {} ({from})", md::text(&v.name), md::code(x)),
                    None => format!("{} (no value)", md::text(&v.name)),
                }
            })
            .collect();
        t.row(vec!["Vars".into(), values.join(", ")]);
    }
}

/// The release notes, and the commits between the versions when the plan names a repository.
fn notes(out: &mut String, input: &Input) {
    let s = &input.state;
    let plan_release = input.plan.as_ref().map(|p| &p.release);
    md::heading(out, 3, "Release notes");
    let notes = plan_release.map(|r| r.notes.trim()).unwrap_or("");
    if notes.is_empty() {
        md::para(out, "The plan gives no release notes.");
    } else {
        md::para(out, &md::quote(notes));
    }
    if let (Some(r), Some(plan)) = (plan_release, &input.plan)
        && let Some(repo) = &r.repository
    {
        let repo = if repo.is_absolute() {
            repo.clone()
        } else {
            plan.base_dir.join(repo)
        };
        match crate::git::log(&repo, &s.previous_version, &s.version) {
            Ok(lines) if lines.is_empty() => md::para(
                out,
                &format!(
                    "No commits between {} and {}.",
                    md::code(&s.previous_version),
                    md::code(&s.version)
                ),
            ),
            Ok(lines) => {
                md::para(
                    out,
                    &format!(
                        "Commits ({}):",
                        md::code(&format!(
                            "git log --oneline {}..{}",
                            s.previous_version, s.version
                        ))
                    ),
                );
                out.push_str(&md::fenced(&lines.join("\n")));
            }
            Err(e) => md::para(out, &format!("Commits not listed: {}.", md::text(&e))),
        }
    }
}
