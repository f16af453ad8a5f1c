//! The notifier's loop: records in, deliveries out, each delivery reported
//! back to the engine to be journaled.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;
use tokio::task::JoinSet;
use tokio::time::{Instant, Interval, MissedTickBehavior};

use super::decide::{self, Decider, Notice};
use super::{Delivered, Setup, VIA, deliver, payload};
use crate::engine::{
    Actor, Command, EngineHandle, Event, Hold, Instruction, Record, RunState, WeakHandle,
};
use crate::plan::{Channel, NotifyKind};

pub(super) struct Notifier {
    channels: Vec<Channel>,
    /// Per channel: a status update is on its way, so the next one is skipped
    /// rather than piling up behind a slow webhook.
    status_busy: Vec<Arc<AtomicBool>>,
    cadence: Option<Duration>,
    decider: Decider,
    state: RunState,
    /// Set at the first `RunFinished`: status updates stop there.
    finished: bool,
    records: broadcast::Receiver<Record>,
    engine: WeakHandle,
    journal: std::path::PathBuf,
    /// Shared with each delivery, which may need its side door.
    hold: Arc<Hold>,
    /// The last record handled, and the deliveries not yet journaled.
    seen: u64,
    in_flight: usize,
    client: Result<reqwest::Client, String>,
    deliveries: JoinSet<()>,
}

impl Notifier {
    pub(super) fn new(setup: Setup) -> Self {
        let Setup {
            plan,
            records,
            engine,
            hold,
            journal,
        } = setup;
        Self {
            status_busy: plan
                .channels
                .iter()
                .map(|_| Arc::new(AtomicBool::new(false)))
                .collect(),
            channels: plan.channels.clone(),
            cadence: plan.communication.cadence,
            decider: Decider::new(&plan),
            state: RunState::default(),
            finished: false,
            records,
            engine,
            journal,
            hold: Arc::new(hold),
            seen: 0,
            in_flight: 0,
            client: deliver::client(),
            deliveries: JoinSet::new(),
        }
    }

    pub(super) async fn run(mut self) {
        let mut ticker = self.cadence.map(|c| {
            let mut t: Interval = tokio::time::interval_at(Instant::now() + c, c);
            t.set_missed_tick_behavior(MissedTickBehavior::Delay);
            t
        });
        loop {
            let ticking = ticker.is_some() && self.state.started.is_some() && !self.finished;
            tokio::select! {
                Some(_) = self.deliveries.join_next() => {
                    self.in_flight -= 1;
                    self.report_progress();
                }
                r = self.records.recv() => match r {
                    Ok(rec) => self.on_record(rec),
                    Err(RecvError::Lagged(_)) => self.catch_up().await,
                    Err(RecvError::Closed) => break,
                },
                _ = tick(&mut ticker), if ticking => self.status(),
            }
        }
        // Each delivery is bounded by its channel; let them end rather than
        // cutting a request off half-way.
        while self.deliveries.join_next().await.is_some() {}
    }

    fn on_record(&mut self, rec: Record) {
        if rec.seq <= self.state.last_seq {
            return; // already handled while catching up from the journal
        }
        self.state.apply(&rec);
        if matches!(rec.event, Event::RunFinished { .. }) {
            self.finished = true;
        }
        let notices = self.decider.decide(&self.state, &rec);
        let started: usize = notices.iter().map(|n| self.dispatch(n)).sum();
        self.seen = rec.seq;
        self.in_flight += started;
        self.report_progress();
    }

    /// Tells the engine how far the notifier has got: a record counts as
    /// handled once every delivery it called for is journaled.
    fn report_progress(&self) {
        if self.in_flight == 0 {
            self.hold.done(self.seen);
        }
    }

    /// The broadcast ran ahead of us: the journal has every record we missed.
    async fn catch_up(&mut self) {
        let path = self.journal.clone();
        match tokio::task::spawn_blocking(move || crate::journal::read_journal_states(&path)).await
        {
            Ok(Ok(j)) => {
                for rec in j.records {
                    self.on_record(rec);
                }
            }
            Ok(Err(e)) => tracing::warn!(error = %e, "notifier cannot catch up from the journal"),
            Err(e) => tracing::warn!(error = %e, "notifier cannot catch up from the journal"),
        }
    }

    fn status(&mut self) {
        let Some(n) = decide::status(&self.state, Timestamp::now()) else {
            return;
        };
        self.in_flight += self.dispatch(&n);
    }

    /// Starts one delivery per channel that listens for `n`; returns how many.
    fn dispatch(&mut self, n: &Notice) -> usize {
        let mut started = 0;
        for i in 0..self.channels.len() {
            let ch = self.channels[i].clone();
            // A break-glass is an audit notice: no channel filters it out.
            if n.kind != NotifyKind::BreakGlass
                && !ch.events.is_empty()
                && !ch.events.contains(&n.kind)
            {
                continue;
            }
            let busy = (n.kind == NotifyKind::Status).then(|| self.status_busy[i].clone());
            if busy
                .as_ref()
                .is_some_and(|b| b.swap(true, Ordering::SeqCst))
            {
                tracing::debug!(channel = %ch.name, "status update skipped: the last one is still on its way");
                continue;
            }
            let body = payload::body(ch.format, n);
            let said = n.text.clone();
            let kind = n.kind;
            let client = self.client.clone();
            // Held only while this delivery is under way, so the engine's
            // command channel still closes once every client has gone.
            let engine = self.engine.upgrade();
            let hold = self.hold.clone();
            self.deliveries.spawn(async move {
                let outcome = match &client {
                    Ok(c) => deliver::post(c, &ch, body).await,
                    Err(e) => deliver::Outcome {
                        ok: false,
                        attempts: 0,
                        status: None,
                        latency_ms: 0,
                        error: Some(e.clone()),
                    },
                };
                if let Some(b) = busy {
                    b.store(false, Ordering::SeqCst);
                }
                let d = Delivered {
                    channel: ch.name.clone(),
                    kind,
                    ok: outcome.ok,
                    attempts: outcome.attempts,
                    status: outcome.status,
                    latency_ms: outcome.latency_ms,
                    message: match outcome.error {
                        None => said,
                        Some(e) => deliver::redact(&e, &ch.url),
                    },
                };
                report(engine, &hold, d).await;
            });
            started += 1;
        }
        started
    }
}

/// Hands a delivery to the engine to journal; through the hold's side door
/// if the engine cannot take commands (every client has gone).
async fn report(engine: Option<EngineHandle>, hold: &Hold, d: Delivered) {
    if let Some(engine) = engine {
        let (cmd, reply) = Command::new(notifier(), Instruction::RecordNotification(d.clone()));
        let sent = engine.send_command(cmd).await;
        drop(engine);
        if sent {
            match reply.await {
                Ok(Ok(_)) => return,
                Ok(Err(why)) => {
                    tracing::warn!(%why, "the engine would not journal a notification");
                    return;
                }
                // Dropped unanswered: the engine stopped with it still queued.
                Err(_) => {}
            }
        }
    }
    let (cmd, _) = Command::new(notifier(), Instruction::RecordNotification(d));
    if !hold.send_late(cmd) {
        tracing::warn!("a notification could not be journaled: the engine is not listening");
    }
}

fn notifier() -> Actor {
    Actor {
        user: "slate".into(),
        uid: nix::unistd::getuid().as_raw(),
        via: VIA.into(),
        roles: None,
    }
}

async fn tick(ticker: &mut Option<Interval>) {
    match ticker {
        Some(t) => {
            t.tick().await;
        }
        None => std::future::pending().await,
    }
}
