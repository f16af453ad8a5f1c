//! Who is on the other end of a control connection: the connecting
//! process's OS credentials (`SO_PEERCRED`), never a name it claims.

use std::os::fd::AsFd;

use nix::sys::socket::{getsockopt, sockopt::PeerCredentials};
use nix::unistd::{Uid, User};

use crate::engine::Actor;

/// The client every socket command is journaled as coming through.
pub const VIA: &str = "socket";

/// The peer's uid and pid, from the kernel.
pub fn credentials<F: AsFd>(socket: &F) -> std::io::Result<(u32, i32)> {
    let cred = getsockopt(socket, PeerCredentials).map_err(std::io::Error::from)?;
    Ok((cred.uid(), cred.pid()))
}

/// The `via` journaled for a client that says what it is; anything else is "socket".
pub fn via(client: Option<&str>) -> &'static str {
    match client {
        Some("cockpit") => "cockpit",
        Some("cli") => "cli",
        Some("board") => "board",
        _ => VIA,
    }
}

/// In team mode, who this process is in the team store (see
/// `host::assemble::starter`): a peer with this process's uid is that person.
static TEAM_SELF: std::sync::OnceLock<Actor> = std::sync::OnceLock::new();

/// Says who this process is in the team store (once; one run per process).
pub fn set_team_self(actor: &Actor) {
    let _ = TEAM_SELF.set(actor.clone());
}

/// The actor for a uid: its user name (or `uid<N>` if it has none), via
/// "socket"; in team mode, this process's own uid is the team person it
/// runs as, so the socket is no way around four-eyes.
pub fn actor_for(uid: u32) -> Actor {
    if uid == nix::unistd::geteuid().as_raw()
        && let Some(me) = TEAM_SELF.get()
    {
        return Actor {
            via: VIA.to_string(),
            ..me.clone()
        };
    }
    let user = User::from_uid(Uid::from_raw(uid))
        .ok()
        .flatten()
        .map(|u| u.name)
        .unwrap_or_else(|| format!("uid{uid}"));
    Actor {
        user,
        uid,
        via: VIA.to_string(),
        roles: None,
    }
}

/// Whether a peer may drive this run: the engine's own user, or root. The
/// run directory is owner-only already; this holds even if it were not.
pub fn allowed(uid: u32) -> bool {
    uid == nix::unistd::geteuid().as_raw() || uid == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_credentials_name_the_connecting_user() {
        let (a, _b) = std::os::unix::net::UnixStream::pair().unwrap();
        let (uid, pid) = credentials(&a).unwrap();
        assert_eq!(uid, nix::unistd::getuid().as_raw());
        assert_eq!(pid as u32, std::process::id());
        let actor = actor_for(uid);
        assert_eq!(actor.via, "socket");
        assert_eq!(actor.user, crate::engine::Actor::current("x").user);
        assert!(allowed(uid));
    }
}
