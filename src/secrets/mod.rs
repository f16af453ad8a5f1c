//! Secrets: resolved when a run starts (and again when it is recovered),
//! handed to the stages that name them as environment variables, and masked
//! out of every record before it is journaled — so the journal, the dossier,
//! the history, webhooks, headless output and every screen (all of which are
//! made from records) never hold a value.
//!
//! Values live only in the engine's memory and in the environment of the
//! stage commands that asked for them. Nothing here logs a value.

mod mask;
mod resolve;
pub mod url;

pub use mask::Masker;
pub use resolve::{MIN_LEN, Resolved, resolve, source_variables};
