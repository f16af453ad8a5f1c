//! `slate doctor [PLAN]`: checks what this machine and terminal need for
//! Slate, and with a plan whether the metric sources and channels it names
//! answer, saying what to fix, one line each. It changes nothing.

use std::io::IsTerminal;
use std::path::Path;
use std::time::Duration;

use crate::plan::{MetricSource, Plan};

/// How long one address may take to accept a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// At most this many addresses are tried: a plan cannot make doctor a scanner.
const MAX_TARGETS: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Ok,
    /// Worth knowing; nothing to fix.
    Note,
    /// Something to fix before a release.
    Fix,
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub verdict: Verdict,
    pub what: String,
    pub say: String,
}

fn found(verdict: Verdict, what: &str, say: impl Into<String>) -> Finding {
    Finding {
        verdict,
        what: what.to_string(),
        say: say.into(),
    }
}

pub fn run(state_dir: &Path, plan: Option<&Path>) -> i32 {
    let plan = match plan {
        None => None,
        Some(p) => match crate::plan::load_file(p) {
            Ok(plan) => Some(plan),
            Err(e) => {
                for line in e.lines() {
                    crate::warn_user!("{line}");
                }
                return 2;
            }
        },
    };
    let mut findings = vec![state(state_dir)];
    findings.extend(terminal(&Env::from_process()));
    if let Some(plan) = &plan {
        match tokio::runtime::Runtime::new() {
            Ok(rt) => {
                findings.extend(rt.block_on(reachability(plan)));
                rt.shutdown_background();
            }
            Err(e) => findings.push(found(
                Verdict::Fix,
                "reachability",
                format!("not checked: cannot start the runtime ({e})"),
            )),
        }
    }
    for f in &findings {
        let tag = match f.verdict {
            Verdict::Ok => "ok  ",
            Verdict::Note => "note",
            Verdict::Fix => "FIX ",
        };
        crate::say!("{tag} {:<22} {}", f.what, f.say);
    }
    i32::from(findings.iter().any(|f| f.verdict == Verdict::Fix))
}

fn state(dir: &Path) -> Finding {
    use crate::state_dir::{Standing, Use, admit};
    match admit(dir, Use::Own) {
        Ok(Standing::Own) if dir.exists() => found(
            Verdict::Ok,
            "state directory",
            format!("{} is yours and closed to others' writes", dir.display()),
        ),
        Ok(Standing::Own) => found(
            Verdict::Ok,
            "state directory",
            format!("{} will be created by the first run", dir.display()),
        ),
        Ok(_) => found(
            Verdict::Fix,
            "state directory",
            format!(
                "{} is not yours: set SLATE_HOME to a directory of your own",
                dir.display()
            ),
        ),
        Err(e) => found(Verdict::Fix, "state directory", e),
    }
}

/// What the terminal checks read, so a test can give any environment.
pub struct Env {
    pub tty: bool,
    pub size: Option<(u16, u16)>,
    pub term: Option<String>,
    pub colorterm: Option<String>,
    pub no_color: bool,
    pub tmux: bool,
    pub screen: bool,
    pub term_program: Option<String>,
}

impl Env {
    fn from_process() -> Self {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let tty = std::io::stdout().is_terminal();
        Self {
            tty,
            size: if tty {
                ratatui::crossterm::terminal::size().ok()
            } else {
                None
            },
            term: var("TERM"),
            colorterm: var("COLORTERM"),
            no_color: var("NO_COLOR").is_some(),
            tmux: var("TMUX").is_some(),
            screen: var("STY").is_some(),
            term_program: var("TERM_PROGRAM"),
        }
    }
}

/// The terminal's lines: size, TERM, colours, OSC 52.
pub fn terminal(env: &Env) -> Vec<Finding> {
    use crate::cockpit::ui::{MIN_HEIGHT, MIN_WIDTH};
    let mut out = Vec::new();
    out.push(match (env.tty, env.size) {
        (false, _) => found(
            Verdict::Note,
            "terminal",
            "stdout is not a terminal: the cockpit needs one (`--headless` does not)",
        ),
        (true, Some((w, h))) if w < MIN_WIDTH || h < MIN_HEIGHT => found(
            Verdict::Fix,
            "terminal size",
            format!(
                "{w}×{h}: the cockpit needs at least {MIN_WIDTH}×{MIN_HEIGHT}; enlarge the window"
            ),
        ),
        (true, Some((w, h))) => found(Verdict::Ok, "terminal size", format!("{w}×{h}")),
        (true, None) => found(
            Verdict::Note,
            "terminal size",
            "unknown: the terminal did not say",
        ),
    });
    let term = env.term.as_deref().unwrap_or("");
    out.push(match term {
        "" => found(
            Verdict::Fix,
            "TERM",
            "not set: set it to your terminal's type (e.g. xterm-256color)",
        ),
        "dumb" => found(
            Verdict::Fix,
            "TERM",
            "dumb: the cockpit cannot draw; use a real terminal or --headless",
        ),
        t => found(Verdict::Ok, "TERM", t.to_string()),
    });
    let truecolor = env
        .colorterm
        .as_deref()
        .is_some_and(|c| c == "truecolor" || c == "24bit");
    out.push(if env.no_color {
        found(
            Verdict::Note,
            "colours",
            "NO_COLOR is set: no colours (themes still mark states with symbols)",
        )
    } else if truecolor {
        found(Verdict::Ok, "colours", "24-bit (COLORTERM)")
    } else if term.contains("256color") {
        found(Verdict::Ok, "colours", "256 (TERM)")
    } else {
        found(
            Verdict::Note,
            "colours",
            "16 at most as far as TERM says; `--theme sixteen` is made for that",
        )
    });
    let program = env.term_program.as_deref().unwrap_or("");
    let capable = [
        "xterm-kitty",
        "alacritty",
        "foot",
        "wezterm",
        "xterm-ghostty",
    ]
    .iter()
    .any(|t| term.starts_with(t))
        || ["iTerm.app", "WezTerm", "ghostty", "vscode"].contains(&program);
    out.push(if env.screen {
        found(
            Verdict::Note,
            "OSC 52 clipboard",
            "unlikely inside GNU screen, which does not pass it on",
        )
    } else if env.tmux {
        found(
            Verdict::Note,
            "OSC 52 clipboard",
            "inside tmux: it works with `set -g set-clipboard on` and a terminal that allows it",
        )
    } else if capable {
        found(Verdict::Ok, "OSC 52 clipboard", "likely to work")
    } else {
        found(
            Verdict::Note,
            "OSC 52 clipboard",
            "unknown for this terminal (many allow it only when enabled)",
        )
    });
    out
}

/// Host and port of a URL, as the request would connect.
fn host_port(url: &str) -> Option<(String, u16)> {
    let u = reqwest::Url::parse(url).ok()?;
    Some((u.host_str()?.to_string(), u.port_or_known_default()?))
}

/// Whether each metric source and channel the plan names accepts a TCP
/// connection. Metrics are named with their shown URL (placeholders filled
/// for each environment); channels by name only, as their URLs may hold a token.
async fn reachability(plan: &Plan) -> Vec<Finding> {
    /// What is tried: its name in the report, its URL as it may be shown
    /// (empty for a channel), and where to connect.
    struct Target(String, String, Option<(String, u16)>);
    let mut targets: Vec<Target> = Vec::new();
    for m in &plan.metrics {
        let url = match &m.source {
            MetricSource::Scrape { url, .. }
            | MetricSource::Prometheus { url, .. }
            | MetricSource::Http { url, .. } => url,
            MetricSource::Command { .. } => continue,
        };
        let mut seen = Vec::new();
        for env in &plan.environments {
            let Ok(filled) = crate::plan::template::expand(url, env, &plan.release) else {
                continue;
            };
            if seen.contains(&filled) {
                continue;
            }
            let what = if url.contains("${") {
                format!("metric {} ({})", m.name, env.name)
            } else {
                format!("metric {}", m.name)
            };
            targets.push(Target(
                what,
                crate::secrets::url::shown(&filled),
                host_port(&filled),
            ));
            seen.push(filled);
        }
    }
    for c in &plan.channels {
        targets.push(Target(
            format!("channel {}", c.name),
            String::new(),
            host_port(&c.url),
        ));
    }
    let skipped = targets.len().saturating_sub(MAX_TARGETS);
    targets.truncate(MAX_TARGETS);
    let probes = targets
        .into_iter()
        .map(|Target(what, shown, hp)| async move {
            let Some((host, port)) = hp else {
                return found(Verdict::Fix, &what, "its URL names no host and port");
            };
            let at = if shown.is_empty() {
                String::new()
            } else {
                format!("{shown}: ")
            };
            let attempt = tokio::time::timeout(
                CONNECT_TIMEOUT,
                tokio::net::TcpStream::connect((host.as_str(), port)),
            )
            .await;
            match attempt {
                Ok(Ok(_)) => found(Verdict::Ok, &what, format!("{at}accepts connections")),
                Ok(Err(e)) => found(
                    Verdict::Fix,
                    &what,
                    format!("{at}cannot connect ({e}); start it or correct the URL"),
                ),
                Err(_) => found(
                    Verdict::Fix,
                    &what,
                    format!(
                        "{at}no answer within {}s; check the address and any firewall",
                        CONNECT_TIMEOUT.as_secs()
                    ),
                ),
            }
        });
    let mut out: Vec<Finding> = futures_join_all(probes).await;
    if skipped > 0 {
        out.push(found(
            Verdict::Note,
            "reachability",
            format!("{skipped} more address(es) not tried (at most {MAX_TARGETS})"),
        ));
    }
    out
}

/// Runs the probes at once, keeping their order.
async fn futures_join_all<F: std::future::Future<Output = Finding> + Send + 'static>(
    probes: impl Iterator<Item = F>,
) -> Vec<Finding> {
    let handles: Vec<_> = probes.map(tokio::spawn).collect();
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        if let Ok(f) = h.await {
            out.push(f);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Env {
        Env {
            tty: true,
            size: Some((120, 40)),
            term: Some("xterm-256color".into()),
            colorterm: None,
            no_color: false,
            tmux: false,
            screen: false,
            term_program: None,
        }
    }

    fn verdict(found: &[Finding], what: &str) -> Verdict {
        found.iter().find(|f| f.what == what).expect(what).verdict
    }

    #[test]
    fn a_good_terminal_needs_nothing() {
        let f = terminal(&env());
        assert!(f.iter().all(|f| f.verdict != Verdict::Fix), "{f:?}");
    }

    #[test]
    fn a_small_window_and_a_dumb_or_missing_term_are_to_fix() {
        let mut e = env();
        e.size = Some((40, 10));
        assert_eq!(verdict(&terminal(&e), "terminal size"), Verdict::Fix);
        e.term = Some("dumb".into());
        assert_eq!(verdict(&terminal(&e), "TERM"), Verdict::Fix);
        e.term = None;
        assert_eq!(verdict(&terminal(&e), "TERM"), Verdict::Fix);
    }

    #[test]
    fn colours_and_clipboard_are_read_from_the_environment() {
        let mut e = env();
        e.no_color = true;
        assert!(terminal(&e)[2].say.contains("NO_COLOR"));
        e.no_color = false;
        e.colorterm = Some("truecolor".into());
        assert!(terminal(&e)[2].say.contains("24-bit"));
        e.tmux = true;
        assert!(terminal(&e)[3].say.contains("set-clipboard"));
    }
}
