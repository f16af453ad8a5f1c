//! The engine host process: the cockpit's release runs in a process of its
//! own, so the cockpit can close (`q` → detach, a dropped SSH session) while
//! the release goes on, and the shell gets its prompt back.
//!
//! `slate run PLAN` and `slate demo` start the same binary with the same
//! arguments plus the hidden `--serve` ([`launch::start`]). That process
//! ([`serve`]) runs in its own session (the terminal's SIGHUP never reaches
//! it), hosts the engine and its control socket, and answers with one line on
//! stdout: `ready <run_dir>` once the socket listens, or what went wrong
//! (then it exits 2 for an invalid plan, 1 otherwise). The cockpit then
//! attaches to the run through the socket, like `slate attach`.
//!
//! After the run the host lingers, for late rollbacks and notes, while
//! anyone follows the run; once the run is over and nobody follows it, it
//! shuts the engine down and exits (0 released, 1 not).

pub mod launch;
pub mod serve;

pub use launch::{Failed, Ready, start};
pub use serve::{host, serve_plan, serve_recover};

/// The hidden flag that makes `slate run` / `slate demo` the engine host.
pub const SERVE_FLAG: &str = "--serve";

/// The handshake's success line: `ready <run_dir>`.
pub const READY: &str = "ready ";
