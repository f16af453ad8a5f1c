//! `slate status --watch`: the status again whenever it changes (the
//! `kubectl get -w` habit), without reading every run to find out.
//!
//! The watcher polls a cheap mark every [`POLL`]: the store's generation
//! (`Store::generation`, which moves when any run is written or forgotten),
//! the runs directory's modification time (a run directory added or
//! removed), and the size and time of the journals of the runs it shows as
//! active (a gate starting to wait is journaled, not stored). Only when the
//! mark moved is the status read again, and only when its text differs is
//! anything drawn or printed. An engine that dies writes nothing, so the
//! status is also read every [`AT_LEAST`] (still printed only if it changed).
//!
//! On a terminal the status is redrawn in place on the alternate screen
//! (the shared [`Tui`] session: q, Esc or Ctrl-C quits; SIGTERM, SIGINT and
//! SIGHUP restore the terminal too). Otherwise each change is printed as a
//! new block headed `slate status · as of HH:MM:SS`, after a blank line,
//! with no escape codes, until a signal or a closed output ends it.

use std::io::{IsTerminal, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ratatui::crossterm::event::{KeyCode, KeyModifiers};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use tokio::time::Instant;

use crate::runs::{self, ActiveRun};
use crate::store::{Page, RunQuery, Store};
use crate::text::neutral;
use crate::tui::{Tui, TuiEvent};

/// How often the mark is looked at.
const POLL: Duration = Duration::from_millis(250);
/// The longest the status goes unread (an engine that died writes nothing).
const AT_LEAST: Duration = Duration::from_secs(5);
/// Runs that finished while watching, kept to show how they ended.
const FINISHED: usize = 10;

/// Runs `slate status --watch`; returns the exit status.
pub fn status(state_dir: &Path) -> i32 {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            crate::warn_user!("slate: cannot start the runtime: {e}");
            return 1;
        }
    };
    let watcher = Watcher::new(state_dir);
    if std::io::stdout().is_terminal() && std::io::stdin().is_terminal() {
        rt.block_on(on_terminal(watcher))
    } else {
        rt.block_on(printed(watcher))
    }
}

struct Watcher {
    state_dir: PathBuf,
    /// Held open for its generation; `None` if it cannot be opened (then
    /// only the directory's and journals' times, and the clock, say when).
    store: Option<Box<dyn Store>>,
    mark: Option<String>,
    read_at: Option<Instant>,
    /// The runs shown as active at the last read.
    active: Vec<ActiveRun>,
    /// Runs seen active that are no longer: how they ended, newest last.
    finished: Vec<String>,
}

impl Watcher {
    fn new(state_dir: &Path) -> Watcher {
        Watcher {
            state_dir: state_dir.to_path_buf(),
            store: crate::store::open(state_dir).ok().map(|o| o.store),
            mark: None,
            read_at: None,
            active: Vec::new(),
            finished: Vec::new(),
        }
    }

    /// Everything whose change may change the status, cheaply.
    fn mark(&self) -> String {
        let mut m = String::new();
        if let Some(g) = self.store.as_ref().and_then(|s| s.generation().ok()) {
            m.push_str(&g);
        }
        m.push('|');
        if let Some(stamp) = crate::store::sync::runs_dir_stamp(&self.state_dir) {
            m.push_str(&stamp);
        }
        for r in &self.active {
            let journal = runs::runs_dir(&self.state_dir)
                .join(&r.run_id)
                .join(crate::journal::JOURNAL_FILE);
            if let Ok(meta) = std::fs::metadata(journal) {
                m.push_str(&format!(
                    "|{}.{}.{}",
                    meta.len(),
                    meta.mtime(),
                    meta.mtime_nsec()
                ));
            }
        }
        m
    }

    /// The status's lines if it may have changed since the last read.
    fn poll(&mut self) -> Option<Vec<String>> {
        let mark = self.mark();
        let due = self.read_at.is_none_or(|t| t.elapsed() >= AT_LEAST);
        if !due && self.mark.as_ref() == Some(&mark) {
            return None;
        }
        let lines = self.read();
        // Taken after reading: what the read itself wrote (a run found
        // interrupted) does not count as a change next time.
        self.mark = Some(self.mark());
        self.read_at = Some(Instant::now());
        Some(lines)
    }

    fn read(&mut self) -> Vec<String> {
        let active = match runs::active_runs(&self.state_dir) {
            Ok(a) => a,
            Err(e) => return vec![format!("cannot read the status: {e}")],
        };
        let endings: Vec<String> = self
            .active
            .iter()
            .filter(|r| !active.iter().any(|a| a.run_id == r.run_id))
            .map(|r| self.ending(r))
            .collect();
        self.finished.extend(endings);
        let over = self.finished.len().saturating_sub(FINISHED);
        self.finished.drain(..over);
        self.active = active;
        let mut lines = super::steer::status_lines(&self.state_dir, &self.active, false);
        if !self.finished.is_empty() {
            lines.push(String::new());
            lines.push("finished while watching:".to_string());
            lines.extend(self.finished.iter().map(|l| format!("  {l}")));
        }
        lines
    }

    /// How a run that was active ended, as the store has it.
    fn ending(&self, r: &ActiveRun) -> String {
        let summary = self.store.as_ref().and_then(|s| {
            s.runs(&RunQuery {
                page: Page::From(r.run_id.clone()),
                limit: Some(1),
                ..RunQuery::default()
            })
            .ok()
            .and_then(|page| page.into_iter().find(|s| s.run_id == r.run_id))
        });
        let head = format!("{}  {} {}", r.run_id, r.release, r.version);
        match summary {
            Some(s) if s.message.is_empty() || s.message == s.outcome.word() => {
                format!("{head}  {}", s.outcome.word())
            }
            Some(s) => format!("{head}  {}: {}", s.outcome.word(), s.message),
            None => format!("{head}  no longer active"),
        }
    }
}

/// Each change as a block of plain lines; a closed output or a signal ends it.
async fn printed(mut w: Watcher) -> i32 {
    let Some(mut sig) = crate::signals::Signals::install() else {
        crate::warn_user!("slate: cannot install signal handlers");
        return 1;
    };
    let mut shown: Option<Vec<String>> = None;
    let mut tick = tokio::time::interval(POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = sig.int.recv() => return 0,
            _ = sig.term.recv() => return 0,
            _ = sig.hup.recv() => return 0,
        }
        let Some(lines) = w.poll() else { continue };
        if shown.as_ref() == Some(&lines) {
            continue;
        }
        let mut text = String::new();
        if shown.is_some() {
            text.push('\n');
        }
        text.push_str(&heading());
        text.push('\n');
        for l in &lines {
            text.push_str(&neutral::line(l));
            text.push('\n');
        }
        let mut out = std::io::stdout().lock();
        if out
            .write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .is_err()
        {
            // Nobody is reading any more (`| head`).
            return 0;
        }
        shown = Some(lines);
    }
}

/// Redrawn in place on the alternate screen until q, Esc, Ctrl-C or a signal.
async fn on_terminal(mut w: Watcher) -> i32 {
    let mut tui = match Tui::enter() {
        Ok(t) => t,
        Err(e) => {
            crate::warn_user!("slate: {e}");
            return 1;
        }
    };
    let mut lines: Vec<String> = Vec::new();
    let mut head = heading();
    let mut dirty = true;
    let mut tick = tokio::time::interval(POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        if dirty {
            if !tui.draw(|f| draw(f, &lines, &head)) {
                break;
            }
            dirty = false;
        }
        tokio::select! {
            ev = tui.next() => match ev {
                TuiEvent::Key(k) => {
                    let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
                    match k.code {
                        KeyCode::Char('q') | KeyCode::Esc => break,
                        KeyCode::Char('c') if ctrl => break,
                        _ => {}
                    }
                }
                TuiEvent::Resize(..) | TuiEvent::Resumed => dirty = true,
                TuiEvent::Stop(_) | TuiEvent::Gone => break,
                TuiEvent::Mouse(_) | TuiEvent::Paste(_) => {}
            },
            _ = tick.tick() => {
                if let Some(new) = w.poll()
                    && new != lines
                {
                    lines = new;
                    head = heading();
                    dirty = true;
                }
            }
        }
    }
    drop(tui);
    0
}

/// What heads each status: when it was read, in local time.
fn heading() -> String {
    let when = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::system())
        .strftime("%H:%M:%S");
    format!("slate status · as of {when}")
}

fn draw(frame: &mut ratatui::Frame, lines: &[String], heading: &str) {
    let mut text = vec![
        Line::from(Span::styled(
            format!("{heading} · q quits"),
            ratatui::style::Style::default().add_modifier(Modifier::BOLD),
        )),
        Line::raw(""),
    ];
    text.extend(
        lines
            .iter()
            .map(|l| Line::raw(neutral::line(l).into_owned())),
    );
    frame.render_widget(
        Paragraph::new(text).wrap(Wrap { trim: false }),
        frame.area(),
    );
}
