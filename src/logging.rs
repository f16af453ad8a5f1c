//! Diagnostics go to `slate.log` in the state directory, never to the
//! terminal (which belongs to the cockpit or to the headless output).

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::sync::Mutex;

use tracing_subscriber::EnvFilter;

/// The log's name in the state directory.
pub const LOG_FILE: &str = "slate.log";

/// Opens `<state>/slate.log` for appending (creating it, owner-only). A
/// symlink in its place is refused, never followed.
pub fn open_log(state_dir: &Path) -> std::io::Result<std::fs::File> {
    crate::paths::ensure_private_dir(state_dir)?;
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .custom_flags(nix::libc::O_NOFOLLOW)
        .open(state_dir.join(LOG_FILE))
}

/// Installs the file logger; `SLATE_LOG` sets the filter (default `info`).
/// Failing to open the log is not fatal: Slate runs without it.
pub fn init(state_dir: &Path) {
    let Ok(file) = open_log(state_dir) else {
        return;
    };
    let filter = EnvFilter::try_from_env("SLATE_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(Mutex::new(OneLine(file)))
        .with_ansi(false)
        .try_init();
}

/// Records a panic in the log before the standard report is printed, so a
/// panic of an engine host (whose stderr is the log too) or of a cockpit
/// (whose screen is gone by the time anyone looks) leaves its place and
/// message where people look for what went wrong. No other panic report
/// is installed: the standard one is plain text, which is what a log and a
/// terminal both want.
pub fn install_panic_log() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let place = info
            .location()
            .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()))
            .unwrap_or_default();
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        tracing::error!(%place, %message, "panic");
        previous(info);
    }));
}

/// Arguments whose values are names, paths or ids, never free text: logged
/// as given. Any other argument with a value (a comment, a reason, a note)
/// is logged as given but not what it said: people paste anything there, a
/// secret included, and the log is not masked.
const PLAIN_ARGS: &[&str] = &[
    "run",
    "plan",
    "gate",
    "env",
    "choice",
    "scenario",
    "interrupted",
    "theme",
    "outcome",
    "release",
    "limit",
    "speed",
    "out",
    "width",
    "height",
    "approve",
];

/// Logs the command line as far as it carries no free text.
pub fn log_start() {
    use clap::CommandFactory;
    let cmd = crate::cli::Cli::command();
    let Ok(matches) = cmd.clone().try_get_matches_from(std::env::args_os()) else {
        return;
    };
    tracing::info!(command = %described(&cmd, &matches), "slate started");
}

/// `note run=2026…` for `slate note 2026… "the text"`.
fn described(cmd: &clap::Command, matches: &clap::ArgMatches) -> String {
    let Some((verb, sub)) = matches.subcommand() else {
        return String::new();
    };
    let mut out = verb.to_string();
    let Some(sub_cmd) = cmd.find_subcommand(verb) else {
        return out;
    };
    for arg in sub_cmd.get_arguments() {
        let id = arg.get_id().as_str();
        if sub.value_source(id) != Some(clap::parser::ValueSource::CommandLine) {
            continue;
        }
        if !arg.get_action().takes_values() {
            out.push_str(&format!(" --{id}"));
            continue;
        }
        let values: Vec<String> = sub
            .get_raw(id)
            .into_iter()
            .flatten()
            .map(|v| {
                if PLAIN_ARGS.contains(&id) {
                    v.to_string_lossy().into_owned()
                } else {
                    "…".to_string()
                }
            })
            .collect();
        out.push_str(&format!(" {id}={}", values.join(",")));
    }
    out
}

/// Writes each event as one line with its controls shown: a field that
/// holds a person's text (a note, a reason) can neither forge a log line
/// nor leave an escape sequence for whoever reads the log in a terminal.
/// The formatter hands over one whole event per write.
struct OneLine<W>(W);

impl<W: Write> Write for OneLine<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let body = text.strip_suffix('\n').unwrap_or(&text);
        let mut line = crate::text::neutral::line(body).into_owned();
        line.push('\n');
        self.0.write_all(line.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn logged(args: &[&str]) -> String {
        let cmd = crate::cli::Cli::command();
        let m = cmd.clone().try_get_matches_from(args).unwrap();
        described(&cmd, &m)
    }

    #[test]
    fn free_text_is_never_logged_only_that_it_was_given() {
        assert_eq!(
            logged(&["slate", "note", "20261122-2056", "oops hunter2-secret"]),
            "note run=20261122-2056 text=…"
        );
        assert_eq!(
            logged(&[
                "slate",
                "approve",
                "r1",
                "prod-gate",
                "--comment",
                "pw is hunter2-secret"
            ]),
            "approve run=r1 gate=prod-gate comment=…"
        );
        assert_eq!(
            logged(&["slate", "decide", "r1", "force", "--note", "hunter2-secret"]),
            "decide run=r1 choice=force note=…"
        );
        assert_eq!(
            logged(&["slate", "run", "plan.toml", "--headless", "--approve", "g1"]),
            "run plan=plan.toml --headless approve=g1"
        );
    }

    #[test]
    fn an_event_is_one_line_with_its_controls_shown() {
        let mut w = OneLine(Vec::new());
        w.write_all(b"INFO note text=ok\n\x1b]0;t\x07 FORGED\n")
            .unwrap();
        assert_eq!(
            String::from_utf8(w.0).unwrap(),
            "INFO note text=ok⏎␛]0;t␇ FORGED\n"
        );
    }

    #[test]
    fn a_symlinked_log_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("elsewhere");
        std::fs::write(&target, "untouched").unwrap();
        std::os::unix::fs::symlink(&target, dir.path().join(LOG_FILE)).unwrap();
        assert!(open_log(dir.path()).is_err());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "untouched");
    }
}
