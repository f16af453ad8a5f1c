//! Granting a group access to a run (`[access] group = "…"` in the plan).
//!
//! Without a grant a run is the owner's alone: its directory `0700`, its
//! files and socket `0600`. With one, the run directory becomes `0750`, the
//! journal and lock `0640` and the socket `0660`, all owned by that group, so
//! its members can attach, watch and steer the run; the server still asks the
//! kernel who connects and checks membership. The directories above a run
//! become passable (`o+x`) but not listable, so other runs stay private and a
//! member names the run by its full id.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use nix::unistd::{Gid, Group, chown};

/// A group a run is shared with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sharing {
    pub name: String,
    pub gid: u32,
}

impl Sharing {
    /// Looks the group up on this host.
    pub fn resolve(name: &str) -> Result<Sharing, String> {
        match Group::from_name(name) {
            Ok(Some(g)) => Ok(Sharing {
                name: name.to_string(),
                gid: g.gid.as_raw(),
            }),
            Ok(None) => Err(format!(
                "the plan shares the run with group {name}, which does not exist on this host"
            )),
            Err(e) => Err(format!("cannot look up group {name}: {e}")),
        }
    }

    fn give(&self, path: &Path, mode: u32) -> std::io::Result<()> {
        chown(path, None, Some(Gid::from_raw(self.gid))).map_err(std::io::Error::from)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
    }

    /// The run's directory, and a way through the ones above it.
    pub fn run_dir(&self, state_dir: &Path, run_dir: &Path) -> std::io::Result<()> {
        for above in [state_dir.to_path_buf(), crate::runs::runs_dir(state_dir)] {
            let mode = std::fs::metadata(&above)?.permissions().mode() & 0o7777;
            std::fs::set_permissions(&above, std::fs::Permissions::from_mode(mode | 0o001))?;
        }
        self.give(run_dir, 0o750)
    }

    /// A file the group reads (the journal, the lock).
    pub fn file(&self, path: &Path) -> std::io::Result<()> {
        self.give(path, 0o640)
    }

    /// The control socket, which the group may connect to.
    pub fn socket(&self, path: &Path) -> std::io::Result<()> {
        self.give(path, 0o660)
    }

    /// Whether the peer `user` may drive the run through the grant.
    pub fn admits(&self, user: &str) -> bool {
        crate::identity::member(user, &self.name).unwrap_or(false)
    }
}
