//! Asking before promoting: the engine knows no store, locks or calendars.
//! The composition root gives it an [`Admission`] (see `host::assemble`)
//! that it asks before it starts promoting into an environment, and at
//! every safe point while inside one; it journals what it learned (blocked
//! by whom and until when, lock taken, lock given back) *before* acting on
//! it, like every state record. Without an admission everything is admitted
//! (an engine built directly, in tests).

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::event::Event;
use super::{Engine, Fatal, Stop};
use crate::journal::Durable;

/// How often a waiting run asks again.
const POLL: Duration = Duration::from_millis(500);

/// What keeps a run out of an environment (or stops it inside one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Barrier {
    pub kind: BarrierKind,
    /// One line that names it, who holds it and until when:
    /// "prod is locked by run 20261203-… (alice, since 14:02:11 UTC)".
    pub message: String,
    /// The person (or run's starter) holding it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder: Option<String>,
    /// The run holding it (a run's lock).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<Timestamp>,
    /// When it ends by itself (a freeze), if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<Timestamp>,
    #[serde(default)]
    pub reason: String,
    /// A run's lock whose engine died: only `slate recover` or `slate unlock` frees it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stale: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BarrierKind {
    /// Another run promotes into the release × environment.
    Lock,
    /// A person's hold (`slate lock`).
    Hold,
    /// A freeze window.
    Freeze,
    /// Nobody could say (the store could not be read): fail closed.
    Unknown,
    /// A rollback to a known-good version pinned the environment: only a
    /// run started with `--unpin` promotes over it.
    Pin,
}

/// A run asking about one environment.
#[derive(Debug, Clone)]
pub struct Ask {
    pub run_id: String,
    pub release: String,
    pub env: String,
    /// Who started the run.
    pub user: String,
    pub pid: u32,
    /// The run will wait: list it in the queue.
    pub queue: bool,
    /// Break-glass is in effect for this environment: freezes and people's
    /// holds do not stop the run (another run's lock still does).
    pub break_glass: bool,
    /// A pin does not stop this run: it is the rollback to a known-good
    /// version (which pins), or it has promoted over the pin (`--unpin`).
    pub pin_free: bool,
}

/// The answer before entering an environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admit {
    /// The run holds the environment's lock now.
    Granted,
    Blocked(Barrier),
}

/// What the engine asks; built by the composition root. Calls may block
/// (a store transaction): the engine makes them off its own task.
pub trait Admission: Send + Sync {
    /// Before promoting into `ask.env`: take its lock unless something is
    /// in the way (a freeze, a hold, another run's lock).
    fn enter(&self, ask: &Ask) -> Admit;
    /// A recovered run going on inside `ask.env`: take its lock back.
    fn reenter(&self, ask: &Ask);
    /// At a safe point inside `ask.env`: a hold or a freeze that began since.
    fn in_flight(&self, ask: &Ask) -> Option<Barrier>;
    /// Gives back the run's lock on `env`, or every lock it holds.
    fn leave(&self, run_id: &str, env: Option<&str>);
    /// What the ledger says is live in `ask.env`, asked while the run
    /// holds its lock, to journal what promoting there changes.
    fn baseline(&self, _ask: &Ask) -> crate::change::Baseline {
        crate::change::Baseline::NotAsked
    }
}

/// The handle the engine keeps.
pub type AdmissionRef = Arc<dyn Admission>;

/// Runs `f` off the engine's task; `None` when it panicked, which callers
/// take as "nobody could say" and fail closed.
pub(super) async fn off_task<T: Send + 'static>(
    adm: &AdmissionRef,
    f: impl FnOnce(&dyn Admission) -> T + Send + 'static,
) -> Option<T> {
    let adm = adm.clone();
    tokio::task::spawn_blocking(move || f(adm.as_ref()))
        .await
        .ok()
}

impl Barrier {
    /// Fail closed: nobody could say whether the environment is free.
    pub fn unknown(env: &str, why: &str) -> Barrier {
        Barrier {
            kind: BarrierKind::Unknown,
            message: format!("cannot tell whether {env} is free to promote into: {why}"),
            holder: None,
            run_id: None,
            since: None,
            until: None,
            reason: why.to_string(),
            stale: false,
        }
    }
}

/// What a break-glass asked for came to.
pub(super) enum Glass {
    /// None asked for: held back as usual.
    No,
    /// Refused by the policy (journaled), saying why: held back as usual.
    Refused(String),
    /// Crossed now.
    Crossed,
    /// Waiting for a second person's approval.
    Waiting,
}

/// What `Engine::admit` decided.
pub(super) enum Admitted {
    /// In, with what the ledger says is live there, read with the lock in
    /// the same call (none without an admission).
    Go(Option<crate::change::Baseline>),
    /// The run ends here without entering: the line it ends with.
    Refused(String),
}

impl Engine {
    /// Gives the engine its admission (the composition root does, before the run).
    pub fn set_admission(&mut self, admission: AdmissionRef) {
        self.admission = Some(admission);
    }

    /// The machine a recovered run's dead engine ran on, when not this one.
    pub fn foreign(&self) -> Option<&str> {
        self.opts.foreign.as_deref()
    }

    /// Gives the run's journal a second home (the team store), from the
    /// next record on: the composition root decides, the engine only writes.
    pub fn set_journal_mirror(&mut self, mirror: Box<dyn crate::journal::Mirror>) {
        self.journal.set_mirror(mirror);
    }

    /// Who may break glass, by the team's config (None: the plan says), and
    /// whether the team's config asks for a second person's approval.
    pub fn set_break_glass_policy(&mut self, list: Option<Vec<String>>, second: bool) {
        self.opts.break_glass_policy = list;
        self.opts.break_glass_second = second;
    }

    /// Who may break glass (and approve one): the team's list, else the plan's.
    pub(super) fn glass_list(&self) -> Vec<String> {
        self.opts
            .break_glass_policy
            .clone()
            .unwrap_or_else(|| self.plan.release.break_glass.clone())
    }

    pub(super) fn ask(&self, env: usize, queue: bool) -> Ask {
        Ask {
            run_id: self.run_id.clone(),
            release: self.plan.release.name.clone(),
            env: self.plan.environments[env].name.clone(),
            user: self.opts.actor.user.clone(),
            pid: std::process::id(),
            queue,
            break_glass: self.state.break_glass.iter().any(|b| b.env == env),
            pin_free: self.state.rollback_to.is_some()
                || self.state.unpinned.iter().any(|u| u.env == env),
        }
    }

    /// Before promoting into `env`: waits in the queue (up to `lock_wait`)
    /// or refuses at once, journaling what blocks it; journals the lock when
    /// taken. A stop asked for while waiting ends the wait.
    pub(super) async fn admit(&mut self, env: usize) -> Result<Admitted, Stop> {
        let Some(adm) = self.admission.clone() else {
            return Ok(Admitted::Go(None));
        };
        let wait = self.opts.lock_wait.or(self.plan.release.lock_wait);
        let deadline = wait.map(|w| {
            (
                tokio::time::Instant::now() + w,
                Timestamp::now() + jiff::SignedDuration::try_from(w).unwrap_or_default(),
            )
        });
        let mut said: Option<Barrier> = None;
        loop {
            let ask = self.ask(env, wait.is_some());
            let name = ask.env.clone();
            // What is live there is read in the same call once the lock is
            // the run's: one trip off the engine's task, not two.
            let answer = off_task(&adm, move |a| {
                let admit = a.enter(&ask);
                let baseline = (admit == Admit::Granted).then(|| a.baseline(&ask));
                (admit, baseline)
            })
            .await;
            let (admit, baseline) = answer.unwrap_or_else(|| {
                (
                    Admit::Blocked(Barrier::unknown(&name, "the admission failed")),
                    None,
                )
            });
            match admit {
                Admit::Granted => {
                    // Said, not acted on next: the lock is already the run's
                    // in the store (a crash before this record is on disk
                    // leaves what a crash just before it always left: a
                    // recovery asks again and the store grants its own lock),
                    // and nothing is done inside the environment before a
                    // record that is waited for. It rides on that one's fsync.
                    self.emit_as(Event::EnvLocked { env }, Durable::Lazy)?;
                    return Ok(Admitted::Go(baseline));
                }
                Admit::Blocked(b) if b.kind == BarrierKind::Pin => {
                    // A pin never goes by itself: promote over it as told, or refuse now.
                    if let Some(reason) = self.opts.unpin.clone() {
                        self.emit(Event::Unpinned {
                            env,
                            actor: self.opts.actor.clone(),
                            reason,
                            pin: b.message.clone(),
                        })?;
                        continue;
                    }
                    let why = b.message.clone();
                    self.emit(Event::EnvBlocked {
                        env,
                        barrier: b,
                        until: None,
                        in_flight: false,
                    })?;
                    if wait.is_some() {
                        self.leave_queue(env).await;
                    }
                    return Ok(Admitted::Refused(why));
                }
                Admit::Blocked(b) => {
                    match self.break_glass(env, &b)? {
                        // Crossed: ask again, as a break-glass run.
                        Glass::Crossed => continue,
                        // Waits for a second person (within lock_wait, if
                        // set), answering commands; then asks again.
                        Glass::Waiting
                            if deadline.is_none_or(|(at, _)| tokio::time::Instant::now() < at) =>
                        {
                            let poll = deadline
                                .map_or(POLL, |(at, _)| POLL.min(at - tokio::time::Instant::now()));
                            if let Some(stop) = self.wait_for(poll, env, false).await? {
                                if wait.is_some() {
                                    self.leave_queue(env).await;
                                }
                                return Err(stop);
                            }
                            continue;
                        }
                        Glass::Waiting | Glass::No | Glass::Refused(_) => {}
                    }
                    let Some((at, until)) = deadline else {
                        let why = b.message.clone();
                        self.emit(Event::EnvBlocked {
                            env,
                            barrier: b,
                            until: None,
                            in_flight: false,
                        })?;
                        return Ok(Admitted::Refused(why));
                    };
                    let now = tokio::time::Instant::now();
                    if now >= at {
                        let name = &self.plan.environments[env].name;
                        let waited = humantime::format_duration(wait.unwrap_or_default());
                        let why = format!("gave up waiting {waited} for {name}: {}", b.message);
                        self.leave_queue(env).await;
                        return Ok(Admitted::Refused(why));
                    }
                    if said.as_ref() != Some(&b) {
                        self.emit(Event::EnvBlocked {
                            env,
                            barrier: b.clone(),
                            until: Some(until),
                            in_flight: false,
                        })?;
                        said = Some(b);
                    }
                    if let Some(stop) = self.wait_for(POLL.min(at - now), env, false).await? {
                        self.leave_queue(env).await;
                        return Err(stop);
                    }
                }
            }
        }
    }

    /// With `--break-glass`, a freeze or a person's hold is crossed when the
    /// policy allows the starter: journaled as its own record first. Refused,
    /// that is journaled once, and the run is held back as usual. Another
    /// run's lock is never crossed. Where the policy asks for a second
    /// person (`break_glass_second`), the request is journaled and the run
    /// waits for their approval (see `commands.rs`); a recovered run whose
    /// request was waiting waits again.
    fn break_glass(&mut self, env: usize, b: &Barrier) -> Result<Glass, Fatal> {
        if !matches!(b.kind, BarrierKind::Freeze | BarrierKind::Hold)
            || self.state.break_glass.iter().any(|g| g.env == env)
            || self.glass_refused.contains(&env)
        {
            return Ok(Glass::No);
        }
        if self.state.glass_wait.as_ref().is_some_and(|w| w.env == env) {
            return Ok(Glass::Waiting);
        }
        let Some(reason) = self.opts.break_glass.clone() else {
            return Ok(Glass::No);
        };
        let actor = self.opts.actor.clone();
        self.ask_break_glass(env, b, actor, reason)
    }

    /// `actor` asks to break glass into `env` past `b`, for `reason`.
    pub(super) fn ask_break_glass(
        &mut self,
        env: usize,
        b: &Barrier,
        actor: super::event::Actor,
        reason: String,
    ) -> Result<Glass, Fatal> {
        let e = &self.plan.environments[env];
        let list = self.glass_list();
        let mut refusal = super::policy::break_glass_refusal(
            &list,
            &e.approval,
            &e.name,
            super::policy::Who::of(&actor),
        );
        let second = self.opts.break_glass_second || self.plan.release.break_glass_second;
        if refusal.is_none() && second && self.opts.unattended == super::Unattended::FailClosed {
            refusal = Some(format!(
                "break-glass into {} needs a second person's approval and nobody can give one in this mode",
                e.name
            ));
        }
        match refusal {
            None if second => {
                self.emit(Event::BreakGlassRequested {
                    env,
                    actor,
                    reason,
                    crossed: b.clone(),
                })?;
                Ok(Glass::Waiting)
            }
            None => {
                self.emit(Event::BreakGlass {
                    env,
                    actor,
                    reason,
                    crossed: b.clone(),
                    approved_by: None,
                })?;
                Ok(Glass::Crossed)
            }
            Some(why) => {
                self.glass_refused.push(env);
                self.emit(Event::BreakGlassRefused {
                    env,
                    actor,
                    reason,
                    why: why.clone(),
                })?;
                Ok(Glass::Refused(why))
            }
        }
    }

    async fn leave_queue(&mut self, env: usize) {
        if let Some(adm) = self.admission.clone() {
            let run = self.run_id.clone();
            let name = self.plan.environments[env].name.clone();
            off_task(&adm, move |a| a.leave(&run, Some(&name))).await;
        }
    }

    /// A recovered run goes on inside `env`: its lock is taken back.
    pub(super) async fn reenter(&mut self, env: usize) -> Result<(), Fatal> {
        let Some(adm) = self.admission.clone() else {
            return Ok(());
        };
        let ask = self.ask(env, false);
        off_task(&adm, move |a| a.reenter(&ask)).await;
        if !self.state.locked.contains(&env) {
            self.emit(Event::EnvLocked { env })?;
        }
        Ok(())
    }

    /// At a safe point inside `env`: a hold or freeze that began since the
    /// run entered stops it here, said why, until it is lifted or ends.
    pub(super) async fn stay_out(&mut self, env: usize) -> Result<(), Stop> {
        let Some(adm) = self.admission.clone() else {
            return Ok(());
        };
        let mut said: Option<Barrier> = None;
        loop {
            let ask = self.ask(env, false);
            let name = ask.env.clone();
            let answer = off_task(&adm, move |a| a.in_flight(&ask)).await;
            match answer.unwrap_or_else(|| Some(Barrier::unknown(&name, "the admission failed"))) {
                None => {
                    if said.is_some() {
                        self.emit(Event::EnvCleared { env })?;
                    }
                    return Ok(());
                }
                Some(b) => {
                    if said.as_ref() != Some(&b) {
                        self.emit(Event::EnvBlocked {
                            env,
                            barrier: b.clone(),
                            until: None,
                            in_flight: true,
                        })?;
                        said = Some(b);
                    }
                    if let Some(stop) = self.wait_for(POLL, env, false).await? {
                        return Err(stop);
                    }
                }
            }
        }
    }

    /// Gives back the lock on `env` (journaled first).
    pub(super) async fn leave(&mut self, env: usize) -> Result<(), Fatal> {
        let Some(adm) = self.admission.clone() else {
            return Ok(());
        };
        if self.state.locked.contains(&env) {
            self.emit(Event::EnvUnlocked { env })?;
        }
        let run = self.run_id.clone();
        let name = self.plan.environments[env].name.clone();
        off_task(&adm, move |a| a.leave(&run, Some(&name))).await;
        Ok(())
    }

    /// Gives back every lock the run holds: its end, however it ends.
    pub(super) async fn leave_all(&mut self) -> Result<(), Fatal> {
        let Some(adm) = self.admission.clone() else {
            return Ok(());
        };
        for env in self.state.locked.clone() {
            self.emit(Event::EnvUnlocked { env })?;
        }
        let run = self.run_id.clone();
        off_task(&adm, move |a| a.leave(&run, None)).await;
        Ok(())
    }
}
