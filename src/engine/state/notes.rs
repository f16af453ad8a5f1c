//! What is written about a run beside its walk: notes, notification
//! deliveries, and the post-deploy review.

use jiff::Timestamp;

use super::{Delivery, Note, RunState};
use crate::engine::event::*;

pub(super) fn apply(s: &mut RunState, event: &Event, ts: Timestamp) {
    match event {
        Event::NoteAdded { actor, text } => s.notes.push(Note {
            user: actor.user.clone(),
            text: text.clone(),
            at: ts,
        }),
        Event::NotificationSent {
            channel,
            kind,
            ok,
            attempts,
            status,
            message,
            ..
        } => s.notifications.push(Delivery {
            channel: channel.clone(),
            kind: *kind,
            ok: *ok,
            attempts: *attempts,
            status: *status,
            message: message.clone(),
            at: ts,
        }),
        Event::ReviewSaved { actor, review } => {
            s.review = Some((actor.user.clone(), review.clone()));
        }
        // Other families' events are dispatched elsewhere (`RunState::apply`).
        _ => {}
    }
}
