//! Talking to a run's control socket from another process (the CLI verbs,
//! `slate attach`, the cockpit of `slate run`): connect, send one request, read replies.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::SOCKET_FILE;
use super::wire::{MAX_LINE, Request, Response};

/// How long a command may wait for the engine's answer.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(60);

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

pub struct Client {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Client {
    /// Connects to the run in `run_dir`. A missing socket, or a leftover one
    /// nobody listens on, means the run is not active.
    pub fn connect(run_dir: &Path) -> Result<Client, ClientError> {
        let path = socket_path(run_dir);
        let run = run_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let stream = UnixStream::connect(&path).map_err(|e| {
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
        let _ = stream.set_read_timeout(Some(REPLY_TIMEOUT));
        let _ = stream.set_write_timeout(Some(Duration::from_secs(10)));
        let writer = stream
            .try_clone()
            .map_err(|e| ClientError::Io(e.to_string()))?;
        Ok(Client {
            reader: BufReader::new(stream),
            writer,
        })
    }

    pub fn set_read_timeout(&self, t: Option<Duration>) {
        let _ = self.reader.get_ref().set_read_timeout(t);
    }

    /// Sends one request line.
    pub fn send(&mut self, req: &Request) -> Result<(), ClientError> {
        let mut line = serde_json::to_vec(req).map_err(|e| ClientError::Io(e.to_string()))?;
        line.push(b'\n');
        self.writer
            .write_all(&line)
            .map_err(|e| ClientError::Io(format!("cannot send the request: {e}")))
    }

    /// Reads one reply line; `None` when the server closed the connection.
    pub fn read(&mut self) -> Result<Option<Response>, ClientError> {
        let mut line = Vec::new();
        // Records can be longer than a request (16 KiB output lines, escaped).
        let limit = 16 * MAX_LINE as u64;
        let n = (&mut self.reader)
            .take(limit)
            .read_until(b'\n', &mut line)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
                    ClientError::Io("no answer from the run's engine in time".into())
                }
                _ => ClientError::Io(format!("cannot read the reply: {e}")),
            })?;
        if n == 0 {
            return Ok(None);
        }
        serde_json::from_slice(&line)
            .map(Some)
            .map_err(|e| ClientError::Io(format!("unreadable reply: {e}")))
    }

    /// Sends a request and reads its one reply.
    pub fn request(&mut self, req: &Request) -> Result<Response, ClientError> {
        if let Err(sent) = self.send(req) {
            // The server may have answered and hung up before reading (it
            // refuses a peer at once): its answer says more than the broken pipe.
            return match self.read() {
                Ok(Some(answer)) => Ok(answer),
                _ => Err(sent),
            };
        }
        self.read()?.ok_or_else(|| {
            ClientError::Io("the run's engine closed the connection without answering".into())
        })
    }
}

/// Connects, sends one request and returns its reply.
pub fn request(run_dir: &Path, req: &Request) -> Result<Response, ClientError> {
    Client::connect(run_dir)?.request(req)
}
