//! Drawing: a pure function of [`App`]. Nothing here does I/O or changes state.
//! Dialogs draw themselves (`cockpit/dialog/`), over the panels.
//!
//! Wide terminals show all panels; narrow ones keep the header, the matrix
//! and the status line and show one of the other panels at a time as tabs.

mod header;
mod logs;
mod matrix;
mod metrics;
mod pipeline;
mod spark;
mod status;
pub mod widgets;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Clear, Paragraph};

use super::app::{App, Panel};

pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 16;
/// At or above this width (and height) every panel gets its own place.
pub const WIDE_WIDTH: u16 = 120;
pub const WIDE_HEIGHT: u16 = 32;

/// Where each panel sits for a terminal of this size (shared with mouse handling).
pub struct Areas {
    pub header: Rect,
    pub panels: Vec<(Panel, Rect)>,
    /// Narrow layouts show one of pipeline/logs/checks with a tab bar above it.
    pub tabs: Option<Rect>,
    pub status: Rect,
    pub footer: Rect,
}

pub fn areas(app: &App, area: Rect) -> Areas {
    let envs = app.run.envs.len().max(1) as u16;
    let deltas = if app.view.expanded {
        app.plan
            .config_deltas(
                app.shown_env()
                    .min(app.plan.environments.len().saturating_sub(1)),
            )
            .len() as u16
    } else {
        0
    };
    let [header, body, status, footer] = area.layout(&Layout::vertical([
        Constraint::Length(2),
        Constraint::Fill(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ]));
    let matrix_h = (envs + deltas + 3).min(body.height / 2).max(4);
    // Zoomed: the focused panel takes the whole body (lazygit's full view).
    if app.view.zoom {
        return Areas {
            header,
            panels: vec![(app.view.focus, body)],
            tabs: None,
            status,
            footer,
        };
    }
    if area.width >= WIDE_WIDTH && area.height >= WIDE_HEIGHT {
        // The matrix is a table: it gets the full width; the rest splits below it.
        let [matrix, rest] = body.layout(&Layout::vertical([
            Constraint::Length(matrix_h),
            Constraint::Fill(1),
        ]));
        let [pipeline, right] = rest.layout(&Layout::horizontal([
            Constraint::Percentage(38),
            Constraint::Percentage(62),
        ]));
        let metrics_h = metrics::wanted_height(app).clamp(4, right.height / 2);
        let [logs, metrics] = right.layout(&Layout::vertical([
            Constraint::Fill(1),
            Constraint::Length(metrics_h),
        ]));
        Areas {
            header,
            panels: vec![
                (Panel::Matrix, matrix),
                (Panel::Pipeline, pipeline),
                (Panel::Logs, logs),
                (Panel::Metrics, metrics),
            ],
            tabs: None,
            status,
            footer,
        }
    } else {
        let [matrix, tabs, rest] = body.layout(&Layout::vertical([
            Constraint::Length(matrix_h),
            Constraint::Length(1),
            Constraint::Fill(1),
        ]));
        Areas {
            header,
            panels: vec![(Panel::Matrix, matrix), (tabbed_panel(app), rest)],
            tabs: Some(tabs),
            status,
            footer,
        }
    }
}

/// In a narrow layout: the focused panel, or logs while the matrix has focus.
pub fn tabbed_panel(app: &App) -> Panel {
    match app.view.focus {
        Panel::Matrix => Panel::Logs,
        p => p,
    }
}

pub fn draw(frame: &mut Frame, app: &App) {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let msg = format!(
            "terminal too small: {}×{} (Slate needs at least {MIN_WIDTH}×{MIN_HEIGHT}); the release keeps running",
            area.width, area.height
        );
        frame.render_widget(Clear, area);
        frame.render_widget(
            Paragraph::new(Line::from(msg).style(app.theme.warn))
                .wrap(ratatui::widgets::Wrap { trim: true }),
            area,
        );
        return;
    }
    let a = areas(app, area);
    header::draw(frame, app, a.header);
    for (panel, rect) in &a.panels {
        match panel {
            Panel::Matrix => matrix::draw(frame, app, *rect),
            Panel::Pipeline => pipeline::draw(frame, app, *rect),
            Panel::Logs => logs::draw(frame, app, *rect),
            Panel::Metrics => metrics::draw(frame, app, *rect),
        }
    }
    if let Some(t) = a.tabs {
        status::tabs(frame, app, t);
    }
    status::status_line(frame, app, a.status);
    status::footer(frame, app, a.footer);
    if app.modal.is_some() {
        super::dialog::draw(frame, app, area);
    }
}
