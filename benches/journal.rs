//! The journal's costs: appending (output lines batched; state changes
//! flushed, with and without fsync, one fsync each or grouped), and reading back a 1,000,000-event
//! journal and replaying it into a `RunState` (issue 8's budget: ≤ 1 s).
//! Baselines in the same run: appending output lines with fsync off shows
//! what the flush policy saves; parsing the same journal without replay
//! shows what the reducer adds. `cargo bench --bench journal`.

use std::path::PathBuf;
use std::sync::OnceLock;

use jiff::Timestamp;
use slate::engine::RunState;
use slate::engine::event::{Event, Record, Stream};
use slate::journal::{Durable, JournalWriter};

fn main() {
    divan::main();
}

/// Events in the big journal; CI's smoke run sets `SLATE_BENCH_EVENTS` small.
fn big() -> usize {
    std::env::var("SLATE_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}
const APPEND: usize = 10_000;

fn output(seq: u64, ts: Timestamp) -> Record {
    Record {
        seq,
        ts,
        event: Event::Output {
            env: 0,
            step: 0,
            stream: Stream::Stdout,
            line: format!("applied row {seq:>8} of table orders: ok ({} ms)", seq % 97),
            rollback: false,
        },
    }
}

fn state_change(seq: u64, ts: Timestamp) -> Record {
    Record {
        seq,
        ts,
        event: Event::RetryScheduled {
            env: 0,
            step: 0,
            next_attempt: 2,
            delay_ms: 1000,
        },
    }
}

/// `APPEND` records into a fresh journal, each on disk as `when` says and
/// all of them by the end; the bench measures all of them.
fn append(
    bencher: divan::Bencher,
    make: fn(u64, Timestamp) -> Record,
    durable: bool,
    when: Durable,
) {
    let ts = Timestamp::now();
    let records: Vec<Record> = (1..=APPEND as u64).map(|s| make(s, ts)).collect();
    bencher
        .counter(divan::counter::ItemsCount::new(APPEND))
        .with_inputs(|| {
            let dir = tempfile::TempDir::new().unwrap();
            let mut w = JournalWriter::create(&dir.path().join("run")).unwrap();
            w.set_durable(durable);
            (dir, w)
        })
        .bench_local_values(|(dir, mut w)| {
            for r in &records {
                w.append_as(r, when).unwrap();
            }
            w.commit().unwrap();
            w.flush().unwrap();
            drop(w);
            dir
        });
}

#[divan::bench(sample_count = 10)]
fn append_output_lines(bencher: divan::Bencher) {
    append(bencher, output, true, Durable::Now);
}

#[divan::bench(sample_count = 10)]
fn append_state_changes_fsynced(bencher: divan::Bencher) {
    append(bencher, state_change, true, Durable::Now);
}

/// Group commit: each record's fsync is asked for at once and none is
/// waited for until the end (`Durable::Soon`); those written while one is
/// in flight share the next. Issue 22's goal is 5,000 state records a second.
#[divan::bench(sample_count = 10)]
fn append_state_changes_grouped(bencher: divan::Bencher) {
    append(bencher, state_change, true, Durable::Soon);
}

#[divan::bench(sample_count = 10)]
fn baseline_append_state_changes_without_fsync(bencher: divan::Bencher) {
    append(bencher, state_change, false, Durable::Now);
}

/// A real start, then a million output lines — written once per process.
fn big_journal() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("slate-bench-journal-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let plan = "[release]\nname = \"b\"\nversion = \"2\"\nprevious_version = \"1\"\nowner = \"o\"\n[[environments]]\nname = \"dev\"\n[[stages]]\nname = \"a\"\ncommand = \"true\"\n";
        let start = Record {
            seq: 1,
            ts: Timestamp::now(),
            event: Event::RunStarted {
                run_id: "big".into(),
                plan_path: "b.toml".into(),
                plan_source: plan.into(),
                release: "b".into(),
                version: "2".into(),
                previous_version: "1".into(),
                owner: "o".into(),
                environments: vec![slate::engine::event::EnvOutline {
                    name: "dev".into(),
                    strategy: "all-at-once".into(),
                    steps: vec![slate::engine::event::StepOutline {
                        label: "a".into(),
                        kind: "run".into(),
                        stage: Some("a".into()),
                        timeout_ms: None,
                        irreversible: false,
                    }],
                }],
                actor: slate::engine::event::Actor {
                    user: "b".into(),
                    uid: 0,
                    via: "bench".into(),
                    roles: None,
                },
                pid: 1,
                pre_approved: Vec::new(),
                sealed: Vec::new(),
                auto_approve: false,
                vars: Vec::new(),
                rollback_to: None,
            },
        };
        let mut w = JournalWriter::create(&dir).unwrap();
        w.set_durable(false);
        w.append(&start).unwrap();
        let ts = Timestamp::now();
        for seq in 2..=big() as u64 {
            w.append(&output(seq, ts)).unwrap();
        }
        w.flush().unwrap();
        dir.join(slate::journal::JOURNAL_FILE)
    })
}

#[divan::bench(sample_count = 3)]
fn replay_1m_events(bencher: divan::Bencher) {
    let path = big_journal();
    bencher.bench(|| {
        let j = slate::journal::read_journal(path).unwrap();
        let s = RunState::replay(&j.records);
        assert_eq!(s.last_seq, big() as u64);
    });
}

#[divan::bench(sample_count = 3)]
fn baseline_read_1m_events_without_replay(bencher: divan::Bencher) {
    let path = big_journal();
    bencher.bench(|| slate::journal::read_journal(path).unwrap().records.len());
}

/// What `slate dossier` does: the journal read without its output (which no
/// section quotes), then rendered.
#[divan::bench(sample_count = 3)]
fn dossier_1m_events(bencher: divan::Bencher) {
    let dir = big_journal().parent().unwrap();
    bencher.bench(|| slate::dossier::for_run(dir).unwrap().markdown.len());
}
