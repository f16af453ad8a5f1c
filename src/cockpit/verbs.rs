//! The palette's verbs beyond the run (`:lock`, `:freeze`, `:export`),
//! carried out as their CLI verbs do it, off the cockpit's loop.

use std::path::Path;

/// Carries out a palette verb for the run in `run_dir`, as its CLI verb
/// would: what it was, and what it said. A hold or a freeze goes to the
/// store of the run's state directory, so only the user who owns it may
/// (another account stops its own line with `slate lock`).
pub fn carry_out(
    run_dir: &Path,
    verb: crate::cockpit::app::Verb,
) -> (String, crate::cli::said::Said) {
    use crate::cli::said::Said;
    use crate::cockpit::app::Verb;
    use std::os::unix::fs::MetadataExt;
    let state_dir = run_dir.parent().and_then(Path::parent).unwrap_or(run_dir);
    let own =
        std::fs::metadata(state_dir).is_ok_and(|m| m.uid() == nix::unistd::geteuid().as_raw());
    let not_own = || {
        Said::fail(
            1,
            "this run's state directory is another user's: stop the line from your own with `slate lock` or `slate freeze`",
        )
    };
    // A demo's environments are its own fleet: no lock or freeze binds it,
    // so stopping the line from its cockpit would only mislead.
    let demo = run_dir.join(crate::cli::demo::FLEET_DIR).is_dir();
    let own = own && !demo;
    let not_own = || {
        if demo {
            Said::fail(
                1,
                "the demo's environments are its own fleet, which locks and freezes do not bind: `slate lock` and `slate freeze` stop the line for real runs",
            )
        } else {
            not_own()
        }
    };
    match verb {
        Verb::Hold { env, reason } => (
            "lock".into(),
            if own {
                crate::cli::locks::hold(state_dir, &env, None, &reason, "cockpit")
            } else {
                not_own()
            },
        ),
        Verb::Freeze { env, until, reason } => (
            "freeze".into(),
            if own {
                crate::cli::locks::add_freeze(
                    state_dir, &env, &until, None, None, &reason, "cockpit",
                )
            } else {
                not_own()
            },
        ),
        Verb::Export { path } => ("export".into(), crate::cli::export::to_file(run_dir, &path)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cockpit::app::Verb;

    /// A demo run's cockpit refuses to stop the line: its fleet is its own,
    /// and a hold or freeze written to the store would not bind it.
    #[test]
    fn a_demo_cockpit_refuses_lock_and_freeze_and_writes_nothing() {
        let state = tempfile::TempDir::new().unwrap();
        let run_dir = state.path().join("runs").join("20261204-000000.000-demo");
        std::fs::create_dir_all(run_dir.join(crate::cli::demo::FLEET_DIR)).unwrap();
        for verb in [
            Verb::Hold {
                env: "prod".into(),
                reason: "why".into(),
            },
            Verb::Freeze {
                env: "prod".into(),
                until: "1h".into(),
                reason: "why".into(),
            },
        ] {
            let (_, said) = carry_out(&run_dir, verb);
            assert_eq!(said.code, 1);
            assert!(
                said.first()
                    .0
                    .starts_with("the demo's environments are its own fleet")
            );
        }
        assert!(
            !state.path().join(crate::store::STORE_FILE).exists(),
            "no store was written"
        );
    }
}
