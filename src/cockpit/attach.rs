//! The attach feed: the cockpit on a run whose engine lives in another
//! process. `slate attach RUN` opens it on a run going on elsewhere;
//! `slate run PLAN` and `slate demo` open it on the run of the engine host
//! they started ([`crate::host`]). Records come from the run's control socket
//! (`subscribe` from the first record, so the cockpit first replays what
//! happened and then follows live); commands go back through the socket as
//! this OS user. Leaving (`q` → detach) keeps the run going. `--read-only`
//! makes the cockpit an observer whose keys cannot change anything.

use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::mpsc;

use super::Left;
use super::app::{App, Effect};
use super::feed::Feed;
use super::keymap::Keymap;
use super::logs::{self, LogLine};
use crate::control::client::{ClientError, Commands, Followed, Following, Session};
use crate::engine::{Action, Record, Reply};
use crate::output::err;
use crate::tui::theme::Theme;

/// How long to wait for the run's first record after connecting.
const FIRST_RECORD: Duration = Duration::from_secs(10);

/// The longest the loop spends applying queued records before it looks at
/// keys and draws again.
const DRAIN: Duration = Duration::from_millis(8);

/// How long, after the run ended, to wait for the engine to write its
/// dossier before saying where it is.
const DOSSIER_WAIT: Duration = Duration::from_secs(3);

pub struct AttachArgs {
    /// Run id, unique prefix, or "latest".
    pub run: String,
    pub read_only: bool,
    pub theme: Option<String>,
}

/// How to open the cockpit on a run.
pub struct Opening {
    pub keymap: Keymap,
    pub theme: Theme,
    pub read_only: bool,
    /// This process started the run's engine host (`slate run`, `slate
    /// demo`): a run that ends while the cockpit is open gives the exit status.
    pub launched: bool,
    /// The terminal, when it is already taken: `slate run` draws its plan's
    /// outline while the engine host starts, and the cockpit draws the run
    /// over it. Handed back (dropped) before anything is printed.
    pub screen: Option<crate::tui::Tui>,
}

/// What the attach feed waited for.
pub enum Msg {
    Record(Box<Record>),
    /// Output lines the run's socket left out while the cockpit was behind.
    Elided(crate::control::follow::Elided),
    /// Who follows the run now.
    Watchers(crate::control::presence::Watchers),
    /// The stream ended: the engine exited, or the socket failed.
    Ended(String),
    /// Something to say that ends nothing (the team store went away).
    Notice(String, bool),
    Reply(String, Reply),
    History(Vec<LogLine>),
    /// The freezes on the run's environments, read again.
    Freezes(Vec<crate::stopline::upcoming::Upcoming>),
}

pub struct Attach {
    run_dir: PathBuf,
    records: mpsc::Receiver<Followed>,
    /// Commands go out on the same connection the records come in on.
    commands: Commands,
    reply_tx: mpsc::Sender<(String, Reply)>,
    replies: mpsc::Receiver<(String, Reply)>,
    history_tx: mpsc::Sender<Vec<LogLine>>,
    history: mpsc::Receiver<Vec<LogLine>>,
    freezes: mpsc::Receiver<Vec<crate::stopline::upcoming::Upcoming>>,
    /// Why the stream ended, once it has.
    ended: Option<String>,
}

/// `slate attach RUN`: opens the cockpit on an active run; 0 when the viewer
/// leaves, 1 when the stream fails at once, 2 when the run is not active or
/// there is no terminal.
pub async fn run(args: AttachArgs, state_dir: &Path, config_dir: &Path) -> i32 {
    // "latest" means the newest run that is still going, when there is one.
    let newest_active = (args.run == "latest")
        .then(|| crate::runs::active_runs(state_dir).unwrap_or_default())
        .and_then(|a| a.into_iter().find(|r| r.engine.live()))
        .map(|a| crate::runs::runs_dir(state_dir).join(a.run_id));
    let found = match newest_active {
        Some(dir) => Ok(dir),
        None => crate::runs::find_run(state_dir, &args.run),
    };
    let (run_dir, remote) = match found {
        Ok(d) => (d, None),
        // Not on this machine: a team run is followed from the team journal.
        Err(e) => match remote_run(&args.run, config_dir).await {
            Ok(Some((team, id))) => (crate::runs::runs_dir(state_dir).join(&id), Some(team)),
            Ok(None) => {
                err(&format!("slate: {e}"));
                return 2;
            }
            Err(why) => {
                err(&format!("slate: {e}; {why}"));
                return 2;
            }
        },
    };
    if !crate::tui::has_terminal(
        "slate: attach needs a terminal; `slate status` prints active runs",
    ) {
        return 2;
    }
    let Some(user) = super::load_config(config_dir) else {
        return 2;
    };
    let Some(theme) = super::load_theme(args.theme, &user, config_dir) else {
        return 2;
    };
    let opening = Opening {
        keymap: user.keymap,
        theme,
        read_only: args.read_only,
        launched: false,
        screen: None,
    };
    match remote {
        Some(team) => open_remote(run_dir, team, opening).await,
        None => open(run_dir, opening).await,
    }
}

/// The team store and the run `run` names in its journal, when a team
/// store is configured and this machine does not have the run.
async fn remote_run(
    run: &str,
    config_dir: &Path,
) -> Result<Option<(crate::store::postgres::TeamConfig, String)>, String> {
    let Some(team) = crate::store::postgres::configured(config_dir)? else {
        return Ok(None);
    };
    let (t, r) = (team.clone(), run.to_string());
    let id = tokio::task::spawn_blocking(move || crate::store::postgres::reader::resolve(&t, &r))
        .await
        .map_err(|e| e.to_string())??;
    Ok(Some((team, id)))
}

/// A run whose engine is on another machine, followed from the team
/// journal and steered through the team store's commands (as the role this
/// machine authenticates as; its engine decides, as it does for the socket).
pub async fn open_remote(
    run_dir: PathBuf,
    team: crate::store::postgres::TeamConfig,
    o: Opening,
) -> i32 {
    let run_id = run_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let records = match crate::store::postgres::follow::follow(team.clone(), run_id.clone()).await {
        Ok(r) => r,
        Err(e) => {
            err(&format!("slate: {e}"));
            return 1;
        }
    };
    let commands = if o.read_only {
        Commands::closed()
    } else {
        crate::store::postgres::commands::forward(team, run_id.clone(), "cockpit")
    };
    followed(run_dir, run_id, records, commands, o, true).await
}

/// Opens the cockpit on the active run in `run_dir` until the viewer leaves.
/// Leaving while the run goes on says how to come back (status 0); a run
/// that ended meanwhile is summed up (status 0, or the run's own when
/// `launched`: 0 released, 1 not); a hung-up terminal leaves quietly. 1 when
/// the stream fails at once, 2 when the run is not active.
pub async fn open(run_dir: PathBuf, o: Opening) -> i32 {
    let run_id = run_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // A screen has no use for lines it is too far behind to show.
    let how = Following {
        from_seq: 1,
        elide: true,
        read_only: o.read_only,
        watchers: true,
    };
    let session = match Session::open(&run_dir, how).await {
        Ok(s) => s,
        Err(ClientError::NotActive(_)) => {
            drop(o);
            err(&format!(
                "slate: {}; `slate replay {run_id}` shows what happened",
                crate::runs::not_served(&run_dir)
            ));
            return 2;
        }
        Err(e) => {
            drop(o);
            err(&format!("slate: {e}"));
            return 1;
        }
    };
    let (records, commands) = session.into_parts();
    followed(run_dir, run_id, records, commands, o, false).await
}

/// The cockpit on a run's records, as they are followed (through its
/// control socket, or from the team journal when `remote`).
async fn followed(
    run_dir: PathBuf,
    run_id: String,
    mut records: mpsc::Receiver<Followed>,
    commands: Commands,
    mut o: Opening,
    remote: bool,
) -> i32 {
    // Anything printed before the loop must reach the terminal's own screen.
    let mut screen = o.screen.take();
    let mut fail = |line: String| {
        screen = None;
        err(&line);
    };
    // Who is here may be said before the first record; it is kept for the app.
    let mut present = None;
    let first = loop {
        match tokio::time::timeout(FIRST_RECORD, records.recv()).await {
            Ok(Some(Followed::Watchers(w))) => present = Some(w),
            other => break other,
        }
    };
    let first = match first {
        Ok(Some(Followed::Record(r))) => r,
        Ok(Some(Followed::Ended(why))) => {
            fail(format!("slate: run {run_id}: {why}"));
            return 1;
        }
        _ => {
            fail(format!("slate: run {run_id} sent nothing to follow"));
            return 1;
        }
    };
    let plan = match crate::runs::recorded_plan(std::slice::from_ref(&first)) {
        Some(Ok(p)) => p,
        Some(Err(e)) => {
            fail(format!("slate: run {run_id}: its plan no longer loads:"));
            for l in e.lines() {
                err(&l);
            }
            return 1;
        }
        None => {
            fail(format!(
                "slate: run {run_id}: its journal does not begin with the run's start"
            ));
            return 1;
        }
    };
    let mut app = App::new(plan, o.keymap, o.theme);
    app.links = crate::tui::osc::enabled();
    // A run on another machine has its dossier there.
    app.dossier = (!remote).then(|| run_dir.join(crate::dossier::DOSSIER_FILE));
    if o.read_only {
        app.set_read_only("attach --read-only");
    }
    app.attached = !o.launched;
    app.now = Timestamp::now();
    app.apply_record(&first);
    if let Some(w) = present {
        app.set_watchers(w);
    }
    let freezes = super::freezes::read(run_dir.clone(), &app.plan);
    let mut feed = Feed::Attach(Box::new(Attach::new(
        run_dir.clone(),
        records,
        commands.clone(),
        freezes,
    )));
    let left = match super::drive(&mut app, &mut feed, screen).await {
        Ok(left) => left,
        Err(e) => {
            err(&format!("slate: {e}"));
            if o.launched {
                // A release nobody can see was never handed over: stop it.
                let reason = format!("the cockpit could not start: {e}");
                let _ = commands.send(Action::Abort { reason }).await;
            }
            return 1;
        }
    };
    let finished = app.run.is_finished();
    let released = app.run.outcome.is_some_and(|o| o.released());
    let ended = match &feed {
        Feed::Attach(a) => a.ended.clone(),
        Feed::Replay(_) => None,
    };
    let code = if o.launched && finished && !released {
        1
    } else {
        0
    };
    if left == Left::HungUp {
        // Nobody is there to read it; the run goes on (or has ended) regardless.
        tracing::info!(run = %run_id, "the terminal went away; the cockpit leaves the run");
        return code;
    }
    if finished && remote {
        say_outcome(&app);
        crate::say!("journal: `slate export {run_id}` (its engine ran on another machine)");
    } else if finished {
        print_verdict(&app, &run_dir).await;
    } else if let Some(why) = ended {
        // The stream broke mid-run (the engine crashed, or the socket failed).
        err(&format!(
            "slate: lost run {run_id} before it finished: {why}; `slate status` says whether it goes on"
        ));
        return 1;
    } else {
        if let Left::Signal(signal) = left {
            err(&format!(
                "slate: {signal}: the cockpit closed; the run was not stopped"
            ));
        }
        crate::say!("detached from run {run_id}; it goes on — slate attach {run_id} to come back");
    }
    code
}

/// How the run ended, in one line.
fn say_outcome(app: &App) {
    let released = app.run.outcome.is_some_and(|o| o.released());
    crate::say!(
        "{} {}: {}",
        if released { "✔" } else { "✘" },
        app.run.status.word(),
        app.run.message,
    );
}

/// How the run ended, where its journal is and (once written) its dossier.
async fn print_verdict(app: &App, run_dir: &Path) {
    say_outcome(app);
    crate::say!(
        "journal: {}",
        run_dir.join(crate::journal::JOURNAL_FILE).display()
    );
    // The engine writes the dossier just after the run's last record.
    let dossier = run_dir.join(crate::dossier::DOSSIER_FILE);
    let deadline = tokio::time::Instant::now() + DOSSIER_WAIT;
    while !dossier.exists() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if dossier.exists() {
        // A link where the terminal takes them: a click opens the dossier.
        let text = dossier.display().to_string();
        crate::output::out_link("dossier: ", &text, &crate::tui::osc::file_url(&dossier));
    }
}

impl Attach {
    fn new(
        run_dir: PathBuf,
        records: mpsc::Receiver<Followed>,
        commands: Commands,
        freezes: mpsc::Receiver<Vec<crate::stopline::upcoming::Upcoming>>,
    ) -> Attach {
        let (reply_tx, replies) = mpsc::channel(64);
        let (history_tx, history) = mpsc::channel(4);
        Attach {
            run_dir,
            records,
            commands,
            reply_tx,
            replies,
            history_tx,
            history,
            freezes,
            ended: None,
        }
    }

    /// Waits for the next message; cancel-safe (every branch is a channel receive).
    pub async fn next(&mut self) -> Msg {
        tokio::select! {
            Some(m) = self.records.recv(), if self.ended.is_none() => match m {
                Followed::Record(r) => Msg::Record(r),
                Followed::Elided(e) => Msg::Elided(e),
                Followed::Watchers(w) => Msg::Watchers(w),
                Followed::Ended(why) => Msg::Ended(why),
                Followed::Notice(text, error) => Msg::Notice(text, error),
            },
            Some((what, reply)) = self.replies.recv() => Msg::Reply(what, reply),
            Some(lines) = self.history.recv() => Msg::History(lines),
            Some(f) = self.freezes.recv() => Msg::Freezes(f),
        }
    }

    pub fn take(&mut self, msg: Msg, app: &mut App) -> Vec<Effect> {
        let mut effects = Vec::new();
        match msg {
            Msg::Record(_) | Msg::Elided(_) => {
                // Drain whatever else is queued before drawing once, for a
                // bounded time so keys and frames are never kept waiting.
                let until = std::time::Instant::now() + DRAIN;
                let mut next = Some(msg);
                let mut n = 0u32;
                while let Some(m) = next.take() {
                    match m {
                        Msg::Record(r) => effects.extend(app.apply_record(&r)),
                        Msg::Elided(e) => app.on_elided(&e),
                        other => {
                            effects.extend(self.take(other, app));
                            break;
                        }
                    }
                    n += 1;
                    if n.is_multiple_of(64)
                        && (std::time::Instant::now() >= until || crate::tui::input::key_waiting())
                    {
                        break;
                    }
                    next = self.records.try_recv().ok().map(|f| match f {
                        Followed::Record(r) => Msg::Record(r),
                        Followed::Elided(e) => Msg::Elided(e),
                        Followed::Watchers(w) => Msg::Watchers(w),
                        Followed::Ended(why) => Msg::Ended(why),
                        Followed::Notice(text, error) => Msg::Notice(text, error),
                    });
                }
            }
            Msg::Ended(why) => {
                let quit = app.keymap.first(crate::cockpit::keymap::UiAction::Quit);
                app.toast(format!("{why}; {quit} leaves"), !app.run.is_finished());
                self.ended = Some(why);
            }
            Msg::Notice(text, error) => app.toast(text, error),
            Msg::Watchers(w) => app.set_watchers(w),
            Msg::Reply(what, reply) => app.on_reply(&what, reply),
            Msg::History(lines) => app.add_history(lines),
            Msg::Freezes(f) => app.set_freezes(f),
        }
        effects
    }

    /// Commands go to the run's socket (as this OS user); history is read
    /// from the journal, which this user may read like the engine's own.
    pub fn perform(&mut self, effect: Effect) {
        match effect {
            Effect::Send(action) => {
                let commands = self.commands.clone();
                let tx = self.reply_tx.clone();
                let what = action.describe();
                tokio::spawn(async move {
                    let reply = commands.send(action).await;
                    let _ = tx.send((what, reply)).await;
                });
            }
            Effect::LoadHistory { before } => {
                let path = self.run_dir.join(crate::journal::JOURNAL_FILE);
                logs::read_history(path, before, self.history_tx.clone());
            }
            Effect::Verb(verb) => {
                let tx = self.reply_tx.clone();
                let run_dir = self.run_dir.clone();
                tokio::task::spawn_blocking(move || {
                    let (what, said) = super::verbs::carry_out(&run_dir, verb);
                    let (text, error) = said.first();
                    let _ = tx.blocking_send((what, if error { Err(text) } else { Ok(text) }));
                });
            }
            // Copies are written by the loop, which holds the terminal.
            Effect::Quit | Effect::Replay(_) | Effect::Copy(_) => {}
        }
    }

    pub fn sync(&mut self, app: &mut App) {
        app.now = Timestamp::now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::event::{Event, Record, Stream};

    const PLAN: &str = r#"
[release]
name = "svc"
version = "2.0"
previous_version = "1.0"
owner = "t"

[[environments]]
name = "dev"

[[stages]]
name = "flood"
command = "true"
"#;

    fn output(seq: u64) -> Followed {
        Followed::Record(Box::new(Record {
            seq,
            ts: jiff::Timestamp::UNIX_EPOCH,
            event: Event::Output {
                env: 0,
                step: 0,
                stream: Stream::Stdout,
                line: format!("line {seq}"),
                rollback: false,
            },
        }))
    }

    /// A key pressed during a flood is answered before the rest of the
    /// queued records: the batch stops at the next check (every 64).
    #[tokio::test]
    async fn a_waiting_key_cuts_a_flood_batch_short() {
        let plan = crate::plan::parse(PLAN, "t.toml", ".".into()).unwrap();
        let mut app = App::new(
            plan,
            Default::default(),
            crate::tui::theme::Theme::monochrome(),
        );
        let (tx, rx) = mpsc::channel(4_096);
        for seq in 1..=2_000 {
            tx.send(output(seq)).await.unwrap();
        }
        let (_ftx, frx) = mpsc::channel(1);
        let mut feed = Attach::new(PathBuf::from("."), rx, Commands::closed(), frx);
        let first = feed.next().await;
        crate::tui::input::WAITING.store(true, std::sync::atomic::Ordering::SeqCst);
        feed.take(first, &mut app);
        crate::tui::input::key_taken();
        // Without a key the batch goes on for its 8 ms: most of the 2,000
        // on a quiet machine (not asserted: a loaded one may take 8 ms for 64).
        assert_eq!(
            app.run.last_seq, 64,
            "a key waiting stops it at the first check"
        );
    }
}
