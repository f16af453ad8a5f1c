//! Webhook notifications, end to end: a real engine runs real plans and
//! posts to real HTTP receivers on 127.0.0.1, which record every body. Every
//! delivery and failure must be journaled, a failing webhook must never stop
//! the release, and replaying the journal must rebuild the same deliveries.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use slate::engine::event::Event;
use slate::engine::{Action, Instruction, Record, RunOutcome, RunState};
use slate::plan::NotifyKind;

use crate::common;
use common::engine::*;

/// How a receiver answers its n-th request (counting from 0).
#[derive(Clone, Copy)]
enum Answer {
    Status(u16),
    /// Answers 200 after this many milliseconds.
    Slow(u64),
    /// Reads the request and never answers.
    Silence,
}

/// One request as the receiver saw it.
#[derive(Debug, Clone)]
struct Got {
    path: String,
    content_type: String,
    body: Value,
}

struct Receiver {
    /// Base URL: channels post to `{base}/hooks/NAME/T0/B0/s3cret`.
    base: String,
    got: Arc<Mutex<Vec<Got>>>,
}

impl Receiver {
    fn url(&self, name: &str) -> String {
        format!("{}/hooks/{name}/T0/B0/s3cret", self.base)
    }

    /// The channel `name` posting here, `extra` lines added to it.
    fn channel(&self, name: &str, extra: &str) -> String {
        channel(name, &self.url(name), extra)
    }

    /// Bodies posted to channel `name`, in arrival order.
    fn bodies(&self, name: &str) -> Vec<Value> {
        let prefix = format!("/hooks/{name}/");
        self.got
            .lock()
            .unwrap()
            .iter()
            .filter(|g| g.path.starts_with(&prefix))
            .map(|g| {
                assert_eq!(g.content_type, "application/json");
                g.body.clone()
            })
            .collect()
    }
}

/// A real HTTP/1.1 server on 127.0.0.1 that records each body and answers
/// as `script` says; it lives as long as the test's runtime.
async fn receiver(script: impl Fn(usize) -> Answer + Send + Sync + 'static) -> Receiver {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let got = Arc::new(Mutex::new(Vec::new()));
    let count = Arc::new(AtomicUsize::new(0));
    let script = Arc::new(script);
    let store = got.clone();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let (store, count, script) = (store.clone(), count.clone(), script.clone());
            tokio::spawn(async move {
                let svc = service_fn(move |req: Request<Incoming>| {
                    let (store, count, script) = (store.clone(), count.clone(), script.clone());
                    async move {
                        let path = req.uri().path().to_string();
                        let content_type = req
                            .headers()
                            .get("content-type")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("")
                            .to_string();
                        let bytes = req.into_body().collect().await.unwrap().to_bytes();
                        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                        store.lock().unwrap().push(Got {
                            path,
                            content_type,
                            body,
                        });
                        let n = count.fetch_add(1, Ordering::SeqCst);
                        let status = match script(n) {
                            Answer::Status(s) => s,
                            Answer::Slow(ms) => {
                                tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
                                200
                            }
                            Answer::Silence => {
                                tokio::time::sleep(LIMIT).await;
                                200
                            }
                        };
                        let mut resp = Response::new(Full::new(Bytes::new()));
                        *resp.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
                        Ok::<_, Infallible>(resp)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(sock), svc)
                    .await;
            });
        }
    });
    Receiver { base, got }
}

/// A `[[channels]]` table: `name` posting to `url`, `extra` lines added to it.
fn channel(name: &str, url: &str, extra: &str) -> String {
    format!("[[channels]]\nname = \"{name}\"\nurl = \"{url}\"\n{extra}")
}

/// A loopback port nothing listens on.
fn dead_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// One journaled delivery.
#[derive(Debug, Clone, PartialEq)]
struct Sent {
    seq: u64,
    channel: String,
    kind: NotifyKind,
    ok: bool,
    attempts: u32,
    status: Option<u16>,
    message: String,
}

fn sent(records: &[Record]) -> Vec<Sent> {
    records
        .iter()
        .filter_map(|r| match &r.event {
            Event::NotificationSent {
                channel,
                kind,
                ok,
                attempts,
                status,
                message,
                ..
            } => Some(Sent {
                seq: r.seq,
                channel: channel.clone(),
                kind: *kind,
                ok: *ok,
                attempts: *attempts,
                status: *status,
                message: message.clone(),
            }),
            _ => None,
        })
        .collect()
}

/// Kinds journaled for `channel`, sorted (deliveries run concurrently).
fn kinds_for(sent: &[Sent], channel: &str) -> Vec<&'static str> {
    let mut k: Vec<&'static str> = sent
        .iter()
        .filter(|s| s.channel == channel)
        .map(|s| s.kind.name())
        .collect();
    k.sort_unstable();
    k
}

fn sorted(mut v: Vec<&'static str>) -> Vec<&'static str> {
    v.sort_unstable();
    v
}

fn seq_of(records: &[Record], pred: impl Fn(&Event) -> bool) -> u64 {
    records
        .iter()
        .find(|r| pred(&r.event))
        .map(|r| r.seq)
        .expect("record present")
}

/// Ends the run and checks what every test needs: clients saw the journal,
/// replay equals live (including every delivery), and the run's outcome.
async fn finish(run: Run, outcome: RunOutcome) -> (RunState, Vec<Record>) {
    let (state, records, _) = run.finish().await;
    assert_eq!(state.outcome, Some(outcome), "{}", state.message);
    let replayed = RunState::replay(&records);
    assert_eq!(replayed.notifications, state.notifications);
    assert_eq!(
        state.notifications.len(),
        sent(&records).len(),
        "every delivery is in the state"
    );
    (state, records)
}

fn by_kind(bodies: &[Value]) -> BTreeMap<String, Value> {
    let mut m = BTreeMap::new();
    for b in bodies {
        let k = b["kind"].as_str().expect("a kind").to_string();
        assert!(m.insert(k.clone(), b.clone()).is_none() || k == "env_promoted");
    }
    m
}

#[tokio::test]
async fn a_gated_release_posts_json_and_slack_for_every_step_of_the_way() {
    let rx = receiver(|_| Answer::Status(200)).await;
    let plan = format!(
        r##"
[[environments]]
name = "staging"
{prod}[[stakeholders]]
name = "Payments team"
role = "approver"
contact = "#payments"
{ops}{chat}[communication]
support = "payments on-call"
"##,
        prod = prod_deploy(
            "gates = [\"go\"]\n",
            "",
            &manual_gate("timeout = \"10m\"\n")
        ),
        ops = rx.channel("ops", ""),
        chat = rx.channel("chat", "format = \"slack\"\ntimeout = \"2s\"\n"),
    );
    let mut run = start(&plan, false);
    run.until("gate waiting", |e| matches!(e, Event::GateWaiting { .. }))
        .await;
    // The gate's notice is journaled, on both channels, while the engine waits at the gate.
    let gate_notices = |seen: &[Record]| {
        seen.iter()
            .filter(|r| {
                matches!(
                    r.event,
                    Event::NotificationSent {
                        kind: NotifyKind::GateWaiting,
                        ..
                    }
                )
            })
            .count()
    };
    while gate_notices(&run.seen) < 2 {
        run.until("gate notice journaled", |e| {
            matches!(
                e,
                Event::NotificationSent {
                    kind: NotifyKind::GateWaiting,
                    ..
                }
            )
        })
        .await;
    }
    run.send(
        "alice",
        Action::Approve {
            gate: None,
            comment: "go".into(),
        },
    )
    .await
    .unwrap();
    let (_, records) = finish(run, RunOutcome::Released).await;

    let sent = sent(&records);
    let expected = sorted(vec![
        "run_started",
        "env_promoted",
        "gate_waiting",
        "env_promoted",
        "completed",
    ]);
    assert_eq!(kinds_for(&sent, "ops"), expected);
    assert_eq!(kinds_for(&sent, "chat"), expected);
    for s in &sent {
        assert!(s.ok, "{s:?}");
        assert_eq!((s.attempts, s.status), (1, Some(200)), "{s:?}");
    }
    // The completion notice was posted after RunFinished and journaled
    // before the engine wrote the run's record and stopped.
    let finished = seq_of(&records, |e| matches!(e, Event::RunFinished { .. }));
    for s in sent.iter().filter(|s| s.kind == NotifyKind::Completed) {
        assert!(s.seq > finished);
    }

    // JSON: the run, the environment, and what each kind adds.
    let ops = rx.bodies("ops");
    assert_eq!(ops.len(), 5, "{ops:#?}");
    let run_id = records
        .iter()
        .find_map(|r| match &r.event {
            Event::RunStarted { run_id, .. } => Some(run_id.clone()),
            _ => None,
        })
        .unwrap();
    for b in &ops {
        assert_eq!(b["run_id"], run_id.as_str());
        assert_eq!(b["release"], "svc");
        assert_eq!(b["version"], "2.0");
        assert_eq!(b["previous_version"], "1.0");
        assert!(b["at"].as_str().unwrap().ends_with('Z'), "{b}");
        assert!(b["seq"].as_u64().is_some(), "{b}");
        let said = b["text"].as_str().unwrap();
        assert!(said.starts_with("svc 2.0"), "{said}");
        assert!(
            sent.iter().any(|s| s.channel == "ops" && s.message == said),
            "the journal says what was said: {said}"
        );
    }
    let k = by_kind(&ops);
    assert_eq!(
        k["run_started"]["text"],
        "svc 2.0: release started by starter, replacing 1.0, through staging then prod"
    );
    assert_eq!(k["run_started"]["environment"], Value::Null);
    let gate = &k["gate_waiting"];
    assert_eq!(gate["environment"], "prod");
    assert_eq!(gate["gate"], "go");
    assert_eq!(
        gate["text"],
        "svc 2.0: gate go in prod is waiting for 1 approval; it fails closed after 10m"
    );
    let promoted: Vec<&Value> = ops.iter().filter(|b| b["kind"] == "env_promoted").collect();
    let mut envs: Vec<&str> = promoted
        .iter()
        .map(|b| b["environment"].as_str().unwrap())
        .collect();
    envs.sort_unstable();
    assert_eq!(envs, ["prod", "staging"]);
    let done = &k["completed"];
    assert_eq!(done["outcome"], "released");
    assert_eq!(done["support"], "payments on-call");
    assert!(done.get("reason").is_none(), "{done}");
    assert_eq!(
        done["text"],
        "svc 2.0 finished: released. svc 2.0 released to staging, prod. Support: payments on-call"
    );

    // Slack: one key, the same readable line.
    let chat = rx.bodies("chat");
    assert_eq!(chat.len(), 5);
    for b in &chat {
        let obj = b.as_object().unwrap();
        assert_eq!(obj.len(), 1, "{b}");
        let text = b["text"].as_str().unwrap();
        assert!(!text.contains('\n'));
        assert!(
            ops.iter().any(|o| o["text"] == text),
            "the Slack line is the JSON text: {text}"
        );
    }
}

#[tokio::test]
async fn a_receiver_that_fails_once_gets_the_notice_on_the_second_attempt() {
    let rx = receiver(|n| Answer::Status(if n == 0 { 500 } else { 204 })).await;
    let plan = prod_deploy(
        "",
        "",
        &rx.channel("ops", "events = [\"run_started\"]\nretries = 2\n"),
    );
    let run = start(&plan, false);
    let (_, records) = finish(run, RunOutcome::Released).await;
    let sent = sent(&records);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert!(sent[0].ok);
    assert_eq!((sent[0].attempts, sent[0].status), (2, Some(204)));
    let bodies = rx.bodies("ops");
    assert_eq!(bodies.len(), 2, "the same notice, twice");
    assert_eq!(bodies[0], bodies[1]);
    assert_eq!(bodies[0]["kind"], "run_started");
}

#[tokio::test]
async fn dead_and_silent_webhooks_are_journaled_and_never_hold_the_release_back() {
    let silent = receiver(|_| Answer::Silence).await;
    let healthy = receiver(|_| Answer::Status(200)).await;
    let dead = format!("http://127.0.0.1:{}/hooks/dead/T0/B0/s3cret", dead_port());
    let events = "events = [\"run_started\", \"completed\"]\n";
    let channels = [
        channel(
            "dead",
            &dead,
            &format!("{events}timeout = \"500ms\"\nretries = 1\n"),
        ),
        silent.channel(
            "silent",
            &format!("{events}timeout = \"1500ms\"\nretries = 0\n"),
        ),
        healthy.channel("healthy", &format!("format = \"slack\"\n{events}")),
    ];
    let plan = prod_deploy("", "", &channels.concat());
    let run = start(&plan, false);
    let (_, records) = finish(run, RunOutcome::Released).await;
    let sent = sent(&records);
    for ch in ["dead", "silent", "healthy"] {
        assert_eq!(kinds_for(&sent, ch), ["completed", "run_started"], "{ch}");
    }
    for s in &sent {
        assert!(
            !s.message.contains("s3cret")
                && !s.message.contains("/hooks/")
                && !s.message.contains("127.0.0.1"),
            "a message must never show the URL: {s:?}"
        );
        match s.channel.as_str() {
            "dead" => {
                assert!(!s.ok);
                assert_eq!((s.attempts, s.status), (2, None));
                assert_eq!(s.message, "connection refused");
            }
            "silent" => {
                assert!(!s.ok);
                assert_eq!((s.attempts, s.status), (1, None));
                assert_eq!(s.message, "timed out after 1s 500ms");
            }
            _ => assert!(s.ok && s.attempts == 1, "{s:?}"),
        }
    }
    assert_eq!(silent.bodies("silent").len(), 2, "it was asked, twice");
    // Nobody waited for the silent webhook: the healthy one heard of the
    // start, and the run finished, while the silent one still said nothing.
    let silent_start = sent
        .iter()
        .find(|s| s.channel == "silent" && s.kind == NotifyKind::RunStarted)
        .unwrap()
        .seq;
    let healthy_start = sent
        .iter()
        .find(|s| s.channel == "healthy" && s.kind == NotifyKind::RunStarted)
        .unwrap()
        .seq;
    let finished = seq_of(&records, |e| matches!(e, Event::RunFinished { .. }));
    assert!(healthy_start < silent_start);
    assert!(
        finished < silent_start,
        "the run did not wait for a webhook"
    );
}

#[tokio::test]
async fn long_runs_post_status_updates_at_the_cadence() {
    let rx = receiver(|_| Answer::Status(200)).await;
    let plan = format!(
        r#"
[[environments]]
name = "prod"
[[stages]]
name = "migrate"
command = "sleep 2.5"
{}[communication]
cadence = "1s"
"#,
        rx.channel("ops", "events = [\"status\"]\n")
    );
    let run = start(&plan, false);
    let (_, records) = finish(run, RunOutcome::Released).await;
    let sent = sent(&records);
    assert!(!sent.is_empty(), "at least one status in 2.5 s at 1 s");
    assert!(sent.len() <= 4, "{sent:?}");
    for s in &sent {
        assert_eq!(s.kind, NotifyKind::Status);
        assert!(s.ok, "{s:?}");
        assert!(s.message.starts_with("svc 2.0 status: "), "{}", s.message);
    }
    let bodies = rx.bodies("ops");
    assert_eq!(bodies.len(), sent.len());
    for b in &bodies {
        assert_eq!(b["kind"], "status");
        assert_eq!(b["environment"], "prod");
        assert_eq!(b["step"], "migrate");
        assert_eq!(b["status"], "running");
        assert!(b["elapsed_s"].as_u64().is_some(), "{b}");
        assert!(b.get("seq").is_none(), "{b}");
    }
}

#[tokio::test]
async fn each_channel_hears_only_its_events_and_failures_say_why() {
    let rx = receiver(|_| Answer::Status(200)).await;
    let plan = format!(
        r#"
[[environments]]
name = "staging"
[[environments]]
name = "prod"
[[stages]]
name = "deploy"
command = 'test "$SLATE_ENV" != prod || {{ echo "disk full" >&2; exit 3; }}'
rollback = "true"
{pager}{summary}"#,
        pager = rx.channel("pager", "events = [\"failure\", \"rollback\"]\n"),
        summary = rx.channel("summary", "events = [\"completed\"]\n"),
    );
    let run = start(&plan, false);
    let (_, records) = finish(run, RunOutcome::RolledBack).await;
    let sent = sent(&records);
    assert_eq!(kinds_for(&sent, "pager"), ["failure", "rollback"]);
    assert_eq!(kinds_for(&sent, "summary"), ["completed"]);
    assert!(sent.iter().all(|s| s.ok), "{sent:?}");

    let pager = by_kind(&rx.bodies("pager"));
    let failure = &pager["failure"];
    assert_eq!(failure["environment"], "prod");
    assert_eq!(failure["step"], "deploy");
    assert!(
        failure["text"]
            .as_str()
            .unwrap()
            .starts_with("svc 2.0: step deploy failed in prod: "),
        "{failure}"
    );
    let rollback = &pager["rollback"];
    assert_eq!(rollback["trigger"], "step_failed");
    assert_eq!(rollback["environment"], "prod");
    assert!(
        rollback["reason"]
            .as_str()
            .unwrap()
            .starts_with("deploy failed: "),
        "{rollback}"
    );
    let summary = by_kind(&rx.bodies("summary"));
    assert_eq!(summary["completed"]["outcome"], "rolled_back");
    assert!(
        summary["completed"]["reason"]
            .as_str()
            .unwrap()
            .starts_with("prod rolled back (not verified: no verify_rollback): deploy failed"),
        "{}",
        summary["completed"]
    );
}

#[tokio::test]
async fn only_the_notifier_may_record_a_notification() {
    let rx = receiver(|_| Answer::Status(200)).await;
    let plan = prod_deploy(
        "gates = [\"go\"]\n",
        "",
        &(manual_gate("") + &rx.channel("ops", "events = [\"completed\"]\n")),
    );
    let mut run = start(&plan, false);
    run.until("gate waiting", |e| matches!(e, Event::GateWaiting { .. }))
        .await;
    let forged = Instruction::RecordNotification(slate::engine::command::Delivered {
        channel: "ops".into(),
        kind: NotifyKind::Completed,
        ok: true,
        attempts: 1,
        status: Some(200),
        latency_ms: 1,
        message: "all good".into(),
    });
    let refused = run.send("mallory", forged).await;
    assert_eq!(
        refused,
        Err("only the notifier records notifications".to_string())
    );
    run.send(
        "alice",
        Action::Approve {
            gate: None,
            comment: String::new(),
        },
    )
    .await
    .unwrap();
    let (state, records) = finish(run, RunOutcome::Released).await;
    assert!(records.iter().any(|r| matches!(
        &r.event,
        Event::CommandRefused { actor, .. } if actor.user == "mallory"
    )));
    let sent = sent(&records);
    assert_eq!(sent.len(), 1, "only the real delivery: {sent:?}");
    assert_eq!(state.notifications.len(), 1);
    assert!(sent[0].message.starts_with("svc 2.0 finished: released"));
}

#[tokio::test]
async fn a_late_rollback_after_the_release_is_told_too() {
    let rx = receiver(|_| Answer::Status(200)).await;
    let plan = prod_deploy(
        "",
        "rollback = \"true\"\n",
        &rx.channel("ops", "events = [\"rollback\", \"completed\"]\n"),
    );
    let mut run = start(&plan, true);
    run.until("released", |e| matches!(e, Event::RunFinished { .. }))
        .await;
    run.until("completion journaled", |e| {
        matches!(
            e,
            Event::NotificationSent {
                kind: NotifyKind::Completed,
                ..
            }
        )
    })
    .await;
    run.send(
        "alice",
        Action::Rollback {
            env: None,
            reason: "bad numbers".into(),
        },
    )
    .await
    .unwrap();
    run.until("rolled back", |e| {
        matches!(
            e,
            Event::RunFinished {
                outcome: RunOutcome::RolledBack,
                ..
            }
        )
    })
    .await;
    // The second completion is journaled before the engine takes commands again.
    run.send("alice", Instruction::Shutdown).await.unwrap();
    let (_, records) = finish(run, RunOutcome::RolledBack).await;
    let sent = sent(&records);
    assert_eq!(sent.len(), 3, "{sent:?}");
    assert_eq!(sent[0].kind, NotifyKind::Completed);
    assert_eq!(
        sorted(sent[1..].iter().map(|s| s.kind.name()).collect()),
        ["completed", "rollback"]
    );
    assert!(sent.iter().all(|s| s.ok), "{sent:?}");
    let bodies = rx.bodies("ops");
    let rollback = bodies.iter().find(|b| b["kind"] == "rollback").unwrap();
    assert_eq!(rollback["trigger"], "manual");
    assert_eq!(rollback["reason"], "bad numbers");
    let last = bodies.iter().rfind(|b| b["kind"] == "completed").unwrap();
    assert_eq!(last["outcome"], "rolled_back");
}

#[tokio::test]
async fn with_every_client_gone_deliveries_are_still_journaled_at_the_end() {
    let rx = receiver(|_| Answer::Status(200)).await;
    let (state, records) =
        run_without_clients(&prod_deploy("", "", &rx.channel("ops", "")), |_| {}).await;
    assert_eq!(state.outcome, Some(RunOutcome::Released));
    let sent = sent(&records);
    assert_eq!(
        kinds_for(&sent, "ops"),
        sorted(vec!["run_started", "env_promoted", "completed"])
    );
    assert!(sent.iter().all(|s| s.ok), "{sent:?}");
    assert_eq!(RunState::replay(&records), state);
    assert_eq!(rx.bodies("ops").len(), 3);
}

#[tokio::test]
async fn commands_sent_while_the_end_waits_for_a_webhook_are_answered_after_it() {
    // The completion notice takes 800 ms to be accepted.
    let rx = receiver(|_| Answer::Slow(800)).await;
    let plan = prod_deploy("", "", &rx.channel("ops", "events = [\"completed\"]\n"));
    let mut run = start(&plan, true);
    run.until("released", |e| matches!(e, Event::RunFinished { .. }))
        .await;
    // The engine is now waiting for the completion notice: these wait their turn.
    let note = run.send(
        "alice",
        Action::Note {
            text: "shipped".into(),
        },
    );
    let note = tokio::time::timeout(LIMIT, note).await.unwrap();
    assert_eq!(note, Ok("note added".into()));
    let bye = tokio::time::timeout(LIMIT, run.send("alice", Instruction::Shutdown))
        .await
        .unwrap();
    assert_eq!(bye, Ok("shutting down".into()));
    let (_, records) = finish(run, RunOutcome::Released).await;
    let completed = sent(&records)
        .into_iter()
        .find(|s| s.kind == NotifyKind::Completed)
        .expect("the completion notice is journaled");
    assert!(completed.ok, "{completed:?}");
    let noted = seq_of(&records, |e| matches!(e, Event::NoteAdded { .. }));
    assert!(
        completed.seq < noted,
        "the note was taken after the notice was journaled"
    );
}

/// A break-glass is told to every channel, whatever its `events`: asked
/// for (who, why, what it would cross), then crossed (with who approved).
#[tokio::test]
async fn a_break_glass_is_told_to_every_channel_with_who_why_and_what_it_crosses() {
    use crate::break_glass::{REASON, start_frozen};
    let rx = receiver(|_| Answer::Status(200)).await;
    let mut run = start_frozen(&rx.channel("ops", "events = [\"completed\"]\n"));
    run.until("the request", |e| {
        matches!(e, Event::BreakGlassRequested { .. })
    })
    .await;
    run.send(
        "bob",
        Action::Approve {
            gate: None,
            comment: "ok".into(),
        },
    )
    .await
    .unwrap();
    let (_, records) = finish(run, RunOutcome::Released).await;
    assert_eq!(
        kinds_for(&sent(&records), "ops"),
        sorted(vec!["break_glass", "break_glass", "completed"])
    );
    let bodies: Vec<Value> = rx
        .bodies("ops")
        .into_iter()
        .filter(|b| b["kind"] == "break_glass")
        .collect();
    let how = |h: &str| {
        bodies
            .iter()
            .find(|b| b["break_glass"] == h)
            .unwrap_or_else(|| panic!("no {h} notice in {bodies:#?}"))
            .clone()
    };
    let asked = how("requested");
    assert_eq!(asked["actor"], "starter");
    assert_eq!(asked["environment"], "prod");
    assert_eq!(
        asked["crossed"],
        "prod is frozen: holiday freeze until Mon 08:00 UTC"
    );
    // The reason is one line: its newline is gone, its escape kept as text for JSON to escape.
    let one_line = REASON.split_whitespace().collect::<Vec<_>>().join(" ");
    assert_eq!(asked["reason"], one_line.as_str());
    assert!(
        asked["text"]
            .as_str()
            .unwrap()
            .contains("BREAK-GLASS into prod asked by starter"),
        "{asked}"
    );
    let crossed = how("crossed");
    assert_eq!(crossed["actor"], "starter");
    assert_eq!(crossed["decided_by"], "bob");
    assert!(
        crossed["text"]
            .as_str()
            .unwrap()
            .contains("BREAK-GLASS into prod by starter, approved by bob"),
        "{crossed}"
    );
}
