//! `:` — the command palette (k9s's habit): every action the keymap knows,
//! and the verbs that take words (`:weight 25`, `:note …`, `:abort`),
//! matched fuzzily as you type. Each entry shows its key and what it does
//! from the keymap table; what the run or a read-only cockpit forbids now
//! is listed with the reason, and refused with it.

use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config, Matcher};
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};
use ratatui_textarea::TextArea;
use strum::VariantArray;
use unicode_width::UnicodeWidthStr;

use super::frame::{block, centered, hint_line, input_box};
use super::reason::Ask;
use super::{Modal, Outcome, text_of};
use crate::cockpit::app::{App, Effect, Verb, textarea};
use crate::cockpit::keymap::{Scope, UiAction};
use crate::engine::Action;
use crate::engine::state::StepState;
use crate::plan::Strategy;

/// Entries the palette lists at once.
const SHOWN: usize = 10;

/// What an entry does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Do {
    /// What the action's key does.
    Key(UiAction),
    /// `:weight N`: hold the canary at N% (asks why).
    Weight,
    /// `:note TEXT`: add a note (no text: the note dialog).
    Note,
    /// `:abort`: stop and roll back (asks why).
    Abort,
    /// `:board`: leave the cockpit (the release goes on) for the board.
    Board,
    /// `:attach RUN`: leave for another run's cockpit (this run goes on).
    Attach,
    /// `:theme NAME`: draw with another theme from now on.
    Theme,
    /// `:export [FILE]`: this run's journal as NDJSON into a new file.
    Export,
    /// `:lock REASON`: hold the selected environment (`slate lock`).
    Lock,
    /// `:freeze UNTIL REASON`: freeze the selected environment (`slate freeze`).
    Freeze,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// What is typed: the action's `config.toml` name, or the verb.
    pub name: &'static str,
    /// The words it takes, as help writes them ("N", "TEXT").
    pub args: &'static str,
    /// Its keys as the keymap says (empty for verbs without one).
    pub key: String,
    pub desc: &'static str,
    pub run: Do,
}

/// Every entry, in the keymap's order, then the verbs.
pub fn entries(app: &App) -> Vec<Entry> {
    let replay = app.replay.is_some();
    let mut out: Vec<Entry> = UiAction::VARIANTS
        .iter()
        .filter(|a| match a.scope() {
            Scope::Main => **a != UiAction::Palette,
            Scope::Replay => replay,
            _ => false,
        })
        .map(|&a| Entry {
            name: a.name(),
            args: "",
            key: app.keymap.label(a),
            desc: a.desc(),
            run: Do::Key(a),
        })
        .collect();
    out.push(Entry {
        name: "weight",
        args: "N",
        key: app.keymap.label(UiAction::Weight),
        desc: "hold the canary at N% until promoted (asks why)",
        run: Do::Weight,
    });
    out.retain(|e| e.run != Do::Key(UiAction::Weight));
    out.push(Entry {
        name: "note",
        args: "TEXT",
        key: app.keymap.label(UiAction::Note),
        desc: "add a note to the run record",
        run: Do::Note,
    });
    out.retain(|e| e.run != Do::Key(UiAction::Note));
    out.push(Entry {
        name: "abort",
        args: "",
        key: String::new(),
        desc: "stop the environment in progress and roll it back (asks why)",
        run: Do::Abort,
    });
    out.push(Entry {
        name: "board",
        args: "",
        key: String::new(),
        desc: "leave the cockpit for the board (the release goes on; Enter on it comes back)",
        run: Do::Board,
    });
    for (name, args, desc, run) in [
        (
            "attach",
            "RUN",
            "open another run's cockpit (id, prefix or latest; this run goes on)",
            Do::Attach,
        ),
        (
            "theme",
            "NAME",
            "switch the theme: default, light, high-contrast, sixteen or your own",
            Do::Theme,
        ),
        (
            "export",
            "[FILE]",
            "write this run's journal as NDJSON to a new file (slate export)",
            Do::Export,
        ),
        (
            "lock",
            "REASON",
            "hold the selected environment: no run promotes into it (slate lock)",
            Do::Lock,
        ),
        (
            "freeze",
            "UNTIL REASON",
            "freeze the selected environment until UNTIL: 2h, or a date and time",
            Do::Freeze,
        ),
    ] {
        out.push(Entry {
            name,
            args,
            key: String::new(),
            desc,
            run,
        });
    }
    out
}

/// The entries whose names match `query` (its first word), best first;
/// all of them, in order, before anything is typed.
pub fn matching(app: &App, query: &str) -> Vec<Entry> {
    let all = entries(app);
    let word = query.split_whitespace().next().unwrap_or("");
    if word.is_empty() {
        return all;
    }
    if let Some(exact) = all.iter().find(|e| e.name == word) {
        return vec![exact.clone()];
    }
    let mut matcher = Matcher::new(Config::DEFAULT);
    let pattern = Pattern::parse(word, CaseMatching::Ignore, Normalization::Smart);
    let names: Vec<&str> = all.iter().map(|e| e.name).collect();
    // Sorted by score, ties in table order (the sort is stable).
    pattern
        .match_list(names, &mut matcher)
        .into_iter()
        .filter_map(|(name, _)| all.iter().find(|e| e.name == name).cloned())
        .collect()
}

/// Why `run` cannot be done now, or `None` when it can.
pub fn unavailable(app: &App, run: Do) -> Option<String> {
    let changes = match run {
        Do::Key(a) => crate::cockpit::readonly::changes_the_run(a),
        // A hold or a freeze stops more than this run.
        Do::Weight | Do::Note | Do::Abort | Do::Lock | Do::Freeze => true,
        Do::Board | Do::Attach | Do::Theme | Do::Export => false,
    };
    if changes && let Some(ro) = &app.read_only {
        return Some(format!("read-only ({})", ro.reason));
    }
    let finished = app.run.is_finished();
    match run {
        Do::Key(UiAction::Approve | UiAction::Reject)
            if app.run.waiting.is_none() && app.run.glass_wait.is_none() =>
        {
            Some("no gate is waiting".into())
        }
        Do::Key(UiAction::Promote | UiAction::Skip) | Do::Weight => {
            app.cannot_promote(run == Do::Weight)
        }
        Do::Key(UiAction::Decide) if app.run.blocked.is_none() => {
            Some("nothing is waiting for a decision".into())
        }
        Do::Key(UiAction::Pause) | Do::Abort if finished => Some("the run has finished".into()),
        Do::Export if app.replay.is_some() => {
            Some("a replay reads a journal already: `slate export RUN` writes it".into())
        }
        _ => None,
    }
}

impl App {
    /// Why promote (or with `weight`, a weight) cannot be asked for now.
    pub fn cannot_promote(&self, weight: bool) -> Option<String> {
        if self.run.is_finished() {
            return Some("the run has finished".into());
        }
        let env = self.run.current_env?;
        if weight
            && !matches!(
                self.plan.environments.get(env).map(|e| &e.strategy),
                Some(Strategy::Canary { .. })
            )
        {
            let name = &self.run.envs[env].name;
            return Some(format!("weight applies to a canary; {name} is not one"));
        }
        let waiting = self.run.envs[env]
            .steps
            .iter()
            .any(|s| s.state == StepState::Waiting && s.timer.is_some());
        (!waiting).then(|| "no pause or soak is being waited out".to_string())
    }
}

/// `:` (or `W`, which starts with `weight `).
pub fn open(app: &mut App, typed: &str) {
    let mut input = textarea("command — Tab completes, ↑/↓ choose");
    input.insert_str(typed);
    app.modal = Some(Modal::Palette { input, sel: 0 });
}

pub fn event(
    app: &mut App,
    input: &mut TextArea<'static>,
    sel: &mut usize,
    key: KeyEvent,
) -> Outcome {
    let typed = text_of(input);
    let found = matching(app, &typed);
    match app.keymap.lookup_dialog(Scope::Dialogs, &key) {
        Some(UiAction::Cancel) => return Outcome::close(),
        Some(UiAction::Confirm) => return run(app, &typed, found.get(*sel)),
        _ => {}
    }
    // The list is moved with the arrows and Tab, which type nothing.
    match key.code {
        KeyCode::Up => *sel = sel.saturating_sub(1),
        KeyCode::Down => *sel = (*sel + 1).min(found.len().saturating_sub(1)),
        KeyCode::Tab => {
            if let Some(e) = found.get(*sel) {
                *input = textarea("");
                let space = if e.args.is_empty() { "" } else { " " };
                input.insert_str(format!("{}{space}", e.name));
                *sel = 0;
            }
        }
        _ => {
            input.input(key);
            *sel = 0;
        }
    }
    Outcome::keep()
}

/// Carries out what was typed: its first word names the entry (else the
/// highlighted match), the rest are its words.
fn run(app: &mut App, typed: &str, chosen: Option<&Entry>) -> Outcome {
    let Some(entry) = chosen else {
        if typed.is_empty() {
            return Outcome::close();
        }
        app.toast(format!("no command matches “{typed}”"), true);
        return Outcome::keep();
    };
    let rest = typed
        .split_once(char::is_whitespace)
        .map(|(_, r)| r.trim())
        .unwrap_or("");
    if let Some(why) = unavailable(app, entry.run) {
        app.toast(format!("{}: {why}", entry.name), true);
        return Outcome::close();
    }
    match entry.run {
        Do::Key(a) => Outcome {
            close: true,
            effects: app.on_action(a),
        },
        Do::Weight => match rest.parse::<u32>() {
            Ok(n) => {
                super::reason::open(app, Ask::Weight(n));
                Outcome::close()
            }
            Err(_) => {
                app.toast("weight needs a number: :weight 25", true);
                Outcome::keep()
            }
        },
        Do::Note if !rest.is_empty() => Outcome::send(Action::Note {
            text: rest.to_string(),
        }),
        Do::Note => {
            super::line::open_note(app);
            Outcome::close()
        }
        Do::Abort => {
            super::reason::open(app, Ask::Abort { then_quit: false });
            Outcome::close()
        }
        Do::Board => {
            app.then_board = true;
            Outcome::close_with(Effect::Quit)
        }
        Do::Attach => attach(app, rest),
        Do::Theme => theme(app, rest),
        Do::Export => {
            let path = if rest.is_empty() {
                std::path::PathBuf::from(format!("slate-{}.ndjson", app.run.run_id))
            } else {
                std::path::PathBuf::from(rest)
            };
            Outcome::close_with(Effect::Verb(Verb::Export { path }))
        }
        Do::Lock if rest.is_empty() => {
            app.toast("lock needs a reason: :lock incident 42", true);
            Outcome::keep()
        }
        Do::Lock => Outcome::close_with(Effect::Verb(Verb::Hold {
            env: selected_env(app),
            reason: rest.to_string(),
        })),
        Do::Freeze => match until_and_reason(rest) {
            Some((until, reason)) => Outcome::close_with(Effect::Verb(Verb::Freeze {
                env: selected_env(app),
                until,
                reason,
            })),
            None => {
                app.toast(
                    "freeze needs an end and a reason: :freeze 2h incident 42",
                    true,
                );
                Outcome::keep()
            }
        },
    }
}

/// The environment the matrix shows (where `:lock` and `:freeze` apply).
fn selected_env(app: &App) -> String {
    app.plan
        .environments
        .get(app.shown_env())
        .map(|e| e.name.clone())
        .unwrap_or_default()
}

/// `2h incident 42` or `2026-12-28 08:00 holiday`: the end (a duration, or
/// a date and a time of day) and the reason after it; None without either.
pub fn until_and_reason(rest: &str) -> Option<(String, String)> {
    let words: Vec<&str> = rest.split_whitespace().collect();
    let date = |w: &str| jiff::civil::Date::strptime("%Y-%m-%d", w).is_ok();
    let took = if words.len() >= 2 && date(words[0]) && words[1].contains(':') {
        2
    } else {
        1
    };
    if words.len() <= took {
        return None;
    }
    Some((words[..took].join(" "), words[took..].join(" ")))
}

/// `:attach RUN`: leaves for that run's cockpit once it is found here.
fn attach(app: &mut App, rest: &str) -> Outcome {
    if rest.is_empty() {
        app.toast(
            "attach needs a run: :attach RUN (slate status lists them)",
            true,
        );
        return Outcome::keep();
    }
    match crate::runs::find_run(&crate::paths::state_dir(), rest) {
        Ok(dir) => {
            let id = dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if id == app.run.run_id {
                app.toast(format!("this is run {id} already"), false);
                return Outcome::close();
            }
            app.then_attach = Some(id);
            Outcome::close_with(Effect::Quit)
        }
        Err(e) => {
            app.toast(e.to_string(), true);
            Outcome::keep()
        }
    }
}

/// `:theme NAME`: the theme, from the user's themes or the built-ins.
fn theme(app: &mut App, rest: &str) -> Outcome {
    if rest.is_empty() {
        let names: Vec<&str> = crate::tui::theme::BUILTIN.iter().map(|(n, _)| *n).collect();
        app.toast(
            format!(
                "theme needs a name: {} (or one of your own)",
                names.join(", ")
            ),
            true,
        );
        return Outcome::keep();
    }
    match crate::tui::theme::Theme::load(rest, &crate::paths::config_dir()) {
        Ok(t) => {
            app.theme = t;
            app.toast(format!("theme {rest}"), false);
            Outcome::close()
        }
        Err(e) => {
            app.toast(e, true);
            Outcome::keep()
        }
    }
}

pub fn commands(app: &App) -> Vec<(String, &'static str)> {
    vec![
        (app.keymap.first(UiAction::Confirm), "run"),
        ("Tab".into(), "complete"),
        ("↑/↓".into(), "choose"),
        (app.keymap.first(UiAction::Cancel), "close"),
    ]
}

pub fn draw(frame: &mut Frame, app: &App, input: &TextArea<'static>, sel: usize, area: Rect) {
    let t = &app.theme;
    let found = matching(app, &text_of(input));
    let rows = found.len().clamp(1, SHOWN) as u16;
    let r = centered(area, 100, rows + 6);
    frame.render_widget(Clear, r);
    let b = block(app, "Command");
    let inner = b.inner(r);
    frame.render_widget(b, r);
    let [input_area, list, hint] = inner.layout(&Layout::vertical([
        Constraint::Length(3),
        Constraint::Fill(1),
        Constraint::Length(1),
    ]));
    input_box(frame, input, " : ", t.border_focus, input_area);
    // The window of matches that keeps the highlighted one in view.
    let first = sel.saturating_sub(SHOWN - 1);
    let mut lines: Vec<Line> = Vec::new();
    if found.is_empty() {
        lines.push(Line::from(Span::styled("no command matches", t.muted)));
    }
    for (i, e) in found.iter().enumerate().skip(first).take(SHOWN) {
        let name = if e.args.is_empty() {
            e.name.to_string()
        } else {
            format!("{} {}", e.name, e.args)
        };
        let marker = if i == sel { "› " } else { "  " };
        let no = unavailable(app, e.run);
        let (name_style, desc_style) = match (i == sel, no.is_some()) {
            (true, _) => (t.selection, t.selection),
            (false, true) => (t.muted, t.muted),
            (false, false) => (t.title, t.text),
        };
        let head = format!("{marker}{name:<14}");
        let key = format!("{:<10}", e.key);
        // What does not fit is cut with an ellipsis, never mid-word unmarked.
        let why = no.as_ref().map(|w| format!(" — {w}")).unwrap_or_default();
        let room = usize::from(list.width)
            .saturating_sub(head.width() + key.width() + why.width())
            .max(10);
        let mut spans = vec![
            Span::styled(head, name_style),
            Span::styled(key, t.accent),
            Span::styled(crate::tui::widgets::truncate(e.desc, room), desc_style),
        ];
        if !why.is_empty() {
            spans.push(Span::styled(why, t.muted));
        }
        lines.push(Line::from(spans));
    }
    frame.render_widget(Paragraph::new(lines), list);
    hint_line(frame, app, &commands(app), hint);
}
