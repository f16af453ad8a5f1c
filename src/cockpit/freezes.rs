//! The freezes a cockpit shows in its header (`stopline::upcoming`),
//! read off its loop and again every [`FREEZE_POLL`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::mpsc;

/// How often the cockpit reads the freezes again (a freeze that starts
/// shows within this; `slate freeze` shows within this too).
const FREEZE_POLL: Duration = Duration::from_secs(30);

/// Reads the freezes on the plan's environments now and every
/// [`FREEZE_POLL`], off the loop, until the cockpit goes. The plan's own
/// windows always; the config's and the store's only for the user whose
/// state directory holds the run: they are what its engine obeys, and a
/// viewer from another account must not be shown its own policy as the run's.
pub fn read(
    run_dir: PathBuf,
    plan: &crate::plan::Plan,
) -> mpsc::Receiver<Vec<crate::stopline::upcoming::Upcoming>> {
    use std::os::unix::fs::MetadataExt;
    let (tx, rx) = mpsc::channel(1);
    let plan_windows = plan.windows.clone();
    let envs: Vec<String> = plan.environments.iter().map(|e| e.name.clone()).collect();
    let Some(state_dir) = run_dir
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
    else {
        return rx;
    };
    tokio::spawn(async move {
        let mut store: Option<Box<dyn crate::store::Store>> = None;
        loop {
            let dir = state_dir.clone();
            let mut windows = plan_windows.clone();
            let env_list = envs.clone();
            let mut held = store.take();
            let read = tokio::task::spawn_blocking(move || {
                let now = Timestamp::now();
                let own = std::fs::metadata(&dir)
                    .is_ok_and(|m| m.uid() == nix::unistd::geteuid().as_raw());
                if own {
                    if held.is_none() {
                        held = crate::store::open(&dir).ok().map(|o| o.store);
                    }
                    let (team, _) = crate::stopline::upcoming::team_windows(
                        &crate::paths::config_dir(),
                        held.as_deref(),
                        now,
                    );
                    windows.extend(team);
                }
                let found = crate::stopline::upcoming::for_envs(
                    &windows,
                    env_list.iter().map(String::as_str),
                    now,
                );
                (found, held)
            })
            .await;
            let Ok((found, held)) = read else { return };
            store = held;
            if tx.send(found).await.is_err() {
                return;
            }
            tokio::time::sleep(FREEZE_POLL).await;
        }
    });
    rx
}
