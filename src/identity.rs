//! Who people are, as the operating system knows them: membership of OS
//! groups, for approver `@groups` and for a run shared with a group. It is
//! looked up when it matters, never taken from what a client says.

use std::ffi::CString;

use nix::unistd::{Group, User, getgrouplist};

/// Whether `user` belongs to `group`, as its primary group or a supplementary
/// one. `Err` says why it cannot be told (no such group, a failed lookup).
pub fn member(user: &str, group: &str) -> Result<bool, String> {
    let g = match Group::from_name(group) {
        Ok(Some(g)) => g,
        Ok(None) => return Err(format!("group {group} does not exist on this host")),
        Err(e) => return Err(format!("cannot look up group {group}: {e}")),
    };
    let u = match User::from_name(user) {
        Ok(Some(u)) => u,
        // Not a user of this host, so in none of its groups.
        Ok(None) => return Ok(false),
        Err(e) => return Err(format!("cannot look up user {user}: {e}")),
    };
    if u.gid == g.gid || g.mem.iter().any(|m| m == user) {
        return Ok(true);
    }
    // Supplementary groups from every source NSS knows (files, LDAP, sssd…).
    let Ok(name) = CString::new(user) else {
        return Ok(false);
    };
    getgrouplist(&name, u.gid)
        .map(|gids| gids.contains(&g.gid))
        .map_err(|e| format!("cannot list the groups of {user}: {e}"))
}
