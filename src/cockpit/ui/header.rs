//! Release, run state with elapsed time, and where the run is.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::widgets::{fmt_ms, since_ms, spinner};
use crate::cockpit::app::App;
use crate::engine::event::RunOutcome;
use crate::engine::state::RunStatus;

pub fn draw(frame: &mut Frame, app: &App, area: Rect) {
    let t = &app.theme;
    let r = &app.run;
    let (glyph, style) = match r.status {
        RunStatus::Starting => ("…", t.muted),
        RunStatus::Running => (spinner(app), t.running),
        RunStatus::WaitingApproval => ("◷", t.paused),
        RunStatus::Pausing => ("‖…", t.paused),
        RunStatus::Paused => ("‖", t.paused),
        RunStatus::RollingBack => ("↶", t.warn),
        RunStatus::Blocked => ("⚠", t.fail),
        RunStatus::Finished(RunOutcome::Released) => ("✔", t.ok),
        RunStatus::Finished(_) => ("✘", t.fail),
    };
    let elapsed = match (r.started, r.finished) {
        (Some(a), Some(b)) => fmt_ms(b.duration_since(a).as_millis().max(0) as u64),
        (Some(a), None) => fmt_ms(since_ms(app, a)),
        _ => String::new(),
    };
    let release = if r.release.is_empty() {
        app.plan.release.name.clone()
    } else {
        r.release.clone()
    };
    let line1 = Line::from(vec![
        Span::styled(" slate ", t.accent),
        Span::styled(format!("{release} {}", app.plan.release.version), t.title),
        Span::styled(
            format!(" (from {})", app.plan.release.previous_version),
            t.muted,
        ),
        Span::raw("   "),
        Span::styled(format!("{glyph} {}", r.status.word().to_uppercase()), style),
        Span::styled(format!("  {elapsed}"), t.muted),
    ]);
    let where_ = match (
        r.current_env,
        r.current_env.and_then(|e| r.envs[e].current_step),
    ) {
        _ if r.is_finished() => r.message.clone(),
        (Some(e), Some(s)) => format!("{} · {}", r.envs[e].name, r.envs[e].steps[s].label),
        (Some(e), None) => r.envs[e].name.clone(),
        _ => "starting…".to_string(),
    };
    let mut line2 = vec![Span::styled(format!(" {where_}"), t.text)];
    if let Some(w) = &r.waiting {
        let have = r.envs[w.env]
            .approvals
            .iter()
            .filter(|a| a.gate == w.gate && a.step == w.step)
            .count();
        line2.push(Span::styled(
            format!(
                "  ◷ waiting {} ({have}/{}) · {} decides",
                fmt_ms(since_ms(app, w.since)),
                w.required,
                app.keymap.label(crate::cockpit::keymap::UiAction::Approve)
            ),
            t.paused,
        ));
    }
    if let Some(b) = &r.blocked {
        line2.push(Span::styled(format!("   ⚠ {}", b.reason), t.fail));
    }
    frame.render_widget(Paragraph::new(vec![line1, Line::from(line2)]), area);
}
