//! `slate screenshot PLAN -o FILE`: runs a plan for real until its first
//! manual gate (or its end), renders the cockpit into a buffer and writes it
//! as SVG. README's picture is made this way, so it always shows the real UI.

use std::path::Path;
use std::time::Duration;

use jiff::Timestamp;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::app::App;
use super::keymap::Keymap;
use crate::engine::event::Event;
use crate::engine::{Action, Actor, Engine, EngineOptions, Unattended};
use crate::tui::theme::Theme;

pub async fn run(
    plan_path: &Path,
    out: &Path,
    width: u16,
    height: u16,
    theme: &str,
    state_dir: &Path,
) -> Result<(), String> {
    let plan = crate::plan::load_file(plan_path).map_err(|e| e.to_string())?;
    let theme =
        Theme::builtin(theme).ok_or_else(|| format!("unknown built-in theme `{theme}`"))??;
    let actor = Actor::current("screenshot");
    let mut opts = EngineOptions::new(plan_path.display().to_string(), state_dir, actor.clone());
    opts.unattended = Unattended::Wait;
    let (engine, handle) = Engine::new(plan.clone(), opts).map_err(|e| e.0)?;
    let mut rx = handle.subscribe();
    let task = tokio::spawn(engine.run());
    let mut app = App::new(plan, Keymap::default(), theme);
    app.view.size = ratatui::layout::Rect::new(0, 0, width, height);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let rec = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .map_err(|_| "the plan reached no manual gate within 2 minutes".to_string())?
            .map_err(|e| format!("lost the engine's records: {e}"))?;
        app.apply_record(&rec);
        match rec.event {
            Event::GateWaiting { .. } | Event::RunFinished { .. } => break,
            _ => {}
        }
    }
    app.now = Timestamp::now();
    let mut terminal = Terminal::new(TestBackend::new(width, height)).map_err(|e| e.to_string())?;
    terminal
        .draw(|f| super::ui::draw(f, &app))
        .map_err(|e| e.to_string())?;
    std::fs::write(out, crate::tui::svg::to_svg(terminal.backend().buffer()))
        .map_err(|e| format!("{}: {e}", out.display()))?;
    // Leave nothing half-done behind the picture.
    let _ = handle
        .send(
            actor,
            Action::Abort {
                reason: "screenshot taken".into(),
            },
        )
        .await;
    let _ = tokio::time::timeout(Duration::from_secs(30), task).await;
    Ok(())
}
