//! A `subscribe` connection: the records of the run, read from its journal
//! file at the subscriber's pace (see `follow.rs`), and, on the same
//! connection, the subscriber's commands, each answered between records in
//! the order sent.

use std::collections::VecDeque;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::follow::{self, Tail};
use super::presence::{self, Watcher};
use super::wire::{MAX_LINE, Request, Response};
use crate::engine::{Actor, EngineHandle, Reply};

/// A subscriber: the run it follows and who it is (its commands, sent on
/// the same connection, are theirs).
pub(super) struct Follower<'a> {
    pub(super) handle: &'a EngineHandle,
    pub(super) actor: &'a Actor,
    /// The subscriber only watches: its commands are refused.
    pub(super) read_only: bool,
    /// Its own connection id and the roster, when it asked to be told who
    /// else follows the run.
    pub(super) watchers: Option<(u64, watch::Receiver<Vec<Watcher>>)>,
}

impl Follower<'_> {
    /// Sends every record with `seq >= from_seq`, read from the journal file
    /// (see [`super::follow`]): what is on disk now, then more each time the
    /// writer reports another flush. Ends when the engine has finished (after
    /// sending the rest) or the client goes away (noticed at once, even while
    /// no record comes, so a host waiting for its followers to leave is never
    /// kept up by a dead one).
    ///
    /// The subscriber may send commands on the same connection (the
    /// cockpit's one connection): each is answered with one `ok` or `error`
    /// line between records, in the order they were sent.
    pub(super) async fn subscribe(
        &self,
        from_seq: u64,
        elide: bool,
        rd: &mut BufReader<OwnedReadHalf>,
        wr: &mut OwnedWriteHalf,
        mut closed: watch::Receiver<bool>,
    ) {
        let handle = self.handle;
        // Watched before reading, so a flush between the two is not missed.
        let mut on_disk = handle.on_disk();
        let mut writer_open = true;
        let mut tail = match Tail::open(&handle.journal_path()) {
            Ok(t) => Some(t),
            Err(e) => {
                let _ = send(wr, Response::Error(format!("cannot read the journal: {e}"))).await;
                return;
            }
        };
        let mut next = from_seq.max(1);
        // A request line as it arrives (kept across wake-ups: reading it may be cut short).
        let mut line = Vec::new();
        let mut answers: VecDeque<JoinHandle<Reply>> = VecDeque::new();
        let mut roster = self.watchers.clone();
        if let Some((_, r)) = &mut roster {
            // The first line says who is here already; then each change.
            r.mark_changed();
        }
        loop {
            on_disk.borrow_and_update();
            if send_on_disk(&mut tail, &mut next, elide, wr).await.is_err() {
                return;
            }
            tokio::select! {
                changed = watchers_changed(&mut roster) => {
                    let Some(view) = changed else {
                        roster = None;
                        continue;
                    };
                    if send(wr, Response::Watchers(view)).await.is_err() {
                        return;
                    }
                }
                changed = on_disk.changed(), if writer_open => {
                    // The writer is gone: the engine is finishing; `closed` follows.
                    writer_open = changed.is_ok();
                }
                read = read_more(rd, &mut line) => match read {
                    Ok(true) => {
                        let request = std::mem::take(&mut line);
                        match self.command_of(&request) {
                            Ok(Some(send)) => answers.push_back(tokio::spawn(send)),
                            Ok(None) => {}
                            Err(why) => {
                                let _ = send(wr, Response::Error(why)).await;
                                return;
                            }
                        }
                    }
                    Ok(false) => {}
                    // End of stream: the subscriber has gone.
                    Err(()) => return,
                },
                reply = first_answer(&mut answers) => {
                    let answer = match reply {
                        Ok(m) => Response::Ok(m),
                        Err(e) => Response::Error(e),
                    };
                    if send(wr, answer).await.is_err() {
                        return;
                    }
                }
                _ = closed.changed() => {
                    // The engine has finished and flushed its journal: send the rest.
                    let _ = send_on_disk(&mut tail, &mut next, elide, wr).await;
                    return;
                }
            }
        }
    }

    /// The command a subscriber sent, ready to go to the engine; `None` for
    /// a blank line; `Err` for anything a subscription does not take.
    fn command_of(&self, line: &[u8]) -> Result<Option<Answer>, String> {
        if line.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        match serde_json::from_slice::<Request>(line) {
            Ok(Request::Command { .. }) if self.read_only => {
                let refused: Reply = Err("this connection only watches (read-only)".into());
                Ok(Some(Box::pin(async move { refused })))
            }
            Ok(Request::Command { command, client }) => {
                let mut actor = self.actor.clone();
                actor.via = super::peer::via(client.as_deref()).to_string();
                tracing::info!(user = %actor.user, uid = actor.uid, action = %command.describe(), "control socket command");
                let handle = self.handle.clone();
                Ok(Some(Box::pin(
                    async move { handle.send(actor, command).await },
                )))
            }
            Ok(_) => Err("a subscription takes only commands".into()),
            Err(e) => Err(format!("malformed request: {e}")),
        }
    }
}

/// The engine's answer to one command, to come.
type Answer = std::pin::Pin<Box<dyn std::future::Future<Output = Reply> + Send>>;

/// Who follows the run, once it changed; `None` once the roster is gone
/// (the server is closing), after which it is not asked again.
async fn watchers_changed(
    roster: &mut Option<(u64, watch::Receiver<Vec<Watcher>>)>,
) -> Option<presence::Watchers> {
    let Some((you, rx)) = roster else {
        return std::future::pending().await;
    };
    rx.changed().await.ok()?;
    Some(presence::view(&rx.borrow_and_update(), *you))
}

/// Reads what has arrived of a request line into `line`. `Ok(true)` once it
/// is whole (newline dropped), `Ok(false)` for more later, `Err` at end of
/// stream or when it is longer than [`MAX_LINE`]. Cancel-safe: what was
/// read stays in `line`.
async fn read_more(rd: &mut BufReader<OwnedReadHalf>, line: &mut Vec<u8>) -> Result<bool, ()> {
    let room = (MAX_LINE + 1).saturating_sub(line.len()) as u64;
    let n = (&mut *rd)
        .take(room.max(1))
        .read_until(b'\n', line)
        .await
        .map_err(|_| ())?;
    if n == 0 {
        return Err(());
    }
    if line.last() == Some(&b'\n') {
        line.pop();
        return Ok(true);
    }
    if line.len() > MAX_LINE {
        Err(())
    } else {
        Ok(false)
    }
}

/// The engine's answer to the oldest command still waiting for one.
async fn first_answer(answers: &mut VecDeque<JoinHandle<Reply>>) -> Reply {
    let Some(first) = answers.front_mut() else {
        return std::future::pending().await;
    };
    let reply = first
        .await
        .unwrap_or_else(|_| Err("the command was lost".into()));
    answers.pop_front();
    reply
}

/// Sends what the journal holds beyond what was sent, chunk by chunk.
async fn send_on_disk(
    tail: &mut Option<Tail>,
    next: &mut u64,
    elide: bool,
    wr: &mut OwnedWriteHalf,
) -> Result<(), ()> {
    loop {
        let mut t = tail.take().ok_or(())?;
        let from = *next;
        let (t, read) = tokio::task::spawn_blocking(move || {
            let read = t.read().map_err(|e| e.to_string()).and_then(|chunk| {
                // Behind by more than a chunk: none of this one's output is worth sending.
                let keep = elide.then_some(if chunk.behind { 0 } else { follow::KEEP });
                follow::render(&chunk.lines, from, keep)
                    .map(|(bytes, last)| (bytes, last, chunk.more))
            });
            (t, read)
        })
        .await
        .map_err(|_| ())?;
        *tail = Some(t);
        let (bytes, last, more) = match read {
            Ok(r) => r,
            Err(e) => {
                let _ = send(wr, Response::Error(format!("cannot read the journal: {e}"))).await;
                return Err(());
            }
        };
        if let Some(last) = last {
            *next = (*next).max(last + 1);
        }
        if !bytes.is_empty() {
            wr.write_all(&bytes).await.map_err(|_| ())?;
        }
        if !more {
            return Ok(());
        }
    }
}

async fn send(wr: &mut OwnedWriteHalf, r: Response) -> std::io::Result<()> {
    wr.write_all(&r.to_line()).await
}
