//! Locks, holds, freezes and break-glass: what kept the run waiting or
//! refused it, and any line it crossed. Written only when something did, so
//! an ordinary run's dossier reads as before.

use super::input::Input;
use super::md;
use crate::engine::event::Event;

pub fn write(out: &mut String, input: &Input) {
    let s = &input.state;
    let env = |e: usize| s.envs.get(e).map(|v| v.name.as_str()).unwrap_or("?");
    let mut items = Vec::new();
    for r in input.records {
        let line = match &r.event {
            Event::BreakGlass {
                env: e,
                actor,
                reason,
                crossed,
            } => format!(
                "{} **BREAK-GLASS** into {} by {}: {} (crossed: {})",
                md::time(r.ts),
                md::text(env(*e)),
                md::text(&actor.user),
                md::text(reason),
                md::text(&crossed.message)
            ),
            Event::BreakGlassRefused {
                env: e,
                actor,
                reason,
                why,
            } => format!(
                "{} break-glass into {} by {} refused ({}): {}",
                md::time(r.ts),
                md::text(env(*e)),
                md::text(&actor.user),
                md::text(reason),
                md::text(why)
            ),
            Event::EnvBlocked {
                env: e,
                barrier,
                until,
                in_flight,
            } => {
                let how = match (in_flight, until) {
                    (true, _) => "stopped inside".to_string(),
                    (false, Some(u)) => format!("waited (up to {})", md::time(*u)),
                    (false, None) => "refused".to_string(),
                };
                format!(
                    "{} {} {how}: {}",
                    md::time(r.ts),
                    md::text(env(*e)),
                    md::text(&barrier.message)
                )
            }
            Event::EnvCleared { env: e } => {
                format!("{} {} free again", md::time(r.ts), md::text(env(*e)))
            }
            _ => continue,
        };
        items.push(line);
    }
    if items.is_empty() {
        return;
    }
    md::heading(out, 3, "Locks, freezes and break-glass");
    md::bullets(out, &items);
}
