//! Release, run state with elapsed time, and where the run is.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use unicode_width::UnicodeWidthStr;

use super::widgets::{fmt_ms, fmt_wait, since_ms, spinner};
use crate::cockpit::app::App;
use crate::cockpit::replay::{End, ReplayView};
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
        // The run's clock counts minutes while it goes on: the seconds are
        // counted by what is happening now (the step's clock in the
        // pipeline, the wait's below), so one counter on screen moves each
        // second, and watching over SSH costs a few bytes for it, not two.
        (Some(a), None) => crate::duration::coarse(since_ms(app, a)),
        _ => String::new(),
    };
    let release = if r.release.is_empty() {
        app.plan.release.name.clone()
    } else {
        r.release.clone()
    };
    // A replay says so first, so a screenshot of it is never taken for a live run.
    let mut spans = match &app.replay {
        Some(rv) => replay_banner(app, rv),
        None => vec![Span::styled(" slate ", t.accent)],
    };
    // Who this cockpit is to the run, when it is not the one that started it.
    let badge = match (&app.read_only, app.attached) {
        (Some(_), _) if app.replay.is_none() => Some("READ-ONLY"),
        (None, true) => Some("ATTACHED"),
        _ => None,
    };
    if let Some(b) = badge {
        spans.push(Span::styled(format!("[{b}] "), t.warn));
    }
    // What it replaces where the run is now, as the ledger said when the
    // run entered; the plan's `previous_version` only when nothing was compared.
    let change = r
        .current_env
        .and_then(|e| r.envs[e].change.as_deref().map(|c| (&r.envs[e].name, c)));
    let from = match change {
        Some((env, c)) if c.live.is_some() => {
            format!(
                " (from {} in {env})",
                c.live.as_ref().map_or("", |l| &l.version)
            )
        }
        _ => format!(" (from {})", app.plan.release.previous_version),
    };
    spans.extend([
        Span::styled(format!("{release} {}", app.plan.release.version), t.title),
        Span::styled(from, t.muted),
        Span::raw("   "),
        Span::styled(format!("{glyph} {}", r.status.word().to_uppercase()), style),
        Span::styled(format!("  {elapsed}"), t.muted),
    ]);
    let line1 = Line::from(spans);
    let used = line1.width() as u16;
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
        let decides = match app.read_only {
            Some(_) => String::new(),
            None => format!(
                " · {} decides",
                app.keymap.label(crate::cockpit::keymap::UiAction::Approve)
            ),
        };
        line2.push(Span::styled(
            format!(
                "  ◷ waiting {} ({have}/{}){decides}",
                fmt_wait(since_ms(app, w.since)),
                w.required,
            ),
            t.paused,
        ));
    }
    // A paused run's own clock, quoted like a gate's: seconds, then minutes.
    if let Some(since) = r.paused_since.filter(|_| r.status == RunStatus::Paused) {
        line2.push(Span::styled(
            format!("  ‖ paused {}", fmt_wait(since_ms(app, since))),
            t.paused,
        ));
    }
    if let Some(b) = &r.blocked {
        line2.push(Span::styled(format!("   ⚠ {}", b.reason), t.fail));
    }
    // What keeps the run out of (or stopped inside) an environment, and a
    // break-glass in effect, are said in the header while they last.
    if let Some(h) = r.held_back.as_ref().filter(|_| !r.is_finished()) {
        line2.push(Span::styled(
            format!("   ⏳ {}", h.barrier.message),
            t.paused,
        ));
    }
    if let Some(g) = r.glass_wait.as_ref().filter(|_| !r.is_finished()) {
        line2.push(Span::styled(
            format!(
                "   ⏳ BREAK-GLASS asked by {}: {} · waiting {} for a second person's approval to cross: {}",
                g.actor.user,
                g.reason,
                fmt_wait(since_ms(app, g.since)),
                g.crossed.message
            ),
            t.fail,
        ));
    }
    if !r.is_finished() {
        for g in &r.break_glass {
            line2.push(Span::styled(
                format!(
                    "   ⚠ BREAK-GLASS by {}: {}{}",
                    g.user,
                    g.reason,
                    g.approved_by
                        .as_ref()
                        .map(|(who, _)| format!(" (approved by {who})"))
                        .unwrap_or_default()
                ),
                t.fail,
            ));
        }
    }
    if let Some(f) = next_freeze(app) {
        line2.push(Span::styled(
            format!("   ❄ {}", f.line()),
            if f.now() { t.paused } else { t.muted },
        ));
    }
    // An ended run on this machine: where its dossier is (a link when the
    // terminal takes them).
    // Only whole: a path cut short is no help (it is printed on leaving).
    let mut dossier_at = None;
    if let Some(path) = app.dossier.as_ref().filter(|_| r.is_finished()) {
        const LEAD: &str = " · dossier: ";
        let x = Line::from(line2.clone()).width() as u16 + LEAD.width() as u16;
        let shown = home_relative(path);
        if x + (shown.width() as u16) < area.width {
            line2.push(Span::styled(LEAD, t.muted));
            dossier_at = Some((x, shown.width() as u16, path));
            line2.push(Span::styled(shown, t.accent));
        }
    }
    let line2 = Line::from(line2);
    let used2 = line2.width() as u16;
    frame.render_widget(Paragraph::new(vec![line1, line2]), area);
    if let Some((x, w, path)) = dossier_at.filter(|_| app.links && area.height > 1) {
        let x = area.x.saturating_add(x);
        let w = w.min(area.right().saturating_sub(x));
        let at = Rect::new(x, area.y + 1, w, 1);
        crate::tui::osc::link_cells(frame.buffer_mut(), at, &crate::tui::osc::file_url(path));
    }
    // Who else follows the run, right-aligned in what either line leaves:
    // the fullest form that fits, on the first line if it can.
    let room = |used: u16| area.width.saturating_sub(used + 2) as usize;
    let forms = watchers_forms(app);
    let placed = forms.iter().find_map(|f| {
        [(0, used), (1, used2)]
            .into_iter()
            .find(|&(_, u)| f.width() <= room(u))
            .map(|(row, _)| (row, f))
    });
    if let Some((row, text)) = placed.filter(|_| area.height > 1) {
        let w = text.width() as u16;
        let at = Rect::new(area.x + area.width - w - 1, area.y + row, w, 1);
        frame.render_widget(Paragraph::new(Span::styled(text.clone(), t.muted)), at);
    }
}

/// A path as one safe line, under `$HOME` written `~/…`.
fn home_relative(path: &std::path::Path) -> String {
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    let shown = match home.as_deref().and_then(|h| path.strip_prefix(h).ok()) {
        Some(rest) if !rest.as_os_str().is_empty() => format!("~/{}", rest.display()),
        _ => path.display().to_string(),
    };
    crate::text::neutral::line(&shown).into_owned()
}

/// The freeze to mention: the soonest on an environment the run has still
/// to finish, unless the run is held back already (the header says that
/// barrier in the engine's words).
fn next_freeze(app: &App) -> Option<&crate::stopline::upcoming::Upcoming> {
    let r = &app.run;
    if r.is_finished() {
        return None;
    }
    let ahead = |name: &str| {
        r.envs
            .iter()
            .find(|e| e.name == name)
            .is_none_or(|e| !matches!(e.status, crate::engine::state::EnvStatus::Done(_)))
    };
    app.freezes
        .iter()
        .filter(|f| {
            !(f.now()
                && r.held_back.as_ref().is_some_and(|h| {
                    h.barrier.kind == crate::engine::admission::BarrierKind::Freeze
                }))
        })
        .find(|f| f.envs.iter().any(|e| ahead(e)))
}

/// Who else follows the run, fullest first: "also here: bob watching 5m,
/// carol steering <1m", "also here: bob, carol", "+2 here". Empty when
/// nobody else follows it (or a replay, which nobody follows).
pub fn watchers_forms(app: &App) -> Vec<String> {
    let Some(w) = app.watchers.as_ref() else {
        return Vec::new();
    };
    let others: Vec<_> = w.others().collect();
    if others.is_empty() {
        return Vec::new();
    }
    let more = match w.more {
        0 => String::new(),
        n => format!(" +{n} more"),
    };
    let full = others
        .iter()
        .map(|o| {
            let how = if o.read_only { "watching" } else { "steering" };
            let since = crate::duration::coarse(since_ms(app, o.since));
            format!("{} {how} {since}", o.user)
        })
        .collect::<Vec<_>>()
        .join(", ");
    let names = others
        .iter()
        .map(|o| o.user.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    vec![
        format!("also here: {full}{more}"),
        format!("also here: {names}{more}"),
        format!("+{} here", w.others_count()),
    ]
}

/// "▶ REPLAY 4× · 14:03:12 · 120/950 · paused": what is played, how, and where.
fn replay_banner(app: &App, rv: &ReplayView) -> Vec<Span<'static>> {
    let t = &app.theme;
    let glyph = match (rv.end, rv.paused) {
        (Some(_), _) => "■",
        (None, true) => "‖",
        (None, false) => "▶",
    };
    let clock = rv.clock.to_zoned(rv.tz.clone()).strftime("%H:%M:%S");
    let mut spans = vec![
        Span::styled(
            format!(" {glyph} REPLAY {}", speed_label(rv.speed)),
            t.accent,
        ),
        Span::styled(format!(" · {clock} · {}/{}", rv.pos, rv.total), t.muted),
    ];
    match rv.end {
        Some(End::Finished) => spans.push(Span::styled(" · end", t.muted)),
        Some(End::Unfinished {
            still_running: true,
        }) => spans.push(Span::styled(" · end of journal so far", t.warn)),
        Some(End::Unfinished { .. }) => {
            spans.push(Span::styled(" · end · the run never finished", t.fail))
        }
        None if rv.paused => spans.push(Span::styled(" · paused", t.paused)),
        None => {}
    }
    if let Some(s) = rv.skipped {
        let ms = s.as_millis().max(0) as u64;
        spans.push(Span::styled(
            format!(" · ⏭ skipped {} idle", fmt_ms(ms)),
            t.warn,
        ));
    }
    spans.push(Span::raw("   "));
    spans
}

/// 0.25×, 1×, 16×: the speed without trailing zeros.
pub fn speed_label(speed: f64) -> String {
    let s = format!("{speed:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s}×")
}
