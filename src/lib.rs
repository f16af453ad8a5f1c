//! Slate: a release cockpit in the terminal.
//!
//! `plan` reads release plans, `engine` executes them and emits records,
//! `journal` stores those records, and the clients (`headless`, later the
//! cockpit and attach) drive the engine through its command/event API.

pub mod analysis;
pub mod cli;
pub mod cockpit;
pub mod commands_control;
pub mod commands_demo;
pub mod commands_dossier;
pub mod commands_memory;
pub mod commands_show;
pub mod commands_validate;
pub mod control;
pub mod demo_service;
pub mod dossier;
pub mod engine;
pub mod evidence;
pub mod headless;
pub mod history;
pub mod host;
pub mod journal;
pub mod logging;
pub mod markdown;
pub mod metrics;
pub mod notify;
pub mod output;
pub mod paths;
pub mod plan;
pub mod probe;
pub mod review;
pub mod runs;
pub mod secrets;
