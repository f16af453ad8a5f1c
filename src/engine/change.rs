//! What promoting into an environment changes against what is live there
//! (`crate::change`): asked of the admission once the run holds the
//! environment's lock, compared with the run's own plan and digests, and
//! journaled as `EnvChange` before the environment starts.

use super::event::Event;
use super::{Engine, Fatal};
use crate::journal::Durable;

impl Engine {
    /// Journals what promoting into `env` changes against `baseline`, what
    /// is live there (read with the lock, `admit`), once the run holds its
    /// lock and has checked its artifacts
    /// (their digests are compared with the live version's). With a
    /// repository in the plan, the commits between the versions go in too.
    pub(super) async fn describe_change(
        &mut self,
        env: usize,
        baseline: crate::change::Baseline,
    ) -> Result<(), Fatal> {
        if self.state.envs[env].change.is_some() {
            return Ok(());
        }
        let artifacts: Vec<(String, Option<String>)> = self
            .state
            .artifacts
            .iter()
            .map(|a| (a.name.clone(), a.before(env).and_then(|c| c.found.clone())))
            .collect();
        let shape = crate::change::shape(&self.plan, env);
        let version = self.plan.release.version.clone();
        let Some(mut change) = crate::change::between(&version, &baseline, &shape, &artifacts)
        else {
            return Ok(());
        };
        if let (Some(live), Some(repo)) = (&change.live, &self.plan.release.repository)
            && live.version != version
        {
            let repo = if repo.is_absolute() {
                repo.clone()
            } else {
                self.plan.base_dir.join(repo)
            };
            let from = live.version.clone();
            let to = version.clone();
            let range = format!("{from}..{to}");
            // Bounded by `git::GIT_WAIT`: a hung repository costs a wait, not the run.
            let log = tokio::task::spawn_blocking(move || crate::git::log(&repo, &from, &to))
                .await
                .unwrap_or_else(|_| Err("git could not be run".into()));
            change.commits = Some(crate::change::commits(range, log));
        }
        // Said, not acted on: it rides on the next record the engine waits
        // for (`EnvStarted` rides too; a step's start or a gate's wait is
        // the first one waited for).
        self.emit_as(
            Event::EnvChange {
                env,
                change: Box::new(change),
            },
            Durable::Lazy,
        )?;
        Ok(())
    }
}
