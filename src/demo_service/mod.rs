//! `slate demo-service`: the bundled demo's fleet (placeholder; being written).

/// Hidden subcommands that start, steer and stop demo service instances.
#[derive(Debug, clap::Subcommand)]
pub enum DemoServiceCmd {}

pub fn run(cmd: DemoServiceCmd) -> i32 {
    match cmd {}
}

/// Placeholder until the fleet control lands.
pub fn stop_all(_dir: &std::path::Path) -> usize {
    0
}
