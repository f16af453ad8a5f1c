//! `slate demo`: the bundled release on a real local fleet, in the cockpit or
//! headless, needing nothing but the binary.
//!
//! The plan template is compiled in; the demo fills in free loopback ports,
//! the version (the bad-canary scenario ships a bad build) and timings
//! (`--fast` shrinks them for tests), writes it under the state directory,
//! starts the fleet at the previous version, and stops every instance when it
//! ends. Instances also watch the demo's pid, so they exit even if the demo is
//! killed outright. One more instance, `hooks`, serves no traffic: it is where
//! the plan's Slack-format channel posts, so the demo shows real webhook
//! deliveries (each one logged in `fleet/hooks.log`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The demo's plan, with `@NAME@` values still to fill in.
pub const DEMO_TEMPLATE: &str = include_str!("../assets/demo/plan.toml");

/// The version the fleet runs before the demo release (the plan's `previous_version`).
pub const STABLE_VERSION: &str = "2.4.1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// A healthy release: dev, staging, then prod through a canary
    Good,
    /// The canary's error ratio climbs past its threshold and prod rolls back by itself
    BadCanary,
}

impl Scenario {
    pub fn version(self) -> &'static str {
        match self {
            Scenario::Good => "2.5.0",
            Scenario::BadCanary => "2.5.0-bad.1",
        }
    }
}

/// What `prepare` set up, for running the plan and cleaning up after it.
pub struct Demo {
    pub plan: PathBuf,
    pub fleet: PathBuf,
    pub ports: Ports,
}

#[derive(Debug, Clone, Copy)]
pub struct Ports {
    pub dev: u16,
    pub staging: u16,
    pub prod: u16,
    pub canary: u16,
    /// The `hooks` instance, which receives the plan's notifications.
    pub hooks: u16,
}

/// Fills in the template.
pub fn render(scenario: Scenario, fast: bool, ports: Ports) -> String {
    let (window, interval, range, sleep, ramp, cadence) = if fast {
        (
            "2s",
            "400ms",
            "800ms",
            "0.1",
            "--ramp-after 300ms --ramp-for 1s",
            "5s",
        )
    } else {
        (
            "10s",
            "2s",
            "4s",
            "1",
            "--ramp-after 3s --ramp-for 8s",
            "30s",
        )
    };
    let values = [
        ("@VERSION@", scenario.version().to_string()),
        ("@DEV_PORT@", ports.dev.to_string()),
        ("@STAGING_PORT@", ports.staging.to_string()),
        ("@PROD_PORT@", ports.prod.to_string()),
        ("@CANARY_PORT@", ports.canary.to_string()),
        ("@HOOKS_PORT@", ports.hooks.to_string()),
        ("@CADENCE@", cadence.into()),
        ("@WINDOW@", window.into()),
        ("@INTERVAL@", interval.into()),
        ("@RANGE@", range.into()),
        ("@STEP_SLEEP@", sleep.into()),
        ("@RAMP@", ramp.into()),
        // Enough synthetic traffic that a 10% canary's error ratio is not noise.
        ("@RATE@", "--rate 1000".into()),
    ];
    let mut text = DEMO_TEMPLATE.to_string();
    for (k, v) in values {
        text = text.replace(k, &v);
    }
    text
}

/// Writes the filled-in plan into `<state>/demo/` and clears any fleet an earlier demo left.
pub fn prepare(state_dir: &Path, scenario: Scenario, fast: bool) -> std::io::Result<Demo> {
    let dir = state_dir.join("demo");
    crate::paths::ensure_private_dir(&dir)?;
    let fleet = dir.join("fleet");
    crate::paths::ensure_private_dir(&fleet)?;
    crate::demo_service::stop_all(&fleet);
    let ports = free_ports()?;
    let plan = dir.join("plan.toml");
    std::fs::write(&plan, render(scenario, fast, ports))?;
    Ok(Demo { plan, fleet, ports })
}

/// Starts dev, staging and prod at the stable version (the release moves
/// them on), and the `hooks` instance the plan's channel posts to.
pub fn start_fleet(demo: &Demo, exe: &Path) -> Result<(), String> {
    for (name, port, rate) in [
        ("dev", demo.ports.dev, "1000"),
        ("staging", demo.ports.staging, "1000"),
        ("prod", demo.ports.prod, "1000"),
        // Never restarted by the release, and no synthetic traffic of its own.
        ("hooks", demo.ports.hooks, "0"),
    ] {
        let out = Command::new(exe)
            .args([
                "demo-service",
                "start",
                "--name",
                name,
                "--version",
                STABLE_VERSION,
            ])
            .args(["--port", &port.to_string(), "--rate", rate, "--dir"])
            .arg(&demo.fleet)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot start the demo fleet: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "cannot start the demo's {name} instance: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
    }
    Ok(())
}

/// Stops every instance of the fleet; returns how many were running.
pub fn stop_fleet(demo: &Demo) -> usize {
    crate::demo_service::stop_all(&demo.fleet)
}

/// Five distinct free loopback ports (bound together, so never the same one twice).
fn free_ports() -> std::io::Result<Ports> {
    let socks: Vec<std::net::TcpListener> = (0..5)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<_, _>>()?;
    let p: Vec<u16> = socks
        .iter()
        .map(|s| s.local_addr().map(|a| a.port()))
        .collect::<Result<_, _>>()?;
    Ok(Ports {
        dev: p[0],
        staging: p[1],
        prod: p[2],
        canary: p[3],
        hooks: p[4],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_placeholder_is_filled_and_the_plan_is_valid() {
        let ports = Ports {
            dev: 18001,
            staging: 18002,
            prod: 18003,
            canary: 18004,
            hooks: 18005,
        };
        for scenario in [Scenario::Good, Scenario::BadCanary] {
            for fast in [false, true] {
                let text = render(scenario, fast, ports);
                let left: Vec<&str> = text
                    .match_indices('@')
                    .map(|(i, _)| &text[i..(i + 12).min(text.len())])
                    .filter(|s| s[1..].starts_with(|c: char| c.is_ascii_uppercase()))
                    .collect();
                assert!(left.is_empty(), "unfilled: {left:?}");
                let plan = crate::plan::parse(&text, "demo.toml", ".".into())
                    .unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(plan.release.version, scenario.version());
                assert_eq!(plan.channels.len(), 1);
                assert_eq!(plan.channels[0].url, "http://127.0.0.1:18005/hooks");
                assert!(plan.communication.cadence.is_some());
            }
        }
    }
}
