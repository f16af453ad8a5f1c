//! `slate screenshot --board -o FILE`: the board as this state directory's
//! store shows it now, rendered into a buffer and written as SVG. README's
//! picture of the board is made this way from real runs, so it shows the
//! real screen, not a drawing of one.

use std::path::Path;

use jiff::Timestamp;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::app::App;
use crate::cockpit::keymap::Keymap;
use crate::tui::theme::Theme;

pub fn run(
    out: &Path,
    width: u16,
    height: u16,
    theme: &str,
    state_dir: &Path,
) -> Result<(), String> {
    let theme =
        Theme::builtin(theme).ok_or_else(|| format!("unknown built-in theme `{theme}`"))??;
    let opened = crate::store::open(state_dir).map_err(|e| e.to_string())?;
    let me = crate::engine::Actor::current("screenshot").user;
    let snap = super::snapshot::read(opened.store.as_ref(), state_dir, &me);
    let mut app = App::new(theme, Keymap::default());
    app.resize(width, height);
    app.tick(Timestamp::now());
    app.set_snapshot(snap);
    let mut terminal = Terminal::new(TestBackend::new(width, height)).map_err(|e| e.to_string())?;
    terminal
        .draw(|f| super::ui::draw(f, &app))
        .map_err(|e| e.to_string())?;
    std::fs::write(out, crate::tui::svg::to_svg(terminal.backend().buffer()))
        .map_err(|e| format!("{}: {e}", out.display()))
}
