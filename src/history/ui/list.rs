//! The list of runs as a table. Only the rows in view are formatted (and
//! only a window around them is loaded): a hundred thousand runs cost the
//! same frame as ten.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use unicode_width::UnicodeWidthStr;

use super::Areas;
use crate::history::app::App;
use crate::history::format;
use crate::markdown::ellipsize;
use crate::runs::RunSummary;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    Started,
    Release,
    Version,
    Reached,
    Outcome,
    Duration,
    Approvers,
}

impl Col {
    fn title(self) -> &'static str {
        match self {
            Col::Started => "Started",
            Col::Release => "Release",
            Col::Version => "Version",
            Col::Reached => "Reached",
            Col::Outcome => "Outcome",
            Col::Duration => "Duration",
            Col::Approvers => "Approvers",
        }
    }
}

/// The selection marker's column.
const MARK: usize = 2;
/// "✔ rolled back", the longest outcome with its glyph.
const OUTCOME_W: usize = 13;
const STARTED_W: usize = 16;
const DURATION_W: usize = 8;
/// Approvers get what is left, if at least this much…
const APPROVERS_MIN: usize = 6;
/// …and release names are cut (not below `RELEASE_MIN`) to give them this much.
const APPROVERS_WANT: usize = 12;
const RELEASE_MIN: usize = 10;

/// The columns that fit `width`, with their widths, in display order.
/// Started, release, version and outcome always show; duration, reached
/// and approvers join as room allows. Approvers are worth more than the
/// tail of a long release name, so a narrow terminal cuts names first.
fn columns(app: &App, width: usize) -> (Vec<(Col, usize)>, usize) {
    let gap = if width >= 100 { 2 } else { 1 };
    let w = app.widths;
    let mut release = w.release.clamp(7, 24);
    let mut version = w.version.clamp(7, 14);
    let reached = w.reached.clamp(7, 12);
    let everything = MARK + STARTED_W + release + version + reached + OUTCOME_W + DURATION_W;
    let wanted = everything + 6 * gap + APPROVERS_WANT;
    if wanted > width {
        let mut over = wanted - width;
        let cut = over.min(release.saturating_sub(RELEASE_MIN));
        release -= cut;
        over -= cut;
        version -= over.min(version.saturating_sub(7));
    }
    let mut used = MARK + STARTED_W + release + version + OUTCOME_W + 3 * gap;
    let with_duration = used + gap + DURATION_W <= width;
    if with_duration {
        used += gap + DURATION_W;
    }
    let with_reached = used + gap + reached <= width;
    if with_reached {
        used += gap + reached;
    }
    let approvers = width.saturating_sub(used + gap);
    let mut cols = vec![
        (Col::Started, STARTED_W),
        (Col::Release, release),
        (Col::Version, version),
    ];
    if with_reached {
        cols.push((Col::Reached, reached));
    }
    cols.push((Col::Outcome, OUTCOME_W));
    if with_duration {
        cols.push((Col::Duration, DURATION_W));
    }
    if approvers >= APPROVERS_MIN {
        cols.push((Col::Approvers, approvers));
    }
    (cols, gap)
}

fn cell(app: &App, run: &RunSummary, col: Col) -> (String, Style) {
    let t = &app.theme;
    match col {
        Col::Started => (format::started(run.started, &app.tz), t.text),
        Col::Release => (run.release.clone(), t.text.add_modifier(Modifier::BOLD)),
        Col::Version => (run.version.clone(), t.text),
        Col::Reached => (
            run.reached.clone().unwrap_or_else(|| format::NONE.into()),
            t.text,
        ),
        Col::Outcome => (
            format!("{} {}", format::glyph(run.outcome), run.outcome.word()),
            format::style(run.outcome, t),
        ),
        Col::Duration => (format::duration(run.duration_ms), t.muted),
        Col::Approvers => (format::approvers(&run.approvers), t.muted),
    }
}

/// `text` cut or padded to exactly `width` columns.
fn fit(text: &str, width: usize, right: bool) -> String {
    let text = ellipsize(text, width);
    let pad = " ".repeat(width.saturating_sub(text.width()));
    if right {
        format!("{pad}{text}")
    } else {
        format!("{text}{pad}")
    }
}

fn row(
    app: &App,
    run: &RunSummary,
    cols: &[(Col, usize)],
    gap: usize,
    selected: bool,
) -> Line<'static> {
    let t = &app.theme;
    let over = |s: Style| if selected { s.patch(t.selection) } else { s };
    let mut spans = vec![Span::styled(
        if selected { "▸ " } else { "  " },
        over(t.accent),
    )];
    for (i, (col, w)) in cols.iter().enumerate() {
        if i > 0 {
            spans.push(Span::styled(" ".repeat(gap), over(t.text)));
        }
        let (text, style) = cell(app, run, *col);
        spans.push(Span::styled(
            fit(&text, *w, *col == Col::Duration),
            over(style),
        ));
    }
    Line::from(spans)
}

pub fn draw(frame: &mut Frame, app: &App, a: &Areas) {
    let t = &app.theme;
    let width = usize::from(a.body.width);
    let (cols, gap) = columns(app, width);
    let head_style = t.muted.add_modifier(Modifier::BOLD);
    let mut head = vec![Span::styled(" ".repeat(MARK), head_style)];
    for (i, (col, w)) in cols.iter().enumerate() {
        if i > 0 {
            head.push(Span::styled(" ".repeat(gap), head_style));
        }
        head.push(Span::styled(
            fit(col.title(), *w, *col == Col::Duration),
            head_style,
        ));
    }
    frame.render_widget(Paragraph::new(Line::from(head)), a.head);

    let rows = usize::from(a.body.height);
    if app.matched == 0 {
        let msg = if app.total == 0 {
            "No runs yet. Start one with `slate run PLAN`."
        } else {
            "No run matches the filters · Esc clears them"
        };
        let area = Rect {
            height: a.body.height.min(2),
            ..a.body
        };
        frame.render_widget(
            Paragraph::new(vec![
                Line::raw(""),
                Line::styled(format!("  {msg}"), t.muted),
            ]),
            area,
        );
    } else {
        let lines: Vec<Line> = app
            .visible()
            .take(rows)
            .map(|(i, run)| row(app, run, &cols, gap, i == app.selected))
            .collect();
        frame.render_widget(Paragraph::new(lines), a.body);
    }

    let mut counts = format!("{} of {} runs", app.matched, app.total);
    if let Some(o) = app.outcome {
        counts.push_str(&format!(" · outcome: {}", o.word()));
    }
    if !app.filter.is_empty() {
        counts.push_str(&format!(" · filter: “{}”", app.filter));
    }
    // The selected run's id (for `slate show`) and how it ended, in its own words.
    let note = match app.selected_run() {
        Some(r) if r.message.is_empty() => format!(" {}", r.run_id),
        Some(r) => format!(" {} · {}", r.run_id, r.message),
        None => String::new(),
    };
    super::status(frame, app, Line::styled(note, t.muted), counts, a.status);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_cut_with_an_ellipsis_and_padded() {
        assert_eq!(fit("checkout-service", 8, false), "checkou…");
        assert_eq!(fit("3m 12s", 8, true), "  3m 12s");
        assert_eq!(fit("dev", 5, false), "dev  ");
    }
}
