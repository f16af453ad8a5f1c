//! `slate demo`: the bundled release on a real local fleet, in the cockpit or
//! headless, needing nothing but the binary.
//!
//! The plan template is compiled in; the demo fills in free loopback ports,
//! the version (the bad-canary scenario ships a bad build) and timings
//! (`--fast` shrinks them for tests) and writes it in a directory of its own
//! under the state directory. Once the run is assembled, it starts the fleet
//! at the previous version in the run's own `fleet/` directory, and stops
//! that fleet (and no other) when the run ends. Each instance belongs to the
//! run: it lives while an engine holds the run's lock, so a demo killed
//! outright leaves nothing running, and `slate recover` brings the fleet
//! back as its records say before it carries the release on. One more instance,
//! `hooks`, serves no traffic: it is where the plan's Slack-format channel
//! posts, so the demo shows real webhook deliveries (each one logged in the
//! fleet's `hooks.log`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::host::{self, Front, Source};

/// `slate demo`'s arguments, as parsed.
pub struct DemoArgs {
    pub scenario: Scenario,
    pub fast: bool,
    pub headless: bool,
    pub json: bool,
    pub theme: Option<String>,
    pub serve: bool,
}

/// `slate demo`: in the cockpit, starts its engine host (`slate demo …
/// --serve`), which prepares the demo and owns the fleet; headless (or as
/// that host), prepares it, runs it, and stops its fleet.
pub fn run(args: DemoArgs, state_dir: &Path, config_dir: &Path) -> i32 {
    if !args.headless && !args.serve {
        let cockpit = crate::cockpit::CockpitArgs {
            theme: args.theme,
            plan: Some(outline(args.scenario, args.fast)),
        };
        return super::launch_cockpit(cockpit, state_dir, config_dir);
    }
    let serve = args.serve;
    super::host_block_on(serve, demo(args, state_dir))
}

async fn demo(args: DemoArgs, state_dir: &Path) -> i32 {
    let tell = |line: &str| {
        if args.serve {
            host::serve::say(line)
        } else {
            crate::warn_user!("{line}")
        }
    };
    let demo = match prepare(state_dir, args.scenario, args.fast) {
        Ok(d) => d,
        Err(e) => {
            tell(&format!(
                "slate: cannot prepare the demo in {}: {e}",
                state_dir.display()
            ));
            return crate::exit::NOT_RELEASED;
        }
    };
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => {
            tell(&format!("slate: cannot find the slate binary: {e}"));
            return crate::exit::NOT_RELEASED;
        }
    };
    let source = Source::Plan {
        set: Vec::new(),
        path: demo.plan.clone(),
        approve: Vec::new(),
        // The demo never waits for anyone (its socket still serves pause and abort).
        auto_approve: args.headless,
        lock_wait: None,
        break_glass: None,
        // Each demo deploys to a fleet of its own, in its run's directory.
        shared: false,
        unpin: None,
    };
    let front = Front::new(
        args.serve,
        host::headless::Options {
            json: args.json,
            approve: Vec::new(),
            auto_approve: true,
            no_wait: true,
            interrupted_preset: false,
        },
    );
    let mut fleet = None;
    let code = host::run_with(source, front, state_dir, |run| {
        let dir = run.handle.run_dir.clone();
        fleet = Some(dir.join(FLEET_DIR));
        start_fleet(&demo, &dir, &exe)
    })
    .await;
    if let Some(fleet) = fleet {
        crate::demo_service::stop_all(&fleet);
    }
    code
}

/// The fleet's directory inside the run's.
pub const FLEET_DIR: &str = "fleet";

/// For a demo run being recovered (its directory has a fleet): starts again
/// every instance of its fleet that died with the old engine, as its record
/// says, owned by the run. Returns the fleet's directory, to stop when the
/// run ends; `None` for a run that is not a demo.
pub fn revive_fleet(run_dir: &Path) -> Result<Option<PathBuf>, String> {
    let fleet = run_dir.join(FLEET_DIR);
    if !fleet.is_dir() {
        return Ok(None);
    }
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the slate binary: {e}"))?;
    let revived = crate::demo_service::revive(&fleet, run_dir, &exe)?;
    if !revived.is_empty() {
        tracing::info!(?revived, fleet = %fleet.display(), "the demo's fleet is back");
    }
    Ok(Some(fleet))
}

/// The demo's plan, with `@NAME@` values still to fill in.
pub const DEMO_TEMPLATE: &str = include_str!("../../assets/demo/plan.toml");

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

/// What `prepare` set up: the plan to run and the ports it names, held
/// for its instances while this lives (see `demo_service::reserve`).
pub struct Demo {
    pub plan: PathBuf,
    pub ports: Ports,
    _held: Vec<crate::demo_service::reserve::Reserved>,
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

/// The demo's plan as its engine host will write it, for the cockpit to
/// outline while that host starts: ports are the host's to pick (and hold),
/// and no part of the outline shows one.
fn outline(scenario: Scenario, fast: bool) -> crate::cockpit::Outline {
    let ports = Ports {
        dev: 1,
        staging: 2,
        prod: 3,
        canary: 4,
        hooks: 5,
    };
    crate::cockpit::Outline::Text {
        source: render(scenario, fast, ports),
        file: "demo plan".into(),
    }
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

/// Writes the filled-in plan into a directory of this demo's own,
/// `<state>/demo/<id>/plan.toml` (stages run there), so demos started
/// together never share a file.
pub fn prepare(state_dir: &Path, scenario: Scenario, fast: bool) -> std::io::Result<Demo> {
    let demos = state_dir.join("demo");
    crate::paths::ensure_private_dir(&demos)?;
    let dir = demos.join(crate::journal::new_run_id());
    crate::paths::ensure_private_dir(&dir)?;
    let held = crate::demo_service::reserve::loopback_ports(5)?;
    let p: Vec<u16> = held.iter().map(|r| r.port).collect();
    let ports = Ports {
        dev: p[0],
        staging: p[1],
        prod: p[2],
        canary: p[3],
        hooks: p[4],
    };
    let plan = dir.join("plan.toml");
    std::fs::write(&plan, render(scenario, fast, ports))?;
    Ok(Demo {
        plan,
        ports,
        _held: held,
    })
}

/// Starts dev, staging and prod at the stable version (the release moves
/// them on), and the `hooks` instance the plan's channel posts to, in the
/// run's `fleet/` directory, owned by the run.
pub fn start_fleet(demo: &Demo, run_dir: &Path, exe: &Path) -> Result<(), String> {
    let fleet = run_dir.join(FLEET_DIR);
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
            .arg(&fleet)
            .arg("--owner-run")
            .arg(run_dir)
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

#[cfg(test)]
mod tests {
    use super::*;

    const PORTS: Ports = Ports {
        dev: 18001,
        staging: 18002,
        prod: 18003,
        canary: 18004,
        hooks: 18005,
    };

    #[test]
    fn every_placeholder_is_filled_and_the_plan_is_valid() {
        let ports = PORTS;
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

    /// The cockpit's outline of the demo loads, and is the plan the host
    /// runs but for its ports: the same release and steps.
    #[test]
    fn the_outline_is_the_demos_plan_but_for_its_ports() {
        let ports = PORTS;
        for scenario in [Scenario::Good, Scenario::BadCanary] {
            for fast in [false, true] {
                let crate::cockpit::Outline::Text { source, file } = outline(scenario, fast) else {
                    panic!("the demo's outline is its text");
                };
                let outlined = crate::plan::parse(&source, &file, ".".into())
                    .unwrap_or_else(|e| panic!("{e}"));
                let run =
                    crate::plan::parse(&render(scenario, fast, ports), "demo.toml", ".".into())
                        .unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(outlined.release, run.release);
                assert_eq!(
                    crate::engine::outline(&outlined),
                    crate::engine::outline(&run)
                );
            }
        }
    }
}
