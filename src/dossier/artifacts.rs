//! Part of section 2: the release's artifacts, the sha256 each had to keep,
//! and every check of it before an environment started (full digests).

use super::input::Input;
use super::md::{self, Table};
use crate::plan::ArtifactSource;

pub fn write(out: &mut String, input: &Input) {
    let s = &input.state;
    let planned = input.plan.as_ref().map_or(&[][..], |p| &p.artifacts[..]);
    if planned.is_empty() && s.artifacts.is_empty() {
        return;
    }
    md::heading(out, 3, "Artifacts");
    md::para(
        out,
        "Each artifact's sha256 is computed again before every environment starts; \
         a digest that changed stops the run before that environment.",
    );
    let mut names: Vec<&str> = planned.iter().map(|a| a.name.as_str()).collect();
    for v in &s.artifacts {
        if !names.contains(&v.name.as_str()) {
            names.push(&v.name);
        }
    }
    let mut t = Table::new(&["Artifact", "Source", "sha256 to match"]);
    for name in &names {
        let plan = planned.iter().find(|a| a.name == *name);
        let source = match plan.map(|a| &a.source) {
            Some(ArtifactSource::File(p)) => format!("file {}", md::code(&p.display().to_string())),
            Some(ArtifactSource::Command { command, .. }) => {
                format!("command {}", md::command(command))
            }
            None => "unknown (plan unreadable)".into(),
        };
        let view = s.artifacts.iter().find(|v| v.name == *name);
        let expected = match (plan.and_then(|a| a.sha256.as_deref()), view) {
            (Some(hex), _) => md::code(hex),
            (None, Some(v)) if v.expected.is_some() => format!(
                "{} (first seen)",
                md::code(v.expected.as_deref().unwrap_or_default())
            ),
            _ => "none yet (the first digest seen)".into(),
        };
        t.row(vec![md::text(name), source, expected]);
    }
    t.write(out);
    let mut checks = Table::new(&["Artifact", "Before", "Found sha256", "Result"]);
    for v in &s.artifacts {
        for c in &v.checks {
            checks.row(vec![
                md::text(&v.name),
                md::text(input.env_name(c.env)),
                c.found.as_deref().map(md::code).unwrap_or_default(),
                format!(
                    "{} {} at {}",
                    if c.ok { "✔" } else { "✘" },
                    md::text(&c.message),
                    md::time(c.at)
                ),
            ]);
        }
    }
    if checks.is_empty() {
        md::para(out, "No artifact was checked: no environment was reached.");
    } else {
        checks.write(out);
    }
}
