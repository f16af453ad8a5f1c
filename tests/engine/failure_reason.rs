//! Failures say what failed: a failed step's message ends with the last
//! meaningful line it wrote to stderr (escapes stripped, bounded), so the
//! pipeline, the header, headless output, the webhook text and the dossier
//! carry it, not only `exited with status 1`. Then the pipeline's picture
//! of a failed stage with its stderr lines.

use crate::common;

use common::engine::*;
use slate::engine::RunOutcome;
use slate::engine::event::Event;

const FAILING: &str = r#"
[[environments]]
name = "prod"
[[stages]]
name = "migrate"
command = '''
echo "connecting to db" >&2
printf 'ERROR: \033[31mrelation\033[0m "users" does not exist\n\n   \n' >&2
echo "this is stdout"
exit 1
'''
"#;

#[tokio::test]
async fn the_last_stderr_line_is_in_the_message_and_the_run_end() {
    let (state, records) = run_without_clients(FAILING, |_| {}).await;
    assert_eq!(state.outcome, Some(RunOutcome::RolledBack));
    let want = "exited with status 1: ERROR: relation \"users\" does not exist";
    let finished = records
        .iter()
        .find_map(|r| match &r.event {
            Event::StepFinished { message, .. } => Some(message.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(finished, want);
    assert!(state.message.contains(want), "{}", state.message);
    // Headless prints it.
    let mut printer = slate::headless::Printer::new("journal".into());
    let text: Vec<String> = records.iter().flat_map(|r| printer.lines(r)).collect();
    assert!(text.iter().any(|l| l.contains(want)), "{}", text.join("\n"));
    // The dossier says it.
    let md = slate::dossier::render(&records, false);
    assert!(md.contains("relation"), "{md}");
    assert!(!md.contains('\u{1b}'));
}

#[tokio::test]
async fn a_flood_of_stderr_keeps_one_bounded_line() {
    let body = r#"
[[environments]]
name = "prod"
[[stages]]
name = "spam"
command = 'i=0; while [ $i -lt 2000 ]; do echo "noise $i" >&2; i=$((i+1)); done; head -c 5000 /dev/zero | tr "\0" x >&2; echo >&2; exit 2'
"#;
    let (state, _) = run_without_clients(body, |_| {}).await;
    let msg = &state.envs[0].steps[0].message;
    assert!(msg.starts_with("exited with status 2: xxxx"), "{msg}");
    assert!(msg.chars().count() < 260, "bounded: {}", msg.len());
}

#[tokio::test]
async fn a_step_that_says_nothing_on_stderr_keeps_its_plain_message() {
    let body =
        "\n[[environments]]\nname = \"prod\"\n[[stages]]\nname = \"quiet\"\ncommand = \"exit 3\"\n";
    let (state, _) = run_without_clients(body, |_| {}).await;
    assert_eq!(state.envs[0].steps[0].message, "exited with status 3");
}

#[test]
fn snapshot_a_failed_stage_with_its_stderr_reason() {
    use common::state::*;
    use slate::cockpit::keymap::Keymap;
    use slate::engine::event::{Record, StepStatus, Stream};
    let src = plan(false, false);
    let mut app = app_on(&src, Keymap::default());
    let mut seq = 0;
    let mut rec = |event: Event| {
        seq += 1;
        Record {
            seq,
            ts: t0() + jiff::SignedDuration::from_millis(seq as i64 * 100),
            event,
        }
    };
    let mut events = vec![
        run_started(&src),
        Event::EnvStarted { env: 0 },
        Event::StepStarted {
            env: 0,
            step: 0,
            attempt: 1,
        },
    ];
    for (stream, line) in [
        (Stream::Stdout, "applying 0042_users.sql"),
        (Stream::Stderr, "psql: connecting to db-primary"),
        (
            Stream::Stderr,
            "LINE 1: ALTER TABLE users ADD COLUMN \u{1b}[31memail\u{1b}[0m",
        ),
        (Stream::Stderr, "ERROR: relation \"users\" does not exist"),
    ] {
        events.push(Event::Output {
            env: 0,
            step: 0,
            stream,
            line: line.into(),
            rollback: false,
        });
    }
    events.push(Event::StepFinished {
        env: 0,
        step: 0,
        attempt: 1,
        status: StepStatus::Failed,
        exit_code: Some(1),
        duration_ms: 1200,
        message: "exited with status 1: ERROR: relation \"users\" does not exist".into(),
    });
    for e in events {
        let r = rec(e);
        app.apply_record(&r);
    }
    app.view.focus = slate::cockpit::app::Panel::Pipeline;
    let term = common::render::render(&mut app, 100, 24);
    let screen = common::render::text(term.backend().buffer());
    assert!(
        screen.contains("psql: connecting to db-primary"),
        "{screen}"
    );
    insta::assert_snapshot!("failed_stage_stderr_100x24", screen);
}

#[tokio::test]
async fn a_secret_in_the_last_stderr_line_is_masked_in_every_record() {
    let body = r#"
[secrets]
DB = "cmd:echo hunter2-very-secret"
[[environments]]
name = "prod"
[[stages]]
name = "deploy"
secrets = ["DB"]
command = 'echo "auth failed for password $DB" >&2; exit 1'
"#;
    let (state, records) = run_without_clients(body, |_| {}).await;
    let msg = &state.envs[0].steps[0].message;
    assert!(
        msg.starts_with("exited with status 1: auth failed for password "),
        "{msg}"
    );
    // The plan's text names the command that yields it, not the value; every
    // record the run wrote after it is checked.
    for r in records.iter().skip(1) {
        let line = serde_json::to_string(r).unwrap();
        assert!(
            !line.contains("hunter2-very-secret"),
            "a secret reached the journal: {line}"
        );
    }
    assert!(!state.message.contains("hunter2"), "{}", state.message);
}
