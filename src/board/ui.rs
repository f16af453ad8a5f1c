//! Drawing the board: a pure function of [`App`]. The releases ×
//! environments grid on top, the active runs and the inbox below (side by
//! side when the terminal is wide), a status row (a toast, or the legend of
//! glyphs) and the key hints. An environment's history, help and the
//! cockpit's approval dialog open over it. Only rows in view are drawn.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders, Paragraph};
use unicode_width::UnicodeWidthStr;

use super::app::{App, HistoryPane, Pane};
use super::keymap::{self, TYPING_HELP};
use super::snapshot::{CellState, InboxEntry, RunLine, Waits};
use crate::runs::Engine;
use crate::tui::theme::Theme;
use crate::tui::widgets::truncate;

/// Below this the board only says the terminal is too small.
const MIN_WIDTH: u16 = 40;
const MIN_HEIGHT: u16 = 10;
/// From this width the runs and the inbox sit side by side.
const SIDE_BY_SIDE: u16 = 150;
/// The narrowest environment column.
const CELL_MIN: usize = 12;

pub fn draw(frame: &mut Frame, app: &App) {
    let size = frame.area();
    let t = &app.theme;
    if size.width < MIN_WIDTH || size.height < MIN_HEIGHT {
        frame.render_widget(
            Paragraph::new("terminal too small for slate board").style(t.muted),
            size,
        );
        return;
    }
    let [head, body, status, footer] = size.layout(&Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ]));
    header(frame, app, head);
    match &app.history {
        Some(h) => history(frame, app, h, body),
        None => board(frame, app, body),
    }
    status_line(frame, app, status);
    footer_line(frame, app, footer);
    if let Some(panel) = &app.stats {
        super::overlay::stats_panel(frame, app, panel.as_ref(), size);
    }
    if let Some(scroll) = app.help {
        super::overlay::help(frame, app, scroll, size);
    }
    if let Some(a) = &app.approval {
        crate::cockpit::dialog::draw(frame, &a.cockpit, size);
    }
}

fn header(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let count =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let mut spans = vec![
        Span::styled(" Slate board ", t.title),
        Span::styled(
            format!(
                " {} · {}",
                count(app.snap.releases.len(), "release", "releases"),
                count(app.snap.runs.len(), "active run", "active runs"),
            ),
            t.muted,
        ),
    ];
    let inbox = app.snap.inbox.len();
    spans.push(Span::styled(" · ", t.muted));
    spans.push(Span::styled(
        format!("{inbox} waiting for you"),
        if inbox > 0 { t.paused } else { t.muted },
    ));
    if !app.filter.is_empty() && !app.typing {
        spans.push(Span::styled(
            format!(" · filter “{}”", crate::text::neutral::line(&app.filter)),
            t.accent,
        ));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn pane_block<'a>(app: &App, pane: Pane, title: String) -> Block<'a> {
    let t = &app.theme;
    let focused = app.focus == pane && app.history.is_none();
    Block::default()
        .borders(Borders::ALL)
        .border_type(if focused {
            BorderType::Thick
        } else {
            BorderType::Rounded
        })
        .border_style(if focused { t.border_focus } else { t.border })
        .title(Span::styled(format!(" {title} "), t.title))
}

/// Freezes get at most this many rows under the grid (the last says how
/// many more there are).
const FREEZE_ROWS: usize = 3;

fn board(frame: &mut Frame, app: &App, area: Rect) {
    let releases = app.shown_releases().len();
    // The grid takes what it needs, up to half the body; the freezes a few
    // rows when there are any and room; the lists the rest.
    let grid_h = (releases.max(1) as u16 + 3).min(area.height / 2).max(4);
    let freeze_h = if area.height >= 16 {
        app.snap.freezes.len().min(FREEZE_ROWS) as u16
    } else {
        0
    };
    let [top, strip, bottom] = area.layout(&Layout::vertical([
        Constraint::Length(grid_h),
        Constraint::Length(freeze_h),
        Constraint::Fill(1),
    ]));
    grid(frame, app, top);
    freezes(frame, app, strip);
    let dir = if area.width >= SIDE_BY_SIDE {
        Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)])
    } else {
        Layout::vertical([Constraint::Percentage(50), Constraint::Percentage(50)])
    };
    let [runs_area, inbox_area] = bottom.layout(&dir);
    runs(frame, app, runs_area);
    inbox(frame, app, inbox_area);
}

/// Freezes in effect (warning colour) and coming (muted), soonest first;
/// where they do not all fit, the last row says how many more `slate locks` lists.
fn freezes(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let rows = usize::from(area.height);
    if rows == 0 || !app.loaded {
        return;
    }
    let all = &app.snap.freezes;
    let room = usize::from(area.width).saturating_sub(1);
    let mut lines: Vec<Line> = Vec::new();
    for (i, f) in all.iter().enumerate().take(rows) {
        if i + 1 == rows && all.len() > rows {
            let more = all.len() - i;
            lines.push(Line::from(Span::styled(
                format!(" ❄ and {more} more freezes: slate locks lists them"),
                t.muted,
            )));
            break;
        }
        let style = if f.now { t.warn } else { t.muted };
        lines.push(Line::from(Span::styled(
            truncate(&format!(" ❄ {}", f.text), room),
            style,
        )));
    }
    frame.render_widget(Paragraph::new(lines), area);
}

pub fn cell_style(t: &Theme, s: CellState) -> Style {
    match s {
        CellState::Healthy => t.ok,
        CellState::Rolling => t.running,
        CellState::Waiting => t.paused,
        CellState::Held | CellState::Drifted => t.warn,
        CellState::Failed | CellState::Interrupted => t.fail,
        CellState::Empty => t.muted,
    }
}

/// The first row shown so that `sel` is in a window of `rows`.
fn window(sel: usize, rows: usize) -> usize {
    if rows == 0 {
        0
    } else {
        (sel + 1).saturating_sub(rows)
    }
}

fn grid(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let shown = app.shown_releases();
    let block = pane_block(app, Pane::Releases, Pane::Releases.title().into());
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if !app.loaded {
        frame.render_widget(Paragraph::new(" reading the store…").style(t.muted), inner);
        return;
    }
    if shown.is_empty() {
        let msg = if app.snap.releases.is_empty() {
            " nothing deployed yet: `slate run PLAN` starts a release"
        } else {
            " no release matches the filter (Esc clears it)"
        };
        frame.render_widget(Paragraph::new(msg).style(t.muted), inner);
        return;
    }
    let width = usize::from(inner.width);
    let name_w = shown
        .iter()
        .map(|r| r.release.width())
        .max()
        .unwrap_or(0)
        .max(7)
        .min(width / 3)
        + 3;
    let envs = app.snap.envs.len().max(1);
    let fit = ((width.saturating_sub(name_w)) / CELL_MIN).clamp(1, envs);
    let first_col = window(app.col, fit);
    let cell_w = (width.saturating_sub(name_w) / fit).max(1);
    let focused = app.focus == Pane::Releases;
    let mut lines = Vec::new();
    let mut head = vec![Span::styled(format!("{:<name_w$}", "  release"), t.muted)];
    for (env, key) in app
        .snap
        .envs
        .iter()
        .zip(&app.snap.env_keys)
        .skip(first_col)
        .take(fit)
    {
        // A column frozen now says so beside its name.
        let frozen = app
            .snap
            .freezes
            .iter()
            .any(|f| f.now && f.env_keys.contains(key));
        let (name, style) = if frozen {
            (format!("❄ {env}"), t.warn.add_modifier(Modifier::BOLD))
        } else {
            (env.clone(), t.muted.add_modifier(Modifier::BOLD))
        };
        head.push(Span::styled(
            format!("{:<cell_w$}", truncate(&name, cell_w.saturating_sub(1))),
            style,
        ));
    }
    lines.push(Line::from(head));
    let rows = usize::from(inner.height).saturating_sub(1);
    let top = window(app.row, rows);
    for (i, row) in shown.iter().enumerate().skip(top).take(rows) {
        let selected = i == app.row;
        let mark = if selected && focused { "› " } else { "  " };
        let name = truncate(&row.release, name_w - 3);
        let mut spans = vec![Span::styled(
            format!("{mark}{name:<w$} ", w = name_w - 3),
            if selected {
                t.text.add_modifier(Modifier::BOLD)
            } else {
                t.text
            },
        )];
        for (c, cell) in row.cells.iter().enumerate().skip(first_col).take(fit) {
            let (text, style) = match cell {
                None => (String::new(), t.muted),
                Some(cell) => {
                    let mut text = format!("{} ", cell.state.glyph());
                    match (&cell.live, &cell.incoming) {
                        (Some(l), Some(i)) => text.push_str(&format!("{l}→{i}")),
                        (Some(l), None) => text.push_str(l),
                        (None, Some(i)) => text.push_str(&format!("→{i}")),
                        (None, None) => text.push_str("none"),
                    }
                    (text, cell_style(t, cell.state))
                }
            };
            let text = truncate(&text, cell_w.saturating_sub(1));
            let style = if selected && focused && c == app.col {
                t.selection
            } else {
                style
            };
            spans.push(Span::styled(text.clone(), style));
            spans.push(Span::raw(" ".repeat(cell_w.saturating_sub(text.width()))));
        }
        lines.push(Line::from(spans));
    }
    frame.render_widget(Paragraph::new(lines), inner);
}

fn wait_text(app: &App, since: jiff::Timestamp) -> String {
    let ms = app.now.duration_since(since).as_millis().max(0) as u64;
    crate::duration::wait(ms)
}

fn run_spans(app: &App, r: &RunLine) -> Vec<Span<'static>> {
    let t = &app.theme;
    let (glyph, style) = match (&r.waits, r.engine) {
        (Waits::Recover(_), _) => (CellState::Interrupted.glyph(), t.fail),
        (Waits::Gate { .. }, _) => (CellState::Waiting.glyph(), t.paused),
        (Waits::Barrier(_), _) => (CellState::Waiting.glyph(), t.warn),
        (_, Engine::Lingering) => ("◦", t.muted),
        _ => (CellState::Rolling.glyph(), t.running),
    };
    let place = r
        .env
        .as_deref()
        .map(|e| format!(" in {e}"))
        .unwrap_or_default();
    let mut spans = vec![
        Span::styled(format!("{glyph} "), style),
        Span::styled(format!("{} {}", r.release, r.version), t.text),
    ];
    // An interrupted run's command comes before where it stopped, so a
    // narrow terminal still shows all of it.
    if let Waits::Recover(cmd) = &r.waits {
        spans.push(Span::styled(" interrupted · ", t.fail));
        spans.push(Span::styled(cmd.clone(), t.accent));
        spans.push(Span::styled(place, t.muted));
        return spans;
    }
    spans.push(Span::styled(place, t.muted));
    spans.push(Span::styled(" · ", t.muted));
    match &r.waits {
        Waits::Gate {
            gate,
            since,
            approvals,
            required,
        } => spans.push(Span::styled(
            format!(
                "gate {gate} {approvals}/{required} · {}",
                wait_text(app, *since)
            ),
            t.paused,
        )),
        Waits::Barrier(why) => spans.push(Span::styled(format!("waits: {why}"), t.warn)),
        Waits::Recover(_) => {}
        Waits::Nothing => {
            let word = match r.engine {
                Engine::Lingering => format!("{} (its engine still answers)", r.status),
                _ => r.status.clone(),
            };
            spans.push(Span::styled(word, t.text));
        }
    }
    spans.push(Span::styled(format!(" · {}", r.run_id), t.muted));
    if let Some(host) = &r.elsewhere {
        spans.push(Span::styled(format!(" · on {host}"), t.muted));
    }
    spans
}

fn inbox_spans(app: &App, e: &InboxEntry) -> Vec<Span<'static>> {
    let t = &app.theme;
    vec![
        Span::styled(format!("{} {}", e.release, e.version), t.text),
        Span::styled(format!(" → {}", e.env), t.accent),
        Span::styled(
            format!(" · gate {} {}/{}", e.gate, e.approvals, e.required),
            t.text,
        ),
        Span::styled(format!(" · waiting {}", wait_text(app, e.since)), t.paused),
    ]
}

/// What a list pane shows.
struct ListPane {
    pane: Pane,
    title: String,
    items: Vec<Vec<Span<'static>>>,
    sel: usize,
    /// What it says when there is nothing to list.
    empty: &'static str,
}

/// A list pane: one line per item, the selected one marked when focused.
fn list(frame: &mut Frame, app: &App, l: ListPane, area: Rect) {
    let t = &app.theme;
    let ListPane {
        pane,
        title,
        items,
        sel,
        empty,
    } = l;
    let block = pane_block(app, pane, title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if !app.loaded {
        return;
    }
    if items.is_empty() {
        frame.render_widget(Paragraph::new(format!(" {empty}")).style(t.muted), inner);
        return;
    }
    let rows = usize::from(inner.height);
    let width = usize::from(inner.width);
    let focused = app.focus == pane && app.history.is_none();
    let top = window(sel, rows);
    let lines: Vec<Line> = items
        .into_iter()
        .enumerate()
        .skip(top)
        .take(rows)
        .map(|(i, spans)| {
            let selected = focused && i == sel;
            let mut line = vec![Span::styled(if selected { "› " } else { "  " }, t.accent)];
            line.extend(spans.into_iter().map(|s| {
                if selected {
                    Span::styled(s.content, s.style.patch(t.selection))
                } else {
                    s
                }
            }));
            fit(Line::from(line), width)
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

/// `line` cut to `width` columns, its last visible span ending in `…` if cut.
fn fit(line: Line<'static>, width: usize) -> Line<'static> {
    if line.width() <= width {
        return line;
    }
    let mut spans = Vec::new();
    let mut room = width;
    for span in line.spans {
        let w = span.content.width();
        if w < room {
            room -= w;
            spans.push(span);
            continue;
        }
        spans.push(Span::styled(truncate(&span.content, room), span.style));
        break;
    }
    Line::from(spans)
}

fn runs(frame: &mut Frame, app: &App, area: Rect) {
    let shown = app.shown_runs();
    let items = shown.iter().map(|r| run_spans(app, r)).collect();
    let title = format!("{} ({})", Pane::Runs.title(), shown.len());
    let l = ListPane {
        pane: Pane::Runs,
        title,
        items,
        sel: app.run_sel,
        empty: "no active runs",
    };
    list(frame, app, l, area);
}

fn inbox(frame: &mut Frame, app: &App, area: Rect) {
    let shown = app.shown_inbox();
    let items = shown.iter().map(|e| inbox_spans(app, e)).collect();
    let title = format!("{}: yours to decide ({})", Pane::Inbox.title(), shown.len());
    let l = ListPane {
        pane: Pane::Inbox,
        title,
        items,
        sel: app.inbox_sel,
        empty: "no gate waits for you",
    };
    list(frame, app, l, area);
}

fn history(frame: &mut Frame, app: &App, h: &HistoryPane, area: Rect) {
    let t = &app.theme;
    let block = Block::default()
        .borders(Borders::ALL)
        .border_type(BorderType::Thick)
        .border_style(t.border_focus)
        .title(Span::styled(
            format!(" {} · {}: every version, newest first ", h.release, h.env),
            t.title,
        ));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(history) = &h.history else {
        frame.render_widget(Paragraph::new(" reading the ledger…").style(t.muted), inner);
        return;
    };
    if history.lines.is_empty() {
        frame.render_widget(
            Paragraph::new(" no version went there yet").style(t.muted),
            inner,
        );
        return;
    }
    // Entries wrap rather than lose who approved and what passed; the
    // view scrolls by entry, and only entries from the scroll on are laid out.
    let lines: Vec<Line> = history
        .lines
        .iter()
        .enumerate()
        .skip(h.scroll)
        .take(usize::from(inner.height))
        .map(|(i, l)| {
            let style = if i == h.scroll { t.selection } else { t.text };
            Line::from(Span::styled(format!(" {l}"), style))
        })
        .collect();
    frame.render_widget(
        Paragraph::new(lines).wrap(ratatui::widgets::Wrap { trim: false }),
        inner,
    );
    if let Some(p) = &h.rollback {
        super::overlay::rollback_prompt(frame, app, h, p, area);
    }
}

/// The status row: a toast, else the first warning, else the legend.
fn status_line(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let width = usize::from(area.width);
    let line = if let Some(toast) = &app.toast {
        crate::tui::widgets::toast_line(&toast.text, toast.error, t)
    } else if let Some(w) = app.snap.warnings.first() {
        crate::tui::widgets::toast_line(w, true, t)
    } else {
        let mut spans = vec![Span::raw(" ")];
        for s in CellState::ALL.iter().filter(|s| **s != CellState::Empty) {
            spans.push(Span::styled(format!("{} ", s.glyph()), cell_style(t, *s)));
            spans.push(Span::styled(format!("{}  ", s.word()), t.muted));
        }
        Line::from(spans)
    };
    frame.render_widget(Paragraph::new(fit(line, width)), area);
}

fn footer_line(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let bar = t.status_bar;
    let prompting = app.history.as_ref().is_some_and(|h| h.rollback.is_some());
    let line = if prompting {
        Line::from(vec![
            Span::styled(" Enter", bar.add_modifier(Modifier::BOLD)),
            Span::styled(" start the rollback ", bar),
            Span::styled(" Esc", bar.add_modifier(Modifier::BOLD)),
            Span::styled(" cancel ", bar),
        ])
    } else if app.typing {
        Line::from(vec![
            Span::styled(" filter: ", bar.add_modifier(Modifier::BOLD)),
            Span::styled(crate::text::neutral::line(&app.filter).into_owned(), bar),
            Span::styled("▏", bar),
            Span::styled(
                format!("   {}", TYPING_HELP.trim_start_matches("while filtering: ")),
                bar,
            ),
        ])
    } else {
        let mut spans = Vec::new();
        let mut used = 0;
        for (key, what) in keymap::hints(app.screen()) {
            let len = key.width() + what.width() + 3;
            if used + len > usize::from(area.width) {
                break;
            }
            used += len;
            spans.push(Span::styled(
                format!(" {key}"),
                bar.add_modifier(Modifier::BOLD),
            ));
            spans.push(Span::styled(format!(" {what} "), bar));
        }
        Line::from(spans)
    };
    frame.render_widget(Paragraph::new(line).style(bar), area);
}
