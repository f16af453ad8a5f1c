//! The control socket: each active run serves `runs/<run-id>/control.sock`
//! (a Unix domain socket in the owner-only run directory), so other processes
//! — the CLI verbs, scripts, the cockpit and `slate attach` — can drive and follow it.
//!
//! `wire` is the protocol, `server` serves one run as a client of its engine
//! (`follow` streams its journal to subscribers),
//! `client` is the other end, `peer` turns the kernel's peer credentials into
//! the [`Actor`](crate::engine::Actor) journaled with every command, and
//! `presence` keeps who follows the run now (told to subscribers, never journaled).

pub mod client;
pub mod follow;
pub mod peer;
pub mod presence;
pub mod server;
mod subscription;
pub mod wire;

pub use client::{ClientError, Connection, Session};
pub use server::ControlServer;
pub use wire::{Request, Response};

/// The socket's name inside the run directory.
pub const SOCKET_FILE: &str = "control.sock";
