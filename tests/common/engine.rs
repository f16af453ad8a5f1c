//! Driving an in-process engine the way the cockpit and CLI verbs do: start a
//! plan, watch its records, send commands, and at the end check that clients
//! saw exactly the journal and that replaying it rebuilds the live state.

use std::time::Duration;

use slate::engine::event::Event;
use slate::engine::{
    Engine, EngineHandle, EngineOptions, Instruction, Record, RunState, Unattended,
};
use slate::journal::read_journal;
use tempfile::TempDir;
use tokio::sync::broadcast;

use crate::actor;

pub const LIMIT: Duration = Duration::from_secs(20);

pub struct Run {
    pub handle: EngineHandle,
    pub task: tokio::task::JoinHandle<RunState>,
    pub rx: broadcast::Receiver<Record>,
    pub seen: Vec<Record>,
    _home: TempDir,
    pub work: TempDir,
}

/// Starts a plan with a client attached (gates wait for commands).
pub fn start(plan_body: &str, linger: bool) -> Run {
    start_with(plan_body, |o| o.linger = linger)
}

/// A whole plan: the release svc 2.0 (replacing 1.0), then `plan_body`.
pub fn plan_source(plan_body: &str) -> String {
    format!(
        crate::release_plan!("svc" "2.0" from "1.0" by "owner"; "{plan_body}\n"),
        plan_body = plan_body
    )
}

/// A plan body: the environment prod (`env_extra` lines added to it), one
/// stage `deploy` that runs `true` (`stage_extra` lines added), then `rest`
/// (gates, channels, …).
pub fn prod_deploy(env_extra: &str, stage_extra: &str, rest: &str) -> String {
    format!(
        r#"
[[environments]]
name = "prod"
{env_extra}[[stages]]
name = "deploy"
command = "true"
{stage_extra}{rest}"#
    )
}

/// The manual gate `go`, `extra` lines added to it.
pub fn manual_gate(extra: &str) -> String {
    format!("[[gates]]\nname = \"go\"\nkind = \"manual\"\n{extra}")
}

/// Runs `plan_body` with no client at all: the command channel is closed
/// before the run starts, as it is once every client has gone. Returns the
/// final state and the journal's records once the engine stops (within LIMIT).
pub async fn run_without_clients(
    plan_body: &str,
    tweak: impl FnOnce(&mut EngineOptions),
) -> (RunState, Vec<Record>) {
    let home = TempDir::new().unwrap();
    let work = TempDir::new().unwrap();
    let plan = slate::plan::parse(
        &plan_source(plan_body),
        "test.toml",
        work.path().to_path_buf(),
    )
    .unwrap();
    let mut opts = EngineOptions::new("test.toml", home.path(), actor("starter", "test"));
    opts.durable = false;
    tweak(&mut opts);
    let (engine, handle) = Engine::new(plan, opts).unwrap();
    // The clients every run has (notifier, recorder), as the host starts them.
    slate::host::clients(engine.plan(), &handle, RunState::default(), home.path());
    let journal = handle.journal_path();
    drop(handle);
    let state = tokio::time::timeout(LIMIT, engine.run())
        .await
        .expect("the engine finished");
    let records = read_journal(&journal).unwrap().records;
    (state, records)
}

pub fn start_with(plan_body: &str, tweak: impl FnOnce(&mut EngineOptions)) -> Run {
    start_engine(plan_body, tweak, |_| {})
}

/// [`start_with`], and `engine` set up further before it runs (an admission).
pub fn start_engine(
    plan_body: &str,
    tweak: impl FnOnce(&mut EngineOptions),
    engine: impl FnOnce(&mut Engine),
) -> Run {
    let setup = engine;
    let home = TempDir::new().unwrap();
    let work = TempDir::new().unwrap();
    let src = plan_source(plan_body);
    let plan = slate::plan::parse(&src, "test.toml", work.path().to_path_buf())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut opts = EngineOptions::new("test.toml", home.path(), actor("starter", "test"));
    opts.unattended = Unattended::Wait;
    opts.durable = false;
    tweak(&mut opts);
    let (mut engine, handle) = Engine::new(plan, opts).unwrap();
    setup(&mut engine);
    // The clients every run has (notifier, recorder), as the host starts them.
    slate::host::clients(engine.plan(), &handle, RunState::default(), home.path());
    let rx = handle.subscribe();
    let task = tokio::spawn(engine.run());
    Run {
        handle,
        task,
        rx,
        seen: Vec::new(),
        _home: home,
        work,
    }
}

impl Run {
    /// Waits until a record matches, returning it; fails after LIMIT.
    pub async fn until(&mut self, what: &str, pred: impl Fn(&Event) -> bool) -> Event {
        let deadline = tokio::time::Instant::now() + LIMIT;
        loop {
            let rec = tokio::time::timeout_at(deadline, self.rx.recv())
                .await
                .unwrap_or_else(|_| {
                    panic!(
                        "timed out waiting for {what}; saw: {:#?}",
                        types(&self.seen)
                    )
                })
                .expect("event stream ended");
            self.seen.push(rec.clone());
            if pred(&rec.event) {
                return rec.event;
            }
        }
    }

    pub async fn send(
        &self,
        user: &str,
        instruction: impl Into<Instruction>,
    ) -> Result<String, String> {
        self.handle.send(actor(user, "test"), instruction).await
    }

    /// The status a client rebuilding state from what it has seen would show.
    pub fn handle_status(&self) -> &'static str {
        RunState::replay(&self.seen).status.word()
    }

    pub fn ledger(&self) -> Vec<String> {
        std::fs::read_to_string(self.work.path().join("ledger"))
            .unwrap_or_default()
            .lines()
            .map(String::from)
            .collect()
    }

    /// Waits for the engine, then checks the journal against what clients saw.
    pub async fn finish(mut self) -> (RunState, Vec<Record>, Vec<String>) {
        let state = tokio::time::timeout(LIMIT, &mut self.task)
            .await
            .expect("engine did not finish")
            .unwrap();
        while let Ok(rec) = self.rx.try_recv() {
            self.seen.push(rec);
        }
        let journal = read_journal(&self.handle.journal_path()).unwrap();
        assert!(journal.warning.is_none());
        assert_eq!(
            journal.records, self.seen,
            "clients saw exactly the journal, in order"
        );
        let replayed = RunState::replay(&journal.records);
        assert_eq!(
            replayed, state,
            "replaying the journal rebuilds the live state"
        );
        let ledger = self.ledger();
        (state, journal.records, ledger)
    }
}

pub fn types(recs: &[Record]) -> Vec<&'static str> {
    recs.iter().map(|r| r.event.type_name()).collect()
}

/// A minimal HTTP server on 127.0.0.1 answering each request with the next canned status.
pub async fn http_server(
    statuses: Vec<(u16, &'static str)>,
) -> (String, tokio::task::JoinHandle<usize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/healthz", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let mut served = 0;
        for (status, body) in statuses {
            let Ok(Ok((mut sock, _))) = tokio::time::timeout(LIMIT, listener.accept()).await else {
                break;
            };
            let mut buf = [0u8; 2048];
            let _ = sock.read(&mut buf).await;
            let resp = format!(
                "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = sock.write_all(resp.as_bytes()).await;
            served += 1;
        }
        served
    });
    (url, task)
}
