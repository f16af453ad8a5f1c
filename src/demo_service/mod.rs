//! `slate demo-service`: the bundled demo's fleet. `serve` is a real local
//! HTTP service with synthetic traffic and Prometheus metrics; `start`,
//! `weight` and `stop` are what the demo plan's stage commands use to deploy,
//! steer and retire instances of it.

mod args;
mod client;
mod control;
mod fleet;
mod metrics;
mod procs;
pub mod reserve;
mod revive;
mod routes;
mod server;
mod start;
mod state;
mod traffic;
mod watchdog;

pub use fleet::stop_all;
pub use revive::revive;
pub use traffic::is_bad_build;

/// Hidden subcommands that start, steer and stop demo service instances.
#[derive(Debug, clap::Subcommand)]
pub enum DemoServiceCmd {
    /// Run one instance in the foreground until SIGTERM/SIGINT or its owner ends
    Serve(args::ServeArgs),
    /// Launch (or relaunch) a detached instance in a fleet directory
    Start(args::StartArgs),
    /// Change a running instance's traffic weight
    Weight(args::WeightArgs),
    /// Stop one instance, or every instance, of a fleet directory
    Stop(args::StopArgs),
}

/// Runs one verb; returns the process exit code. Failures are reported as a
/// single `slate demo-service: ...` message on stderr.
pub fn run(cmd: DemoServiceCmd) -> i32 {
    let result = match cmd {
        DemoServiceCmd::Serve(a) => server::run(a),
        DemoServiceCmd::Start(a) => start::run(a),
        DemoServiceCmd::Weight(a) => control::weight(a),
        DemoServiceCmd::Stop(a) => control::stop(a),
    };
    match result {
        Ok(()) => 0,
        Err(e) => {
            crate::warn_user!("slate demo-service: {e}");
            1
        }
    }
}
