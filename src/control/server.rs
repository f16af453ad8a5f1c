//! Serves one run's control socket: `runs/<run-id>/control.sock`.
//!
//! The server is a client of the engine like any other: it holds an
//! [`EngineHandle`], sends commands as the peer's OS user, and reads records
//! from the journal file ([`super::follow`]). A bad request closes its own
//! connection and nothing else.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::{JoinHandle, JoinSet};

use super::presence::Roster;
use super::wire::{MAX_LINE, Request, Response};
use super::{SOCKET_FILE, peer};
use crate::engine::EngineHandle;

/// At most this many connections at once; more are told so and closed.
pub const MAX_CONNECTIONS: usize = 64;

/// How long [`ControlServer::close`] lets subscribers send what is left.
const CLOSE_PATIENCE: Duration = Duration::from_secs(2);

/// A running control socket. Dropping it stops serving (every connection is
/// closed) and removes the socket file; [`ControlServer::close`] first lets
/// subscribers receive the last records.
pub struct ControlServer {
    path: PathBuf,
    task: JoinHandle<()>,
    closing: watch::Sender<bool>,
    subscribers: watch::Receiver<usize>,
    roster: Roster,
}

impl ControlServer {
    /// Binds `runs/<run-id>/control.sock` and serves it on the current runtime.
    pub fn start(handle: EngineHandle) -> std::io::Result<ControlServer> {
        let path = handle.run_dir.join(SOCKET_FILE);
        let listener = bind(&path)?;
        if let Some(sharing) = &handle.sharing {
            sharing.socket(&path)?;
        }
        let (closing, closed) = watch::channel(false);
        let (count, subscribers) = watch::channel(0);
        let roster = Roster::default();
        let shared = Shared {
            count: Arc::new(count),
            roster: roster.clone(),
        };
        let task = tokio::spawn(accept_loop(listener, handle, closed, shared));
        Ok(ControlServer {
            path,
            task,
            closing,
            subscribers,
            roster,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many `subscribe` streams are open right now, and its changes (an
    /// engine host lingers after the run while anyone is still following it).
    pub fn subscribers(&self) -> watch::Receiver<usize> {
        self.subscribers.clone()
    }

    /// Who follows the run now (see [`super::presence`]).
    pub fn watchers(&self) -> watch::Receiver<Vec<super::presence::Watcher>> {
        self.roster.subscribe()
    }

    /// After the engine has finished: stops accepting, lets every subscriber
    /// send the records it has not sent yet (within a bound), then stops.
    pub async fn close(mut self) {
        let _ = self.closing.send(true);
        let _ = tokio::time::timeout(CLOSE_PATIENCE, &mut self.task).await;
    }
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        // Aborting the accept loop drops its JoinSet, which aborts every connection.
        self.task.abort();
        let _ = std::fs::remove_file(&self.path);
    }
}

fn bind(path: &Path) -> std::io::Result<UnixListener> {
    use std::os::unix::fs::PermissionsExt;
    if path.exists() {
        // Someone listening means another engine serves this run; nobody
        // listening means a leftover from a crash, which is safe to replace.
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AddrInUse,
                format!("{} is served by another process", path.display()),
            ));
        }
        std::fs::remove_file(path)?;
    }
    let listener = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

/// Counts one open `subscribe` stream for as long as it lives (also when its
/// task is aborted).
struct Following(Arc<watch::Sender<usize>>);

impl Following {
    fn new(count: Arc<watch::Sender<usize>>) -> Following {
        count.send_modify(|n| *n += 1);
        Following(count)
    }
}

impl Drop for Following {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n = n.saturating_sub(1));
    }
}

/// What every connection of one server shares: the count of open streams,
/// who follows the run, and the next connection's id.
#[derive(Clone)]
struct Shared {
    count: Arc<watch::Sender<usize>>,
    roster: Roster,
}

async fn accept_loop(
    listener: UnixListener,
    handle: EngineHandle,
    closed: watch::Receiver<bool>,
    shared: Shared,
) {
    let mut next_id = 0u64;
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut conns = JoinSet::new();
    let mut closing = closed.clone();
    loop {
        tokio::select! {
            _ = closing.changed() => {
                // The engine is done: finish the connections that are open, take no new ones.
                drop(listener);
                while conns.join_next().await.is_some() {}
                return;
            }
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((s, _)) => s,
                    Err(e) => {
                        tracing::warn!(error = %e, "control socket: accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                match slots.clone().try_acquire_owned() {
                    Ok(permit) => {
                        let handle = handle.clone();
                        let closed = closed.clone();
                        let shared = shared.clone();
                        next_id += 1;
                        let id = next_id;
                        conns.spawn(async move {
                            serve(stream, handle, closed, shared, id).await;
                            drop(permit);
                        });
                    }
                    Err(_) => {
                        conns.spawn(async move {
                            let mut stream = stream;
                            let msg = format!("too many connections (at most {MAX_CONNECTIONS})");
                            let _ = stream.write_all(&Response::Error(msg).to_line()).await;
                        });
                    }
                }
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

/// Why a request line could not be read.
enum LineError {
    TooLong,
    Io,
}

/// Reads one line of at most [`MAX_LINE`] bytes; `None` at end of stream.
async fn read_line<R: tokio::io::AsyncBufRead + Unpin>(
    rd: &mut R,
    buf: &mut Vec<u8>,
) -> Result<Option<()>, LineError> {
    buf.clear();
    let n = (&mut *rd)
        .take(MAX_LINE as u64 + 1)
        .read_until(b'\n', buf)
        .await
        .map_err(|_| LineError::Io)?;
    if n == 0 {
        return Ok(None);
    }
    if buf.last() == Some(&b'\n') {
        buf.pop();
    } else if buf.len() > MAX_LINE {
        return Err(LineError::TooLong);
    }
    Ok(Some(()))
}

async fn serve(
    stream: UnixStream,
    handle: EngineHandle,
    mut closed: watch::Receiver<bool>,
    shared: Shared,
    id: u64,
) {
    let actor = match peer::credentials(&stream) {
        Ok((uid, _)) if peer::allowed(uid) => peer::actor_for(uid),
        // A member of the group the plan shares the run with.
        Ok((uid, _))
            if handle
                .sharing
                .as_ref()
                .is_some_and(|s| s.admits(&peer::actor_for(uid).user)) =>
        {
            peer::actor_for(uid)
        }
        Ok((uid, pid)) => {
            let user = peer::actor_for(uid).user;
            tracing::warn!(uid, %user, pid, run = %handle.run_id, "control socket: connection refused: not the run's owner");
            let mut stream = stream;
            let msg = format!("uid {uid} may not drive this run");
            let _ = stream.write_all(&Response::Error(msg).to_line()).await;
            return;
        }
        Err(e) => {
            tracing::warn!(error = %e, "control socket: no peer credentials");
            return;
        }
    };
    let (rd, mut wr) = stream.into_split();
    let mut rd = BufReader::new(rd);
    let mut buf = Vec::new();
    loop {
        let line = tokio::select! {
            l = read_line(&mut rd, &mut buf) => l,
            // Between requests when the engine finished: nothing more to answer.
            _ = closed.changed() => return,
        };
        match line {
            Ok(None) | Err(LineError::Io) => return,
            Err(LineError::TooLong) => {
                let msg = format!("request line longer than {MAX_LINE} bytes");
                let _ = wr.write_all(&Response::Error(msg).to_line()).await;
                drain(&mut rd).await;
                return;
            }
            Ok(Some(())) => {}
        }
        if buf.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let request = match serde_json::from_slice::<Request>(&buf) {
            Ok(r) => r,
            Err(e) => {
                let msg = format!("malformed request: {e}");
                let _ = wr.write_all(&Response::Error(msg).to_line()).await;
                return;
            }
        };
        let reply = match request {
            Request::Command {
                command: action,
                client,
            } => {
                let mut actor = actor.clone();
                actor.via = super::peer::via(client.as_deref()).to_string();
                // Described, never dumped: a comment or note may hold anything.
                tracing::info!(user = %actor.user, uid = actor.uid, action = %action.describe(), "control socket command");
                match handle.send(actor.clone(), action).await {
                    Ok(m) => Response::Ok(m),
                    Err(e) => Response::Error(e),
                }
            }
            Request::Status => status(&handle).await,
            Request::Subscribe {
                from_seq,
                elide,
                read_only,
                watchers,
            } => {
                let _following = Following::new(shared.count);
                let _present = shared.roster.join(id, &actor.user, read_only);
                let follower = super::subscription::Follower {
                    handle: &handle,
                    actor: &actor,
                    read_only,
                    watchers: watchers.then(|| (id, shared.roster.subscribe())),
                };
                follower
                    .subscribe(from_seq, elide, &mut rd, &mut wr, closed)
                    .await;
                return;
            }
        };
        if wr.write_all(&reply.to_line()).await.is_err() {
            return;
        }
    }
}

/// Reads (and discards) what is left of an oversized request for a moment,
/// so the client sees the error rather than a reset connection.
async fn drain<R: tokio::io::AsyncRead + Unpin>(rd: &mut R) {
    let mut sink = [0u8; 8192];
    let deadline = tokio::time::Instant::now() + Duration::from_millis(200);
    let mut left = 4 * 1024 * 1024usize;
    while left > 0 {
        match tokio::time::timeout_at(deadline, rd.read(&mut sink)).await {
            Ok(Ok(n)) if n > 0 => left = left.saturating_sub(n),
            _ => return,
        }
    }
}

/// The run's state, rebuilt from the journal (state changes are on disk
/// before any client hears of them).
async fn status(handle: &EngineHandle) -> Response {
    let path = handle.journal_path();
    let read =
        tokio::task::spawn_blocking(move || crate::journal::read_journal_states(&path)).await;
    match read {
        Ok(Ok(j)) => {
            let state = j.state();
            match serde_json::to_value(&state) {
                Ok(v) => Response::Status(v),
                Err(e) => Response::Error(format!("cannot encode the state: {e}")),
            }
        }
        Ok(Err(e)) => Response::Error(format!("cannot read the journal: {e}")),
        Err(e) => Response::Error(format!("cannot read the journal: {e}")),
    }
}
