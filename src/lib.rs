//! Slate: a release cockpit in the terminal.
//!
//! `plan` reads release plans, `engine` executes them and emits records,
//! `journal` stores those records. Everything else is a client of the
//! engine's command/record API (the headless printer, the cockpit, the
//! notifier, the recorder, the control socket and the CLI verbs through
//! it), assembled in one place: `host`. `cli` parses the command line and
//! hands each verb to its module.

pub mod analysis;
pub mod board;
pub mod change;
pub mod cli;
pub mod cockpit;
pub mod control;
pub mod demo_service;
pub mod dossier;
pub mod duration;
pub mod engine;
pub mod evidence;
pub mod exit;
pub mod explain;
pub mod git;
pub mod headless;
pub mod history;
pub mod host;
pub mod identity;
pub mod journal;
pub mod logging;
pub mod markdown;
pub mod metrics;
pub mod net;
pub mod notify;
pub mod output;
pub mod paths;
pub mod plan;
pub mod probe;
pub mod recorder;
pub mod review;
pub mod runs;
pub mod secrets;
pub mod signals;
pub mod state_dir;
pub mod stats;
pub mod stopline;
pub mod store;
pub mod text;
pub mod tui;
pub mod userfile;
