//! insta snapshots of rendered screens, drawn into ratatui's `TestBackend`:
//! the cockpit, evidence gates, the history browser, replay and the review
//! form. Snapshot files are in `snapshots/`, named `screens__MODULE__NAME`.
//! Regenerate one module's with
//! `INSTA_UPDATE=always cargo test --test screens MODULE::` and review every
//! changed `.snap` as a screen.

use slate_testkit as common;

mod board;
mod cockpit;
mod cockpit_promote;
mod evidence;
mod history;
mod replay;
mod review;
mod stopline_cockpit;
mod watchers;
