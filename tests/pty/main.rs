//! The real `slate` binary in pseudo-terminals, driven by keystrokes like a
//! person would: the cockpit, its signals, attach and detach, history,
//! replay, review, and headless runs on a tty. Every step waits (with a
//! deadline) until the screen shows what the next keystroke needs.

use slate_testkit as common;

mod attach;
mod board;
mod cockpit;
mod cockpit_promote_e2e;
mod cockpit_signals;
mod detach;
mod headless_tty;
mod history;
mod replay;
mod review;
mod status_watch;
mod team_attach;
