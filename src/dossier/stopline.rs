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
                approved_by,
            } => format!(
                "{} **BREAK-GLASS** into {} by {}: {} (crossed: {}){}",
                md::time(r.ts),
                md::text(env(*e)),
                md::text(&actor.user),
                md::text(reason),
                md::text(&crossed.message),
                approved_by
                    .as_ref()
                    .map(|a| format!(", approved by {}", md::text(&a.user)))
                    .unwrap_or_default()
            ),
            Event::BreakGlassRequested {
                env: e,
                actor,
                reason,
                crossed,
            } => format!(
                "{} break-glass into {} asked by {}: {} (to cross: {}); waited for a second person's approval",
                md::time(r.ts),
                md::text(env(*e)),
                md::text(&actor.user),
                md::text(reason),
                md::text(&crossed.message)
            ),
            Event::BreakGlassApproved {
                env: e,
                actor,
                comment,
            } => format!(
                "{} break-glass into {} approved by {}: {}",
                md::time(r.ts),
                md::text(env(*e)),
                md::text(&actor.user),
                md::text(comment)
            ),
            Event::BreakGlassRejected {
                env: e,
                actor,
                reason,
            } => format!(
                "{} break-glass into {} rejected by {}: {}",
                md::time(r.ts),
                md::text(env(*e)),
                md::text(&actor.user),
                md::text(reason)
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
