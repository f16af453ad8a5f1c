//! Hostile input, fuzzed with proptest: mutated plans, mutated journals and
//! arbitrary record sequences must never panic, hang or run away — the
//! loader answers with located problems, the reader with a warning or an
//! error naming a line, and replay, the dossier and the cockpit's state take
//! whatever records come; lines sent to a real run's control socket are
//! answered or refused on their own connection. The seed corpus is the
//! validate fixtures; each property runs a bounded number of cases so CI
//! stays quick.

use std::path::PathBuf;

use proptest::prelude::*;
use slate::engine::event::*;
use slate::engine::{Event, Record, RunState};

use crate::common;

fn fixtures() -> Vec<String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut out = Vec::new();
    for dir in ["valid", "invalid"] {
        let mut files: Vec<_> = std::fs::read_dir(root.join(dir))
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        out.extend(files.iter().map(|p| std::fs::read_to_string(p).unwrap()));
    }
    out
}

/// One change to a text: a byte replaced, inserted or removed, a span
/// duplicated or cut, or the text truncated.
#[derive(Debug, Clone)]
enum Mutation {
    Replace(usize, u8),
    Insert(usize, u8),
    Remove(usize),
    Duplicate(usize, usize),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    // Bytes that matter to TOML and JSON, plus anything at all.
    let byte = prop_oneof![
        prop::sample::select(b"[]{}=\"',.:\\\n#0123456789-+ tfe".to_vec()),
        any::<u8>(),
    ];
    prop_oneof![
        (any::<usize>(), byte.clone()).prop_map(|(i, b)| Mutation::Replace(i, b)),
        (any::<usize>(), byte).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<usize>().prop_map(Mutation::Remove),
        (any::<usize>(), 1usize..200).prop_map(|(i, n)| Mutation::Duplicate(i, n)),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn apply(text: &[u8], muts: &[Mutation]) -> Vec<u8> {
    let mut b = text.to_vec();
    for m in muts {
        let len = b.len().max(1);
        match *m {
            Mutation::Replace(i, x) if !b.is_empty() => b[i % len] = x,
            Mutation::Insert(i, x) => b.insert(i % (b.len() + 1), x),
            Mutation::Remove(i) if !b.is_empty() => {
                b.remove(i % len);
            }
            Mutation::Duplicate(i, n) if !b.is_empty() => {
                let start = i % len;
                let end = (start + n).min(b.len());
                let piece = b[start..end].to_vec();
                b.splice(end..end, piece);
            }
            Mutation::Truncate(i) => b.truncate(i % (b.len() + 1)),
            _ => {}
        }
    }
    b
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, failure_persistence: None, ..ProptestConfig::default() })]

    /// Any mutation of any fixture loads or fails with located problems.
    #[test]
    fn mutated_plans_never_panic(seed in any::<prop::sample::Index>(), muts in prop::collection::vec(mutation(), 1..8)) {
        let corpus = fixtures();
        let text = apply(corpus[seed.index(corpus.len())].as_bytes(), &muts);
        let text = String::from_utf8_lossy(&text);
        if let Err(e) = slate::plan::parse(&text, "fuzz.toml", PathBuf::from(".")) {
            for line in e.lines() {
                prop_assert!(line.starts_with("fuzz.toml:"), "located: {line}");
            }
        }
    }
}

/// A real journal: a small plan run to its end by the engine, in process.
fn journal_text() -> &'static str {
    static TEXT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TEXT.get_or_init(|| {
        let home = tempfile::TempDir::new().unwrap();
        let plan = slate::plan::parse(
            common::release_plan!("fz" "2" from "1" by "o"; r#"[[environments]]
name = "dev"
[[environments]]
name = "prod"
[[stages]]
name = "a"
command = "echo one; echo two >&2"
rollback = "echo undo"
[[stages]]
name = "b"
command = "exit 1"
environments = ["prod"]
"#),
            "fz.toml",
            PathBuf::from("."),
        )
        .unwrap();
        let rt = tokio::runtime::Runtime::new().unwrap();
        let opts =
            slate::engine::EngineOptions::new("fz.toml", home.path(), Actor::current("test"));
        let (engine, handle) = slate::engine::Engine::new(plan, opts).unwrap();
        rt.block_on(engine.run());
        std::fs::read_to_string(handle.journal_path()).unwrap()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, failure_persistence: None, ..ProptestConfig::default() })]

    /// A damaged journal is read with a warning or refused with a line; what
    /// is read replays and renders.
    #[test]
    fn mutated_journals_never_panic(muts in prop::collection::vec(mutation(), 1..6)) {
        let bytes = apply(journal_text().as_bytes(), &muts);
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), &bytes).unwrap();
        match slate::journal::read_journal(f.path()) {
            Ok(j) => {
                // What was read is one unbroken sequence, and replays to its end.
                prop_assert!(j.records.windows(2).all(|p| p[1].seq == p[0].seq + 1));
                let state = RunState::replay(&j.records);
                prop_assert_eq!(state.last_seq, j.records.last().map_or(0, |r| r.seq));
                let _ = slate::dossier::render(&j.records, false);
                // The cut a recovery makes keeps exactly those records.
                prop_assert!(j.valid_len as usize <= bytes.len());
                std::fs::write(f.path(), &bytes[..j.valid_len as usize]).unwrap();
                let cut = slate::journal::read_journal(f.path()).unwrap();
                prop_assert_eq!(cut.records, j.records);
                prop_assert!(cut.warning.is_none());
            }
            Err(e) => {
                let text = e.to_string();
                let line: usize = text
                    .strip_prefix("journal is corrupt at line ")
                    .and_then(|rest| rest.split(':').next())
                    .and_then(|n| n.parse().ok())
                    .unwrap_or_else(|| panic!("an error names its line: {text}"));
                let lines = bytes.split(|&b| b == b'\n').count();
                prop_assert!((1..=lines).contains(&line), "line {} of {}", line, lines);
            }
        }
    }
}

fn any_actor() -> impl Strategy<Value = Actor> {
    (
        "[a-z]{1,6}",
        prop::sample::select(vec!["cockpit", "cli", "engine", "socket"]),
    )
        .prop_map(|(user, via)| Actor {
            user,
            uid: 1000,
            via: via.to_string(),
            roles: None,
        })
}

/// Records the engine would never write in this order, with indices that
/// may point nowhere.
fn event() -> impl Strategy<Value = Event> {
    let ix = 0usize..6;
    let text = ".{0,40}";
    let status = prop::sample::select(vec![
        StepStatus::Succeeded,
        StepStatus::Failed,
        StepStatus::TimedOut,
        StepStatus::Killed,
    ]);
    let choice = prop::sample::select(vec![
        RollbackChoice::Hold,
        RollbackChoice::RollForward,
        RollbackChoice::Force,
        RollbackChoice::Retry,
        RollbackChoice::Done,
        RollbackChoice::Rollback,
    ]);
    let trigger = prop_oneof![
        ix.clone().prop_map(|step| Trigger::StepFailed { step }),
        Just(Trigger::Abort),
        Just(Trigger::Manual),
        ix.clone().prop_map(|step| Trigger::Interrupted { step }),
    ];
    prop_oneof![
        ix.clone().prop_map(|env| Event::EnvStarted { env }),
        (ix.clone(), ix.clone(), 0u32..4).prop_map(|(env, step, attempt)| Event::StepStarted {
            env,
            step,
            attempt
        }),
        (ix.clone(), ix.clone(), any::<i32>(), any::<bool>()).prop_map(
            |(env, step, pgid, rollback)| Event::ProcessStarted {
                env,
                step,
                pid: 1,
                pgid,
                rollback,
                start_ticks: None
            }
        ),
        (ix.clone(), ix.clone(), text, any::<bool>()).prop_map(|(env, step, line, rollback)| {
            Event::Output {
                env,
                step,
                stream: Stream::Stdout,
                line,
                rollback,
            }
        }),
        (ix.clone(), ix.clone(), status.clone(), text).prop_map(|(env, step, status, message)| {
            Event::StepFinished {
                env,
                step,
                attempt: 1,
                status,
                exit_code: None,
                duration_ms: 5,
                message,
            }
        }),
        (ix.clone(), ix.clone(), "[a-z]{1,5}", 0u32..3).prop_map(|(env, step, gate, required)| {
            Event::GateWaiting {
                env,
                step,
                gate,
                required,
                require_comment: false,
                timeout_ms: None,
                since: None,
            }
        }),
        (ix.clone(), ix.clone(), "[a-z]{1,5}", any_actor(), text).prop_map(
            |(env, step, gate, actor, comment)| Event::Approved {
                env,
                step,
                gate,
                actor,
                comment,
                source: ApprovalSource::Operator
            }
        ),
        (ix.clone(), ix.clone(), "[a-z]{1,5}").prop_map(|(env, step, gate)| Event::GatePassed {
            env,
            step,
            gate
        }),
        (ix.clone(), ix.clone(), "[a-z]{1,5}", any_actor(), text).prop_map(
            |(env, step, gate, actor, reason)| Event::Rejected {
                env,
                step,
                gate,
                actor,
                reason
            }
        ),
        (ix.clone(), trigger, text).prop_map(|(env, trigger, reason)| Event::RollbackStarted {
            env,
            trigger,
            reason
        }),
        (ix.clone(), ix.clone()).prop_map(|(env, step)| Event::RollbackStepStarted {
            env,
            step,
            attempt: 1
        }),
        (ix.clone(), ix.clone(), status, text).prop_map(|(env, step, status, message)| {
            Event::RollbackStepFinished {
                env,
                step,
                attempt: 1,
                status,
                exit_code: None,
                duration_ms: 1,
                message,
            }
        }),
        (
            ix.clone(),
            ix.clone(),
            text,
            prop::collection::vec(choice.clone(), 0..4)
        )
            .prop_map(|(env, step, reason, choices)| Event::RollbackBlocked {
                env,
                step,
                reason,
                choices
            }),
        (
            ix.clone(),
            ix.clone(),
            text,
            prop::collection::vec(choice.clone(), 0..4),
            any::<bool>()
        )
            .prop_map(
                |(env, step, reason, choices, rollback)| Event::StepInterrupted {
                    env,
                    step,
                    rollback,
                    reason,
                    choices
                }
            ),
        (ix.clone(), ix.clone(), choice, any_actor(), text).prop_map(
            |(env, step, choice, actor, note)| Event::RollbackDecision {
                env,
                step,
                choice,
                actor,
                note
            }
        ),
        (ix.clone(), ix.clone(), any_actor())
            .prop_map(|(env, step, actor)| Event::RetryRequested { env, step, actor }),
        (
            ix.clone(),
            prop::sample::select(vec![
                EnvOutcome::Deployed,
                EnvOutcome::RolledBack,
                EnvOutcome::Held
            ])
        )
            .prop_map(|(env, outcome)| Event::EnvFinished { env, outcome }),
        (ix.clone(), text).prop_map(|(env, check)| Event::RollbackVerifyStarted { env, check }),
        (
            ix.clone(),
            any::<bool>(),
            text,
            prop::option::of(text),
            prop::collection::vec(text, 0..3)
        )
            .prop_map(
                |(env, ok, message, check, output)| Event::RollbackVerified {
                    env,
                    ok,
                    message,
                    check,
                    output
                }
            ),
        (any_actor(), text).prop_map(|(actor, reason)| Event::AbortRequested { actor, reason }),
        (ix.clone(), any_actor(), text).prop_map(|(env, actor, reason)| Event::RollbackRequested {
            env,
            actor,
            reason
        }),
        any_actor().prop_map(|actor| Event::PauseRequested {
            actor,
            reason: None
        }),
        Just(Event::Paused {
            env: None,
            step: None
        }),
        any_actor().prop_map(|actor| Event::Resumed { actor }),
        (any_actor(), text).prop_map(|(actor, text)| Event::NoteAdded { actor, text }),
        (any_actor(), ix.clone(), ix).prop_map(|(actor, env, step)| Event::RunRecovered {
            actor,
            pid: 2,
            previous_pid: 1,
            warning: None,
            leftovers: vec![Leftover {
                env,
                step,
                pgid: 7,
                stopped: true,
                message: "x".into(),
                verify: false
            }]
        }),
        Just(Event::RunFinished {
            outcome: RunOutcome::Released,
            message: "done".into()
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, failure_persistence: None, ..ProptestConfig::default() })]

    /// Any sequence of records after a real start replays, renders a
    /// dossier, and drives the cockpit's state without a panic.
    #[test]
    fn arbitrary_records_replay_render_and_draw(events in prop::collection::vec(event(), 0..60)) {
        let start: Record = serde_json::from_str(journal_text().lines().next().unwrap()).unwrap();
        let mut records = vec![start];
        for (i, event) in events.into_iter().enumerate() {
            records.push(Record { seq: i as u64 + 2, ts: records[0].ts, event });
        }
        let state = RunState::replay(&records);
        prop_assert_eq!(state.last_seq, records.len() as u64);
        let md = slate::dossier::render(&records, false);
        prop_assert!(md.contains("## Release Summary"));
        let plan = slate::runs::recorded_plan(&records).unwrap().unwrap();
        let mut app = slate::cockpit::app::App::new(plan, slate::cockpit::keymap::Keymap::default(), slate::tui::theme::Theme::load("default", std::path::Path::new("/nonexistent")).unwrap());
        for r in &records {
            app.apply_record(r);
        }
        let backend = ratatui::backend::TestBackend::new(100, 30);
        let mut term = ratatui::Terminal::new(backend).unwrap();
        term.draw(|f| slate::cockpit::ui::draw(f, &app)).unwrap();
    }
}

/// A line to send to the control socket: anything at all, or a valid
/// request that does not steer the run (status, subscribe, a note), mutated.
fn control_line() -> impl Strategy<Value = Vec<u8>> {
    let seeds: Vec<&'static [u8]> = vec![
        br#"{"op":"status"}"#,
        br#"{"op":"subscribe","from_seq":1,"elide":true}"#,
        br#"{"op":"command","command":{"action":"note","text":"fuzz"},"client":"cli"}"#,
    ];
    prop_oneof![
        ".{0,300}".prop_map(String::into_bytes),
        prop::collection::vec(any::<u8>(), 0..300),
        (
            prop::sample::select(seeds),
            prop::collection::vec(mutation(), 1..6)
        )
            .prop_map(|(seed, muts)| apply(seed, &muts)),
        // Past the line cap, with and without a newline inside.
        (0usize..3).prop_map(|n| {
            let mut b = vec![b'{'; slate::control::wire::MAX_LINE + 1 + n];
            b[n * 100] = b'\n';
            b
        }),
    ]
}

/// Sends `line` and a newline on a new connection to `socket` and reads the
/// first reply line, if the server sends one before closing. Fails the case
/// on a reply that is not a [`Response`], or on silence past a deadline.
fn exchange(
    socket: &std::path::Path,
    line: &[u8],
) -> Result<Option<slate::control::wire::Response>, TestCaseError> {
    use std::io::{BufRead, BufReader, Write};
    let mut stream = std::os::unix::net::UnixStream::connect(socket)
        .map_err(|e| TestCaseError::fail(format!("connect: {e}")))?;
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    // The server may close early (a bad line): a failed write is its answer.
    let _ = stream.write_all(line).and_then(|_| stream.write_all(b"\n"));
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let mut reply = Vec::new();
    match BufReader::new(&stream).read_until(b'\n', &mut reply) {
        Ok(0) => Ok(None),
        Ok(_) => serde_json::from_slice(&reply).map(Some).map_err(|e| {
            TestCaseError::fail(format!(
                "not a reply ({e}): {}",
                String::from_utf8_lossy(&reply)
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => Ok(None),
        Err(e) => Err(TestCaseError::fail(format!("no reply or close: {e}"))),
    }
}

/// Whatever arrives on a real run's control socket is read by the server's
/// own read path (line cap, JSON, credentials) and answered or refused on
/// its connection alone: after every hostile line a new connection still
/// gets the run's status, the run still waits at its gate, and approving it
/// then releases it with a journal that replays to the live state.
#[test]
fn control_requests_never_panic() {
    use slate::control::wire::Response;
    use slate::engine::Action;

    let rt = tokio::runtime::Runtime::new().unwrap();
    let run = rt.block_on(async {
        let mut run = common::engine::start(
            &common::engine::prod_deploy(
                "gates = [\"go\"]\n",
                "",
                &common::engine::manual_gate(""),
            ),
            false,
        );
        run.until("the gate", |e| matches!(e, Event::GateWaiting { .. }))
            .await;
        run
    });
    let server = {
        let _in_runtime = rt.enter();
        slate::control::server::ControlServer::start(run.handle.clone()).unwrap()
    };
    let socket = server.path().to_path_buf();
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 300,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    runner
        .run(&control_line(), |line| {
            exchange(&socket, &line)?;
            let status = exchange(&socket, br#"{"op":"status"}"#)?;
            prop_assert!(
                matches!(&status, Some(Response::Status(s)) if s["outcome"].is_null()),
                "the server still serves a running run: {status:?}"
            );
            Ok(())
        })
        .unwrap();
    let (state, _, _) = rt.block_on(async {
        assert_eq!(
            run.send(
                "owner",
                Action::Approve {
                    gate: None,
                    comment: String::new()
                }
            )
            .await,
            Ok("approved go".into())
        );
        run.finish().await
    });
    assert_eq!(state.outcome, Some(RunOutcome::Released));
    drop(server);
}
