//! `weight` and `stop`: steering and ending instances that are already
//! running.

use super::args::{StopArgs, WeightArgs, validate_name, validate_weight};
use super::client;
use super::fleet::{self, Stopped};

pub fn weight(args: WeightArgs) -> Result<(), String> {
    validate_weight(args.value, "--value")?;
    // With --name/--dir the record gives the port and is kept up to date.
    let fleet_entry = match (&args.name, &args.dir) {
        (Some(name), Some(dir)) => {
            validate_name(name)?;
            Some((dir, fleet::read_record(dir, name)?))
        }
        _ => None,
    };
    let port = match (&fleet_entry, args.port) {
        (Some((_, rec)), _) => rec.port,
        (None, Some(p)) if p != 0 => p,
        _ => return Err("--port must name the instance's port (1..=65535)".into()),
    };
    let rt = client::runtime()?;
    let http = client::http()?;
    let name = rt.block_on(client::set_weight(&http, port, args.value))?;
    if let Some((dir, mut rec)) = fleet_entry {
        rec.weight = args.value;
        fleet::write_record(dir, &rec)?;
    }
    crate::say!("{name} weight {}", args.value);
    Ok(())
}

pub fn stop(args: StopArgs) -> Result<(), String> {
    let dir = args.dir.as_path();
    let names = match &args.name {
        Some(name) => {
            validate_name(name)?;
            vec![name.clone()]
        }
        None => fleet::names(dir),
    };
    let mut ended = Vec::new();
    for name in &names {
        match fleet::stop(dir, name)? {
            Stopped::Ended(pid) => ended.push(format!("{name} (pid {pid})")),
            Stopped::NotRunning => {}
            Stopped::Stranger(pid) => crate::warn_user!(
                "slate demo-service: {name}: pid {pid} is not a demo-service instance; \
                 left it alone and removed the stale pidfile"
            ),
        }
    }
    match (&args.name, ended.is_empty()) {
        (Some(name), true) => crate::say!("{name} is not running"),
        (None, true) => crate::say!("nothing running in {}", dir.display()),
        (_, false) => crate::say!("stopped {}", ended.join(", ")),
    }
    Ok(())
}
