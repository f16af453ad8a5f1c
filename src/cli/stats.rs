//! `slate stats`: the delivery metrics of the ledger as text or JSON, or
//! (`--serve`) as a Prometheus endpoint. The numbers come from
//! `crate::stats`; this is argument checking and printing.

use std::path::Path;

use crate::stats::commits::Commits;
use crate::stats::serve::{self, Scope};

pub struct StatsArgs {
    pub release: Option<String>,
    pub env: Option<String>,
    pub since: String,
    pub json: bool,
    pub serve: Option<String>,
}

/// The longest window: a century, far past any ledger, short of overflow.
const LONGEST: std::time::Duration = std::time::Duration::from_secs(100 * 366 * 86_400);

fn window(text: &str) -> Result<std::time::Duration, String> {
    let d = humantime::parse_duration(text.trim())
        .map_err(|e| format!("--since {text}: {e} (write it like 90d, 2w or 12h)"))?;
    if d.is_zero() {
        return Err(format!(
            "--since {text}: the window must be longer than nothing"
        ));
    }
    if d > LONGEST {
        return Err(format!("--since {text}: at most a hundred years"));
    }
    Ok(d)
}

pub fn run(state_dir: &Path, args: &StatsArgs) -> i32 {
    let since = match window(&args.since) {
        Ok(d) => d,
        Err(e) => {
            crate::warn_user!("slate: {e}");
            return crate::exit::USAGE;
        }
    };
    let scope = Scope {
        state_dir: state_dir.to_path_buf(),
        release: args.release.clone(),
        env: args.env.clone(),
        since,
        given: args.since.trim().to_string(),
    };
    if let Some(addr) = &args.serve {
        return match serve::check_addr(addr) {
            Ok(addr) => serve::run(addr, scope),
            Err(e) => {
                crate::warn_user!("slate: {e}");
                crate::exit::USAGE
            }
        };
    }
    let Some(store) = super::ledger::open(state_dir) else {
        return 1;
    };
    let report = match crate::stats::read(store.as_ref(), &mut Commits::new(state_dir), &scope) {
        Ok(r) => r,
        Err(e) => {
            crate::warn_user!("slate: {e}");
            return 1;
        }
    };
    if args.json {
        return match crate::text::json::to_string_pretty(&report) {
            Ok(text) => {
                crate::output::out_text(&text);
                0
            }
            Err(e) => {
                crate::warn_user!("slate: {e}");
                1
            }
        };
    }
    for line in crate::stats::render::lines(&report) {
        crate::say!("{line}");
    }
    0
}
