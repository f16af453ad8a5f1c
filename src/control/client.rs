//! The other end of a run's control socket, for the CLI verbs, `slate
//! status`, `slate attach` and the cockpit: async (tokio), one connection
//! per conversation.
//!
//! - [`request`]: connect, send one request, read its reply (the verbs).
//! - [`Session`]: the cockpit's one long-lived connection. It subscribes to
//!   the run's records and sends commands over the same connection; the
//!   server answers commands in the order they were sent, between records,
//!   so each reply goes to the oldest command still waiting.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{mpsc, oneshot};

use super::SOCKET_FILE;
use super::follow::Elided;
use super::wire::{MAX_LINE, Request, Response};
use crate::engine::{Action, Record, Reply};

/// How long a command may wait for the engine's answer.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(60);

/// How long writing a request may take.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a client could not talk to a run.
#[derive(Debug)]
pub enum ClientError {
    /// Nobody is serving the run (no socket, or a stale one): not active.
    NotActive(String),
    /// Connected, but the conversation failed.
    Io(String),
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientError::NotActive(m) | ClientError::Io(m) => f.write_str(m),
        }
    }
}

pub fn socket_path(run_dir: &Path) -> PathBuf {
    run_dir.join(SOCKET_FILE)
}

/// One connection to a run's control socket.
pub struct Connection {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
}

impl Connection {
    /// Connects to the run in `run_dir`. A missing socket, or a leftover one
    /// nobody listens on, means the run is not active.
    pub async fn connect(run_dir: &Path) -> Result<Connection, ClientError> {
        let path = socket_path(run_dir);
        let run = run_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let stream = UnixStream::connect(&path).await.map_err(|e| {
            use std::io::ErrorKind::*;
            match e.kind() {
                NotFound | ConnectionRefused => {
                    ClientError::NotActive(format!("run {run} is not active"))
                }
                _ => ClientError::NotActive(format!(
                    "run {run} is not active ({}: {e})",
                    path.display()
                )),
            }
        })?;
        let (rd, writer) = stream.into_split();
        Ok(Connection {
            reader: BufReader::new(rd),
            writer,
        })
    }

    /// Sends one request line.
    pub async fn send(&mut self, req: &Request) -> Result<(), ClientError> {
        write_request(&mut self.writer, req).await
    }

    /// Reads one reply line; `None` when the server closed the connection.
    pub async fn read(&mut self) -> Result<Option<Response>, ClientError> {
        read_response(&mut self.reader).await
    }

    /// Sends a request and reads its one reply, within [`REPLY_TIMEOUT`].
    pub async fn request(&mut self, req: &Request) -> Result<Response, ClientError> {
        if let Err(sent) = self.send(req).await {
            // The server may have answered and hung up before reading (it
            // refuses a peer at once): its answer says more than the broken pipe.
            return match self.read().await {
                Ok(Some(answer)) => Ok(answer),
                _ => Err(sent),
            };
        }
        match tokio::time::timeout(REPLY_TIMEOUT, self.read()).await {
            Err(_) => Err(ClientError::Io(
                "no answer from the run's engine in time".into(),
            )),
            Ok(r) => r?.ok_or_else(|| {
                ClientError::Io("the run's engine closed the connection without answering".into())
            }),
        }
    }
}

async fn write_request(writer: &mut OwnedWriteHalf, req: &Request) -> Result<(), ClientError> {
    let mut line = serde_json::to_vec(req).map_err(|e| ClientError::Io(e.to_string()))?;
    line.push(b'\n');
    match tokio::time::timeout(WRITE_TIMEOUT, writer.write_all(&line)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(ClientError::Io(format!("cannot send the request: {e}"))),
        Err(_) => Err(ClientError::Io(
            "cannot send the request: the run's engine is not reading".into(),
        )),
    }
}

async fn read_response(
    reader: &mut BufReader<OwnedReadHalf>,
) -> Result<Option<Response>, ClientError> {
    let mut line = Vec::new();
    // Records can be longer than a request (16 KiB output lines, escaped).
    let limit = 16 * MAX_LINE as u64;
    let n = (&mut *reader)
        .take(limit)
        .read_until(b'\n', &mut line)
        .await
        .map_err(|e| ClientError::Io(format!("cannot read the reply: {e}")))?;
    if n == 0 {
        return Ok(None);
    }
    serde_json::from_slice(&line)
        .map(Some)
        .map_err(|e| ClientError::Io(format!("unreadable reply: {e}")))
}

/// Connects, sends one request and returns its reply.
pub async fn request(run_dir: &Path, req: &Request) -> Result<Response, ClientError> {
    Connection::connect(run_dir).await?.request(req).await
}

/// Sends one command as this OS user, through `client` ("cli", "cockpit"),
/// and turns the answer into the engine's reply.
pub async fn command(run_dir: &Path, action: Action, client: &str) -> Result<Reply, ClientError> {
    let answer = request(
        run_dir,
        &Request::Command {
            command: action,
            client: Some(client.into()),
        },
    )
    .await?;
    Ok(reply_of(answer))
}

fn reply_of(answer: Response) -> Reply {
    match answer {
        Response::Ok(m) => Ok(m),
        Response::Error(e) => Err(e),
        other => Err(format!("unexpected answer from the run: {other:?}")),
    }
}

/// What a [`Session`] brings in.
#[derive(Debug)]
pub enum Followed {
    Record(Box<Record>),
    /// Output lines the server left out while this follower was behind.
    Elided(Elided),
    /// Who follows the run now (asked for with [`Following::watchers`]).
    Watchers(super::presence::Watchers),
    /// The stream ended: the engine exited, or the connection failed.
    Ended(String),
    /// Something to tell the viewer that ends nothing (the team store is
    /// unreachable, answers again); `true` for trouble.
    Notice(String, bool),
}

/// How a [`Session`] follows a run.
#[derive(Debug, Clone, Copy, Default)]
pub struct Following {
    /// The first record wanted.
    pub from_seq: u64,
    /// Output the follower is too far behind to show may be left out.
    pub elide: bool,
    /// Watch only: the server refuses this connection's commands.
    pub read_only: bool,
    /// Be told who else follows the run, and each change.
    pub watchers: bool,
}

/// The cockpit's connection: records in, commands out, on one socket.
pub struct Session {
    /// Records as they come, then one `Ended`.
    pub followed: mpsc::Receiver<Followed>,
    commands: mpsc::Sender<(Action, oneshot::Sender<Reply>)>,
}

impl Session {
    /// Connects and subscribes as `how` says.
    pub async fn open(run_dir: &Path, how: Following) -> Result<Session, ClientError> {
        let mut conn = Connection::connect(run_dir).await?;
        conn.send(&Request::Subscribe {
            from_seq: how.from_seq,
            elide: how.elide,
            read_only: how.read_only,
            watchers: how.watchers,
        })
        .await?;
        let (followed_tx, followed) = mpsc::channel(4096);
        let (commands, commands_rx) = mpsc::channel(64);
        tokio::spawn(pump(conn, followed_tx, commands_rx));
        Ok(Session { followed, commands })
    }

    /// Sends a command as this OS user (journaled as sent via the cockpit)
    /// and waits for the engine's answer.
    pub async fn command(&self, action: Action) -> Reply {
        self.sender().send(action).await
    }

    /// A cheap handle for sending commands from a task of its own.
    pub fn sender(&self) -> Commands {
        Commands(self.commands.clone())
    }

    /// The records and the command sender, apart.
    pub fn into_parts(self) -> (mpsc::Receiver<Followed>, Commands) {
        (self.followed, Commands(self.commands))
    }
}

/// Sends commands over a [`Session`]'s connection.
#[derive(Clone)]
pub struct Commands(mpsc::Sender<(Action, oneshot::Sender<Reply>)>);

impl Commands {
    /// Commands that go nowhere: every send is refused (a run followed
    /// from the team journal, whose engine is on another machine).
    pub fn closed() -> Commands {
        Commands(mpsc::channel(1).0)
    }

    /// Commands someone else carries to the engine (the team store's, for
    /// a run on another machine): each arrives on the receiver with where
    /// its reply goes.
    pub fn channel() -> (Commands, mpsc::Receiver<(Action, oneshot::Sender<Reply>)>) {
        let (tx, rx) = mpsc::channel(16);
        (Commands(tx), rx)
    }

    pub async fn send(&self, action: Action) -> Reply {
        let (tx, rx) = oneshot::channel();
        self.0
            .send((action, tx))
            .await
            .map_err(|_| "the connection to the run has closed".to_string())?;
        match tokio::time::timeout(REPLY_TIMEOUT, rx).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(_)) => Err("the connection to the run closed before it answered".into()),
            Err(_) => Err("no answer from the run's engine in time".into()),
        }
    }
}

/// Owns the connection: forwards what the server sends, writes commands,
/// and pairs each reply with the oldest command waiting for one.
async fn pump(
    conn: Connection,
    followed: mpsc::Sender<Followed>,
    mut commands: mpsc::Receiver<(Action, oneshot::Sender<Reply>)>,
) {
    let Connection {
        mut reader,
        mut writer,
    } = conn;
    let mut waiting: VecDeque<oneshot::Sender<Reply>> = VecDeque::new();
    let mut commands_open = true;
    let ended = loop {
        tokio::select! {
            line = read_response(&mut reader) => match line {
                Ok(Some(Response::Record(r))) => {
                    if followed.send(Followed::Record(r)).await.is_err() {
                        return; // nobody follows any more
                    }
                }
                Ok(Some(Response::Elided(e))) => {
                    if followed.send(Followed::Elided(e)).await.is_err() {
                        return;
                    }
                }
                Ok(Some(Response::Watchers(w))) => {
                    if followed.send(Followed::Watchers(w)).await.is_err() {
                        return;
                    }
                }
                Ok(Some(answer @ (Response::Ok(_) | Response::Error(_)))) => match waiting.pop_front() {
                    Some(tx) => {
                        let _ = tx.send(reply_of(answer));
                    }
                    // An error nobody asked about ends the stream (the server says why).
                    None => match answer {
                        Response::Error(e) => break e,
                        _ => continue,
                    },
                },
                Ok(Some(_)) => {}
                Ok(None) => break "the run's engine has exited".to_string(),
                Err(e) => break e.to_string(),
            },
            cmd = commands.recv(), if commands_open => match cmd {
                Some((action, reply)) => {
                    let req = Request::Command { command: action, client: Some("cockpit".into()) };
                    match write_request(&mut writer, &req).await {
                        Ok(()) => waiting.push_back(reply),
                        Err(e) => {
                            let _ = reply.send(Err(e.to_string()));
                        }
                    }
                }
                None => commands_open = false,
            },
            // The cockpit has gone: let the server know by closing.
            () = followed.closed() => return,
        }
    };
    for tx in waiting {
        let _ = tx.send(Err(format!("no answer: {ended}")));
    }
    let _ = followed.send(Followed::Ended(ended)).await;
}
