//! A [`Change`] as lines people read: one headline, a one-line summary, and
//! the rows of the diff. Every output (the approval dialog, headless,
//! `slate approve --show`, the webhook's text, the dossier) takes these, so
//! they say the same thing; text from plans and journals is neutralised here.

use super::{ArtifactState, Change};
use crate::text::neutral;

/// How a row reads: the dialog colours by it, text outputs prefix it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    Added,
    Changed,
    Removed,
    Same,
    /// Something to notice: drift, or what could not be compared.
    Warn,
    /// A line that belongs to the row above it (a commit of a range).
    Detail,
}

impl Mark {
    /// The sign text outputs put before the row.
    pub fn sign(self) -> &'static str {
        match self {
            Mark::Added => "+",
            Mark::Changed => "~",
            Mark::Removed => "-",
            Mark::Same => "=",
            Mark::Warn => "!",
            Mark::Detail => " ",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub mark: Mark,
    pub text: String,
}

fn row(out: &mut Vec<Row>, mark: Mark, text: String) {
    out.push(Row { mark, text });
}

fn n(s: &str) -> String {
    neutral::line(s).into_owned()
}

/// A digest as people compare them: the algorithm and 12 hex digits.
fn short(d: &Option<String>) -> String {
    match d {
        None => "unknown".into(),
        Some(d) => {
            let (alg, hex) = d.split_once(':').unwrap_or(("sha256", d));
            let hex: String = hex.chars().take(12).collect();
            n(&format!("{alg}:{hex}"))
        }
    }
}

/// "1.4.2 → 2.0.0 in prod (live since …, run …)", or what stands in for it.
pub fn headline(c: &Change, env: &str) -> String {
    let env = n(env);
    let version = n(&c.version);
    if let Some(why) = &c.unknown {
        return format!(
            "{version} into {env}: what is live there is unknown ({})",
            n(why)
        );
    }
    match &c.live {
        None => format!("{version} into {env}: the ledger has no version live there"),
        Some(l) if l.version == c.version => format!(
            "{version} into {env}: already live there (run {}), deployed again",
            n(&l.run_id)
        ),
        Some(l) => {
            let since = l
                .since
                .map(|t| format!("live since {}, ", crate::stopline::shown_time(t)))
                .unwrap_or_default();
            format!(
                "{} → {version} in {env} ({since}run {})",
                n(&l.version),
                n(&l.run_id)
            )
        }
    }
}

/// One line of counts: "artifacts 1 changed, 1 same · config +1 ~2 · secrets +1 · plan 2 · 5 commits".
pub fn summary(c: &Change) -> String {
    if c.unknown.is_some() {
        return "nothing compared".into();
    }
    let mut parts = Vec::new();
    let count = |s: ArtifactState| c.artifacts.iter().filter(|a| a.state == s).count();
    let arts: Vec<String> = [
        (ArtifactState::Changed, "changed"),
        (ArtifactState::Added, "new"),
        (ArtifactState::Removed, "removed"),
        (ArtifactState::Unknown, "unknown"),
        (ArtifactState::Same, "same"),
    ]
    .into_iter()
    .filter(|(s, _)| count(*s) > 0)
    .map(|(s, w)| format!("{} {w}", count(s)))
    .collect();
    if !arts.is_empty() {
        parts.push(format!("artifacts {}", arts.join(", ")));
    }
    if c.plan_unknown.is_some() {
        parts.push("config and plan not compared".into());
    } else {
        let added = c.config.iter().filter(|k| k.live.is_none()).count();
        let removed = c.config.iter().filter(|k| k.new.is_none()).count();
        let changed = c.config.len() - added - removed;
        let config: Vec<String> = [("+", added), ("~", changed), ("-", removed)]
            .into_iter()
            .filter(|(_, k)| *k > 0)
            .map(|(s, k)| format!("{s}{k}"))
            .collect();
        parts.push(if config.is_empty() {
            "config same".into()
        } else {
            format!("config {}", config.join(" "))
        });
        if !c.secrets_added.is_empty() || !c.secrets_removed.is_empty() {
            parts.push(format!(
                "secrets +{} -{}",
                c.secrets_added.len(),
                c.secrets_removed.len()
            ));
        }
        if !c.plan.is_empty() {
            parts.push(format!("plan {} changed", c.plan.len()));
        }
    }
    if let Some(cm) = &c.commits
        && cm.error.is_none()
    {
        parts.push(format!("{} commits", cm.lines.len() + cm.more));
    }
    parts.join(" · ")
}

/// The rows of the diff, the ones that matter most first: drift and what
/// could not be compared, artifacts, config, secrets, the plan, commits.
pub fn rows(c: &Change) -> Vec<Row> {
    let mut out = Vec::new();
    if let Some(d) = &c.drift {
        row(&mut out, Mark::Warn, format!("drift: {}", n(d)));
    }
    if c.unknown.is_some() {
        return out;
    }
    for a in &c.artifacts {
        let name = n(&a.name);
        match a.state {
            ArtifactState::Same => row(
                &mut out,
                Mark::Same,
                format!("artifact {name}: same ({})", short(&a.new)),
            ),
            ArtifactState::Changed => row(
                &mut out,
                Mark::Changed,
                format!("artifact {name}: {} → {}", short(&a.live), short(&a.new)),
            ),
            ArtifactState::Added => row(
                &mut out,
                Mark::Added,
                format!("artifact {name}: new ({})", short(&a.new)),
            ),
            ArtifactState::Removed => row(
                &mut out,
                Mark::Removed,
                format!(
                    "artifact {name}: no longer shipped (was {})",
                    short(&a.live)
                ),
            ),
            ArtifactState::Unknown => row(
                &mut out,
                Mark::Warn,
                format!(
                    "artifact {name}: cannot compare ({} → {})",
                    short(&a.live),
                    short(&a.new)
                ),
            ),
        }
    }
    if let Some(why) = &c.plan_unknown {
        row(
            &mut out,
            Mark::Warn,
            format!("config and plan not compared: {}", n(why)),
        );
    }
    for k in &c.config {
        let key = n(&k.key);
        match (&k.live, &k.new) {
            (None, Some(v)) => row(&mut out, Mark::Added, format!("{key} = {}", n(v))),
            (Some(a), Some(b)) => row(
                &mut out,
                Mark::Changed,
                format!("{key}: {} → {}", n(a), n(b)),
            ),
            (Some(a), None) => row(&mut out, Mark::Removed, format!("{key} (was {})", n(a))),
            (None, None) => {}
        }
    }
    for s in &c.secrets_added {
        row(
            &mut out,
            Mark::Added,
            format!("secret {} (name only)", n(s)),
        );
    }
    for s in &c.secrets_removed {
        row(
            &mut out,
            Mark::Removed,
            format!("secret {} (name only)", n(s)),
        );
    }
    for p in &c.plan {
        let (mark, rest) = match p.split_at_checked(2) {
            Some(("+ ", r)) => (Mark::Added, r),
            Some(("- ", r)) => (Mark::Removed, r),
            Some(("~ ", r)) => (Mark::Changed, r),
            _ => (Mark::Changed, p.as_str()),
        };
        row(&mut out, mark, format!("plan: {}", n(rest)));
    }
    if let Some(cm) = &c.commits {
        match &cm.error {
            Some(e) => row(
                &mut out,
                Mark::Warn,
                format!("commits {} not listed: {}", n(&cm.range), n(e)),
            ),
            None if cm.lines.is_empty() => row(
                &mut out,
                Mark::Same,
                format!("no commits in {}", n(&cm.range)),
            ),
            None => {
                row(
                    &mut out,
                    Mark::Changed,
                    format!("commits {} ({}):", n(&cm.range), cm.lines.len() + cm.more),
                );
                for l in &cm.lines {
                    row(&mut out, Mark::Detail, format!("  {}", n(l)));
                }
                if cm.more > 0 {
                    row(&mut out, Mark::Detail, format!("  … and {} more", cm.more));
                }
            }
        }
    }
    out
}
